"""Review grid ("Start Data Proofread"): label tiles, page through, undo, enlarge.

Per click the server writes one label and sends back one tile's class (and, in
neuron-centric mode, a Patch of one colour of the mini-map); slices, opacity,
overlay and keys are handled in the browser (``assets/review.js``).
"""

from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from synanno_dash.core.instances import Workflow
from synanno_dash.core.labels import Label
from synanno_dash.services import neuron, review
from synanno_dash.services.session import NoDatasetError
from synanno_dash.ui import enlarge, ids, minimap
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.open_data_form import open_data_href
from synanno_dash.ui.session import current_session
from synanno_dash.ui.tiles import preload_urls, tile, tile_children, tile_class

dash.register_page(__name__, path="/annotation", title="Review · SynAnno Dash")


def _toolbar(page: review.ReviewPage, counts: dict[str, int]) -> dbc.Row:
    seen, total = counts["seen"], counts["total"]
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Button(
                        "←",
                        id=ids.REVIEW_PREV,
                        href=f"/annotation?page={page.page - 1}",
                        disabled=page.page <= 1,
                        color="secondary",
                        className="me-1",
                        title="previous page (←)",
                    ),
                    html.Span(
                        f"page {page.page} of {page.page_count}",
                        id=ids.REVIEW_PAGE_LABEL,
                        className="mx-2 align-middle",
                    ),
                    dbc.Button(
                        "→",
                        id=ids.REVIEW_NEXT,
                        href=f"/annotation?page={page.page + 1}",
                        disabled=page.page >= page.page_count,
                        color="secondary",
                        className="ms-1",
                        title="next page (→)",
                    ),
                ],
                width="auto",
            ),
            dbc.Col(
                [
                    dbc.Progress(
                        id=ids.REVIEW_PROGRESS,
                        value=100 * seen / max(1, total),
                        style={"height": "12px"},
                    ),
                    html.Div(f"{seen} of {total} seen", className="small text-muted"),
                ],
                className="align-self-center",
            ),
            dbc.Col(
                [
                    html.Span("mask opacity", className="small me-1"),
                    dcc.Input(
                        id=ids.REVIEW_OPACITY,
                        type="range",
                        min=0,
                        max=1,
                        step=0.05,
                        value=0.45,
                        style={"width": "110px", "verticalAlign": "middle"},
                    ),
                    dbc.Button(
                        "overlay (o)",
                        id=ids.REVIEW_OVERLAY,
                        size="sm",
                        color="light",
                        className="ms-2",
                    ),
                    dbc.Button(
                        "undo",
                        id=ids.REVIEW_UNDO,
                        size="sm",
                        color="light",
                        className="ms-2",
                        title="Ctrl+Z",
                    ),
                    dbc.Button(
                        "redo",
                        id=ids.REVIEW_REDO,
                        size="sm",
                        color="light",
                        className="ms-1",
                        title="Ctrl+Shift+Z",
                    ),
                ],
                width="auto",
            ),
            dbc.Col(
                dbc.Button("Error Processing", id=ids.REVIEW_TO_CATEGORIZE, color="primary"),
                width="auto",
            ),
        ],
        className="mb-2 g-2 align-items-center",
    )


def layout(page: str | None = None, **_query: str) -> html.Div:
    """``/annotation?page=N``; without a page number, the page this browser was last on."""
    session = current_session()
    try:
        number = int(page) if page else review.last_page(session)
    except ValueError:
        number = 1
    try:
        loaded = review.load_page(session, number)
    except (review.ReviewError, NoDatasetError) as exc:
        return html.Div(
            [
                dbc.Alert(str(exc), color="warning"),
                dbc.Button("Open Data", href=open_data_href(Workflow.DETECTION)),
            ]
        )
    counts = review.counts(session)
    config = loaded.config
    return html.Div(
        [
            dcc.Store(id=ids.REVIEW_LABEL_REQUEST),
            dcc.Store(id=ids.REVIEW_PAGE_STORE, data=loaded.page),
            dcc.Location(id=ids.REVIEW_REDIRECT, refresh="callback-nav"),
            _toolbar(loaded, counts),
            minimap.review_panel(neuron.minimap(session, loaded)),  # neuron-centric only
            html.Div(
                [
                    tile(item, images, review.tile_version(config, item))
                    for item, images in zip(loaded.instances, loaded.tiles, strict=True)
                ],
                id=ids.REVIEW_GRID,
                className=f"sd-grid sd-grid-{config.tiles_per_page}",
            ),
            _preload(loaded),
            dbc.Toast(
                id=ids.REVIEW_NOTICE,
                is_open=False,
                duration=3000,
                dismissable=True,
                style={"position": "fixed", "bottom": 10, "right": 10, "zIndex": 1500},
            ),
            enlarge.modal(),
        ]
    )


def _preload(loaded: review.ReviewPage) -> html.Div:
    """The next page's image URLs, which ``assets/review.js`` loads into the browser's cache
    while the user looks at this page (the server prefetches the same page meanwhile)."""
    upcoming = loaded.next_instances
    versions = [review.tile_version(loaded.config, item) for item in upcoming]
    return html.Div(
        id=ids.REVIEW_PRELOAD,
        hidden=True,
        **data_attrs(urls=" ".join(preload_urls(upcoming, versions))),
    )


