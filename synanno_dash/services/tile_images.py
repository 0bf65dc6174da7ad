"""Encode crops for the browser: EM slices as JPEG, cleft masks as transparent PNG.

Images travel as data URIs inside the page, so a page is one response and the browser
can switch slices without asking the server again. Encoding costs more than reading a
local crop, so the prefetch of the next page encodes it too, into the app's tile-image
cache (``AppContext.tile_images``, a ``BoundedCache``).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

# RGB of cleft voxels; the opacity the user sets applies on top, in CSS.
MASK_RGB = (255, 0, 200)
# A two-colour palette PNG (index 0 transparent) encodes several times faster than RGBA.
_MASK_PALETTE = [0, 0, 0, *MASK_RGB]


def _data_uri(image: Image.Image, fmt: str, **options: object) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    mime = "jpeg" if fmt == "JPEG" else fmt.lower()
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def em_slice_uri(em_yx: np.ndarray, quality: int = 85) -> str:
    """One EM slice (y, x; uint8) as a JPEG data URI."""
    return _data_uri(
        Image.fromarray(np.ascontiguousarray(em_yx, dtype=np.uint8), "L"), "JPEG", quality=quality
    )


def mask_slice_uri(cleft_yx: np.ndarray) -> str:
    """Nonzero voxels of one cleft slice (y, x) as a PNG, transparent elsewhere."""
    image = Image.fromarray((cleft_yx != 0).astype(np.uint8), "P")
    image.putpalette(_MASK_PALETTE)
    return _data_uri(image, "PNG", transparency=0, compress_level=1)


def source_slices_for_target(em_zyx: np.ndarray, n_target_slices: int) -> list[np.ndarray]:
    """The EM slice that lies at the middle of each target slice.

    Source and target may differ in z resolution; the EM crop covers the same physical
    range, so target slice ``k`` maps to source slice ``floor((k + 0.5) * ratio)``.
    """
    ratio = em_zyx.shape[0] / max(1, n_target_slices)
    return [
        em_zyx[min(em_zyx.shape[0] - 1, int((k + 0.5) * ratio))] for k in range(n_target_slices)
    ]


@dataclass(frozen=True)
class SliceImages:
    """Data URIs of an instance's slices, one per target slice."""

    em: tuple[str, ...]
    masks: tuple[str, ...]

    @property
    def nbytes(self) -> int:
        return sum(len(u) for u in self.em) + sum(len(u) for u in self.masks)


def encode_slices(em_zyx: np.ndarray, cleft_zyx: np.ndarray) -> SliceImages:
    n_slices = cleft_zyx.shape[0]
    return SliceImages(
        em=tuple(em_slice_uri(s) for s in source_slices_for_target(em_zyx, n_slices)),
        masks=tuple(mask_slice_uri(cleft_zyx[k]) for k in range(n_slices)),
    )
