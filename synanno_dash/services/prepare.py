"""Validate the Open Data form and prepare a session's instances (no Dash here).

Every field gets its own message naming the problem and the fix (the fields, their parsers
and messages are declared once, in ``core.open_data_form``); nothing raises past
``prepare_session`` for bad input, so the server keeps serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import overload

from synanno_dash.core.forms import FieldError, check_box_in_volume, check_page_budget
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
from synanno_dash.services.neuron import NeuronError, neuron_instances, neuron_view, save_swc
from synanno_dash.services.session import Session, open_session
from synanno_dash.services.source_policy import source_errors

log = logging.getLogger(__name__)

# The Open Data fields naming something the server reads (checked against the allow-list).
SOURCE_FIELDS = ("source", "target", "neuropil", "table", "secrets")


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
    resources: AppContext, form: OpenDataForm, errors: dict[str, str]
) -> SynapseTable | None:
    try:
        return resources.tables.get(form.table.strip())
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
    table: SynapseTable, config: DatasetConfig, errors: dict[str, str], max_instances: int
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
        elif config.bbox_target_vx is None:
            errors["table"] = "the table holds no synapses; choose a table with rows."
        else:
            errors["box_start"] = "no synapse of the table lies in this box; widen it or clear it."
        return None
    if count > max_instances:
        errors["box_start"] = (
            f"{count:,} synapses match; a session holds at most {max_instances:,}. "
            "Give a smaller box or choose a neuron."
        )
        return None
    return table.query(neuron_id=config.neuron_id, bbox=table_box)


def _voxels(shape_xyz: Triple) -> int:
    return shape_xyz[0] * shape_xyz[1] * shape_xyz[2]


def _within_page_budget(
    volumes: VolumeSet,
    crop_size_xyz_vx: Triple,
    tiles_per_page: int,
    errors: dict[str, str],
    key: str = "crop_size",
) -> bool:
    """Whether one page of crops fits ``PAGE_CROP_BUDGET_BYTES`` at these volumes'
    resolutions and data types; else the message goes to ``key``."""
    try:
        check_page_budget(
            crop_size_xyz_vx,
            tiles_per_page,
            volumes.target_resolution.factor_to(volumes.source_resolution),
            volumes.source_itemsize,
            volumes.target_itemsize,
        )
    except FieldError as exc:
        errors[key] = str(exc)
        return False
    return True


def _any_inside(
    items: list[Instance], volumes: VolumeSet, errors: dict[str, str], restored: bool
) -> bool:
    """Whether at least one synapse's centre lies inside both volumes; else a message naming
    the volumes' bounds (in target voxels) and what to check."""
    target = volumes.target_bounds
    source = volumes.source_bounds.scaled(volumes.source_resolution, volumes.target_resolution)
    inside = target.intersect(source) if target.overlaps(source) else None
    if inside is not None and any(inside.contains_point(i.synapse.center_xyz_vx) for i in items):
        return True
    where = (
        f"x, y, z {list(inside.start_xyz)}..{list(inside.stop_xyz)}"
        if inside is not None
        else "nowhere: the source and target volumes do not overlap"
    )
    key = "session_json" if restored else "table"
    errors[key] = (
        f"none of the {len(items):,} synapses lies inside the volumes, which hold target "
        f"voxels {where}. Check the table resolution (the table's coordinates may be in nm or "
        "another voxel size) and that the table belongs to these volumes."
    )
    return False


def prepare_session(resources: AppContext, session_id: str, form: OpenDataForm) -> PrepareOutcome:
    """Check every field; when all are fine, store the config and the instances."""
    outcome = PrepareOutcome()
    parsed, errors = parse_form(form)
    outcome.errors.update(errors)
    errors = outcome.errors
    addresses = {name: getattr(form, name) for name in SOURCE_FIELDS if name not in errors}
    errors.update(source_errors(addresses, resources.settings))  # before anything is read
    volumes = (
        _open_volumes(resources, form, parsed, errors)
        if not ({"source", "target", "neuropil", "secrets"} & errors.keys())
        else None
    )
    table = None
    if form.table.strip() and "table" not in errors:
        table = _open_table(resources, form, errors)
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
    if not _within_page_budget(volumes, parsed["crop_size"], parsed["tiles_per_page"], errors):
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
        mode=parsed["mode"],
        bbox_target_vx=bbox,
        neuron_id=parsed.get("neuron_id"),
        crop_size_xyz_vx=parsed["crop_size"],
        tiles_per_page=parsed["tiles_per_page"],
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
        largest = max((i.bbox_target_vx.shape_xyz for i in items), key=_voxels, default=None)
        if largest is not None and not _within_page_budget(
            volumes, largest, config.tiles_per_page, errors, "session_json"
        ):
            return outcome
    else:
        assert table is not None
        synapses = _select(table, config, errors, resources.settings.max_instances_per_session)
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
    if not _any_inside(items, volumes, errors, restored is not None):
        return outcome
    resources.volumes.adopt(config, volumes)
    store_prepared(resources, session_id, config, items, page, stage_times)
    resources.store.set_reviewer(session_id, form.reviewer.strip())
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


def submit_open_data(
    session: Session, form: OpenDataForm, signed_in_user: str = ""
) -> PrepareOutcome:
    """Open Data Submit for a browser session: ``prepare_session``, then the session reads
    its new configuration. A user named by the trusted proxy is the reviewer, whatever the
    form says."""
    if signed_in_user:
        form = replace(form, reviewer=signed_in_user)
    outcome = prepare_session(session.resources, session.session_id, form)
    session.forget_config()
    return outcome


def table_neurons(session: Session, table_url: str) -> list[NeuronCount]:
    """The neurons of a synapse table with their synapse counts (``TableError``; a table
    not on the allow-list of a hosted server is refused the same way, before any read)."""
    refused = source_errors({"table": table_url}, session.settings)
    if refused:
        raise TableError(refused["table"])
    return session.resources.tables.get(table_url).neurons()
