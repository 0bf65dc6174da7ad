"""Correction exports: session JSON, masks zip, precomputed layer, corrected table.

The instances exported are those of the correction view (``correction.correction_instances``).
Files go to ``<data dir>/exports/<session hash>/<time>/`` unless a folder is given. The masks
zip, the layer and the table run as background jobs (``services.jobs``): they report progress
through the ``Job`` they are given, and write each file or layer folder under a temporary name
first, renamed when complete, so a cancelled or repeated job never leaves a half-written export
under the final name.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synanno_dash.core import stage_times
from synanno_dash.core.instances import Instance
from synanno_dash.core.limits import megabytes
from synanno_dash.core.mask_checks import MaskIssue, check_mask
from synanno_dash.core.session_json import dumps
from synanno_dash.data.atomic_files import written_atomically
from synanno_dash.data.mask_layer import write_segmentation_layer
from synanno_dash.data.masks_zip import InstanceMask, masks_zip
from synanno_dash.data.volumes import VolumeError
from synanno_dash.services import correction, review
from synanno_dash.services.jobs import Job, JobError
from synanno_dash.services.session import Session

log = logging.getLogger(__name__)
LAYER_FOLDER = "corrected_masks"


class ExportError(JobError):
    """An export that cannot be written; the message is for the user."""


def check_export_size(session: Session, n_bytes: int, what: str) -> None:
    """``ExportError`` when one export file would exceed ``Settings.max_export_bytes``."""
    limit = session.settings.max_export_bytes
    if n_bytes > limit:
        raise ExportError(
            f"The {what} would be {megabytes(n_bytes)}; this server exports at most "
            f"{megabytes(limit)} per file (SYNANNO_MAX_EXPORT_BYTES). Export a smaller "
            "selection (a box or a neuron), or ask the people who host it to raise the limit."
        )


def json_text(session: Session, document: dict[str, Any], what: str) -> str:
    """A JSON export's text, within the export size limit."""
    text = dumps(document)
    check_export_size(session, len(text.encode()), what)
    return text


def export_folder(session: Session, entry: str) -> Path:
    """The folder for ``entry`` (a file or folder name): this session's newest export
    folder while it has no such entry (so one export's layer and table sit together),
    else a new one. Named from a hash, never the session id."""
    tag = hashlib.sha256(session.session_id.encode()).hexdigest()[:12]
    base = session.settings.data_dir / "exports" / tag
    existing = sorted(base.glob("*"), key=lambda f: f.stat().st_mtime) if base.exists() else []
    if existing and not (existing[-1] / entry).exists():
        return existing[-1]
    stamp = stage_times.file_stamp()
    folder, suffix = base / stamp, 1
    while folder.exists():
        suffix += 1
        folder = base / f"{stamp}-{suffix}"
    folder.mkdir(parents=True)
    return folder


# -- session JSON ---------------------------------------------------------------------------
def correction_json(session: Session) -> dict[str, Any]:
    """The review's session JSON with the corrections: points as corrected, added instances,
    and per record ``sd_edited_slices_z`` and ``sd_draw_bbox_target_xyz_vx``. The instances
    of the correction view have their draw box in the original's keys (padded in z), as the
    original writes them after drawing."""
    slices = correction.draw_slices(session)
    by_id = {i.instance_id: i for i in session.store.instances(session.session_id)}
    drawn = {
        item.instance_id: correction.draw_box(
            item, slices, correction.edited_slices(session, item.instance_id)
        )
        for item in correction.correction_instances(session)
    }
    document = review.session_json_document(session, draw_boxes=drawn)
    for record in document["Metadata"]:
        item = by_id.get(record.get("sd_instance_id"))
        if item is None:
            continue
        edited = correction.edited_slices(session, item.instance_id)
        record["sd_edited_slices_z"] = edited
        record["sd_draw_bbox_target_xyz_vx"] = correction.draw_box(item, slices, edited).as_list()
    document["SynAnno Dash"]["draw_slices"] = slices
    return document


