"""Neuron-centric review: the neuron's skeleton, its compartments, its synapses placed on it
(no Dash here).

Developer notes: on Open Data Submit in neuron-centric mode, ``prepare_session`` calls
``neuron_view`` (load the skeleton from the neuropil layer, heal, prune, cut into
compartments) and ``neuron_instances`` (snap each synapse to its nearest node; order by
compartment, then traversal index; instance ids 0..n-1 in that order, so pages follow
compartments). The view (``core.neuron_view.NeuronView``, immutable, with its drawing lines)
is kept in the app's bounded cache ``AppContext.neurons`` keyed by (neuropil url or SWC file,
neuron id), so the overview and the mini-map never recompute it, and in a file under
``<data dir>/neurons`` (pickled: the data folder is the app's own), so the app's processes
reuse what a background job (Open Data Submit) or another worker built, also after a
restart. Pages are
those of ``core.paging`` (compartments never share a page).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np

from synanno_dash.core.compartments import compute_compartments
from synanno_dash.core.geometry import BBox, Resolution, bbox_around
from synanno_dash.core.instances import DatasetConfig, Instance, Mode, Synapse
from synanno_dash.core.labels import Label
from synanno_dash.core.neuron_view import NeuronView, NeuronViewKey
from synanno_dash.core.paging import ReviewPages
from synanno_dash.core.snapping import points_to_nm, snap_synapses, synapse_point_vx
from synanno_dash.core.statistics import Proportion
from synanno_dash.data.skeletons import (
    SkeletonError,
    load_neuron_skeleton,
    parse_swc,
    prepare_skeleton,
)
from synanno_dash.data.volumes import VolumeError
from synanno_dash.services.context import AppContext
from synanno_dash.services.review import ReviewPage, instances
from synanno_dash.services.session import Session

log = logging.getLogger(__name__)

class NeuronError(ValueError):
    """The neuron cannot be shown on its skeleton; the message is for the user."""


class NotNeuronCentricError(NeuronError):
    """The session reviews a volume, not a neuron."""

    def __init__(self) -> None:
        super().__init__(
            "This session reviews a volume, not a neuron: the overview needs a neuron-centric "
            "session (Open Data, Neuron-centric)."
        )


def view_key(config: DatasetConfig) -> NeuronViewKey:
    """(where the skeleton comes from, neuron id): an uploaded SWC, else the neuropil layer."""
    source = config.skeleton_swc_url or config.neuropil_url
    if config.neuron_id is None or not source:
        raise NeuronError(
            "neuron-centric review needs a neuron id and the neuropil layer (or an SWC skeleton)."
        )
    return (source, int(config.neuron_id))


def save_swc(data_dir: Path, text: str, unit_nm_text: str) -> tuple[str, float]:
    """Check an uploaded SWC and keep it under ``data_dir`` (named by its content), so the
    skeleton can be rebuilt after a restart: (file URL, nm per unit)."""
    try:
        unit_nm = float(unit_nm_text or "1")
    except ValueError:
        raise NeuronError(f"the SWC unit must be a number of nm, not {unit_nm_text!r}.") from None
    if not (math.isfinite(unit_nm) and unit_nm > 0):
        raise NeuronError("the SWC unit must be a positive number of nm (1 for nm, 1000 for µm).")
    try:
        parse_swc(text, unit_nm, name="The SWC file")
    except SkeletonError as exc:
        raise NeuronError(str(exc)) from None
    folder = data_dir / "skeletons"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.swc"
    path.write_text(text)
    return path.resolve().as_uri(), unit_nm


def load_swc_view(swc_url: str, neuron_id: int, unit_nm: float = 1.0) -> NeuronView:
    """An uploaded SWC skeleton, healed and pruned like the neuropil's, cut into compartments."""
    path = Path(url2pathname(urlparse(swc_url).path))
    try:
        skeleton = prepare_skeleton(parse_swc(path.read_text(), unit_nm, name="The SWC file"))
        return NeuronView.build(neuron_id, skeleton, compute_compartments(skeleton))
    except OSError as exc:
        raise NeuronError(
            f"the SWC skeleton {path} cannot be read ({exc}); upload it again."
        ) from None
    except SkeletonError as exc:
        raise NeuronError(str(exc)) from None
    except ValueError as exc:
        raise NeuronError(f"the SWC skeleton cannot be cut into compartments ({exc}).") from None


def load_view(url: str, neuron_id: int, secrets_path: str = "") -> NeuronView:
    """Load, heal and prune the skeleton, then cut it into compartments."""
    try:
        skeleton = load_neuron_skeleton(url, neuron_id, secrets_path)
        return NeuronView.build(neuron_id, skeleton, compute_compartments(skeleton))
    except SkeletonError as exc:
        raise NeuronError(str(exc)) from None
    except ValueError as exc:  # e.g. fragments left after healing
        raise NeuronError(
            f"the skeleton of neuron {neuron_id} in {url} cannot be cut into compartments ({exc})."
        ) from None


