"""Review tiles: every slice of an instance in the page, switched in the browser.

A tile is ``sd-tile`` (label class and ``data-label``) around ``sd-tile-view`` (the
click target: EM slices, mask slices, pre/post markers) and a footer (slice range and
the enlarge button). ``assets/review.js`` handles wheel, range, right-click and keys
without a server round trip; only a label change goes to the server.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import Label
from synanno_dash.services.tile_images import SliceImages
from synanno_dash.ui import ids
from synanno_dash.ui.attrs import data_attrs

LABEL_CLASS = {
    Label.CORRECT: "label-correct",
    Label.INCORRECT: "label-incorrect",
    Label.UNSURE: "label-unsure",
}


def tile_class(label: Label) -> str:
    return f"sd-tile {LABEL_CLASS[label]}"


def marker_style(point_xyz_vx: tuple[int, int, int], box: BBox) -> dict[str, str]:
    """Position of a marker over the tile, as percentages of the crop (voxel centres)."""
    sx, sy, _sz = box.shape_xyz
    left = (point_xyz_vx[0] - box.start_xyz[0] + 0.5) / sx * 100
    top = (point_xyz_vx[1] - box.start_xyz[1] + 0.5) / sy * 100
    return {"left": f"{left:.2f}%", "top": f"{top:.2f}%"}


def markers(item: Instance) -> list[html.Div]:
    """Pre (green) and post (blue) markers; ``data-z`` is their slice in the crop."""
    box = item.bbox_target_vx
    found = []
    for kind, point in (("pre", item.synapse.pre_xyz_vx), ("post", item.synapse.post_xyz_vx)):
        if point is None or not box.contains_point(point):
            continue
        found.append(
            html.Div(
                className=f"sd-marker sd-marker-{kind}",
                style=marker_style(point, box),
                title=f"{kind}-synaptic marker at x={point[0]}, y={point[1]}, z={point[2]}",
                **data_attrs(z=point[2] - box.start_xyz[2]),
            )
        )
    return found


def middle_slice(item: Instance) -> int:
    return item.synapse.center_xyz_vx[2] - item.bbox_target_vx.start_xyz[2]


def _layers(item: Instance, images: SliceImages) -> list[Any]:
    em, masks = images.em, images.masks
    current = min(max(0, middle_slice(item)), len(em) - 1)
    hidden = {"display": "none"}
    children: list[Any] = []
    for k, (em_uri, mask_uri) in enumerate(zip(em, masks, strict=True)):
        style = None if k == current else hidden
        children.append(
            html.Img(src=em_uri, className="sd-em", style=style, alt="", **data_attrs(z=k))
        )
        children.append(
            html.Img(src=mask_uri, className="sd-mask", style=style, alt="", **data_attrs(z=k))
        )
    return children + markers(item)


def tile(item: Instance, images: SliceImages) -> html.Div:
    n_slices = len(images.masks)
    current = min(max(0, middle_slice(item)), n_slices - 1)
    z0 = item.bbox_target_vx.start_xyz[2]
    return html.Div(
        [
            html.Div(
                _layers(item, images),
                id=ids.tile_view(item.instance_id),
                className="sd-tile-view",
                n_clicks=0,
                title="click: next label · right-click: enlarge · wheel: slices",
            ),
            html.Div(
                [
                    html.Span(f"#{item.instance_id}", className="sd-tile-id"),
                    dcc.Input(
                        type="range",
                        min=0,
                        max=n_slices - 1,
                        step=1,
                        value=current,
                        className="sd-slice-range",
                        debounce=False,
                        id=ids.tile_range(item.instance_id),
                    ),
                    html.Span(
                        f"z {z0 + current}", className="sd-slice-label", **data_attrs(z0=z0)
                    ),
                    html.Button(
                        "⤢",
                        id=ids.tile_enlarge(item.instance_id),
                        className="sd-enlarge btn btn-sm btn-light",
                        title="enlarge (or right-click the tile)",
                        n_clicks=0,
                    ),
                ],
                className="sd-tile-footer",
            ),
        ],
        id=ids.tile(item.instance_id),
        className=tile_class(item.label),
        **data_attrs(label=item.label.value, instance=item.instance_id, slice=current),
    )
