"""Precomputed layers written by tensorstore (an implementation independent of CloudVolume).

Sharded and unsharded, raw, compressed_segmentation and jpeg: what H01 and MICrONS serve.
Arrays given here are x, y, z (as CloudVolume and the precomputed format index them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SHARDING = {
    "@type": "neuroglancer_uint64_sharded_v1",
    "preshift_bits": 2,  # few chunks per minishard: small test volumes still get many shards
    "hash": "identity",
    "minishard_bits": 2,
    "shard_bits": 3,
    "minishard_index_encoding": "gzip",
    "data_encoding": "gzip",
}


def spec(
    path: Path,
    data_type: str,
    layer_type: str,
    resolution: tuple[float, float, float],
    size_xyz: tuple[int, int, int],
    chunk_xyz: tuple[int, int, int],
    encoding: str = "raw",
    sharded: bool = False,
    voxel_offset: tuple[int, int, int] = (0, 0, 0),
) -> dict[str, Any]:
    scale: dict[str, Any] = {
        "resolution": list(resolution),
        "size": list(size_xyz),
        "voxel_offset": list(voxel_offset),
        "chunk_size": list(chunk_xyz),
        "encoding": encoding,
    }
    if encoding == "compressed_segmentation":
        scale["compressed_segmentation_block_size"] = [8, 8, 8]
    if encoding == "jpeg":
        scale["jpeg_quality"] = 90
    if sharded:
        scale["sharding"] = SHARDING
    return {
        "driver": "neuroglancer_precomputed",
        "kvstore": f"file://{path}/",
        "multiscale_metadata": {"type": layer_type, "data_type": data_type, "num_channels": 1},
        "scale_metadata": scale,
    }


def write_layer(path: Path, data_xyz: np.ndarray, **kwargs: Any) -> dict[str, Any]:
    """Write ``data_xyz`` as a new layer at ``path``; returns the tensorstore spec to read it."""
    import tensorstore as ts

    layer_spec = spec(path, str(data_xyz.dtype), size_xyz=data_xyz.shape, **kwargs)
    store = ts.open({**layer_spec, "create": True}).result()
    store[..., 0].write(data_xyz).result()
    return layer_spec


def read_layer(layer_spec: dict[str, Any]) -> np.ndarray:
    """The whole layer as tensorstore reads it (x, y, z)."""
    import tensorstore as ts

    store = ts.open({**layer_spec, "open": True}).result()
    return np.asarray(store[..., 0].read().result())
