from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from synanno_dash.data.bounded_cache import BoundedCache
from synanno_dash.services.tile_images import (
    MASK_RGB,
    SliceImages,
    encode_slices,
    mask_slice_uri,
    source_slices_for_target,
)


def _decode(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_mask_png_is_the_cleft_and_transparent_elsewhere() -> None:
    cleft = np.zeros((8, 10), dtype=np.uint32)
    cleft[2:4, 3:7] = 77
    rgba = np.asarray(_decode(mask_slice_uri(cleft)).convert("RGBA"))
    assert rgba.shape == (8, 10, 4)
    assert (rgba[..., 3] > 0).sum() == 8 and rgba[2, 3, 3] == 255 and rgba[0, 0, 3] == 0
    assert tuple(rgba[2, 3, :3]) == MASK_RGB


def test_source_slices_follow_the_z_ratio() -> None:
    em = np.arange(12, dtype=np.uint8)[:, None, None] * np.ones((12, 2, 2), np.uint8)
    picked = source_slices_for_target(em, 6)  # source z twice as fine as target z
    assert [int(s[0, 0]) for s in picked] == [1, 3, 5, 7, 9, 11]


def _size(images: SliceImages) -> int:
    return images.nbytes


def test_cache_is_bounded_and_least_recently_used() -> None:
    em = np.full((2, 16, 16), 128, np.uint8)
    cleft = np.zeros((2, 8, 8), np.uint32)
    one = encode_slices(em, cleft)
    cache: BoundedCache[str, SliceImages] = BoundedCache(int(one.nbytes * 2.5), _size)
    for key in "abc":
        cache.put(key, one)
    assert cache.get("a") is None and cache.get("b") is one and cache.get("c") is one
    assert len(one.em) == len(one.masks) == 2
