"""Validate the Open Data form and prepare a session's instances (no Dash here).

Every field gets its own message naming the problem and the fix (the fields, their parsers
and messages are declared once, in ``core.open_data_form``); nothing raises past
``prepare_session`` for bad input, so the server keeps serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from synanno_dash.core.forms import FieldError, check_box_in_volume, check_page_budget
from synanno_dash.core.geometry import Triple
from synanno_dash.core.instances import (
    DatasetConfig,
    Instance,
    Mode,
    Synapse,
    instance_for,
    synapses_in_target_voxels,
)
from synanno_dash.core.open_data_form import OpenDataForm as OpenDataForm
from synanno_dash.core.open_data_form import ReviewOrder, parse_form
from synanno_dash.data.tables import NeuronCount, SynapseTable, TableError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import review, selection
from synanno_dash.services.context import AppContext
from synanno_dash.services.jobs import Job
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


def _count_selection(
    table: SynapseTable, config: DatasetConfig, errors: dict[str, str], max_whole: int
) -> int | None:
    """How many synapses the session reviews; None (and a message) when none, or when a
    neuron-centric selection (always stored whole) exceeds ``max_whole`` instances."""
    count = table.count(neuron_id=config.neuron_id, bbox=selection.table_box(config))
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
    if config.mode == Mode.NEURON and count > max_whole:
        errors["neuron_id"] = (
            f"neuron {config.neuron_id} has {count:,} synapses; a neuron-centric session holds "
            f"at most {max_whole:,} (SYNANNO_MAX_INSTANCES). Review it volume-centric with a "
            "box instead."
        )
        return None
    return count


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


def _order_problem(
    table: SynapseTable, config: DatasetConfig, count: int, order: ReviewOrder, max_whole: int
) -> str | None:
    """Why the review cannot be ordered least confident first (None when it can). Only a
    volume-centric selection stored whole is reordered: a selection stored page by page is
    read in the table's index order (keyset paging), a neuron's along its skeleton."""
    if order is not ReviewOrder.LEAST_CONFIDENT:
        return None
    if not table.has_confidence:
        return (
            "the synapse table has no 'confidence' column, so it cannot be ordered least "
            "confident first. Fix: choose table order, or open a table with a confidence column "
            "(synanno-dash import-predictions writes one)."
        )
    if config.mode == Mode.NEURON:
        return (
            "a neuron-centric review follows the neuron's skeleton. Fix: choose table order, "
            "or review volume-centric to see the least confident synapses first."
        )
    if not selection.stored_whole(config, count, max_whole):
        return (
            "least confident first orders selections of at most "
            f"{min(selection.EAGER_MAX_INSTANCES, max_whole):,} synapses; this one has "
            f"{count:,}. Fix: draw a smaller box, or choose table order."
        )
    return None


def _select(
    table: SynapseTable, config: DatasetConfig, order: ReviewOrder = ReviewOrder.TABLE
) -> list[Synapse]:
    """Every synapse of the selection, in target voxels (selections stored whole), in the
    table's order or least confident first."""
    synapses = table.query(
        neuron_id=config.neuron_id,
        bbox=selection.table_box(config),
        least_confident_first=order is ReviewOrder.LEAST_CONFIDENT,
    )
    return synapses_in_target_voxels(synapses, config.table_resolution, config.target_resolution)


