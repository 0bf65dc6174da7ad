"""Validate the Open Data form and prepare a session's instances (no Dash here).

Every field gets its own message naming the problem and the fix (the fields, their parsers
and messages are declared once, in ``core.open_data_form``); nothing raises past
``prepare_session`` for bad input, so the server keeps serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import overload

from synanno_dash.core.forms import FieldError, check_box_in_volume
from synanno_dash.core.geometry import BBox, Resolution, Triple, convert_point
from synanno_dash.core.instances import (
    DatasetConfig,
    Instance,
    Mode,
    Synapse,
    instance_for,
)
from synanno_dash.core.open_data_form import OpenDataForm as OpenDataForm
from synanno_dash.core.open_data_form import parse_form
from synanno_dash.data.tables import NeuronCount, SynapseTable, TableError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.jobs import Job
from synanno_dash.services.neuron import NeuronError, neuron_instances, neuron_view, save_swc
from synanno_dash.services.session import Session, open_session

log = logging.getLogger(__name__)

# A session holds its instances in the store; beyond this a box or a neuron must narrow it.
MAX_INSTANCES = 200_000


@dataclass
class PrepareOutcome:
    errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    config: DatasetConfig | None = None
    instance_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.config is not None


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
    resources: AppContext, form: OpenDataForm, errors: dict[str, str], job: Job
) -> SynapseTable | None:
    """The table, converted on its first opening (progress in bytes of the file)."""
    try:
        return resources.tables.get(
            form.table.strip(), progress=job.bytes_read("converting the synapse table")
        )
    except TableError as exc:
        errors["table"] = str(exc)
        return None


@overload
def _to_target(point: Triple, table_res: Resolution | None, target_res: Resolution) -> Triple: ...


@overload
def _to_target(point: None, table_res: Resolution | None, target_res: Resolution) -> None: ...


def _to_target(
    point: Triple | None, table_res: Resolution | None, target_res: Resolution
) -> Triple | None:
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
            center_xyz_vx=_to_target(s.center_xyz_vx, table_res, target_res),
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


def prepare_session(
    resources: AppContext,
    session_id: str,
    form: OpenDataForm,
    job: Job | None = None,
    prefetch: bool = True,
) -> PrepareOutcome:
    """Check every field; when all are fine, store the config and the instances. ``job``
    hears of the progress; ``prefetch`` reads the first page meanwhile (not in a job process,
    whose caches end with it)."""
    job = job or Job()
    job.report(0.0, "opening the volumes", force=True)
    outcome = PrepareOutcome()
    parsed, errors = parse_form(form)
    outcome.errors.update(errors)
    errors = outcome.errors
    volumes = (
        _open_volumes(resources, form, parsed, errors)
        if not ({"source", "target"} & errors.keys())
        else None
    )
    table = None
    if form.table.strip() and "table" not in errors:
        job.report(0.1, "opening the synapse table", force=True)
        table = _open_table(resources, form, errors, job.part(0.1, 0.5))
    restored = parsed.get("session_json")
    if volumes is None or errors or (table is None and restored is None):
        return outcome
    bbox = parsed.get("box_start")
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
    if form.is_neuron_centric and form.swc_text:
        try:
            data_dir = resources.settings.data_dir
            swc_url, unit_nm = save_swc(data_dir, form.swc_text, form.swc_unit_nm)
        except NeuronError as exc:
            errors["swc"] = str(exc)
            return outcome
        config = config.with_changes(skeleton_swc_url=swc_url, skeleton_swc_unit_nm=unit_nm)
    if restored is not None:
        items = restored.instances
        if restored.neuron_id is not None and config.neuron_id is None:
            config = config.with_changes(neuron_id=restored.neuron_id)
        if restored.tiles_per_page:  # the restored pages are the saved ones
            config = config.with_changes(tiles_per_page=restored.tiles_per_page)
        page, stage_times = restored.page, restored.proofread_time
    else:
        assert table is not None
        job.report(0.5, "selecting the synapses", force=True)
        synapses = _select(table, config, errors)
        if synapses is None:
            return outcome
        synapses = synapses_in_target_voxels(
            synapses, config.table_resolution, config.target_resolution
        )
        if config.mode == Mode.NEURON:  # review order: compartment, then along the skeleton
            job.report(
                0.6, f"preparing neuron {config.neuron_id}: skeleton and compartments", force=True
            )
            try:
                items = neuron_instances(neuron_view(resources, config), synapses, config)
            except NeuronError as exc:
                errors["neuropil"] = str(exc)
                return outcome
        else:
            items = [instance_for(i, s, config.crop_size_xyz_vx) for i, s in enumerate(synapses)]
        page, stage_times = 1, {}
    job.report(0.9, f"storing {len(items):,} instances", force=True)
    resources.volumes.adopt(config, volumes)
    store_prepared(resources, session_id, config, items, page, stage_times)
    # The correction view shows every instance of a JSON opened for Error Correction.
    resources.store.update_state(
        session_id, workflow=form.workflow, restored_from_json=bool(form.session_json)
    )
    if prefetch:  # read and encode the first page meanwhile
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


def submit_open_data(
    session: Session, form: OpenDataForm, job: Job | None = None
) -> PrepareOutcome:
    """Open Data Submit for a browser session, as a background job: ``prepare_session``
    (the first page is read afterwards, by ``prefetch_first_page`` in the app's process),
    then the session reads its new configuration."""
    outcome = prepare_session(session.resources, session.session_id, form, job, prefetch=False)
    session.forget_config()
    return outcome


def prefetch_first_page(session: Session) -> None:
    """Read and encode the session's current page in the background (after a Submit)."""
    if session.has_dataset:
        review.prefetch(session, review.last_page(session))


def table_neurons(
    session: Session, table_url: str, job: Job | None = None
) -> list[NeuronCount]:
    """The neurons of a synapse table with their synapse counts (``TableError``); the table
    is converted on its first opening (``job`` hears of it)."""
    job = job or Job()
    table = session.resources.tables.get(
        table_url, progress=job.part(0.0, 0.8).bytes_read("converting the synapse table")
    )
    job.report(0.8, "counting the synapses of each neuron", force=True)
    return table.neurons()
