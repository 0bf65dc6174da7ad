"""Encode crops for the browser: EM slices as JPEG, cleft masks as transparent PNG.

Images travel as data URIs inside the page, so a page is one response and the browser
can switch slices without asking the server again.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

# RGBA of cleft voxels; the opacity the user sets applies on top, in CSS.
MASK_RGBA = (255, 0, 200, 255)


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
    """Nonzero voxels of one cleft slice (y, x) as an RGBA PNG, transparent elsewhere."""
    rgba = np.zeros((*cleft_yx.shape, 4), dtype=np.uint8)
    rgba[cleft_yx != 0] = MASK_RGBA
    return _data_uri(Image.fromarray(rgba, "RGBA"), "PNG", optimize=False)


def source_slices_for_target(em_zyx: np.ndarray, n_target_slices: int) -> list[np.ndarray]:
    """The EM slice that lies at the middle of each target slice.

    Source and target may differ in z resolution; the EM crop covers the same physical
    range, so target slice ``k`` maps to source slice ``floor((k + 0.5) * ratio)``.
    """
    ratio = em_zyx.shape[0] / max(1, n_target_slices)
    return [
        em_zyx[min(em_zyx.shape[0] - 1, int((k + 0.5) * ratio))] for k in range(n_target_slices)
    ]
