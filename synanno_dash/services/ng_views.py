"""What a session's Neuroglancer viewer shows, and what it picked (no Dash here).

The viewer itself is the session's own (``AppContext.viewers``, a ``ViewerRegistry``). These
use cases open the dataset's local folders to the app's data route, set the view, and return
the URL to embed; ``base_url`` is the app's address as the browser sees it (local layers are
fetched from there) and ``browser_host`` the host name the browser used, which replaces the
viewer's bind address in the URL (e.g. behind 0.0.0.0).
"""

from __future__ import annotations

from synanno_dash.core.forms import FieldError, parse_int_triple, parse_resolution
from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, DatasetConfig
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import ng_state
from synanno_dash.services.session import Session
from synanno_dash.services.source_policy import source_errors


class NeuroglancerError(ValueError):
    """Neuroglancer cannot show what was asked; the message is for the user."""


def embed_url(session: Session, browser_host: str) -> str:
    """The session's viewer URL, on the host the browser knows the app by."""
    return session.resources.viewers.viewer_url(session.session_id, browser_host)


def show_instance(session: Session, instance_id: int, base_url: str, browser_host: str) -> str:
    """Centre the session's viewer on one of its instances, pre/post shown; its URL."""
    config = session.config
    try:
        item = session.store.instance(session.session_id, instance_id)
    except StoreError as exc:
        raise NeuroglancerError(str(exc)) from exc
    syn = item.synapse
    session.resources.allow_dataset(config)
    session.resources.viewers.show_instance(
        session.session_id, config, syn.center_xyz_vx, syn.pre_xyz_vx, syn.post_xyz_vx,
        item.bbox_target_vx.shape_xyz, base_url=base_url,
    )  # fmt: skip
    return embed_url(session, browser_host)


def show_missed_search(
    session: Session, center: Triple, region: BBox | None, base_url: str, browser_host: str
) -> str:
    """The session's viewer where missed synapses are marked with ``c``; a ``region`` (e.g. a
    compartment's box) is fitted into the view, else a few crops around ``center``."""
    config, sid, viewers = session.config, session.session_id, session.resources.viewers
    session.resources.allow_dataset(config)
    if region is None:
        viewers.show_missed_search(sid, config, center, config.neuron_id, base_url=base_url)
        return embed_url(session, browser_host)
    neuron_ids = () if config.neuron_id is None else (config.neuron_id,)
    spec = ng_state.ViewSpec(
        center_xyz_vx=center, crop_size_xyz_vx=region.shape_xyz,
        candidates_xyz_vx=tuple(viewers.candidates(sid)),
        show_neuropil=bool(neuron_ids), neuron_ids=neuron_ids, context=1.2,
    )  # fmt: skip
    viewers.show(sid, config, spec, base_url=base_url)
    return embed_url(session, browser_host)


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
    addresses = {"source": source, "target": target, "neuropil": neuropil, "secrets": secrets}
    refused = source_errors(addresses, session.settings)
    if refused:  # hosted: not on the allow-list, or a private address; nothing read
        raise NeuroglancerError(next(iter(refused.values())))
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


def show_neuron_chooser(
    session: Session, config: DatasetConfig, base_url: str, browser_host: str
) -> str:
    """The neuropil visible, ``n`` picks the neuron under the mouse; the viewer's URL.

    It opens on the middle of the volume (the viewer itself would start at its corner).
    """
    resources = session.resources
    resources.allow_dataset(config)
    center = resources.volumes.get(config).target_bounds.center_xyz
    resources.viewers.show_neuron_chooser(session.session_id, config, center, base_url=base_url)
    return embed_url(session, browser_host)


def chosen_neuron(session: Session) -> int | None:
    """The neuron picked with ``n`` in the session's viewer, if any."""
    return session.resources.viewers.chosen_neuron(session.session_id)


def candidates(session: Session) -> list[Triple]:
    """The missed-synapse candidates marked with ``c``, in order."""
    return session.resources.viewers.candidates(session.session_id)


def clear_candidates(session: Session) -> None:
    session.resources.viewers.clear_candidates(session.session_id)


def close_viewer(session: Session) -> None:
    session.resources.close_viewer(session.session_id)
