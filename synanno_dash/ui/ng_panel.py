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
- The viewer is the session's own; ``services.ng_views`` sets it and returns its address on
  the app's own origin (``/neuroglancer/v/<token>/``, proxied to the Neuroglancer service);
  local layers are fetched from the app's data route (``base_url``), whose allowed folders
  gain the dataset's first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import dash
import dash_bootstrap_components as dbc
import flask
from dash import MATCH, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from synanno_dash.services import ng_views
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import ids
from synanno_dash.ui.session import current_session

HIDDEN = {"display": "none"}
SHOWN = {"display": "block"}


# -- URLs --------------------------------------------------------------------------------


def base_url() -> str:
    """The app's address as the browser sees it (local layers are fetched from there)."""
    return flask.request.host_url


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


def view_instance(clicks: int | None, instance_id: int | None) -> tuple[object, object]:
    """The "View in NG" click: the session's viewer on the panel's instance; the iframe's URL."""
    if not clicks or instance_id is None:
        return no_update, no_update
    try:
        url = ng_views.show_instance(current_session(), int(instance_id), base_url())
    except (ng_views.NeuroglancerError, NoDatasetError) as exc:
        return no_update, str(exc)
    return url, ""


_VIEW_TYPE = json.dumps(json.dumps({"type": ids.NG_VIEW}, separators=(",", ":"))[1:-1])
_SWAP_JS = f"""function(view, back, instance) {{
    const fired = (window.dash_clientside.callback_context.triggered || [])
        .map(t => t.prop_id).join(' ');
    const viewer = fired.includes({_VIEW_TYPE}) && fired.includes('.n_clicks');
    const show = {{display: 'block'}}, hide = {{display: 'none'}};
    return viewer ? [hide, show] : [show, hide];
}}"""


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
