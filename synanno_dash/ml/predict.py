"""Running the network on one crop, and reading and writing its weights file.

The weights file is a ``torch.save`` of a plain dict: ``shape`` (``NetworkShape.to_json``),
``state`` (the state dict, float16), ``resolution_xyz_nm`` (what the training data had) and
``meta`` (training command, seed, figures). ``weights_only`` loading: no code runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from synanno_dash.ml.inputs import input_channels

if TYPE_CHECKING:
    import torch

    from synanno_dash.ml.network import UNet3D

SHIPPED_WEIGHTS = "unet_v1.pt"
RESAMPLE_TOLERANCE = 1.25  # pixel sizes within this factor of the training data's are used as is
INFERENCE_THREADS = 1  # on the shared 2-core machine two threads ran 5-7x slower under load


def shipped_weights() -> Path:
    """The weights that ship with the package (``synanno_dash/ml/weights``)."""
    return Path(str(resources.files("synanno_dash.ml") / "weights" / SHIPPED_WEIGHTS))


@dataclass(frozen=True, eq=False)
class LoadedModel:
    network: UNet3D
    resolution_xyz_nm: tuple[float, float, float]
    meta: dict[str, Any]
    device: torch.device


def device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_model(path: Path, network: UNet3D, resolution_xyz_nm: Sequence[float], meta: dict) -> None:
    import torch

    state = {  # float16 halves the file; loading converts back to float32
        k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
        for k, v in network.state_dict().items()
    }
    torch.save(
        {"shape": network.shape.to_json(), "state": state,
         "resolution_xyz_nm": [float(r) for r in resolution_xyz_nm], "meta": meta},
        path,
    )  # fmt: skip


class WeightsError(ValueError):
    """A weights file that exists but is not one ``unet train`` wrote."""


def load_model(path: Path | None = None) -> LoadedModel:
    """The network in ``path`` (default: the shipped weights), in eval mode on the GPU when
    there is one. Sets torch's CPU threads to ``INFERENCE_THREADS`` for the process."""
    import torch

    from synanno_dash.ml.network import NetworkShape, UNet3D

    torch.set_num_threads(INFERENCE_THREADS)
    path = Path(path) if path else shipped_weights()
    if not path.is_file():
        raise FileNotFoundError(
            f"U-Net weights not found at {path}: give the .pt file `synanno-dash unet train` wrote"
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        network = UNet3D(NetworkShape.from_json(saved["shape"]))
        network.load_state_dict({k: v.float() if v.is_floating_point() else v
                                 for k, v in saved["state"].items()})  # fmt: skip
        resolution = tuple(float(r) for r in saved["resolution_xyz_nm"])
    except Exception as exc:  # any unreadable file: torch raises many kinds
        raise WeightsError(
            f"{path} is not a U-Net weights file ({type(exc).__name__}): give a .pt file "
            "written by `synanno-dash unet train`, or leave --weights out for the shipped one"
        ) from None
    where = device()
    network.to(where).eval()
    return LoadedModel(network, resolution, dict(saved.get("meta", {})), where)  # type: ignore[arg-type]


def padded_to(size: int, stride: int) -> int:
    return -(-size // stride) * stride


def network_probabilities(
    network: UNet3D, em_zyx: np.ndarray, drawn_zyx: np.ndarray, drawn_slices: Sequence[int],
    where: torch.device | None = None,
) -> np.ndarray:
    """Per-voxel probabilities (z, y, x) float32 at the crop's own pixel size: y and x are
    padded (mirrored EM, empty mask) to the network's stride and cropped back."""
    import torch

    depth, height, width = em_zyx.shape
    stride = network.shape.xy_stride
    pad = ((0, 0), (0, padded_to(height, stride) - height), (0, padded_to(width, stride) - width))
    em = np.pad(em_zyx, pad, mode="symmetric")
    drawn = np.pad(drawn_zyx, pad)
    batch = torch.from_numpy(input_channels(em, drawn, drawn_slices)[None])
    if where is not None:
        batch = batch.to(where)
    with torch.inference_mode():
        logits = network(batch)[0, 0]
    return torch.sigmoid(logits).cpu().numpy()[:, :height, :width]


def _zoomed(volume: np.ndarray, factor: float, order: int) -> np.ndarray:
    return np.asarray(ndimage.zoom(volume, (1.0, factor, factor), order=order))


def probabilities(
    model: LoadedModel, em_zyx: np.ndarray, drawn_zyx: np.ndarray,
    drawn_slices: Sequence[int], resolution_xyz_nm: Sequence[float],
) -> np.ndarray:
    """Probabilities (z, y, x) for a crop of any pixel size: resampled in y and x to the
    training data's pixel size when it differs by more than ``RESAMPLE_TOLERANCE``."""
    factor = float(resolution_xyz_nm[0]) / model.resolution_xyz_nm[0]
    if 1 / RESAMPLE_TOLERANCE <= factor <= RESAMPLE_TOLERANCE:
        return network_probabilities(
            model.network, em_zyx, drawn_zyx, drawn_slices, model.device
        )
    em = _zoomed(em_zyx, factor, order=1)
    drawn = _zoomed(drawn_zyx.astype(np.uint8), factor, order=0)
    result = network_probabilities(model.network, em, drawn, drawn_slices, model.device)
    zoom = [1.0, em_zyx.shape[1] / result.shape[1], em_zyx.shape[2] / result.shape[2]]
    return np.asarray(ndimage.zoom(result, zoom, order=1), dtype=np.float32)
