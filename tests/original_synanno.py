"""Session JSONs written the way the original SynAnno writes them, independent of our writer.

The facts come from the original's source and its real exports (issue 10): each record's
``Original_Bbox``/``Adjusted_Bbox`` hold six numbers and ``Padding`` three ``[before, after]``
pairs, ordered by the record's own ``X_Index``/``Y_Index``/``Z_Index`` (axis ``a`` at positions
``2*a_Index`` and ``2*a_Index+1``; pair ``a_Index``), in target voxels; ``Adjusted_Bbox`` is the
box clipped to the volume and z is padded only while drawing; the box is ``c - s // 2`` to
``c + (s + 1) // 2`` per axis (at least one slice in z); ``Middle_Slice`` is ``cz0``; labels are
lower case; ``neuron_id`` is ``No Neuron Selected...`` without a neuron; ``Error_Description``
is ``None`` without an error; ``Annotated`` is ``Yes``/``No``; indexes that do not apply are
-1; pages count from 0. The document is ``json.dumps(..., indent=4)`` of
``{"Proofread Time": ..., "Metadata": df.to_dict("records")}`` with datetimes as
``isoformat()`` and time differences as ``str(timedelta)``.

Nothing here imports our session-JSON code: it is the yardstick our reader is held to.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

NO_NEURON = "No Neuron Selected..."


@dataclass(frozen=True)
class OriginalSynapse:
    """One synapse as the original's materialization table gives it (target voxels)."""

    row: int  # the table row: the original's Image_Index in volume-centric sessions
    center_xyz: tuple[int, int, int]
    pre_xyz: tuple[int, int, int]
    post_xyz: tuple[int, int, int]
    label: str = "correct"  # correct | incorrect | unsure
    error: str = "None"  # falsePositive | badFit | polaritySwitch | free text | None
    annotated: bool = True
    section_index: int = -1  # neuron-centric only
    tree_traversal_index: int = -1


@dataclass(frozen=True)
class OriginalSession:
    synapses: list[OriginalSynapse]
    volume_size_xyz: tuple[int, int, int]
    coordinate_order: str = "xyz"  # the original's session setting: xyz, zyx, yxz, ...
    crop_size_xyz: tuple[int, int, int] = (64, 64, 6)
    per_page: int = 24
    neuron_id: int | None = None  # neuron-centric when set
    drawn_rows: frozenset[int] = frozenset()  # instances redrawn (z padded, draw depth)
    crop_size_z_draw: int = 16
    times: dict[str, Any] = field(default_factory=dict)


def _axis_box(center: int, size: int, is_z: bool) -> tuple[int, int]:
    stop = center + (max(1, (size + 1) // 2) if is_z else (size + 1) // 2)
    return center - size // 2, stop


def _record(session: OriginalSession, position: int, syn: OriginalSynapse) -> dict[str, Any]:
    order = session.coordinate_order
    drawn = syn.row in session.drawn_rows
    sizes = dict(zip("xyz", session.crop_size_xyz, strict=True))
    if drawn:
        sizes["z"] = session.crop_size_z_draw
    centre = dict(zip("xyz", syn.center_xyz, strict=True))
    volume = dict(zip("xyz", session.volume_size_xyz, strict=True))
    spans = {a: _axis_box(centre[a], sizes[a], a == "z") for a in "xyz"}
    original, adjusted, padding = [], [], []
    for axis in order:  # position p of the boxes holds axis order[p]
        start, stop = spans[axis]
        clip_start, clip_stop = max(start, 0), min(stop, volume[axis])
        original += [start, stop]
        adjusted += [clip_start, clip_stop]
        pad = [clip_start - start, stop - clip_stop]
        padding.append(pad if (axis != "z" or drawn) else [0, 0])
    neuron_centric = session.neuron_id is not None
    return {
        "Page": position // session.per_page,
        "Image_Index": position if neuron_centric else syn.row,
        "materialization_index": syn.row if neuron_centric else -1,
        "section_index": syn.section_index if neuron_centric else -1,
        "section_order_index": -1,
        "tree_traversal_index": syn.tree_traversal_index if neuron_centric else -1,
        "GT": f"Images/Syn/{syn.row}",
        "EM": f"Images/Img/{syn.row}",
        "Label": syn.label,
        "Annotated": "Yes" if syn.annotated else "No",
        "neuron_id": session.neuron_id if neuron_centric else NO_NEURON,
        "Error_Description": syn.error,
        "X_Index": order.index("x"),
        "Y_Index": order.index("y"),
        "Z_Index": order.index("z"),
        "Middle_Slice": centre["z"],
        "cz0": centre["z"],
        "cy0": centre["y"],
        "cx0": centre["x"],
        "pre_pt_x": syn.pre_xyz[0],
        "pre_pt_y": syn.pre_xyz[1],
        "pre_pt_z": syn.pre_xyz[2],
        "post_pt_x": syn.post_xyz[0],
        "post_pt_y": syn.post_xyz[1],
        "post_pt_z": syn.post_xyz[2],
        "crop_size_x": sizes["x"],
        "crop_size_y": sizes["y"],
        "crop_size_z": sizes["z"],
        "Original_Bbox": original,
        "Adjusted_Bbox": adjusted,
        "Padding": padding,
    }


def default_times() -> dict[str, Any]:
    start = datetime.datetime(2026, 11, 22, 11, 13, 1, 816134)
    finish = start + datetime.timedelta(minutes=5, seconds=12, microseconds=345678)
    return {
        "start_grid": start,
        "finish_grid": finish,
        "difference_grid": finish - start,
        "start_categorize": finish,
        "finish_categorize": None,
        "difference_categorize": None,
        "start_draw": None,
        "finish_draw": None,
        "difference_draw": None,
    }


def _serial(value: object) -> str:
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"Type {type(value)} not serializable")


def original_document(session: OriginalSession) -> dict[str, Any]:
    records = [_record(session, i, s) for i, s in enumerate(session.synapses)]
    text = json.dumps(
        {"Proofread Time": session.times or default_times(), "Metadata": records},
        indent=4,
        default=_serial,
    )
    return json.loads(text)


def original_json(session: OriginalSession) -> str:
    return json.dumps(original_document(session), indent=4)


def box_of(record: dict[str, Any], key: str = "Original_Bbox") -> dict[str, tuple[int, int]]:
    """{axis: (start, stop)} of a record's box, read by the record's own axis indexes."""
    values = record[key]
    return {
        axis: (
            values[2 * record[f"{axis.upper()}_Index"]],
            values[2 * record[f"{axis.upper()}_Index"] + 1],
        )
        for axis in "xyz"
    }
