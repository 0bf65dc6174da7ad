"""The mask-completion network: a small anisotropic 3D U-Net (PyTorch; import lazily).

Tensors are (batch, channel, z, y, x). The network works on a grid ``NetworkShape.fold``
(default 4) times coarser in y and x than the crop: each 4 x 4 block of input pixels becomes
16 x 3 channels (space to depth) and each grid position gives 4 x 4 logits (depth to space),
so the output keeps the
full resolution for a fraction of the compute (training on a shared 2-core CPU must fit in
minutes). It pools only in y and x (factor 2 per level), never in z: sections are
40-50 nm apart against 4-8 nm pixels, and a crop may hold as few as three sections. Context
across z comes from the factorised 3x3x3 convolutions (about 20 sections of receptive field), so any
depth works and only y and x must be multiples of ``NetworkShape.xy_stride``
(``predict.network_probabilities`` pads and crops back).

Input channels (``INPUT_CHANNELS``): the normalised EM, the drawn mask (1 inside on drawn
slices, 0 elsewhere) and the drawn-slice indicator (1 on every voxel of a drawn slice).
Output: one logit per voxel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional

INPUT_CHANNELS = 3
SPACE_TO_DEPTH = 4  # pixels per side folded into channels at the input


@dataclass(frozen=True)
class NetworkShape:
    """Channel widths per level (the last is the bottleneck) and the group-norm group count."""

    widths: tuple[int, ...] = (32, 64, 96)
    groups: int = 4
    fold: int = SPACE_TO_DEPTH  # pixels per side folded into channels at the input
    negative_slope: float = 0.1  # of the activations (0: ReLU; > 0: leaky ReLU)

    @property
    def xy_stride(self) -> int:
        return int(self.fold * 2 ** (len(self.widths) - 1))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> NetworkShape:
        return cls(
            widths=tuple(int(w) for w in data["widths"]),
            groups=int(data["groups"]),
            fold=int(data.get("fold", SPACE_TO_DEPTH)),
            negative_slope=float(data.get("negative_slope", 0.0)),
        )


class _SliceConv(nn.Module):
    """A 3 x 3 convolution in y and x applied to every slice (a 2-D convolution: several times
    faster on CPU than the equivalent (1, 3, 3) 3-D one), then a 3-tap convolution across z
    (a (3, 1) 2-D convolution over z and the flattened y*x):
    together a factorised 3x3x3 convolution, each followed by group norm and leaky ReLU
    (``NetworkShape.negative_slope``; 0 is the plain ReLU of the v1 weights, whose last block
    ended up with half its channels dead and the output probability capped at 0.62)."""

    def __init__(self, inputs: int, outputs: int, groups: int, negative_slope: float) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.in_slice = nn.Conv2d(inputs, outputs, 3, padding=1, bias=False)
        self.norm_slice = nn.GroupNorm(groups, outputs)
        self.across_z = nn.Conv2d(outputs, outputs, (3, 1), padding=(1, 0), bias=False)
        self.norm_z = nn.GroupNorm(groups, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, depth, height, width = x.shape
        flat = x.transpose(1, 2).reshape(batch * depth, channels, height, width)
        flat = self.in_slice(flat)
        x = flat.reshape(batch, depth, -1, height, width).transpose(1, 2)
        x = functional.leaky_relu(self.norm_slice(x), self.negative_slope)
        x = self.across_z(x.reshape(batch, -1, depth, height * width))  # (z, y*x) as a 2-D image
        x = self.norm_z(x.reshape(batch, -1, depth, height, width))
        return functional.leaky_relu(x, self.negative_slope)


class _Block(nn.Sequential):
    """Two factorised 3x3x3 convolutions."""

    def __init__(self, inputs: int, outputs: int, shape: NetworkShape) -> None:
        groups, slope = shape.groups, shape.negative_slope
        super().__init__(
            _SliceConv(inputs, outputs, groups, slope), _SliceConv(outputs, outputs, groups, slope)
        )


class UNet3D(nn.Module):
    """Encoder-decoder with skip connections; pooling and upsampling (1, 2, 2)."""

    def __init__(self, shape: NetworkShape | None = None) -> None:
        super().__init__()
        self.shape = shape or NetworkShape()
        widths = self.shape.widths
        self.down = nn.ModuleList()
        previous = INPUT_CHANNELS * self.shape.fold**2
        for width in widths:
            self.down.append(_Block(previous, width, self.shape))
            previous = width
        self.up = nn.ModuleList()
        for skip in reversed(widths[:-1]):
            self.up.append(_Block(previous + skip, skip, self.shape))
            previous = skip
        self.head = nn.Conv3d(previous, self.shape.fold**2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 3, z, y, x) -> logits (batch, 1, z, y, x); y and x multiples of the stride."""
        batch, channels, depth, height, width = x.shape
        fold = self.shape.fold
        x = functional.pixel_unshuffle(
            x.transpose(1, 2).reshape(batch * depth, channels, height, width), fold
        )
        x = x.reshape(batch, depth, -1, height // fold, width // fold)
        x = self._unet(x.transpose(1, 2))
        x = x.transpose(1, 2).reshape(batch * depth, -1, x.shape[3], x.shape[4])
        x = functional.pixel_shuffle(x, fold)
        return x.reshape(batch, depth, 1, height, width).transpose(1, 2)

    def _unet(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for level, block in enumerate(self.down):
            if level:
                x = functional.max_pool3d(x, (1, 2, 2))
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = functional.interpolate(x, size=skip.shape[2:], mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
