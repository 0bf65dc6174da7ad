"""The review grid's slice images as URLs: ``/tile-image/<instance>/<version>/<layer>/<z>``.

A page's response names its images instead of carrying them (a 24-tile page of 256 x 256 x 6
crops was 17.7 MB of inline data URIs), so the browser loads them beside the page, keeps them
in its cache, and preloads the next page's while the user looks at this one. ``version``
(``review.tile_version``) digests the tile's volumes and box, so a URL always means the same
image: the response may be cached for good (``immutable``; ``private``: it is this session's).
"""

from __future__ import annotations

from typing import get_args

import flask

from synanno_dash.services import review
from synanno_dash.services.session import NoDatasetError
from synanno_dash.services.tile_images import TileLayer
from synanno_dash.ui.session import current_session

TILE_IMAGE_PATH = "/tile-image"
CACHE_CONTROL = "private, max-age=604800, immutable"
LAYERS: tuple[str, ...] = get_args(TileLayer)


def tile_image_url(instance_id: int, version: str, layer: TileLayer, z: int) -> str:
    return f"{TILE_IMAGE_PATH}/{instance_id}/{version}/{layer}/{z}"


def add_tile_image_route(server: flask.Flask) -> None:
    @server.route(f"{TILE_IMAGE_PATH}/<int:instance_id>/<version>/<layer>/<int:z>")
    def tile_image(instance_id: int, version: str, layer: str, z: int) -> flask.Response:
        if layer not in LAYERS or len(version) > 64:
            flask.abort(404)
        try:
            found = review.tile_image(current_session(), instance_id, version, layer, z)  # type: ignore[arg-type]
        except NoDatasetError:
            found = None
        if found is None:
            return flask.Response(
                "No such tile image in this session (the dataset changed, or the tile could "
                "not be read): reload the page.",
                status=404,
                mimetype="text/plain",
                headers={"Cache-Control": "no-store"},
            )
        data, mime = found
        response = flask.Response(data, mimetype=mime)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response
