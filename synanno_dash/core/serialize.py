"""Plain-dict forms of the core value types, for the session store and JSON.

Neuron ids stay Python ints (or decimal strings where a consumer cannot hold 64 bits).
"""

from __future__ import annotations

from typing import Any

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.instances import DatasetConfig, Mode


def resolution_to_list(resolution: Resolution | None) -> list[float] | None:
    return None if resolution is None else list(resolution.as_tuple())


def resolution_from_list(values: list[float] | None) -> Resolution | None:
    return None if values is None else Resolution.of(values)


def bbox_to_list(bbox: BBox | None) -> list[int] | None:
    return None if bbox is None else bbox.as_list()


def bbox_from_list(values: list[int] | None) -> BBox | None:
    if values is None:
        return None
    if len(values) != 6:
        raise ValueError(f"a box needs six values (start xyz, stop xyz), got {len(values)}")
    return BBox.from_bounds(tuple(values[:3]), tuple(values[3:]))


def config_to_dict(config: DatasetConfig) -> dict[str, Any]:
    return {
        "source_url": config.source_url,
        "target_url": config.target_url,
        "table_url": config.table_url,
        "neuropil_url": config.neuropil_url,
        "secrets_path": config.secrets_path,
        "source_resolution_nm": resolution_to_list(config.source_resolution),
        "target_resolution_nm": resolution_to_list(config.target_resolution),
        "table_resolution_nm": resolution_to_list(config.table_resolution),
        "mode": config.mode.value,
        "bbox_target_vx": bbox_to_list(config.bbox_target_vx),
        "neuron_id": None if config.neuron_id is None else str(config.neuron_id),
        "crop_size_xyz_vx": list(config.crop_size_xyz_vx),
        "tiles_per_page": config.tiles_per_page,
        "skeleton_swc_url": config.skeleton_swc_url,
        "skeleton_swc_unit_nm": config.skeleton_swc_unit_nm,
    }


def config_from_dict(data: dict[str, Any]) -> DatasetConfig:
    source_res = resolution_from_list(data["source_resolution_nm"])
    target_res = resolution_from_list(data["target_resolution_nm"])
    assert source_res is not None and target_res is not None
    crop = tuple(int(v) for v in data.get("crop_size_xyz_vx", (64, 64, 6)))
    neuron_id = data.get("neuron_id")
    return DatasetConfig(
        source_url=data["source_url"],
        target_url=data["target_url"],
        table_url=data["table_url"],
        neuropil_url=data.get("neuropil_url", ""),
        secrets_path=data.get("secrets_path", ""),
        source_resolution=source_res,
        target_resolution=target_res,
        table_resolution=resolution_from_list(data.get("table_resolution_nm")),
        mode=Mode(data.get("mode", "volume")),
        bbox_target_vx=bbox_from_list(data.get("bbox_target_vx")),
        neuron_id=None if neuron_id in (None, "") else int(neuron_id),
        crop_size_xyz_vx=(crop[0], crop[1], crop[2]),
        tiles_per_page=int(data.get("tiles_per_page", 24)),
        skeleton_swc_url=data.get("skeleton_swc_url", ""),
        skeleton_swc_unit_nm=float(data.get("skeleton_swc_unit_nm", 1.0)),
    )
