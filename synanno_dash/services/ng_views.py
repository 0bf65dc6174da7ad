"""What a session's Neuroglancer viewer shows, and what it picked (no Dash here).

The viewer is the session's own, kept by ``AppContext.viewers`` (a ``ViewerBackend``: the
shared Neuroglancer service, so any app worker reaches the same viewer). These use cases open
the dataset's local folders to the app's data route, build the view (``ng_state``), show it,
and return the address to embed: ``/neuroglancer/v/<token>/`` on the app's own origin
(``services.ng_proxy``). ``base_url`` is the app's address as the browser sees it (local
layers are fetched from there). A service that cannot be reached raises ``NeuroglancerError``
with a message saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from synanno_dash.core.forms import FieldError, parse_int_triple, parse_resolution
from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, DatasetConfig
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import ng_state
from synanno_dash.services.ng_client import ViewerServiceError
from synanno_dash.services.ng_proxy import PREFIX
from synanno_dash.services.session import Session

T = TypeVar("T")


class NeuroglancerError(ValueError):
    """Neuroglancer cannot show what was asked; the message is for the user."""


def _service(call: Callable[[], T]) -> T:
    """A call to the viewers; the service being down becomes the user's message."""
    try:
        return call()
    except ViewerServiceError as exc:
        raise NeuroglancerError(str(exc)) from exc


def show(session: Session, config: DatasetConfig, spec: ng_state.ViewSpec, base_url: str) -> str:
    """Show ``spec``'s view of ``config``'s dataset in the session's viewer; the address to
    embed (on the app's origin)."""
    resources = session.resources
    resources.allow_dataset(config)
    state = ng_state.build_state(config, spec, base_url, resources.data_token)
    viewers = resources.viewers
    path = _service(
        lambda: viewers.show_state(session.session_id, state, config.target_resolution)
    )
    return PREFIX + path


def show_instance(session: Session, instance_id: int, base_url: str) -> str:
    """Centre the session's viewer on one of its instances, pre/post shown; its address."""
    config = session.config
    try:
        item = session.store.instance(session.session_id, instance_id)
    except StoreError as exc:
        raise NeuroglancerError(str(exc)) from exc
    syn = item.synapse
    spec = ng_state.instance_spec(
        syn.center_xyz_vx, syn.pre_xyz_vx, syn.post_xyz_vx, item.bbox_target_vx.shape_xyz
    )
    return show(session, config, spec, base_url)


def show_missed_search(session: Session, center: Triple, region: BBox | None, base_url: str) -> str:
    """The session's viewer where missed synapses are marked with ``c``; a ``region`` (e.g. a
    compartment's box) is fitted into the view, else a few crops around ``center``."""
    config = session.config
    size, context = (
        (config.crop_size_xyz_vx, 4.0) if region is None else (region.shape_xyz, 1.2)
    )
    spec = ng_state.missed_search_spec(
        center, size, candidates(session), config.neuron_id, context
    )
    return show(session, config, spec, base_url)


def chooser_config(
    session: Session,
    source: str,
    target: str,
    neuropil: str,
    secrets: str = "",
    source_res: str = "",
    target_res: str = "",
    crop_size: str = "",
) -> DatasetConfig:
    """The dataset typed on Open Data (not yet submitted), its volumes opened and checked."""
    source, target, neuropil = source.strip(), target.strip(), neuropil.strip()
    if not (source and target):
        raise NeuroglancerError("Give the source and target volumes first.")
    if not neuropil:
        raise NeuroglancerError("Choosing a neuron needs the neuropil (neuron) segmentation.")
    registry = session.resources.volumes
    try:
        source_r = parse_resolution(source_res, "source resolution")
        target_r = parse_resolution(target_res, "target resolution")
        crop = parse_int_triple(crop_size, "crop size") if crop_size.strip() else None
        volumes = None
        if source_r is None or target_r is None:  # read from the volumes' info files
            volumes = VolumeSet.open(
                source, target, neuropil, secrets.strip() or None, source_r, target_r,
                cache=registry.cache,
            )  # fmt: skip
            source_r, target_r = volumes.source_resolution, volumes.target_resolution
        config = DatasetConfig(
            source_url=source, target_url=target, table_url="", neuropil_url=neuropil,
            secrets_path=secrets.strip(), source_resolution=source_r,
            target_resolution=target_r, crop_size_xyz_vx=crop or DEFAULT_CROP_SIZE_XYZ_VX,
        )  # fmt: skip
        # Opened once and kept: the volumes exist and match the resolutions.
        if volumes is None:
            registry.get(config)
        else:
            registry.adopt(config, volumes)
    except (FieldError, VolumeError) as exc:
        raise NeuroglancerError(str(exc)) from exc
    return config


def show_neuron_chooser(session: Session, config: DatasetConfig, base_url: str) -> str:
    """The neuropil visible, ``n`` picks the neuron under the mouse; the viewer's address.

    It opens on the middle of the volume (the viewer itself would start at its corner).
    """
    center = session.resources.volumes.get(config).target_bounds.center_xyz
    spec = ng_state.chooser_spec(config, center, chosen_neuron(session))
    return show(session, config, spec, base_url)


VIEWER_GONE_MESSAGE = (
    "This page's Neuroglancer viewer was closed (the Neuroglancer service restarted, or more "
    "browsers opened viewers than it keeps). Open it again (reload the page, or reopen the "
    "chooser); marks not taken yet are lost."
)


def viewer_is_open(session: Session, embedded: str) -> bool:
    """Whether the viewer embedded at ``embedded`` (an address ``show`` returned) is still
    the session's, so what is marked in it reaches the app."""
    viewers = session.resources.viewers
    path = _service(lambda: viewers.shown_path(session.session_id))
    return path is not None and PREFIX + path == embedded


def chosen_neuron(session: Session) -> int | None:
    """The neuron picked with ``n`` in the session's viewer, if any."""
    viewers = session.resources.viewers
    return _service(lambda: viewers.chosen_neuron(session.session_id))


def candidates(session: Session) -> list[Triple]:
    """The missed-synapse candidates marked with ``c``, in order."""
    viewers = session.resources.viewers
    return _service(lambda: viewers.candidates(session.session_id))


def clear_candidates(session: Session) -> None:
    viewers = session.resources.viewers
    _service(lambda: viewers.clear_candidates(session.session_id))


def close_viewer(session: Session) -> None:
    session.resources.close_viewer(session.session_id)
