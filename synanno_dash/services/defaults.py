"""What the Open Data form shows before the user types: the last config, else the demo; and
writing the demo dataset when it is missing (a background job)."""

from __future__ import annotations

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, DatasetConfig
from synanno_dash.demo.dataset import MARKER_FILE, DemoInfo, ensure_demo
from synanno_dash.services.jobs import Job, JobError
from synanno_dash.services.session import Session

# The Open Data fields the demo dataset fills.
DEMO_FIELDS = ("source", "target", "neuropil", "table", "source_res", "target_res", "neuron_id")


def _triple(values: tuple) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _res(resolution: Resolution | None) -> str:
    return "" if resolution is None else _triple(resolution.as_tuple())


def from_config(config: DatasetConfig) -> dict[str, str]:
    box = config.bbox_target_vx
    return {
        "source": config.source_url,
        "target": config.target_url,
        "neuropil": config.neuropil_url,
        "table": config.table_url,
        "mode": config.mode.value,
        "box_start": "" if box is None else _triple(box.start_xyz),
        "box_stop": "" if box is None else _triple(box.stop_xyz),
        "source_res": _res(config.source_resolution),
        "target_res": _res(config.target_resolution),
        "neuron_id": "" if config.neuron_id is None else str(config.neuron_id),
        "crop_size": _triple(config.crop_size_xyz_vx),
        "tiles_per_page": str(config.tiles_per_page),
    }


def form_defaults(session: Session) -> dict[str, str]:
    if session.has_dataset:
        return from_config(session.config)
    defaults = {
        "source": "",
        "target": "",
        "neuropil": "",
        "table": "",
        "source_res": "",
        "target_res": "",
        "neuron_id": "",
        "crop_size": _triple(DEFAULT_CROP_SIZE_XYZ_VX),
        "tiles_per_page": "24",
    }
    demo = _demo(session)
    if demo is not None:
        defaults.update(demo_values(demo))
    return defaults


def _demo(session: Session) -> DemoInfo | None:
    """The demo dataset when it is completely written (its marker file comes last)."""
    if not (session.settings.demo_dir / MARKER_FILE).exists():
        return None
    try:
        return DemoInfo.load(session.settings.demo_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def missing_demo_folder(session: Session) -> str:
    """The demo dataset's folder when it holds no complete demo, else ``""``."""
    return "" if _demo(session) is not None else str(session.settings.demo_dir)


def demo_values(demo: DemoInfo) -> dict[str, str]:
    """The Open Data fields ``DEMO_FIELDS`` for the demo dataset."""
    return {
        "source": demo.source_url,
        "target": demo.target_url,
        "neuropil": demo.neuropil_url,
        "table": demo.table_url,
        "source_res": _triple(tuple(demo.source_resolution_nm)),
        "target_res": _triple(tuple(demo.target_resolution_nm)),
        "neuron_id": str(demo.demo_neuron_id),
    }


def write_demo(session: Session, job: Job | None = None) -> dict[str, str]:
    """Write the demo dataset into the data folder (a background job: a minute or so) and
    give its Open Data fields. An interrupted write is redone from the start next time."""
    job = job or Job()
    try:
        demo = ensure_demo(session.settings.demo_dir, progress=job.report)
    except OSError as exc:
        raise JobError(
            f"The demo dataset could not be written in {session.settings.demo_dir} "
            f"({exc.strerror or exc}): check that the data folder is writable and has free "
            "space (about 300 MB)."
        ) from None
    return demo_values(demo)
