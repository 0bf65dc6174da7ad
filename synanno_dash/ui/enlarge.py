"""The enlarged view of one instance: a large slice, slider, opacity, legend, coordinates.

Axes are in target voxel coordinates, so hovering shows the voxel under the mouse
whatever the source/target resolution ratio (the EM image is placed with ``dx``).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from synanno_dash.core.instances import Instance
from synanno_dash.data.volumes import InstanceCrops
from synanno_dash.services.tile_images import em_slice_uri, mask_slice_uri, source_slices_for_target
from synanno_dash.ui import ids, ng_panel, type_choice

PRE_COLOR, POST_COLOR = "#00c853", "#2962ff"
MUTED_ALPHA = 0.35


def _marker_trace(name: str, point: tuple[int, int, int] | None, z: int, color: str) -> go.Scatter:
    bright = point is not None and point[2] == z
    return go.Scatter(
        x=[] if point is None else [point[0]],
        y=[] if point is None else [point[1]],
        mode="markers",
        name=f"{name} (z {point[2]})" if point else f"{name} (none)",
        marker={
            "size": 14 if bright else 10,
            "color": color,
            "opacity": 1.0 if bright else MUTED_ALPHA,
            "line": {"width": 2, "color": "white"},
        },
        hovertemplate=f"{name}: x=%{{x}}, y=%{{y}}<extra></extra>",
    )


def enlarged_figure(
    item: Instance, crops: InstanceCrops, slice_index: int, opacity: float
) -> go.Figure:
    box = item.bbox_target_vx
    n_slices = crops.cleft_zyx.shape[0]
    k = min(max(0, slice_index), n_slices - 1)
    z = box.start_xyz[2] + k
    em = source_slices_for_target(crops.em_zyx, n_slices)[k]
    dx = box.shape_xyz[0] / em.shape[1]
    dy = box.shape_xyz[1] / em.shape[0]
    figure = go.Figure()
    figure.add_trace(
        go.Image(
            source=em_slice_uri(em, quality=92),
            x0=box.start_xyz[0] + (dx - 1) / 2,
            dx=dx,
            y0=box.start_xyz[1] + (dy - 1) / 2,
            dy=dy,
            hovertemplate="x=%{x:.0f}, y=%{y:.0f}<extra>target voxels</extra>",
            name="EM",
        )
    )
    figure.add_trace(
        go.Image(
            source=mask_slice_uri(crops.cleft_zyx[k]),
            x0=box.start_xyz[0],
            y0=box.start_xyz[1],
            opacity=opacity,
            hoverinfo="skip",
            name="cleft",
        )
    )
    figure.add_trace(_marker_trace("pre", item.synapse.pre_xyz_vx, z, PRE_COLOR))
    figure.add_trace(_marker_trace("post", item.synapse.post_xyz_vx, z, POST_COLOR))
    figure.update_layout(
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        height=520,
        legend={"orientation": "h", "y": -0.08},
        uirevision=item.instance_id,
    )
    figure.update_yaxes(scaleanchor="x", autorange="reversed", title_text="y")
    figure.update_xaxes(title_text="x")
    return figure


def info_text(item: Instance, slice_index: int) -> list:
    syn, box = item.synapse, item.bbox_target_vx
    z = box.start_xyz[2] + slice_index
    lines = [
        f"Instance #{item.instance_id} · table row {syn.materialization_index} · "
        f"label {item.label.value}",
        f"centre (x, y, z) {list(syn.center_xyz_vx)} · slice z = {z} "
        f"({slice_index + 1} of {box.shape_xyz[2]}) · box {box.as_list()} (target voxels)",
        f"pre {list(syn.pre_xyz_vx) if syn.pre_xyz_vx else 'missing'} · "
        f"post {list(syn.post_xyz_vx) if syn.post_xyz_vx else 'missing'}",
    ]
    return [html.Div(line) for line in lines]


def _two_d_body() -> list:
    return [
        html.Div(id=ids.ENLARGE_INFO, className="small mb-2"),
        dcc.Graph(id=ids.ENLARGE_GRAPH, config={"displaylogo": False}),
        dbc.Label("Slice"),
        dcc.Slider(id=ids.ENLARGE_SLICE, min=0, max=5, step=1, value=0),
        dbc.Label("Mask opacity"),
        dcc.Slider(id=ids.ENLARGE_OPACITY, min=0, max=1, step=0.1, value=0.5, marks=None),
        html.Div(
            [
                html.Span("● pre-synaptic", style={"color": PRE_COLOR}),
                " · ",
                html.Span("● post-synaptic", style={"color": POST_COLOR}),
                " · bright on their own slice, faint on the others",
            ],
            className="small mb-2",
        ),
        ng_panel.view_button(ids.ENLARGE_PANEL, title="Open this instance in Neuroglancer"),
    ]


def modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Instance")),
            dbc.ModalBody(
                [
                    dcc.Store(id=ids.ENLARGE_INSTANCE),
                    html.Div(
                        [
                            type_choice.selector(ids.ENLARGE_TYPE),
                            html.Span(id=ids.ENLARGE_TYPE_SAVED, className="small text-muted"),
                        ]
                    ),
                    ng_panel.instance_store(ids.ENLARGE_PANEL),
                    ng_panel.two_d(ids.ENLARGE_PANEL, _two_d_body()),
                    ng_panel.frame(ids.ENLARGE_PANEL),
                ]
            ),
        ],
        id=ids.ENLARGE_MODAL,
        is_open=False,
        size="lg",
    )
