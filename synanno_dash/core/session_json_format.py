"""The session JSON's vocabulary: keys, versions, errors, and the original's box order.

Boxes and paddings in the original SynAnno's session JSON are ordered by each record's axes.

The original writes every box as six numbers and every padding as three ``[before, after]``
pairs in its coordinate order, and says that order in each record: axis ``a`` sits at
positions ``2 * a_Index`` and ``2 * a_Index + 1`` of a box and at pair ``a_Index`` of the
padding. With the usual ``X_Index 0, Y_Index 1, Z_Index 2`` a box reads
``[x0, x1, y0, y1, z0, z1]``. An axis order here is a string such as ``"xyz"`` or ``"zyx"``:
the axis at each position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synanno_dash.core.geometry import AXES, BBox, Triple
from synanno_dash.core.instances import Instance

# 2: boxes ordered by X_Index/Y_Index/Z_Index, labels lower case, ISO stage times.
# 1 (read only): boxes in z, y, x order, X_Index/Y_Index/Z_Index the centre within the box.
FORMAT_VERSION = 2
ORIGINAL_KEYS = (
    "Page", "Image_Index", "materialization_index", "section_index", "tree_traversal_index",
    "Label", "Annotated", "neuron_id", "Error_Description", "Y_Index", "X_Index", "Z_Index",
    "Middle_Slice", "Original_Bbox", "cz0", "cy0", "cx0", "pre_pt_z", "pre_pt_x", "pre_pt_y",
    "post_pt_y", "post_pt_z", "post_pt_x", "crop_size_x", "crop_size_y", "crop_size_z",
    "Adjusted_Bbox", "Padding",
)  # fmt: skip
OURS_KEY = "SynAnno Dash"  # our section of the document
ADDED_BY_HAND_KEY = "added_by_hand"  # Instance.extra key of a synapse added by hand
AXIS_ORDER_KEY = "json_axis_order"  # Instance.extra key: the record's axis order, kept

DEFAULT_AXIS_ORDER = AXES  # X_Index 0, Y_Index 1, Z_Index 2
NO_NEURON = "No Neuron Selected..."  # the original's neuron_id in volume-centric sessions
INDEX_KEYS = ("X_Index", "Y_Index", "Z_Index")


class SessionJsonError(ValueError):
    """A session JSON that cannot be restored; the message names the record, the key and the
    fix."""


@dataclass(frozen=True)
class RestoredSession:
    instances: list[Instance]
    proofread_time: dict[str, Any] = field(default_factory=dict)
    page: int = 1
    neuron_id: int | None = None
    tiles_per_page: int | None = None  # ours only; the original's JSON does not say


def axis_indexes(order: str) -> dict[str, int]:
    """``{"X_Index": 0, "Y_Index": 1, "Z_Index": 2}`` for ``"xyz"``."""
    return {f"{axis.upper()}_Index": order.index(axis) for axis in AXES}


def order_from_indexes(x_index: int, y_index: int, z_index: int) -> str | None:
    """The axis order that the three indexes describe, or ``None`` if they are not 0, 1, 2."""
    if sorted((x_index, y_index, z_index)) != [0, 1, 2]:
        return None
    positions = {x_index: "x", y_index: "y", z_index: "z"}
    return "".join(positions[i] for i in range(3))


def box_to_original(box: BBox, order: str) -> list[int]:
    """Six numbers: (start, stop) of each axis, axes in ``order``."""
    return [v for a in order for v in (box.start_xyz[AXES.index(a)], box.stop_xyz[AXES.index(a)])]


def pairs_from_original(values: Sequence[int], order: str) -> tuple[Triple, Triple]:
    """(start_xyz, stop_xyz) of six numbers written in ``order`` (not checked for order)."""
    start = [0, 0, 0]
    stop = [0, 0, 0]
    for position, axis in enumerate(order):
        start[AXES.index(axis)] = int(values[2 * position])
        stop[AXES.index(axis)] = int(values[2 * position + 1])
    return (start[0], start[1], start[2]), (stop[0], stop[1], stop[2])


def padding_to_original(before_xyz: Triple, after_xyz: Triple, order: str) -> list[list[int]]:
    """Three ``[before, after]`` pairs, axes in ``order``."""
    return [[before_xyz[AXES.index(a)], after_xyz[AXES.index(a)]] for a in order]
