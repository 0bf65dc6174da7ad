"""The exports for connectome tools as downloads of the Export views (issue 13).

The files are the command line's (``synanno-dash export``): ``services.field_exports``
``export_session`` writes them (one home); this module writes them into a temporary folder
under the session's export folder, packs them (a zip, or the state's JSON as it is), checks the
download against ``Settings.max_export_bytes`` and removes the temporary folder, whatever
happens. Formats:

- ``ng-annotations``: a zip holding the folder ``proofread_synapses/`` (a Neuroglancer
  precomputed annotation layer);
- ``cave``: a zip of ``synapses_cave.parquet`` and ``synapses_cave.csv``;
- ``connectivity``: a zip of ``connectivity.csv``, ``.parquet`` and ``.graphml``;
- ``ng-state``: ``neuroglancer_state.json``, which shows source, target, neuropil and the
  annotation layer at the first flagged instance. The layer it shows is written (and kept)
  under ``<data dir>/exports/<session hash>/``: the app serves it at ``/ngdata/<token>/``
  for as long as the data folder is kept.
"""

from __future__ import annotations

import io
import secrets
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from synanno_dash.core import stage_times
from synanno_dash.services import field_exports
from synanno_dash.services.exports import ExportError, check_export_size, export_folder
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import Session

# format -> (file stem, what it is called in messages)
DOWNLOADS: dict[str, tuple[str, str]] = {
    "ng-annotations": ("proofread_synapses", "Neuroglancer annotation layer"),
    "cave": ("synapses_cave", "CAVE table"),
    "connectivity": ("connectivity", "connectivity matrix"),
    "ng-state": ("neuroglancer_state", "Neuroglancer state"),
}
STATE_LAYER = "proofread_synapses"  # the layer the state link shows (kept)
_SCRATCH = ".field-downloads"


@dataclass(frozen=True)
class Download:
    """A file for the browser: its name and bytes."""

    filename: str
    data: bytes


def field_download(job: Job, session: Session, fmt: str, base_url: str = "") -> Download:
    """The ``fmt`` export of this session as a download (``ExportError``: a message for the
    user). ``base_url``: the app's address, for the state's local layers."""
    if fmt not in DOWNLOADS:
        raise ExportError(f"Unknown export {fmt!r}: use one of {', '.join(DOWNLOADS)}.")
    stem, what = DOWNLOADS[fmt]
    stamp = stage_times.file_stamp()
    job.report(0.05, f"{what}: reading the session", force=True)
    scratch = _scratch_folder(session)
    try:
        if fmt == "ng-state":
            data = _state_bytes(session, scratch, base_url)
            check_export_size(session, len(data), what)
            return Download(f"{stem}_{stamp}.json", data)
        paths = _write(session, fmt, scratch / stem)
        job.report(0.7, f"{what}: packing the zip", force=True)
        data = _zip(paths, scratch, session, what)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    job.report(1.0, f"{what}: {len(data):,} bytes", force=True)
    return Download(f"{stem}_{stamp}.zip", data)


def _scratch_folder(session: Session) -> Path:
    base = session.settings.data_dir / "exports" / _SCRATCH
    base.mkdir(parents=True, exist_ok=True)
    folder = base / f"{stage_times.file_stamp()}-{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def _write(session: Session, fmt: str, out_base: Path) -> list[Path]:
    try:
        return field_exports.export_session(session.store, session.session_id, fmt, out_base)
    except field_exports.ExportError as exc:
        raise ExportError(str(exc)) from None


def _state_bytes(session: Session, scratch: Path, base_url: str) -> bytes:
    if not base_url:
        raise ExportError("The app's address is unknown: reload the page and try again.")
    # the layer as labelled now, written whole then moved beside this session's exports
    partial = scratch / STATE_LAYER
    _write(session, "ng-annotations", partial)
    kept = export_folder(session, STATE_LAYER) / STATE_LAYER
    shutil.move(str(partial), str(kept))
    try:
        path = field_exports.export_session(
            session.store, session.session_id, "ng-state", scratch / "state", base_url,
            str(kept),
        )[0]  # fmt: skip
    except field_exports.ExportError as exc:
        raise ExportError(str(exc)) from None
    return path.read_bytes()


def _zip(paths: list[Path], root: Path, session: Session, what: str) -> bytes:
    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p])]
    files = [f for f in files if f.is_file()]
    check_export_size(session, sum(f.stat().st_size for f in files), f"{what} (uncompressed)")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(root).as_posix())
    data = buffer.getvalue()
    check_export_size(session, len(data), what)
    return data
