"""Adding a synapse the table missed (a false negative) to a session.

One path for every way of giving a position: typed or clicked coordinates in the
correction view, or Neuroglancer's ``c`` key. The new instance is labelled incorrect with
category False negative, seen, and ready to draw.
"""

from __future__ import annotations

from dataclasses import replace

from synanno_dash.core.geometry import BBox, Triple, bbox_around
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Category, Label
from synanno_dash.services import selection
from synanno_dash.services.session import Session

ADDED_BY_HAND = "added_by_hand"
NOT_IN_TABLE = -1  # materialization index of instances that no table row holds


class FalseNegativeError(ValueError):
    """The position or box cannot be used; the message is for the user."""


def proposed_box(session: Session, center_xyz_vx: Triple) -> BBox:
    """The default review box around a position: the session's crop size."""
    return bbox_around(center_xyz_vx, session.config.crop_size_xyz_vx)


def add_false_negative(
    session: Session,
    center_xyz_vx: Triple,
    bbox_target_vx: BBox | None = None,
    compartment: int | None = None,
) -> Instance:
    """Add a missed synapse at ``center_xyz_vx`` (target voxels) with its review box."""
    config = session.config
    box = bbox_target_vx or bbox_around(center_xyz_vx, config.crop_size_xyz_vx)
    if box.is_empty or not box.contains_point(center_xyz_vx):
        raise FalseNegativeError(
            f"the box {box.as_list()} must be non-empty and contain the position "
            f"{list(center_xyz_vx)} (x, y, z, target voxels)."
        )
    volume = session.volumes.target_bounds
    if not volume.contains_point(center_xyz_vx):
        raise FalseNegativeError(
            f"the position {list(center_xyz_vx)} lies outside the volume "
            f"{list(volume.start_xyz)}..{list(volume.stop_xyz)} (x, y, z, target voxels)."
        )
    new_id = selection.next_instance_id(session)
    item = Instance(
        instance_id=new_id,
        synapse=Synapse(NOT_IN_TABLE, tuple(int(v) for v in center_xyz_vx)),  # type: ignore[arg-type]
        bbox_target_vx=box,
        label=Label.INCORRECT,
        seen=True,
        category=Category.FALSE_NEGATIVE,
        compartment=compartment,
        extra={ADDED_BY_HAND: True},
    )
    session.store.add_instance(session.session_id, item)
    return replace(item)
