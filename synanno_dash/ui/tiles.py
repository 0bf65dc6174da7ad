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
from synanno_dash.ui.tile_route import tile_image_url

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


def _layers(item: Instance, images: SliceImages, version: str) -> list[Any]:
    """The slice images: the shown slice loads with the page, the others when first shown
    (``data-src``; ``assets/review.js`` loads them soon after the page, in the background)."""
    n_slices = len(images.masks)
    current = min(max(0, middle_slice(item)), n_slices - 1)
    hidden = {"display": "none"}
    children: list[Any] = []
    for k in range(n_slices):
        for layer, css in (("em", "sd-em"), ("mask", "sd-mask")):
            url = tile_image_url(item.instance_id, version, layer, k)  # type: ignore[arg-type]
            if k == current:
                children.append(html.Img(src=url, className=css, alt="", **data_attrs(z=k)))
            else:
                children.append(
                    html.Img(className=css, style=hidden, alt="", **data_attrs(z=k, src=url))
                )
    return children + markers(item)


def _footer(item: Instance, n_slices: int, current: int, retry: bool) -> html.Div:
    z0 = item.bbox_target_vx.start_xyz[2]
    if retry:
        controls: list[Any] = [
            html.Button(
                "Retry",
                id=ids.tile_retry(item.instance_id),
                className="sd-retry btn btn-sm btn-warning",
                title="read this tile again",
                n_clicks=0,
            )
        ]
    else:
        controls = [
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
            html.Span(f"z {z0 + current}", className="sd-slice-label", **data_attrs(z0=z0)),
        ]
    return html.Div(
        [
            html.Span(f"#{item.instance_id}", className="sd-tile-id"),
            *controls,
            html.Button(
                "⤢",
                id=ids.tile_enlarge(item.instance_id),
                className="sd-enlarge btn btn-sm btn-light",
                title="enlarge (or right-click the tile)",
                n_clicks=0,
            ),
        ],
        className="sd-tile-footer",
    )


def tile_children(
    item: Instance, images: SliceImages | str, version: str, retries: int = 0
) -> list[Any]:
    """The inside of a tile: its slices and footer, or, when its crops could not be read
    (``images`` is the reason), a "could not read" placeholder with a Retry button."""
    if isinstance(images, str):
        after = " (still, on retry)"
        placeholder = html.Div(
            [
                html.Div(
                    "Could not read this tile" + (after if retries else ""), className="fw-semibold"
                ),
                html.Div(images, className="small sd-tile-problem"),
            ],
            className="sd-tile-failed",
            **data_attrs(retries=retries),
        )
        n_slices = item.bbox_target_vx.shape_xyz[2]
        return [placeholder, _footer(item, n_slices, 0, retry=True)]
    n_slices = len(images.masks)
    current = min(max(0, middle_slice(item)), n_slices - 1)
    view = html.Div(
        _layers(item, images, version),
        id=ids.tile_view(item.instance_id),
        className="sd-tile-view",
        n_clicks=0,
        title="click: next label · right-click: enlarge · wheel: slices",
    )
    return [view, _footer(item, n_slices, current, retry=False)]


def tile(item: Instance, images: SliceImages | str, version: str) -> html.Div:
    current = min(max(0, middle_slice(item)), item.bbox_target_vx.shape_xyz[2] - 1)
    return html.Div(
        tile_children(item, images, version),
        id=ids.tile(item.instance_id),
        className=tile_class(item.label),
        **data_attrs(label=item.label.value, instance=item.instance_id, slice=current),
    )


def preload_urls(items: list[Instance], versions: list[str]) -> list[str]:
    """Image URLs of a page to preload: every tile's shown slice first, then the others."""
    first: list[str] = []
    rest: list[str] = []
    for item, version in zip(items, versions, strict=True):
        n_slices = item.bbox_target_vx.shape_xyz[2]
        current = min(max(0, middle_slice(item)), n_slices - 1)
        for k in range(n_slices):
            urls = [tile_image_url(item.instance_id, version, layer, k) for layer in ("em", "mask")]
            (first if k == current else rest).extend(urls)
    return first + rest
