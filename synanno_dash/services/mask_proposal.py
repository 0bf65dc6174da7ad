"""The drawing view's *Auto (U-Net)*: a proposal for the slices the user did not draw, and
accepting it as one undoable step (issue 15; no Dash here).

The drawn slices are the instance's stored (edited) slices; the proposal covers the other
slices of its drawing box and never replaces a stored slice, neither when it is made nor
when it is accepted (a slice drawn in between stays as drawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synanno_dash.services import correction
from synanno_dash.services.jobs import Job, JobError
from synanno_dash.services.mask_completion import MaskCompletionError, complete_mask
from synanno_dash.services.session import Session
from synanno_dash.services.tile_images import source_slices_for_target

MAX_PROPOSAL_SLICES = 1024  # slices of one drawing box (crops hold at most 1,024 per axis)


@dataclass(frozen=True, eq=False)
class Proposal:
    """Proposed bool (y, x) masks by absolute target z, for one instance."""

    instance_id: int
    masks_by_z: dict[int, np.ndarray]

    def to_json(self) -> dict[str, Any]:
        """Small JSON for a browser store (packed bits per slice)."""
        slices = {str(z): correction.packed_mask(m) for z, m in self.masks_by_z.items()}
        return {"instance_id": self.instance_id, "slices": slices}

    @staticmethod
    def from_json(data: dict[str, Any] | None, shape_yx: tuple[int, int]) -> Proposal | None:
        """The proposal of a browser store, or ``None`` if it holds none; slices whose shape
        is not ``shape_yx`` (the drawing box's) are dropped."""
        slices = data.get("slices") if data else None
        instance_id = data.get("instance_id") if data else None
        if not isinstance(slices, dict) or not isinstance(instance_id, int):
            return None
        masks = {}
        # A browser store holds one proposal per drawing slice; more is not ours.
        for z, packed in list(slices.items())[:MAX_PROPOSAL_SLICES]:
            try:
                mask = correction.unpacked_mask(packed)
                masks[int(z)] = mask
            except (KeyError, TypeError, ValueError, OverflowError):
                continue
            if mask.shape != tuple(shape_yx):
                del masks[int(z)]
        return Proposal(instance_id, masks)


def em_on_mask_grid(drawing: correction.Drawing) -> np.ndarray:
    """The drawing's EM crop as uint8 (z, y, x) on the grid of its masks (nearest sample:
    the EM may be at a finer source resolution)."""
    depth, height, width = drawing.masks_zyx.shape
    em = np.stack(source_slices_for_target(drawing.crops.em_zyx, depth))
    rows = ((np.arange(height) + 0.5) * em.shape[1] / height).astype(int)
    columns = ((np.arange(width) + 0.5) * em.shape[2] / width).astype(int)
    return np.ascontiguousarray(em[:, rows][:, :, columns], dtype=np.uint8)


def propose(job: Job, session: Session, instance_id: int) -> Proposal:
    """Complete the instance's mask with the U-Net from its drawn slices (a job: reports
    progress; a ``JobError`` says what to do)."""
    job.report(0.05, "reading the EM crop and the drawn slices", force=True)
    try:
        drawing = correction.load_drawing(session, instance_id)
    except correction.CorrectionError as exc:
        raise JobError(str(exc)) from None
    drawn = sorted(drawing.slice_index(z) for z in drawing.edited_z)
    if not drawn:
        raise JobError("Auto needs a drawn slice: draw the cleft on one slice (Fill), then Auto.")
    res = session.config.target_resolution
    job.report(0.2, f"completing the mask from {len(drawn)} drawn slice(s) with the U-Net")
    try:
        completed = complete_mask(
            em_on_mask_grid(drawing), drawing.masks_zyx, drawn, (res.x_nm, res.y_nm, res.z_nm)
        )
    except MaskCompletionError as exc:
        raise JobError(f"Auto (U-Net) cannot complete this crop: {exc}.") from None
    z0 = drawing.box.start_xyz[2]
    masks = {z0 + k: completed[k] for k in range(completed.shape[0]) if k not in drawn}
    job.report(1.0, f"proposal ready on {len(masks)} slice(s)", force=True)
    return Proposal(instance_id, masks)


def accept(session: Session, proposal: Proposal, only_z: int | None = None) -> list[int]:
    """Write the proposal (or only its slice ``only_z``) into the mask as one undoable step,
    skipping slices stored since (drawn by the user). Returns the absolute z written."""
    stored = set(correction.edited_slices(session, proposal.instance_id))
    chosen = {
        z: mask
        for z, mask in proposal.masks_by_z.items()
        if z not in stored and (only_z is None or z == only_z)
    }
    correction.write_slices(session, proposal.instance_id, chosen)
    return sorted(chosen)
