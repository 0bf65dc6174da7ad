"""Open Data's *Import predictions*: the command line's import (``data.prediction_import``
``run_import``, one home) as a background job of a browser session.

Where the dataset goes: always a new folder ``<data dir>/imports/<session hash>/<time>-<random>``
(``Settings.imports_dir``), chosen by the app, never by the request: a hosted server writes
only inside its own data folder, and the name can't be guessed from outside. Hosted mode
(``services.source_policy``) checks the map, neuropil and source addresses against the
allow-list before anything is read; the imports folder itself is allowed, so the result opens
for review like the demo.

Nothing half-written: ``run_import`` writes into a hidden ``.<name>.partial-<pid>`` folder and
renames it when complete. A cancelled job's process is stopped before its own clean-up can
run, so each import first removes the partial folders of this session whose process is gone.

Bounded disk: the map's size is checked from its metadata before any read
(``Settings.import_voxel_limit``: ``SYNANNO_MAX_IMPORT_VOXELS``, always applied in hosted
mode), and a session keeps its newest ``SYNANNO_MAX_IMPORTS_PER_SESSION`` imports (older
folders are removed after a new one is written).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil

from synanno_dash.core import stage_times
from synanno_dash.core.detection import DetectionError
from synanno_dash.core.import_form import ImportChoices
from synanno_dash.data.prediction_import import ImportRequest, PredictionImportError, run_import
from synanno_dash.data.prediction_maps import MapError
from synanno_dash.data.synapse_sides import SideLayerError
from synanno_dash.services.jobs import Job, JobError
from synanno_dash.services.session import Session
from synanno_dash.services.source_policy import SourceRefused, check_source

MEMORY_BUDGET_BYTES = 512 * 1024**2
_PARTIAL = re.compile(r"^\..+\.partial-(\d+)$")
# The command line's option names in its messages, as the panel names them.
_PANEL_NAMES = {
    "--threshold/--hysteresis/--closing": "Threshold, Hysteresis and Closing",
    "--min-size/--max-size": "Min size/Max size",
    "--hysteresis": "Hysteresis",
    "--threshold": "Threshold",
    "--min-size": "Min size",
    "--max-size": "Max size",
    "--closing": "Closing radius",
    "--resolution": "Map resolution",
    "--channel": "Channel",
    "--neuropil": "Neuropil",
    "--source": "Source",
}


@dataclass(frozen=True)
class ImportedDataset:
    """A finished import: what Open Data needs to review it."""

    out_dir: Path
    target_url: str
    table_path: Path
    resolution_nm: tuple[float, float, float]
    count: int
    components_before_filter: int
    has_confidence: bool


def session_imports(session: Session) -> Path:
    """This session's imports folder (named from a hash, never the session id)."""
    tag = hashlib.sha256(session.session_id.encode()).hexdigest()[:12]
    return session.settings.imports_dir / tag


def import_predictions(job: Job, session: Session, choices: ImportChoices) -> ImportedDataset:
    """Run the import; ``JobError`` with the importer's message (named for the panel)."""
    settings = session.settings
    try:
        check_source(_path_part(choices.map_url), settings, "probability map")
        for address, what in ((choices.neuropil_url, "neuropil"), (choices.source_url, "source")):
            if address:
                check_source(address, settings, what)
    except SourceRefused as exc:
        raise JobError(str(exc)) from None
    folder = session_imports(session)
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned(folder)
    out_dir = folder / f"{stage_times.file_stamp()}-{secrets.token_hex(4)}"
    request = ImportRequest(
        choices.map_url, out_dir, choices.params, choices.resolution, choices.neuropil_url,
        choices.source_url, choices.channel, MEMORY_BUDGET_BYTES, settings.import_voxel_limit,
    )  # fmt: skip
    job.report(0.0, "opening the map", force=True)
    try:
        result = run_import(request, lambda fraction, text: job.report(fraction, text))
    except (DetectionError, MapError, SideLayerError, PredictionImportError) as exc:
        raise JobError(panel_message(str(exc))) from None
    remove_oldest(folder, settings.max_imports_per_session)
    written = json.loads((result.out_dir / "import.json").read_text())
    resolution = tuple(float(v) for v in written["resolution_nm"])
    return ImportedDataset(
        result.out_dir, result.target_url, result.table_path,
        (resolution[0], resolution[1], resolution[2]), result.count,
        result.components_before_filter, not written["parameters"]["is_label_volume"],
    )  # fmt: skip


def panel_message(message: str) -> str:
    """The importer's message with the command line's option names as the panel's labels."""
    text = " ".join(message.split())
    for option, label in _PANEL_NAMES.items():
        text = text.replace(option, label)
    return text


def _path_part(url: str) -> str:
    """The file of ``FILE.h5:/DATASET`` (the allow-list checks files, not datasets)."""
    return url.split(":/", 1)[0] if "://" not in url else url


def remove_abandoned(folder: Path) -> list[Path]:
    """Remove the partial imports in ``folder`` whose process has ended (a cancelled job);
    the folders removed."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        found = _PARTIAL.match(entry.name)
        if found and not psutil.pid_exists(int(found.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def remove_oldest(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` finished imports in ``folder`` (their names start
    with the time they were written); the folders removed."""
    finished = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    removed = finished[: max(len(finished) - keep, 0)]
    for entry in removed:
        shutil.rmtree(entry, ignore_errors=True)
    return removed
