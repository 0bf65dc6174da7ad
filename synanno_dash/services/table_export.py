"""The corrected synapse table export: the input table with the session's corrections (pre
and post points, synapse types, dropped false positives, synapses added by hand) in its own
format and schema, or, without an input table, the session's synapses as SynAnno CSV.

Written under a temporary name and renamed when complete, as every correction export
(``services/exports.py``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from synanno_dash.core.geometry import BBox, Resolution, convert_point
from synanno_dash.core.instances import DatasetConfig, Instance, Synapse
from synanno_dash.data.atomic_files import written_atomically
from synanno_dash.data.corrected_table import (
    AddedSynapse,
    Point,
    TableCorrections,
    table_path,
    write_corrected_table,
)
from synanno_dash.data.table_schema import TableError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import correction
from synanno_dash.services.exports import ExportError, export_folder
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import Session


@dataclass(frozen=True)
class TableExport:
    path: Path
    rows: int
    changed: int
    dropped: int
    added: int


def _to_table(point: tuple[int, ...], config: DatasetConfig) -> Point:
    if config.table_resolution is None:
        return (float(point[0]), float(point[1]), float(point[2]))
    return convert_point(point, config.target_resolution, config.table_resolution)


def _from_table(
    point: tuple[int, ...] | None, res: Resolution | None, target: Resolution
) -> tuple[int, ...] | None:
    """A table point in target voxels, rounded as when the session was prepared."""
    if point is None or res is None:
        return None if point is None else tuple(point)
    return tuple(int(round(v)) for v in convert_point(point, res, target))


def table_corrections(
    session: Session, table_rows: dict[int, Synapse]
) -> TableCorrections:
    config = session.config
    drop, points, added = set(), {}, []
    types: dict[int, str | None] = {}
    for item in session.store.instances(session.session_id):
        syn = item.synapse
        if correction.is_added(item):
            if not item.discarded:
                pre_id, post_id = neuron_ids_at_markers(session, syn)
                added.append(AddedSynapse(
                    _to_table(syn.center_xyz_vx, config),
                    None if syn.pre_xyz_vx is None else _to_table(syn.pre_xyz_vx, config),
                    None if syn.post_xyz_vx is None else _to_table(syn.post_xyz_vx, config),
                    pre_id, post_id, syn.synapse_type,
                ))  # fmt: skip
            continue
        if item.discarded:
            drop.add(syn.materialization_index)
            continue
        row = table_rows.get(syn.materialization_index)
        if row is None:
            continue
        if syn.synapse_type != row.synapse_type:
            types[syn.materialization_index] = syn.synapse_type
        changed: dict[str, Point] = {}
        for role in ("pre", "post"):
            ours = getattr(syn, f"{role}_xyz_vx")
            theirs = _from_table(getattr(row, f"{role}_xyz_vx"), config.table_resolution,
                                 config.target_resolution)  # fmt: skip
            if ours is not None and ours != theirs:
                changed[role] = _to_table(ours, config)
        if changed:
            points[syn.materialization_index] = changed
    return TableCorrections(frozenset(drop), points, tuple(added), types)


def neuron_ids_at_markers(session: Session, synapse: Synapse) -> tuple[int | None, int | None]:
    """(pre, post) neuron ids of a synapse added by hand: the neuropil segments under its
    markers (its table row has none). ``None`` where there is no marker, no neuropil layer,
    or background under the marker."""
    if not session.config.neuropil_url:
        return (None, None)
    try:
        volumes = session.volumes
        return (
            _segment_at(volumes, synapse.pre_xyz_vx),
            _segment_at(volumes, synapse.post_xyz_vx),
        )
    except VolumeError:
        return (None, None)  # the export goes on; the ids stay empty


def _segment_at(volumes: VolumeSet, point_xyz_vx: tuple[int, int, int] | None) -> int | None:
    if point_xyz_vx is None:
        return None
    voxel = BBox(point_xyz_vx, tuple(v + 1 for v in point_xyz_vx))  # type: ignore[arg-type]
    value = int(volumes.read_neuropil(voxel).data_zyx.flat[0])
    return value or None


def _table_rows(session: Session, mats: list[int]) -> dict[int, Synapse]:
    config = session.config
    table = session.resources.tables.get(config.table_url)
    box = config.bbox_target_vx
    if box is not None and config.table_resolution is not None:
        box = box.scaled(config.target_resolution, config.table_resolution)
    rows = {s.materialization_index: s for s in table.query(neuron_id=config.neuron_id, bbox=box)}
    for mat in mats:  # instances restored from a JSON may lie outside today's selection
        if mat not in rows and mat >= 0:
            found = table.get(mat)
            if found is not None:
                rows[mat] = found
    return rows


def write_table(
    session: Session, folder: Path | None = None, job: Job | None = None
) -> TableExport:
    """The input table with the corrections, in its own format and schema; without an
    input table (a session restored from a JSON only), the session's synapses as SynAnno CSV."""
    job = job or Job()
    config = session.config
    items = session.store.instances(session.session_id)
    if not config.table_url:
        name = "corrected_synapses.csv"
        out = (folder or export_folder(session, name)) / name
        return _session_table(items, out, lambda syn: neuron_ids_at_markers(session, syn))
    try:
        job.report(0.0, "reading the corrections", force=True)
        source = table_path(config.table_url)
        rows = _table_rows(session, [i.synapse.materialization_index for i in items])
        corrections = table_corrections(session, rows)
        suffix = ".parquet" if source.suffix == ".parquet" else ".csv"
        name = f"{source.name.split('.')[0]}_corrected{suffix}"
        out = (folder or export_folder(session, name)) / name
        copying = job.part(0.2, 1.0)
        with written_atomically(out) as partial:
            count = write_corrected_table(
                source, partial, corrections,
                on_rows=lambda n: copying.report(0.5, f"{n:,} rows of the table copied"),
            )  # fmt: skip
    except (TableError, OSError) as exc:
        raise ExportError(f"The corrected table could not be written: {exc}") from None
    return TableExport(out, count, len(corrections.points), len(corrections.drop),
                       len(corrections.added))  # fmt: skip


SESSION_TABLE_COLUMNS = [
    "id", "x", "y", "z", "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y",
    "post_pt_z", "pre_neuron_id", "post_neuron_id", "synapse_type",
]  # fmt: skip


def _session_table(
    items: list[Instance],
    out: Path,
    added_ids: Callable[[Synapse], tuple[int | None, int | None]],
) -> TableExport:
    kept = [i for i in items if not i.discarded]
    next_id = 1 + max((i.synapse.materialization_index for i in kept), default=-1)
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SESSION_TABLE_COLUMNS)
        for item in kept:
            syn = item.synapse
            mat = syn.materialization_index
            if mat < 0:
                mat, next_id = next_id, next_id + 1
            empty = ("", "", "")
            pre_id, post_id = (
                added_ids(syn) if correction.is_added(item)
                else (syn.pre_neuron_id, syn.post_neuron_id)
            )  # fmt: skip
            writer.writerow([
                mat, *syn.center_xyz_vx, *(syn.pre_xyz_vx or empty), *(syn.post_xyz_vx or empty),
                "" if pre_id is None else pre_id, "" if post_id is None else post_id,
                syn.synapse_type or "",
            ])  # fmt: skip
    added = sum(1 for i in kept if correction.is_added(i))
    return TableExport(out, len(kept), 0, len(items) - len(kept), added)