# -- masks ------------------------------------------------------------------------------------
def instance_masks(session: Session, job: Job | None = None) -> list[InstanceMask]:
    """The masks of the correction view's instances, as drawn (``job``: progress)."""
    masks = []
    items = correction.correction_instances(session)
    for item in (job or Job()).steps(items, lambda i, _: f"reading mask {i + 1} of {len(items)}"):
        drawing = correction.load_drawing(session, item.instance_id)
        syn = item.synapse
        info = {
            "materialization_index": syn.materialization_index,
            "label": item.label.value,
            "category": None if item.category is None else item.category.value,
            "added_by_hand": correction.is_added(item),
            "center_xyz_vx": list(syn.center_xyz_vx),
            "pre_xyz_vx": None if syn.pre_xyz_vx is None else list(syn.pre_xyz_vx),
            "post_xyz_vx": None if syn.post_xyz_vx is None else list(syn.post_xyz_vx),
            "edited_slices_z": sorted(drawing.edited_z),
            "saved_slices_z": sorted(drawing.saved_z),
        }
        masks.append(
            InstanceMask(
                item.instance_id,
                drawing.box,
                drawing.masks_zyx,
                tuple(sorted(drawing.edited_z)),
                info,
            )  # fmt: skip
        )
    return masks


@dataclass(frozen=True)
class InstanceIssues:
    """The mask checks' findings for one instance of the correction view."""

    instance_id: int
    materialization_index: int
    issues: tuple[MaskIssue, ...]


def mask_issues(session: Session, job: Job | None = None) -> list[InstanceIssues]:
    """Holes, islands, gap slices and border contacts of each correction-view mask, as it
    would be exported (``core.mask_checks``); instances without an issue are left out."""
    try:
        masks = instance_masks(session, job)
    except correction.CorrectionError as exc:
        raise ExportError(str(exc)) from None
    found = []
    for mask in masks:
        issues = check_mask(mask.mask_zyx, mask.bbox_target_vx.start_xyz[2])
        if issues:
            mat = int(mask.info["materialization_index"])
            found.append(InstanceIssues(mask.instance_id, mat, tuple(issues)))
    return found


def masks_zip_bytes(session: Session, job: Job | None = None) -> bytes:
    job = job or Job()
    config = session.config
    # one byte per mask voxel before compression: refused before any mask is loaded
    voxels = sum(i.bbox_target_vx.size for i in correction.correction_instances(session))
    check_export_size(session, voxels, "masks ZIP (uncompressed)")
    try:
        masks = instance_masks(session, job.part(0.0, 0.8))
    except correction.CorrectionError as exc:
        raise ExportError(str(exc)) from None
    manifest = {
        "axes": "zyx",
        "resolution_nm_xyz": list(config.target_resolution.as_tuple()),
        "coordinates": "absolute target voxels, x, y, z; boxes half-open [start, stop)",
        "target_url": config.target_url,
    }
    job.report(0.9, f"compressing {len(masks)} masks", force=True)
    return masks_zip(masks, manifest)


@dataclass(frozen=True)
class LayerExport:
    path: Path
    url: str
    segments: int


def segment_id(item: Instance) -> int:
    """The layer's segment id of an instance (0 is background)."""
    return item.instance_id + 1


def write_layer(
    session: Session, folder: Path | None = None, job: Job | None = None
) -> LayerExport:
    job = job or Job()
    config = session.config
    path = (folder or export_folder(session, LAYER_FOLDER)) / LAYER_FOLDER
    try:
        bounds = session.volumes.target_bounds
        masks = instance_masks(session, job.part(0.0, 0.4))
    except (VolumeError, correction.CorrectionError) as exc:
        raise ExportError(str(exc)) from None
    by_id = {i.instance_id: i for i in session.store.instances(session.session_id)}
    entries = [(segment_id(by_id[m.instance_id]), m.bbox_target_vx, m.mask_zyx) for m in masks]
    labels = {
        segment_id(by_id[m.instance_id]): f"instance {m.instance_id} "
        f"(table row {by_id[m.instance_id].synapse.materialization_index})"
        for m in masks
    }
    painting = job.part(0.4, 1.0)
    try:
        with written_atomically(path) as partial:
            write_segmentation_layer(
                partial, bounds, config.target_resolution, entries, labels,
                on_painted=lambda n: painting.report(
                    n / max(1, len(entries)), f"writing segment {n} of {len(entries)}"
                ),
            )  # fmt: skip
    except OSError as exc:
        raise ExportError(
            f"The layer could not be written in {path.parent} ({exc.strerror or exc}): "
            "check that the data folder is writable and has free space."
        ) from None
    return LayerExport(path, path.resolve().as_uri(), len(entries))
