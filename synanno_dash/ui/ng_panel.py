"""Neuroglancer inside a view: a "View in NG" button, an iframe with "Back", URL helpers.

Developer notes
- A panel has a name (``ids.ENLARGE_PANEL``, e.g. ``"draw"`` later); its parts have pattern ids
  ``ids.ng(kind, name)``, so the two callbacks below serve every view that adds one:
  ``view_button(name)``, ``instance_store(name)`` (the instance to show; set it from the view's
  own callbacks), ``two_d(name, children)`` (the view's content, hidden while the viewer shows)
  and ``frame(name)`` (the iframe with its "Back" button).
- ``register_callbacks(app)`` adds them to each app (``create_app`` does).
- A click swaps the two parts in the browser at once (clientside); the server sets the
  session's viewer to the instance and returns its URL. The URL is the same for every view of a
  session, so an open iframe just follows the new state; changing the instance returns to 2D.
- The viewer is the session's own (``AppContext.viewers``); the URL's host is the one the
  browser used for the app, and local layers are fetched from the app's data route, whose
  allowed folders gain the dataset's before the viewer shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import dash
import dash_bootstrap_components as dbc
import flask
from dash import MATCH, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from synanno_dash.core.forms import FieldError, parse_int_triple, parse_resolution
from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, DatasetConfig
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import VolumeError, VolumeSet
from synanno_dash.services import ng_state
from synanno_dash.services.context import AppContext
from synanno_dash.ui import ids
from synanno_dash.ui.session import app_context, session_id

HIDDEN = {"display": "none"}
SHOWN = {"display": "block"}


class NgPanelError(ValueError):
    """Neuroglancer cannot show what was asked; the message is for the user."""


# -- URLs --------------------------------------------------------------------------------


def volume_center(bounds: BBox) -> Triple:
    """The middle voxel of a volume (target voxels)."""
    a, b = bounds.start_xyz, bounds.stop_xyz
    return ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2, (a[2] + b[2]) // 2)


def browser_host() -> str:
    """The host name the browser used for this request (IPv6 in brackets)."""
    host = urlsplit(flask.request.host_url).hostname or "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def embed_url(ctx: AppContext, sid: str) -> str:
    """The session's viewer URL, on the host the browser knows the app by."""
    return ctx.viewers.viewer_url(sid, browser_host())


def show_instance(ctx: AppContext, sid: str, instance_id: int) -> str:
    """Centre the session's viewer on one of its instances, pre/post shown; its URL."""
    config = ctx.store.load_config(sid)
    if config is None:
        raise NgPanelError("No dataset is open in this browser: open one first.")
    try:
        item = ctx.store.instance(sid, instance_id)
    except StoreError as exc:
        raise NgPanelError(str(exc)) from exc
    syn = item.synapse
    ctx.allow_dataset(config)
    ctx.viewers.show_instance(
        sid, config, syn.center_xyz_vx, syn.pre_xyz_vx, syn.post_xyz_vx,
        item.bbox_target_vx.shape_xyz, base_url=flask.request.host_url,
    )  # fmt: skip
    return embed_url(ctx, sid)


def show_missed_search(
    ctx: AppContext, sid: str, config: DatasetConfig, center: Triple, region: BBox | None = None
) -> str:
    """The session's viewer where missed synapses are marked with ``c``; a ``region`` (e.g. a
    compartment's box) is fitted into the view, else a few crops around ``center``."""
    ctx.allow_dataset(config)
    base_url = flask.request.host_url
    if region is None:
        ctx.viewers.show_missed_search(sid, config, center, config.neuron_id, base_url=base_url)
        return embed_url(ctx, sid)
    neuron_ids = () if config.neuron_id is None else (config.neuron_id,)
    spec = ng_state.ViewSpec(
        center_xyz_vx=center, crop_size_xyz_vx=region.shape_xyz,
        candidates_xyz_vx=tuple(ctx.viewers.candidates(sid)),
        show_neuropil=bool(neuron_ids), neuron_ids=neuron_ids, context=1.2,
    )  # fmt: skip
    ctx.viewers.show(sid, config, spec, base_url=base_url)
    return embed_url(ctx, sid)