def _first_page(table: SynapseTable, config: DatasetConfig) -> list[Instance]:
    """The first page of a selection stored page by page (what the inside check reads)."""
    synapses = table.page_after(
        None, config.tiles_per_page, config.neuron_id, selection.table_box(config)
    )
    synapses = synapses_in_target_voxels(
        synapses, config.table_resolution, config.target_resolution
    )
    return [instance_for(i, s, config.crop_size_xyz_vx) for i, s in enumerate(synapses)]


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
    addresses = {name: getattr(form, name) for name in SOURCE_FIELDS if name not in errors}
    errors.update(source_errors(addresses, resources.settings))  # before anything is read
    volumes = (
        _open_volumes(resources, form, parsed, errors)
        if not ({"source", "target", "neuropil", "secrets"} & errors.keys())
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
    selection_total: int | None = None  # set for a selection stored page by page
    inside_sample: list[Instance] | None = None  # what the inside check reads (None: items)
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
        job.report(0.5, "selecting the synapses", force=True)
        max_whole = resources.settings.max_instances_per_session
        count = _count_selection(table, config, errors, max_whole)
        if count is None:
            return outcome
        order = parsed["review_order"]
        problem = _order_problem(table, config, count, order, max_whole)
        if problem is not None:
            errors["review_order"] = problem
            return outcome
        if not selection.stored_whole(config, count, max_whole):
            items, selection_total = [], count
            inside_sample = _first_page(table, config)
        elif config.mode == Mode.NEURON:  # review order: compartment, then along the skeleton
            job.report(
                0.6, f"preparing neuron {config.neuron_id}: skeleton and compartments", force=True
            )
            try:
                view = neuron_view(resources, config)
                items = neuron_instances(view, _select(table, config), config)
            except NeuronError as exc:
                errors["neuropil"] = str(exc)
                return outcome
        else:
            synapses = _select(table, config, order)
            items = [instance_for(i, s, config.crop_size_xyz_vx) for i, s in enumerate(synapses)]
        page, stage_times = 1, {}
    sample = items if inside_sample is None else inside_sample
    if not _any_inside(sample, volumes, errors, restored is not None):
        return outcome
    stored = f"{len(items):,} instances" if selection_total is None else "the review"
    job.report(0.9, f"storing {stored}", force=True)
    resources.volumes.adopt(config, volumes)
    store_prepared(resources, session_id, config, items, page, stage_times, selection_total)
    resources.store.set_reviewer(session_id, form.reviewer.strip())
    # The correction view shows every instance of a JSON opened for Error Correction.
    resources.store.update_state(
        session_id, workflow=form.workflow, restored_from_json=bool(form.session_json)
    )
    if prefetch:  # read and encode the first page meanwhile
        review.prefetch(open_session(resources, session_id), page)
    outcome.config = config
    outcome.instance_count = len(items) if selection_total is None else selection_total
    return outcome


def store_prepared(
    resources: AppContext,
    session_id: str,
    config: DatasetConfig,
    items: list[Instance],
    page: int = 1,
    stage_times: dict | None = None,
    selection_total: int | None = None,
) -> None:
    """Replace the session's review with a new one (the old edit log goes with it).
    ``selection_total``: the size of a selection stored page by page (``items`` empty)."""
    resources.store.save_config(session_id, config)
    resources.store.replace_instances(session_id, items)
    resources.store.update_state(
        session_id,
        page=page,
        stage_times=dict(stage_times or {}),
        **{selection.SELECTION_TOTAL_KEY: selection_total},
    )


def submit_open_data(
    session: Session, form: OpenDataForm, job: Job | None = None, signed_in_user: str = ""
) -> PrepareOutcome:
    """Open Data Submit for a browser session, as a background job: ``prepare_session``
    (the first page is read afterwards, by ``prefetch_first_page`` in the app's process),
    then the session reads its new configuration. A user named by the trusted proxy is the
    reviewer, whatever the form says."""
    if signed_in_user:
        form = replace(form, reviewer=signed_in_user)
    outcome = prepare_session(session.resources, session.session_id, form, job, prefetch=False)
    session.forget_config()
    return outcome


def prefetch_first_page(session: Session) -> None:
    """Read and encode the session's current page in the background (after a Submit)."""
    if session.has_dataset:
        review.prefetch(session, review.last_page(session))


def table_neurons(session: Session, table_url: str, job: Job | None = None) -> list[NeuronCount]:
    """The neurons of a synapse table with their synapse counts (``TableError``; a table
    not on the allow-list of a hosted server is refused the same way, before any read); the
    table is converted on its first opening (``job`` hears of it)."""
    refused = source_errors({"table": table_url}, session.settings)
    if refused:
        raise TableError(refused["table"])
    job = job or Job()
    table = session.resources.tables.get(
        table_url, progress=job.part(0.0, 0.8).bytes_read("converting the synapse table")
    )
    job.report(0.8, "counting the synapses of each neuron", force=True)
    return table.neurons()
