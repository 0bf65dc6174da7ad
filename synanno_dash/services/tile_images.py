"""Encode crops for the browser: EM slices as JPEG, cleft masks as transparent PNG.

The review grid's images are separate, cacheable URLs (``ui/tile_route.py``) that the
browser loads beside the page and preloads for the next page, so a page's response stays
small at any crop size (a 24-tile page of 256 x 256 x 6 crops carried 17.7 MB of inline data
URIs). ``SliceImages`` holds the encoded bytes; the enlarged view and the draw view still
use data URIs (one instance at a time). Encoding costs more than reading a local crop, so
the prefetch of the next page encodes it too, into the app's tile-image cache
(``AppContext.tile_images``, a ``BoundedCache``).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

# RGB of cleft voxels; the opacity the user sets applies on top, in CSS.
MASK_RGB = (255, 0, 200)
# The Auto (U-Net) proposal, shown in another colour until it is accepted.
PROPOSAL_RGB = (0, 229, 255)
# Masks are two-colour palette PNGs (index 0 transparent): several times faster than RGBA.

EM_MIME = "image/jpeg"
MASK_MIME = "image/png"


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def data_uri(encoded: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(encoded).decode("ascii")


def em_slice_bytes(em_yx: np.ndarray, quality: int = 85) -> bytes:
    """One EM slice (y, x; uint8) as JPEG."""
    image = Image.fromarray(np.ascontiguousarray(em_yx, dtype=np.uint8), "L")
    return _encoded(image, "JPEG", quality=quality)


def mask_slice_bytes(cleft_yx: np.ndarray, rgb: tuple[int, int, int] = MASK_RGB) -> bytes:
    """Nonzero voxels of one cleft slice (y, x) as a PNG in colour ``rgb``, transparent
    elsewhere."""
    image = Image.fromarray((cleft_yx != 0).astype(np.uint8), "P")
    image.putpalette([0, 0, 0, *rgb])
    return _encoded(image, "PNG", transparency=0, compress_level=1)


def em_slice_uri(em_yx: np.ndarray, quality: int = 85) -> str:
    """One EM slice (y, x; uint8) as a JPEG data URI."""
    return data_uri(em_slice_bytes(em_yx, quality), EM_MIME)


def mask_slice_uri(cleft_yx: np.ndarray, rgb: tuple[int, int, int] = MASK_RGB) -> str:
    """Nonzero voxels of one cleft slice (y, x) as a PNG data URI, transparent elsewhere."""
    return data_uri(mask_slice_bytes(cleft_yx, rgb), MASK_MIME)


def source_slices_for_target(em_zyx: np.ndarray, n_target_slices: int) -> list[np.ndarray]:
    """The EM slice that lies at the middle of each target slice.

    Source and target may differ in z resolution; the EM crop covers the same physical
    range, so target slice ``k`` maps to source slice ``floor((k + 0.5) * ratio)``.
    """
    ratio = em_zyx.shape[0] / max(1, n_target_slices)
    return [
        em_zyx[min(em_zyx.shape[0] - 1, int((k + 0.5) * ratio))] for k in range(n_target_slices)
    ]


TileLayer = Literal["em", "mask"]


@dataclass(frozen=True)
class SliceImages:
    """An instance's encoded slices, one per target slice: JPEG (EM) and PNG (mask)."""

    em: tuple[bytes, ...]
    masks: tuple[bytes, ...]

    @property
    def nbytes(self) -> int:
        return sum(len(u) for u in self.em) + sum(len(u) for u in self.masks)

    def image(self, layer: TileLayer, z: int) -> tuple[bytes, str] | None:
        """(bytes, MIME type) of one slice of one layer; None when there is no such slice."""
        images, mime = (self.em, EM_MIME) if layer == "em" else (self.masks, MASK_MIME)
        return (images[z], mime) if 0 <= z < len(images) else None

    def uri(self, layer: TileLayer, z: int) -> str:
        """One slice as a data URI (the categorize cards)."""
        found = self.image(layer, z)
        if found is None:
            raise IndexError(f"slice {z} is not part of this tile ({len(self.em)} slices)")
        return data_uri(*found)


def encode_slices(em_zyx: np.ndarray, cleft_zyx: np.ndarray) -> SliceImages:
    n_slices = cleft_zyx.shape[0]
    return SliceImages(
        em=tuple(em_slice_bytes(s) for s in source_slices_for_target(em_zyx, n_slices)),
        masks=tuple(mask_slice_bytes(cleft_zyx[k]) for k in range(n_slices)),
    )