def chooser_config(
    ctx: AppContext,
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
        raise NgPanelError("Give the source and target volumes first.")
    if not neuropil:
        raise NgPanelError("Choosing a neuron needs the neuropil (neuron) segmentation.")
    try:
        source_r = parse_resolution(source_res, "source resolution")
        target_r = parse_resolution(target_res, "target resolution")
        crop = parse_int_triple(crop_size, "crop size") if crop_size.strip() else None
        volumes = None
        if source_r is None or target_r is None:  # read from the volumes' info files
            volumes = VolumeSet.open(
                source, target, neuropil, secrets.strip() or None, source_r, target_r,
                cache=ctx.volumes.cache,
            )  # fmt: skip
            source_r, target_r = volumes.source_resolution, volumes.target_resolution
        config = DatasetConfig(
            source_url=source, target_url=target, table_url="", neuropil_url=neuropil,
            secrets_path=secrets.strip(), source_resolution=source_r,
            target_resolution=target_r, crop_size_xyz_vx=crop or DEFAULT_CROP_SIZE_XYZ_VX,
        )  # fmt: skip
        # Opened once and kept: the volumes exist and match the resolutions.
        if volumes is None:
            ctx.volumes.get(config)
        else:
            ctx.volumes.adopt(config, volumes)
    except (FieldError, VolumeError) as exc:
        raise NgPanelError(str(exc)) from exc
    return config


def show_neuron_chooser(ctx: AppContext, sid: str, config: DatasetConfig) -> str:
    """The neuropil visible, ``n`` picks the neuron under the mouse; the viewer's URL.

    It opens on the middle of the volume (the viewer itself would start at its corner).
    """
    ctx.allow_dataset(config)
    center = volume_center(ctx.volumes.get(config).target_bounds)
    ctx.viewers.show_neuron_chooser(sid, config, center, base_url=flask.request.host_url)
    return embed_url(ctx, sid)


# -- layout ------------------------------------------------------------------------------


def chosen_text(neuron_id: str | None) -> str:
    return "No neuron chosen yet." if neuron_id is None else f"Chosen neuron: {neuron_id}"


def viewer_iframe(
    frame_id: str | dict, src: str | None = None, height: str = "70vh"
) -> html.Iframe:
    return html.Iframe(
        id=frame_id,
        src=src,
        style={"width": "100%", "height": height, "border": "1px solid #ccc"},
        title="Neuroglancer",
    )


def view_button(panel: str, **button_props: object) -> dbc.Button:
    props: dict[str, object] = {"color": "secondary", "size": "sm"} | button_props
    return dbc.Button("View in NG", id=ids.ng(ids.NG_VIEW, panel), **props)


def instance_store(panel: str, instance_id: int | None = None) -> dcc.Store:
    return dcc.Store(id=ids.ng(ids.NG_INSTANCE, panel), data=instance_id)


def two_d(panel: str, children: Sequence[Component]) -> html.Div:
    return html.Div(list(children), id=ids.ng(ids.NG_2D, panel), style=SHOWN)


def frame(panel: str, height: str = "65vh") -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    dbc.Button(
                        "Back", id=ids.ng(ids.NG_BACK, panel), color="secondary", size="sm"
                    ),
                    html.Span(
                        "Neuroglancer: drag to pan, wheel to zoom, Ctrl+wheel to change slices.",
                        className="small text-muted ms-2",
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.ng(ids.NG_STATUS, panel), className="small text-danger"),
            viewer_iframe(ids.ng(ids.NG_FRAME, panel), height=height),
        ],
        id=ids.ng(ids.NG_PANEL, panel),
        style=HIDDEN,
    )


# -- callbacks ---------------------------------------------------------------------------


def view_instance(clicks: int | None, instance_id: int | None) -> tuple:
    """The "View in NG" click: the session's viewer on the panel's instance; the iframe's URL."""
    if not clicks or instance_id is None:
        return no_update, no_update
    try:
        return show_instance(app_context(), session_id(), int(instance_id)), ""
    except NgPanelError as exc:
        return no_update, str(exc)


_SWAP_JS = """function(view, back, instance) {
    const fired = (window.dash_clientside.callback_context.triggered || [])
        .map(t => t.prop_id).join(' ');
    const viewer = fired.includes('"type":"ng-view"') && fired.includes('.n_clicks');
    const show = {display: 'block'}, hide = {display: 'none'};
    return viewer ? [hide, show] : [show, hide];
}"""


def register_callbacks(app: dash.Dash) -> None:
    """The panels' callbacks, per app (module-level ``@callback``s go to the first app only)."""
    app.callback(
        Output(ids.ng(ids.NG_FRAME, MATCH), "src"),
        Output(ids.ng(ids.NG_STATUS, MATCH), "children"),
        Input(ids.ng(ids.NG_VIEW, MATCH), "n_clicks"),
        State(ids.ng(ids.NG_INSTANCE, MATCH), "data"),
        prevent_initial_call=True,
    )(view_instance)
    app.clientside_callback(
        _SWAP_JS,
        Output(ids.ng(ids.NG_2D, MATCH), "style"),
        Output(ids.ng(ids.NG_PANEL, MATCH), "style"),
        Input(ids.ng(ids.NG_VIEW, MATCH), "n_clicks"),
        Input(ids.ng(ids.NG_BACK, MATCH), "n_clicks"),
        Input(ids.ng(ids.NG_INSTANCE, MATCH), "data"),
        prevent_initial_call=True,
    )
