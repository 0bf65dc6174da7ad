"""Layout pieces of the drawing view: tools, buttons, the slice strip."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from synanno_dash.core.masks import DEFAULT_POINTS_PER_SEGMENT
from synanno_dash.ui import ids
from synanno_dash.ui.attrs import data_attrs

TOOL_OPTIONS = [
    {"label": "Control points (c)", "value": "points"},
    {"label": "Freehand (d)", "value": "freehand"},
    {"label": "Pre-Synaptic CRD (1)", "value": "pre"},
    {"label": "Post-Synaptic CRD (2)", "value": "post"},
]


def strip(n_slices: int, z0: int, current: int, edited: set[int], saved: set[int]) -> list:
    """One cell per slice: green when saved, orange when edited (autosaved), ring = current."""
    cells = []
    for k in range(n_slices):
        z = z0 + k
        state = "saved" if z in saved else "edited" if z in edited else "original"
        classes = f"sd-strip-cell sd-strip-{state}" + (" sd-strip-current" if k == current else "")
        cells.append(
            html.Span(
                str(z), className=classes, title=f"z {z}: {state}", **data_attrs(k=k, state=state)
            )
        )
    return cells


def _button(label: str, button_id: str, title: str, color: str = "secondary") -> dbc.Button:
    return dbc.Button(
        label, id=button_id, title=title, color=color, size="sm", className="me-1 mb-1",
        n_clicks=0,
    )  # fmt: skip


def tools_panel(markers: list) -> html.Div:
    return html.Div(
        [
            dbc.Label("Tool"),
            dbc.RadioItems(
                id=ids.DI_TOOL,
                options=TOOL_OPTIONS,
                value="points",
                className="btn-group-vertical w-100 mb-2",
                inputClassName="btn-check",
                labelClassName="btn btn-outline-primary btn-sm text-start",
                labelCheckedClassName="active",
            ),  # fmt: skip
            dbc.Label("Points between control points", className="small mb-0"),
            dcc.Slider(
                id=ids.DI_INTERP,
                min=1,
                max=32,
                step=1,
                value=DEFAULT_POINTS_PER_SEGMENT,
                marks={1: "1", 8: "8", 16: "16", 32: "32"},
                tooltip={"placement": "bottom"},
            ),  # fmt: skip
            html.Div(
                [
                    _button(
                        "Fill (f)", ids.DI_FILL, "fill the closed curve into this slice", "primary"
                    ),  # fmt: skip
                    _button(
                        "Revise (r)", ids.DI_REVISE, "erase the region inside the curve", "warning"
                    ),  # fmt: skip
                    _button("Save (s)", ids.DI_SAVE, "store this slice as checked", "success"),
                    _button("Clear slice (x)", ids.DI_CLEAR, "empty this slice's mask", "danger"),
                ],
                className="mt-2",
            ),
            html.Div(
                [
                    _button(
                        "⌫ point", ids.DI_POINT_BACK, "remove the last control point (Backspace)"
                    ),
                    _button("discard curve", ids.DI_DISCARD, "drop the curve being drawn (Esc)"),
                    _button("undo", ids.DI_UNDO, "undo the last stroke or marker (Ctrl+Z)"),
                    _button("redo", ids.DI_REDO, "redo (Ctrl+Shift+Z)"),
                ]
            ),
            dbc.Label("Mask opacity", className="small mb-0 mt-2"),
            dcc.Slider(id=ids.DI_OPACITY, min=0, max=1, step=0.05, value=0.5, marks=None),
            html.Div(markers, id=ids.DI_MARKERS, className="small mt-2"),
            html.Div(id=ids.DI_STATUS, className="small mt-2", role="status"),
            html.Div(
                [
                    html.Span("● pre", style={"color": "#00c853"}),
                    " · ",
                    html.Span("● post", style={"color": "#2962ff"}),
                    " · bright on their own slice. Wheel or ↑/↓: slices.",
                ],
                className="small text-muted mt-2",
            ),
        ]
    )


def markers_text(pre: tuple | None, post: tuple | None) -> list:
    def fmt(point: tuple | None) -> str:
        return "not placed" if point is None else f"x={point[0]}, y={point[1]}, z={point[2]}"

    return [
        html.Div(f"pre: {fmt(pre)}", id="di-pre-text", **data_attrs(point=list(pre or []))),
        html.Div(f"post: {fmt(post)}", id="di-post-text", **data_attrs(point=list(post or []))),
    ]
