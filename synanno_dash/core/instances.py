"""Synapses from a table, the dataset configuration, and instances under review."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import overload

from synanno_dash.core.geometry import BBox, Resolution, Triple, bbox_around, convert_point
from synanno_dash.core.labels import Category, Label

DEFAULT_CROP_SIZE_XYZ_VX: Triple = (64, 64, 6)


@dataclass(frozen=True)
class Synapse:
    """One row of a synapse table, points in *target* voxels (x, y, z).

    ``materialization_index`` is the row's stable id in the table; neuron ids are exact
    Python ints (64-bit, never floats) or ``None`` when the table has none. ``synapse_type``
    comes from the table's type column and is then the reviewer's decision (editable).
    """

    materialization_index: int
    center_xyz_vx: Triple
    pre_xyz_vx: Triple | None = None
    post_xyz_vx: Triple | None = None
    pre_neuron_id: int | None = None
    post_neuron_id: int | None = None
    synapse_type: str | None = None  # core/synapse_types.py; None: not typed


class Mode(StrEnum):
    VOLUME = "volume"
    NEURON = "neuron"


class Workflow(StrEnum):
    """Which landing button started a session: review (detection) or redraw (correction)."""

    DETECTION = "detection"
    CORRECTION = "correction"

    @classmethod
    def parse(cls, value: str | None) -> Workflow:
        """``"correction"`` is correction; anything else is detection (the default)."""
        return cls.CORRECTION if value == cls.CORRECTION.value else cls.DETECTION


@dataclass(frozen=True)
class DatasetConfig:
    """Everything the Open Data form sets. Resolutions in nm, boxes in target voxels."""

    source_url: str
    target_url: str
    table_url: str
    source_resolution: Resolution
    target_resolution: Resolution
    neuropil_url: str = ""
    secrets_path: str = ""
    table_resolution: Resolution | None = None  # None: the table is in target voxels
    mode: Mode = Mode.VOLUME
    bbox_target_vx: BBox | None = None  # None: the whole table, page by page
    neuron_id: int | None = None
    crop_size_xyz_vx: Triple = DEFAULT_CROP_SIZE_XYZ_VX
    tiles_per_page: int = 24
    # Neuron-centric: an uploaded SWC skeleton (kept as a file), instead of the neuropil's.
    skeleton_swc_url: str = ""
    skeleton_swc_unit_nm: float = 1.0

    def with_changes(self, **changes: object) -> DatasetConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Instance:
    """A synapse under review in one session."""

    instance_id: int  # 0-based position in the review order
    synapse: Synapse
    bbox_target_vx: BBox
    label: Label = Label.CORRECT
    seen: bool = False
    category: Category | None = None
    custom_category: str = ""
    note: str = ""
    discarded: bool = False
    compartment: int | None = None
    traversal_index: int | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def needs_fixing(self) -> bool:
        return self.label.needs_fixing and not self.discarded


def instance_for(instance_id: int, synapse: Synapse, crop_size_xyz_vx: Triple) -> Instance:
    return Instance(
        instance_id=instance_id,
        synapse=synapse,
        bbox_target_vx=bbox_around(synapse.center_xyz_vx, crop_size_xyz_vx),
    )


@overload
def _to_target(point: Triple, table_res: Resolution | None, target_res: Resolution) -> Triple: ...


@overload
def _to_target(point: None, table_res: Resolution | None, target_res: Resolution) -> None: ...


def _to_target(
    point: Triple | None, table_res: Resolution | None, target_res: Resolution
) -> Triple | None:
    if point is None or table_res is None:
        return point
    x, y, z = convert_point(point, table_res, target_res)
    return (int(round(x)), int(round(y)), int(round(z)))


def synapses_in_target_voxels(
    synapses: list[Synapse], table_res: Resolution | None, target_res: Resolution
) -> list[Synapse]:
    if table_res is None or table_res == target_res:
        return synapses
    return [
        replace(
            s,
            center_xyz_vx=_to_target(s.center_xyz_vx, table_res, target_res),
            pre_xyz_vx=_to_target(s.pre_xyz_vx, table_res, target_res),
            post_xyz_vx=_to_target(s.post_xyz_vx, table_res, target_res),
        )
        for s in synapses
    ]
