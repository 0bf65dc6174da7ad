"""What the Open Data form shows before the user types: the last config, else the demo."""

from __future__ import annotations

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, DatasetConfig
from synanno_dash.demo.dataset import DemoInfo
from synanno_dash.services.session import Session


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
    reviewer = session.store.reviewer(session.session_id)
    if session.has_dataset:
        return {**from_config(session.config), "reviewer": reviewer}
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
        "reviewer": reviewer,
    }
    try:
        demo = DemoInfo.load(session.settings.demo_dir)
    except (FileNotFoundError, ValueError, KeyError):
        return defaults
    defaults.update(
        source=demo.source_url,
        target=demo.target_url,
        neuropil=demo.neuropil_url,
        table=demo.table_url,
        source_res=_triple(tuple(demo.source_resolution_nm)),
        target_res=_triple(tuple(demo.target_resolution_nm)),
        neuron_id=str(demo.demo_neuron_id),
    )
    return defaults