def neuron_view(resources: AppContext, config: DatasetConfig) -> NeuronView:
    """The neuron view of a dataset configuration: from the process's cache, else its file
    under the data folder, else prepared (and kept in both)."""
    url, neuron_id = view_key(config)
    if config.skeleton_swc_url:

        def build() -> NeuronView:
            return load_swc_view(url, neuron_id, config.skeleton_swc_unit_nm)
    else:

        def build() -> NeuronView:
            return load_view(url, neuron_id, config.secrets_path)

    path = stored_view_path(resources.settings.data_dir, (url, neuron_id))
    return resources.neurons.get_or_build((url, neuron_id), lambda: _stored_or_built(path, build))


NEURON_VIEW_FORMAT = 1  # raised when NeuronView changes: older files are then never read


def stored_view_path(data_dir: Path, key: NeuronViewKey) -> Path:
    digest = hashlib.sha256(f"{NEURON_VIEW_FORMAT}\n{key[0]}\n{key[1]}".encode()).hexdigest()
    return data_dir / "neurons" / f"{digest[:32]}.pickle"


def _stored_or_built(path: Path, build: Callable[[], NeuronView]) -> NeuronView:
    try:
        with path.open("rb") as stored:
            view = pickle.load(stored)
        if isinstance(view, NeuronView):
            return view
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - an unreadable file is rebuilt
        log.warning("the stored neuron view %s cannot be read; rebuilding it", path)
    view = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        partial.write_bytes(pickle.dumps(view, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)
    except OSError as exc:  # the view is still good; only the next process rebuilds it
        log.warning("the neuron view could not be stored in %s: %s", path.parent, exc)
    return view


def session_neuron_view(session: Session) -> NeuronView:
    """The neuron of a neuron-centric session (``NotNeuronCentricError`` otherwise)."""
    if session.config.mode != Mode.NEURON:
        raise NotNeuronCentricError()
    return neuron_view(session.resources, session.config)


def synapse_points_nm(
    synapses: Sequence[Synapse], neuron_id: int | None, target_resolution: Resolution
) -> np.ndarray:
    """(n, 3) nm: each synapse's point on the neuron (post point on the post-synaptic side,
    pre point on the pre-synaptic side, else the centre), from target voxels."""
    points = [synapse_point_vx(s, neuron_id) for s in synapses]
    return points_to_nm(points, target_resolution)


def neuron_instances(
    view: NeuronView, synapses: Sequence[Synapse], config: DatasetConfig
) -> list[Instance]:
    """Instances in review order: compartment, traversal index, materialization index.

    ``synapses`` are in target voxels (as ``prepare`` converts them), so nm come from the
    target resolution. Instance ids are 0..n-1 in that order.
    """
    points = synapse_points_nm(synapses, config.neuron_id, config.target_resolution)
    snapped = snap_synapses(
        view.skeleton, view.compartments, points, [s.materialization_index for s in synapses]
    )
    ordered = sorted(zip(snapped, synapses, strict=True), key=lambda pair: pair[0].review_key)
    return [
        Instance(
            instance_id=i,
            synapse=synapse,
            bbox_target_vx=bbox_around(synapse.center_xyz_vx, config.crop_size_xyz_vx),
            compartment=snap.compartment,
            traversal_index=snap.traversal_index,
        )
        for i, (snap, synapse) in enumerate(ordered)
    ]


def review_state(item: Instance) -> Label | None:
    """What the overview shows: the label once seen, None before."""
    return item.label if item.seen else None


@dataclass(frozen=True)
class CompartmentProgress:
    compartment: int
    total: int
    seen: int
    flagged: int  # seen and labelled incorrect or unsure
    first_page: int | None  # None: no synapse in this compartment

    @property
    def error_rate(self) -> Proportion:
        """Flagged over reviewed, as the statistics view counts it (docs/statistics.md)."""
        return Proportion(self.flagged, self.seen)


def compartment_progress(
    items: Sequence[Instance], n_compartments: int, per_page: int
) -> list[CompartmentProgress]:
    """One entry per compartment, in compartment order, with the page it starts on."""
    first = first_pages(items, per_page)
    totals = dict.fromkeys(range(n_compartments), 0)
    seen, flagged = dict(totals), dict(totals)
    for item in items:
        k = item.compartment
        if k is None or k not in totals:
            continue
        totals[k] += 1
        seen[k] += item.seen
        flagged[k] += item.seen and item.label.needs_fixing
    return [
        CompartmentProgress(k, totals[k], seen[k], flagged[k], first.get(k))
        for k in range(n_compartments)
    ]


def _pages(items: Sequence[Instance], per_page: int) -> ReviewPages:
    return ReviewPages.of([i.compartment for i in items], per_page)


def first_pages(items: Sequence[Instance], per_page: int) -> dict[int, int]:
    """compartment -> the 1-based page where it starts (``items`` in review order)."""
    return _pages(items, per_page).first_pages()


def page_of_instance(items: Sequence[Instance], per_page: int, instance_id: int) -> int | None:
    position = next((n for n, i in enumerate(items) if i.instance_id == instance_id), None)
    return None if position is None else _pages(items, per_page).page_of_position(position)


def last_page_of_compartment(items: Sequence[Instance], per_page: int, page: int) -> int | None:
    """The compartment whose last page ``page`` is, or None (not its last page, or none)."""
    return _pages(items, per_page).compartment_ending_on(page)


def compartment_box_vx(
    view: NeuronView,
    compartment: int,
    target_resolution: Resolution,
    pad_xyz_vx: tuple[int, int, int],
    volume_xyz_vx: BBox | None = None,
) -> BBox:
    """The box (target voxels, x, y, z) around a compartment's nodes, padded by
    ``pad_xyz_vx`` on every side and clipped to the volume."""
    if not 0 <= compartment < view.n_compartments:
        raise NeuronError(
            f"compartment {compartment} does not exist: this neuron has "
            f"{view.n_compartments} (0 to {view.n_compartments - 1})."
        )
    resolution = np.asarray(target_resolution.as_tuple())
    low = view.box_min_nm[compartment] / resolution
    high = view.box_max_nm[compartment] / resolution
    start = tuple(math.floor(v) - p for v, p in zip(low, pad_xyz_vx, strict=True))
    stop = tuple(math.floor(v) + 1 + p for v, p in zip(high, pad_xyz_vx, strict=True))
    box = BBox.from_bounds(start, stop)
    return box if volume_xyz_vx is None else box.intersect(volume_xyz_vx)


def missed_synapse_box(session: Session, compartment: int) -> BBox:
    """Where to look for synapses the table missed along a compartment: its nodes' box,
    padded by half a review crop, within the target volume."""
    config = session.config
    view = neuron_view(session.resources, config)
    pad = (config.crop_size_xyz_vx[0] // 2, config.crop_size_xyz_vx[1] // 2,
           config.crop_size_xyz_vx[2] // 2)  # fmt: skip
    volume = session.volumes.target_bounds
    return compartment_box_vx(view, compartment, config.target_resolution, pad, volume)


# -- what the views show -------------------------------------------------------------------
@dataclass(frozen=True)
class Overview:
    """The neuron overview (/neuron) of a session."""

    config: DatasetConfig
    view: NeuronView
    items: list[Instance]
    progress: list[CompartmentProgress]


def overview(session: Session) -> Overview:
    """``NoDatasetError``, ``NotNeuronCentricError`` or ``NeuronError`` when there is none."""
    view = session_neuron_view(session)
    items = instances(session)
    progress = compartment_progress(items, view.n_compartments, session.config.tiles_per_page)
    return Overview(session.config, view, items, progress)


def page_of_pick(session: Session, kind: str, value: int) -> int | None:
    """The review page of a picked compartment (``kind`` "compartment") or instance."""
    if not session.has_dataset:
        return None
    items, per_page = instances(session), session.config.tiles_per_page
    if kind == "compartment":
        return first_pages(items, per_page).get(value)
    return page_of_instance(items, per_page, value)


@dataclass(frozen=True)
class MissedOffer:
    """At a compartment's last page: the box in which to look for missed synapses."""

    compartment: int
    box: BBox | None
    problem: str = ""  # why there is no box


@dataclass(frozen=True)
class Minimap:
    """What the mini-map beside the review grid shows (neuron-centric sessions)."""

    config: DatasetConfig
    view: NeuronView | None
    items: list[Instance]
    current_ids: list[int]
    compartment: int | None  # the compartment of the page
    missed: MissedOffer | None
    problem: str = ""  # why there is no view


def minimap(session: Session, page: ReviewPage) -> Minimap | None:
    """The mini-map of a review page; None in volume-centric sessions."""
    config = page.config
    if config.mode != Mode.NEURON:
        return None
    current = [i.instance_id for i in page.instances]
    compartment = page.instances[0].compartment if page.instances else None
    try:
        view = neuron_view(session.resources, config)
    except NeuronError as exc:
        return Minimap(config, None, [], current, compartment, None, str(exc))
    items = instances(session)
    last = last_page_of_compartment(items, config.tiles_per_page, page.page)
    missed = None
    if last is not None:
        try:
            missed = MissedOffer(last, missed_synapse_box(session, last))
        except (NeuronError, VolumeError) as exc:
            missed = MissedOffer(last, None, str(exc))
    return Minimap(config, view, items, current, compartment, missed)
