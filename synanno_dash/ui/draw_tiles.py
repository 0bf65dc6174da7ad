"""The correction overview: one tile per instance to fix, the "Add New Instance" tile and its
dialog (position typed or clicked in a nearby instance, then the box to confirm)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import CATEGORY_TITLES
from synanno_dash.services.correction import Drawing
from synanno_dash.services.tile_images import em_slice_uri, mask_slice_uri
from synanno_dash.ui import ids
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.draw_figure import em_slice
from synanno_dash.ui.tiles import LABEL_CLASS, marker_style


def shown_slice(drawing: Drawing) -> int:
    """The edited slice nearest the centre, else the centre slice (index in the box)."""
    centre = drawing.item.synapse.center_xyz_vx[2]
    z = min(drawing.edited_z, key=lambda e: (abs(e - centre), e)) if drawing.edited_z else centre
    return min(max(0, drawing.slice_index(z)), drawing.masks_zyx.shape[0] - 1)


def _markers(item: Instance, drawing: Drawing) -> list[html.Div]:
    box, out = drawing.box, []
    for kind, point in (("pre", item.synapse.pre_xyz_vx), ("post", item.synapse.post_xyz_vx)):
        if point is not None and box.contains_point(point):
            out.append(html.Div(className=f"sd-marker sd-marker-{kind} sd-bright",
                                style=marker_style(point, box)))  # fmt: skip
    return out


def draw_tile(drawing: Drawing) -> html.Div:
    item, k = drawing.item, shown_slice(drawing)
    z = drawing.box.start_xyz[2] + k
    category = CATEGORY_TITLES.get(item.category, "") if item.category else "no category"
    if item.category and item.custom_category:
        category = item.custom_category
    return html.Div(
        [
            html.Div(
                [
                    html.Img(src=em_slice_uri(em_slice(drawing, k)), className="sd-em", alt=""),
                    html.Img(src=mask_slice_uri(drawing.masks_zyx[k]), className="sd-mask", alt=""),
                    *_markers(item, drawing),
                ],
                className="sd-card-img sd-draw-img",
            ),
            html.Div(
                [
                    html.Div(html.B(f"#{item.instance_id}"), className="me-1"),
                    html.Div(f"{item.label.value} · {category}", className="small"),
                    html.Div(
                        f"z {z} shown · {len(drawing.edited_z)} slice(s) edited, "
                        f"{len(drawing.saved_z)} saved",
                        className="small text-muted",
                    ),
                    dbc.Button(
                        "Draw Mask",
                        href=f"/draw/instance?id={item.instance_id}",
                        size="sm",
                        color="primary",
                        className="mt-1",
                        id=f"draw-open-{item.instance_id}",
                    ),  # fmt: skip
                ],
                className="p-1",
            ),
        ],
        className=f"sd-draw-tile {LABEL_CLASS[item.label]}",
        **data_attrs(instance=item.instance_id, edited=len(drawing.edited_z)),
    )


def add_tile() -> html.Div:
    return html.Div(
        html.Button(
            [html.Div("+", className="display-4"), html.Div("Add New Instance")],
            id=ids.DRAW_ADD_OPEN,
            className="btn btn-outline-secondary w-100 h-100",
            n_clicks=0,
            title="add a synapse the table missed (a false negative)",
        ),
        className="sd-draw-tile sd-draw-add",
    )


def _xyz_inputs(field_ids: tuple[str, str, str], values: tuple = (None, None, None)) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText(axis),
                        dbc.Input(id=field_id, type="number", step=1, value=value),
                    ]  # fmt: skip
                ),
                width=4,
            )
            for axis, field_id, value in zip("xyz", field_ids, values, strict=True)
        ],
        className="g-1 mb-2",
    )


def add_modal(choices: list[Instance]) -> dbc.Modal:
    options = [
        {"label": f"#{i.instance_id} at {list(i.synapse.center_xyz_vx)}", "value": i.instance_id}
        for i in choices
    ]
    first: int | None = choices[0].instance_id if choices else None
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Add a missed synapse")),
            dbc.ModalBody(
                [
                    dbc.Label("Position (target voxels)"),
                    _xyz_inputs(ids.DRAW_ADD_POS),
                    dbc.Label("…or click it in the enlarged view of a nearby instance"),
                    dcc.Dropdown(
                        id=ids.DRAW_ADD_NEARBY,
                        options=options,
                        value=first,
                        clearable=False,
                        className="mb-1",
                    ),  # fmt: skip
                    html.Div(
                        dcc.Graph(
                            id=ids.DRAW_ADD_GRAPH,
                            config={"displaylogo": False},
                            style={"height": "420px"},
                        ),  # fmt: skip
                        **data_attrs(click_store=ids.DRAW_ADD_CLICK),
                    ),
                    dcc.Store(id=ids.DRAW_ADD_CLICK),
                    html.A(
                        "…or pick it in Neuroglancer (c key)",
                        id=ids.DRAW_ADD_NG,
                        href=f"/missed?instance={first}" if first is not None else "/missed",
                        className="small d-block mb-2",
                    ),
                    dbc.Button(
                        "Review box",
                        id=ids.DRAW_ADD_REVIEW,
                        color="secondary",
                        size="sm",
                        className="mb-2 d-block",
                        n_clicks=0,
                    ),  # fmt: skip
                    dbc.Label("Box start (inclusive)", className="small mb-0"),
                    _xyz_inputs(ids.DRAW_ADD_BOX_START),
                    dbc.Label("Box stop (exclusive)", className="small mb-0"),
                    _xyz_inputs(ids.DRAW_ADD_BOX_STOP),
                    html.Div(id=ids.DRAW_ADD_BOX_INFO, className="small text-muted"),
                    html.Div(id=ids.DRAW_ADD_ERROR, className="small text-danger mt-1"),
                ]
            ),
            dbc.ModalFooter(dbc.Button("Save", id=ids.DRAW_ADD_SAVE, color="primary", n_clicks=0)),
        ],
        id=ids.DRAW_ADD_MODAL,
        is_open=False,
        size="lg",
    )
