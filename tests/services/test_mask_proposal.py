"""Auto (U-Net) in the correction workflow on the demo dataset: one drawn slice gives a
proposal on the other slices; accepting keeps the drawn slice exactly and is one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from synanno_dash.core.labels import Label
from synanno_dash.services import correction, mask_proposal
from synanno_dash.services.context import AppContext
from synanno_dash.services.jobs import Job, JobError, JobProgress
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.session import open_session
from tests.conftest import demo_form

SID = "s"
INSTANCE = 0  # its cleft spans the centre slice and the one after it


@pytest.fixture
def context(resources: AppContext, demo_info) -> AppContext:  # type: ignore[no-untyped-def]
    form = demo_form(demo_info, neuropil="", tiles_per_page="24")
    assert prepare_session(resources, SID, form).ok
    resources.store.edit(SID, INSTANCE, label=Label.INCORRECT)
    return resources


def _draw_centre_slice(context: AppContext) -> tuple[int, np.ndarray]:
    """Store the instance's own cleft on its centre slice, as a user tracing it would."""
    session = open_session(context, SID)
    drawing = correction.load_drawing(session, INSTANCE)
    z = drawing.item.synapse.center_xyz_vx[2]
    drawn = correction.save_slice(session, INSTANCE, z)
    assert drawn.any()
    return z, drawn


def test_auto_then_accept_all_keeps_drawn_slice_and_undoes_in_one_step(
    context: AppContext,
) -> None:
    session = open_session(context, SID)
    with pytest.raises(JobError, match="draw the cleft on one slice"):
        mask_proposal.propose(Job(), session, INSTANCE)
    z, drawn = _draw_centre_slice(context)
    reports: list[JobProgress] = []
    proposal = mask_proposal.propose(Job(reports.append), session, INSTANCE)
    assert reports[-1].fraction == 1.0
    drawing = correction.load_drawing(session, INSTANCE)
    truth_next = drawing.masks_zyx[drawing.slice_index(z + 1)]  # the instance's own cleft
    z0, depth = drawing.box.start_xyz[2], drawing.masks_zyx.shape[0]
    assert sorted(proposal.masks_by_z) == [z0 + k for k in range(depth) if z0 + k != z]
    assert truth_next.any() and (proposal.masks_by_z[z + 1] & truth_next).sum() > 0, (
        "the U-Net proposes the cleft on the slice next to the drawn one"
    )
    # through the browser store and back
    shape = drawing.masks_zyx.shape[1:]
    restored = mask_proposal.Proposal.from_json(proposal.to_json(), shape)
    assert restored is not None
    assert all(np.array_equal(restored.masks_by_z[k], m) for k, m in proposal.masks_by_z.items())
    written = mask_proposal.accept(session, restored)
    assert written == sorted(proposal.masks_by_z)
    after = correction.load_drawing(session, INSTANCE)
    assert np.array_equal(after.masks_zyx[z - z0], drawn)
    assert all(
        np.array_equal(after.masks_zyx[k - z0], m) for k, m in proposal.masks_by_z.items()
    )
    assert set(correction.edited_slices(session, INSTANCE)) == {z, *written}
    undone = correction.step(session, INSTANCE, "undo")
    assert undone is not None and undone.kind == "masks"
    assert correction.edited_slices(session, INSTANCE) == [z]
    assert np.array_equal(correction.current_slice(session, INSTANCE, z), drawn)
    correction.step(session, INSTANCE, "redo")
    assert set(correction.edited_slices(session, INSTANCE)) == {z, *written}


def test_accept_one_slice_never_overwrites_a_slice_drawn_since(context: AppContext) -> None:
    session = open_session(context, SID)
    z, _drawn = _draw_centre_slice(context)
    proposal = mask_proposal.propose(Job(), session, INSTANCE)
    correction.clear_slice(session, INSTANCE, z + 2)  # the user draws another slice meanwhile
    assert mask_proposal.accept(session, proposal, only_z=z + 2) == []
    assert not correction.current_slice(session, INSTANCE, z + 2).any()
    assert mask_proposal.accept(session, proposal, only_z=z + 1) == [z + 1]
    assert np.array_equal(
        correction.current_slice(session, INSTANCE, z + 1), proposal.masks_by_z[z + 1]
    )
    assert set(correction.edited_slices(session, INSTANCE)) == {z, z + 1, z + 2}
