"""Validate the Open Data form and prepare a session's instances (no Dash here).

Every field gets its own message naming the problem and the fix; nothing raises past
``prepare_session`` for bad input, so the server keeps serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from synanno_dash.core.forms import (
    FieldError,
    check_box_in_volume,
    parse_axis_order,
    parse_bbox,
    parse_int_triple,
    parse_neuron_id,
    parse_resolution,
)
from synanno_dash.core.geometry import BBox, Resolution, convert_point
from synanno_dash.core.instances import (
    DatasetConfig,
    Instance,
    Mode,
    Synapse,
    instance_for,
)
from synanno_dash.core.session_json import SessionJsonError, parse_session_json
from synanno_dash.data.tables import NeuronCount, SynapseTable, TableError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.neuron import NeuronError, neuron_instances, neuron_view, save_swc
from synanno_dash.services.session import Session, open_session

log = logging.getLogger(__name__)

# A session holds its instances in the store; beyond this a box or a neuron must narrow it.
MAX_INSTANCES = 200_000


@dataclass(frozen=True)
class OpenDataForm:
    """The raw text of the Open Data form."""

    source: str = ""
    target: str = ""
    neuropil: str = ""
    table: str = ""
    secrets: str = ""
    mode: str = "volume"
    axis_order: str = "xyz"
    box_start: str = ""
    box_stop: str = ""
    source_res: str = ""
    target_res: str = ""
    table_res: str = ""
    neuron_id: str = ""
    crop_size: str = "64, 64, 6"
    tiles_per_page: str = "24"
    session_json: str = ""  # the uploaded session JSON's text, to restore a session
    workflow: str = "detection"  # or "correction": which landing button started it
    swc_text: str = ""  # neuron-centric: an uploaded SWC skeleton instead of the neuropil's
    swc_unit_nm: str = "1"  # nm per SWC coordinate unit


@dataclass
class PrepareOutcome:
    errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    config: DatasetConfig | None = None
    instance_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.config is not None


def _parse(form: OpenDataForm, errors: dict[str, str]) -> dict:
    parsed: dict = {}

    def attempt(name: str, func, *args):  # type: ignore[no-untyped-def]
        try:
            parsed[name] = func(*args)
        except FieldError as exc:
            errors[name] = str(exc)

    attempt("source_res", parse_resolution, form.source_res, "source resolution")
    attempt("target_res", parse_resolution, form.target_res, "target resolution")
    attempt("table_res", parse_resolution, form.table_res, "table resolution")
    attempt("crop_size", parse_int_triple, form.crop_size, "crop size")
    try:
        parsed["bbox"] = parse_bbox(
            form.box_start, form.box_stop, parse_axis_order(form.axis_order)
        )
    except FieldError as exc:
        errors["box_start"] = str(exc)
    if form.mode == Mode.NEURON:
        attempt("neuron_id", parse_neuron_id, form.neuron_id)
    required = ("source", "target") if form.session_json else ("source", "target", "table")
    if form.session_json:
        try:
            parsed["restored"] = parse_session_json(form.session_json)
        except SessionJsonError as exc:
            errors["session_json"] = str(exc)
    for name in required:
        if not getattr(form, name).strip():
            errors[name] = f"the {name} is required."
    if form.mode == Mode.NEURON and not form.neuropil.strip() and not form.swc_text:
        errors["neuropil"] = "neuron-centric review needs the neuropil (neuron) segmentation."
    return parsed


def _open_volumes(
    resources: AppContext, form: OpenDataForm, parsed: dict, errors: dict[str, str]
) -> VolumeSet | None:
    try:
        return VolumeSet.open(
            form.source.strip(),
            form.target.strip(),
            form.neuropil.strip() or None,
            form.secrets.strip() or None,
            parsed.get("source_res"),
            parsed.get("target_res"),
            cache=resources.volumes.cache,
        )
    except VolumeError as exc:
        role = exc.role or "source"
        resolution_problem = "resolution" in str(exc).lower() and role in ("source", "target")
        errors[f"{role}_res" if resolution_problem else role] = str(exc)
        return None


def _open_table(
    resources: AppContext, form: OpenDataForm, errors: dict[str, str]
) -> SynapseTable | None:
    try:
        return resources.tables.get(form.table.strip())
    except TableError as exc:
        errors["table"] = str(exc)
        return None


def _to_target(point: tuple | None, table_res: Resolution | None, target_res: Resolution):
    if point is None or table_res is None:
        return point
    x, y, z = convert_point(point, table_res, target_res)
    return (int(round(x)), int(round(y)), int(round(z)))


def synapses_in_target_voxels(
    synapses: list[Synapse], table_res: Resolution | None, target_res: Resolution
) -> list[Synapse]:
    if table_res is None or table_res == target_res:
        return synapses
    return [
        Synapse(
            materialization_index=s.materialization_index,
            center_xyz_vx=_to_target(s.center_xyz_vx, table_res, target_res),  # type: ignore[arg-type]
            pre_xyz_vx=_to_target(s.pre_xyz_vx, table_res, target_res),
            post_xyz_vx=_to_target(s.post_xyz_vx, table_res, target_res),
            pre_neuron_id=s.pre_neuron_id,
            post_neuron_id=s.post_neuron_id,
        )
        for s in synapses
    ]


def _select(
    table: SynapseTable, config: DatasetConfig, errors: dict[str, str]
) -> list[Synapse] | None:
    table_box: BBox | None = None
    if config.bbox_target_vx is not None:
        table_box = config.bbox_target_vx
        if config.table_resolution is not None:
            table_box = config.bbox_target_vx.scaled(
                config.target_resolution, config.table_resolution
            )
    count = table.count(neuron_id=config.neuron_id, bbox=table_box)
    if count == 0:
        if config.mode == Mode.NEURON:
            errors["neuron_id"] = (
                f"neuron {config.neuron_id} has no synapse in the table (as pre or post). "
                "Pick a neuron from the list."
            )
        else:
            errors["box_start"] = "no synapse of the table lies in this box; widen it or clear it."
        return None
    if count > MAX_INSTANCES:
        errors["box_start"] = (
            f"{count:,} synapses match; a session holds at most {MAX_INSTANCES:,}. "
            "Give a smaller box or choose a neuron."
        )
        return None
    return table.query(neuron_id=config.neuron_id, bbox=table_box)


def prepare_session(resources: AppContext, session_id: str, form: OpenDataForm) -> PrepareOutcome:
    """Check every field; when all are fine, store the config and the instances."""
    outcome = PrepareOutcome()
    errors = outcome.errors
    parsed = _parse(form, errors)
    volumes = (
        _open_volumes(resources, form, parsed, errors)
        if not ({"source", "target"} & errors.keys())
        else None
    )
    table = None
    if form.table.strip() and "table" not in errors:
        table = _open_table(resources, form, errors)
    if volumes is None or errors or (table is None and "restored" not in parsed):
        return outcome
    bbox = parsed.get("bbox")
    if bbox is not None:
        try:
            check_box_in_volume(bbox, volumes.target_bounds)
        except FieldError as exc:
            errors["box_start"] = str(exc)
            return outcome
    config = DatasetConfig(
        source_url=form.source.strip(),
        target_url=form.target.strip(),
        table_url=form.table.strip(),
        neuropil_url=form.neuropil.strip(),
        secrets_path=form.secrets.strip(),
        source_resolution=volumes.source_resolution,
        target_resolution=volumes.target_resolution,
        table_resolution=parsed.get("table_res"),
        mode=Mode(form.mode),
        bbox_target_vx=bbox,
        neuron_id=parsed.get("neuron_id"),
        crop_size_xyz_vx=parsed["crop_size"],
        tiles_per_page=int(form.tiles_per_page),
    )
    if form.mode == Mode.NEURON and form.swc_text:
        try:
            data_dir = resources.settings.data_dir
            swc_url, unit_nm = save_swc(data_dir, form.swc_text, form.swc_unit_nm)
        except NeuronError as exc:
            errors["swc"] = str(exc)
            return outcome
        config = config.with_changes(skeleton_swc_url=swc_url, skeleton_swc_unit_nm=unit_nm)
    if "restored" in parsed:
        restored = parsed["restored"]
        items = restored.instances
        if restored.neuron_id is not None and config.neuron_id is None:
            config = config.with_changes(neuron_id=restored.neuron_id)
        if restored.tiles_per_page:  # the restored pages are the saved ones
            config = config.with_changes(tiles_per_page=restored.tiles_per_page)
        page, stage_times = restored.page, restored.proofread_time
    else:
        assert table is not None
        synapses = _select(table, config, errors)
        if synapses is None:
            return outcome
        synapses = synapses_in_target_voxels(
            synapses, config.table_resolution, config.target_resolution
        )
        if config.mode == Mode.NEURON:  # review order: compartment, then along the skeleton
            try:
                items = neuron_instances(neuron_view(resources, config), synapses, config)
            except NeuronError as exc:
                errors["neuropil"] = str(exc)
                return outcome
        else:
            items = [instance_for(i, s, config.crop_size_xyz_vx) for i, s in enumerate(synapses)]
        page, stage_times = 1, {}
    resources.volumes.adopt(config, volumes)
    store_prepared(resources, session_id, config, items, page, stage_times)
    # The correction view shows every instance of a JSON opened for Error Correction.
    resources.store.update_state(
        session_id, workflow=form.workflow, restored_from_json=bool(form.session_json)
    )
    # read and encode the first page meanwhile
    review.prefetch(open_session(resources, session_id), page)
    outcome.config = config
    outcome.instance_count = len(items)
    return outcome


def store_prepared(
    resources: AppContext,
    session_id: str,
    config: DatasetConfig,
    items: list[Instance],
    page: int = 1,
    stage_times: dict | None = None,
) -> None:
    """Replace the session's review with a new one (the old edit log goes with it)."""
    resources.store.save_config(session_id, config)
    resources.store.replace_instances(session_id, items)
    resources.store.update_state(session_id, page=page, stage_times=dict(stage_times or {}))


def submit_open_data(session: Session, form: OpenDataForm) -> PrepareOutcome:
    """Open Data Submit for a browser session: ``prepare_session``, then the session reads
    its new configuration."""
    outcome = prepare_session(session.resources, session.session_id, form)
    session.forget_config()
    return outcome


def table_neurons(session: Session, table_url: str) -> list[NeuronCount]:
    """The neurons of a synapse table with their synapse counts (``TableError``)."""
    return session.resources.tables.get(table_url).neurons()