def retry_tile(clicks: int | None) -> list:
    """Retry of a tile that could not be read: that one tile is read again."""
    if not clicks:  # a placeholder (and its button) just put in by a retry: no click yet
        raise PreventUpdate
    instance_id = int(ctx.triggered_id["index"])
    session = current_session()
    item, images = review.retry_tile(session, instance_id)
    return tile_children(item, images, review.tile_version(session.config, item), int(clicks))


def click_tile(clicks: int | None) -> tuple[str, str]:
    """One click cycles one label; it is saved before the new colour is sent back."""
    if not clicks:  # a tile view just put in by Retry: Dash calls for it without a click
        raise PreventUpdate
    instance_id = int(ctx.triggered_id["index"])
    item = review.cycle_label(current_session(), instance_id)
    minimap.follow_label(item)
    return tile_class(item.label), item.label.value


def _one_tile_update(instance_id: int, label: Label) -> tuple[list, list]:
    """Outputs for every tile of the page: the changed one, ``no_update`` for the rest."""
    outputs = ctx.outputs_list[0]
    classes = [tile_class(label) if o["id"]["index"] == instance_id else no_update for o in outputs]
    labels = [label.value if o["id"]["index"] == instance_id else no_update for o in outputs]
    return classes, labels


def label_by_key(request: dict | None) -> tuple:
    """Keys 1/2/3 over a tile (sent by review.js) set that tile's label."""
    if not request:
        return no_update, no_update
    instance_id = int(request["instance_id"])
    item = review.set_label(current_session(), instance_id, Label(request["label"]))
    minimap.follow_label(item)
    return _one_tile_update(instance_id, item.label)


def undo_redo(_undo: int | None, _redo: int | None) -> tuple:
    session = current_session()
    action = "undo" if ctx.triggered_id == ids.REVIEW_UNDO else "redo"
    item = review.undo(session) if action == "undo" else review.redo(session)
    if item is None:
        return no_update, no_update, f"Nothing to {action}.", True
    minimap.follow_label(item)
    classes, labels = _one_tile_update(item.instance_id, item.label)
    on_page = any(o["id"]["index"] == item.instance_id for o in ctx.outputs_list[0])
    where = "" if on_page else " (on another page)"
    verb = "Undid" if action == "undo" else "Redid"
    return (
        classes,
        labels,
        f"{verb} a change of #{item.instance_id}{where}: now {item.label}.",
        True,
    )


def to_categorize(_clicks: int | None) -> str:
    session = current_session()
    review.mark_stage(session, "finish_grid")
    review.mark_stage(session, "start_categorize", overwrite=False)
    return "/categorize"


def register_callbacks(app: dash.Dash) -> None:
    """This view's callbacks, attached to ``app`` (``create_app`` calls it for every view)."""
    app.callback(
        Output(ids.tile(MATCH), "className"),
        Output(ids.tile(MATCH), "data-label"),
        Input(ids.tile_view(MATCH), "n_clicks"),
        prevent_initial_call=True,
    )(click_tile)
    app.callback(
        Output(ids.tile(MATCH), "children"),
        Input(ids.tile_retry(MATCH), "n_clicks"),
        prevent_initial_call=True,
    )(retry_tile)
    app.callback(
        Output(ids.tile(ALL), "className", allow_duplicate=True),
        Output(ids.tile(ALL), "data-label", allow_duplicate=True),
        Input(ids.REVIEW_LABEL_REQUEST, "data"),
        prevent_initial_call=True,
    )(label_by_key)
    app.callback(
        Output(ids.tile(ALL), "className", allow_duplicate=True),
        Output(ids.tile(ALL), "data-label", allow_duplicate=True),
        Output(ids.REVIEW_NOTICE, "children"),
        Output(ids.REVIEW_NOTICE, "is_open"),
        Input(ids.REVIEW_UNDO, "n_clicks"),
        Input(ids.REVIEW_REDO, "n_clicks"),
        prevent_initial_call=True,
    )(undo_redo)
    app.callback(
        Output(ids.REVIEW_REDIRECT, "href"),
        Input(ids.REVIEW_TO_CATEGORIZE, "n_clicks"),
        prevent_initial_call=True,
    )(to_categorize)
    app.clientside_callback(
        f"""function(opacity) {{
            const grid = document.getElementById({json.dumps(ids.REVIEW_GRID)});
            if (grid) {{ grid.style.setProperty('--sd-mask-opacity', opacity); }}
            return window.dash_clientside.no_update;
        }}""",
        Output(ids.REVIEW_OPACITY, "className"),
        Input(ids.REVIEW_OPACITY, "value"),
    )
    app.clientside_callback(
        """function(n) {
            if (n) { window.synannoReview && window.synannoReview.toggleOverlay(); }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.REVIEW_OVERLAY, "className"),
        Input(ids.REVIEW_OVERLAY, "n_clicks"),
        prevent_initial_call=True,
    )
