"""Mask checks before export: hand-drawn masks with one hole, one island and one gap slice
on the demo are reported per instance, at their slices, by ``exports.mask_issues`` and by the
export view's Check masks list."""

from __future__ import annotations

import sys

import dash
import numpy as np

from synanno_dash.core.labels import Label
from synanno_dash.core.mask_checks import Problem
from synanno_dash.services import correction, exports
from synanno_dash.services.jobs import Job
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.session import Session, open_session
from tests.conftest import PreparedSession, demo_form

SID = "s"


def _square(x0: int, y0: int, low: int, high: int) -> np.ndarray:
    return np.array(
        [[x0 + low, y0 + low], [x0 + high, y0 + low], [x0 + high, y0 + high],
         [x0 + low, y0 + high]], float,
    )  # fmt: skip


def _draw_known_issues(session: Session, instance_id: int) -> int:
    """Clear the instance's mask, then: z0+2 a square with a hole, z0+3 empty (a gap),
    z0+4 a square and an island. Returns z0, the first slice of the drawing box."""
    drawing = correction.load_drawing(session, instance_id)
    x0, y0, z0 = drawing.box.start_xyz
    for z in range(z0, drawing.box.stop_xyz[2]):
        correction.clear_slice(session, instance_id, z)
    correction.apply_curve(session, instance_id, z0 + 2, _square(x0, y0, 10, 40))
    correction.apply_curve(session, instance_id, z0 + 2, _square(x0, y0, 20, 30), mode="erase")
    correction.apply_curve(session, instance_id, z0 + 4, _square(x0, y0, 10, 40))
    correction.apply_curve(session, instance_id, z0 + 4, _square(x0, y0, 50, 56))
    return z0


def _prepared(resources, demo_info) -> Session:  # type: ignore[no-untyped-def]
    assert prepare_session(resources, SID, demo_form(demo_info, neuropil=""), prefetch=False).ok
    for instance_id in (1, 3):
        resources.store.edit(SID, instance_id, label=Label.INCORRECT)
    return open_session(resources, SID)


def test_one_hole_one_island_one_gap_are_found_at_their_slices(resources, demo_info) -> None:  # type: ignore[no-untyped-def]
    session = _prepared(resources, demo_info)
    z0 = _draw_known_issues(session, 3)
    found = {entry.instance_id: entry for entry in exports.mask_issues(session)}
    ours = found[3]
    synapse = resources.store.instance(SID, 3).synapse
    assert ours.materialization_index == synapse.materialization_index
    assert [(i.problem, i.z) for i in ours.issues] == [
        (Problem.HOLE, z0 + 2), (Problem.GAP, z0 + 3), (Problem.ISLAND, z0 + 4),
    ]  # fmt: skip
    assert 81 <= ours.issues[0].voxels <= 121  # the erased 10 x 10 square, edges included
    assert ours.issues[1].voxels == 1  # one empty slice
    assert 36 <= ours.issues[2].voxels <= 49  # the 6 x 6 square
    assert all(f"z={z0 + k}" in i.message for i, k in zip(ours.issues, (2, 3, 4), strict=True))


def test_a_clean_mask_has_no_entry(resources, demo_info) -> None:  # type: ignore[no-untyped-def]
    session = _prepared(resources, demo_info)
    drawing = correction.load_drawing(session, 3)
    x0, y0, z0 = drawing.box.start_xyz
    for z in range(z0, drawing.box.stop_xyz[2]):
        correction.clear_slice(session, 3, z)
    for z in (z0 + 5, z0 + 6):
        correction.apply_curve(session, 3, z, _square(x0, y0, 10, 40))
    assert 3 not in {entry.instance_id for entry in exports.mask_issues(session)}


def test_the_export_view_lists_the_issues(demo_session: PreparedSession) -> None:
    module = next(p["module"] for p in dash.page_registry.values() if p["path"] == "/export-draw")
    page = sys.modules[module]
    resources = demo_session.resources
    resources.store.edit(demo_session.sid, 2, label=Label.INCORRECT)
    session = demo_session.session
    z0 = _draw_known_issues(session, 2)
    shown = str(page.check_masks(Job(), session, 1))
    assert "Instance 2 (table index" in shown and "3 issue(s)" in shown
    assert f"slice z={z0 + 2}: a hole of" in shown
    assert f"slices z={z0 + 3}..{z0 + 3}: no mask between masked slices" in shown
    assert f"slice z={z0 + 4}: an island of" in shown
