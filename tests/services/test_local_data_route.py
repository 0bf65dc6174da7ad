"""The read-only HTTP route that serves local precomputed folders to Neuroglancer.

The dataset is real precomputed data written with CloudVolume (``compress=False``); requests go
through Flask's test client, and once through a live server read back by CloudVolume over HTTP.
``write_dataset`` is shared with the Neuroglancer service and browser tests.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import flask
import numpy as np
import pytest
from werkzeug.serving import make_server

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data import precomputed
from synanno_dash.services.context import AppContext
from synanno_dash.services.local_data import (
    data_url,
    dataset_folders,
    layer_source_url,
    local_folder,
    register_local_data_route,
    same_origin,
)
from synanno_dash.settings import Settings

SOURCE_RES = Resolution(4, 4, 40)
TARGET_RES = Resolution(8, 8, 40)
TARGET_SIZE_XYZ = (128, 128, 16)
# The neuropil has two neurons: x < 64 is a 64-bit id near the top of the range, the rest is 7.
NEURON_LEFT = 2**64 - 59
NEURON_RIGHT = 7


def write_volume(path: Path, data_zyx: np.ndarray, resolution: Resolution, layer_type: str) -> str:
    return precomputed.write_volume(
        path, np.transpose(data_zyx, (2, 1, 0)), resolution.as_tuple(), (32, 32, 8), layer_type
    )


def write_dataset(root: Path) -> DatasetConfig:
    """EM at 4x4x40 nm, clefts and neuropil at 8x8x40 nm over the same 1024x1024x640 nm."""
    rng = np.random.default_rng(0)
    sx, sy, sz = TARGET_SIZE_XYZ
    em = rng.integers(0, 256, (sz, 2 * sy, 2 * sx), dtype=np.uint8)
    neuropil = np.full((sz, sy, sx), NEURON_RIGHT, dtype=np.uint64)
    neuropil[:, :, : sx // 2] = NEURON_LEFT
    clefts = np.zeros((sz, sy, sx), dtype=np.uint32)
    clefts[6:10, 60:80, 50:70] = 1
    return DatasetConfig(
        source_url=write_volume(root / "em", em, SOURCE_RES, "image"),
        target_url=write_volume(root / "clefts", clefts, TARGET_RES, "segmentation"),
        table_url="",
        neuropil_url=write_volume(root / "neuropil", neuropil, TARGET_RES, "segmentation"),
        source_resolution=SOURCE_RES,
        target_resolution=TARGET_RES,
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetConfig:
    return write_dataset(tmp_path_factory.mktemp("ngdata"))


NG_PORT = 9999  # a port other than the app's (the test client's host is "localhost")
NG_ORIGIN = "http://localhost"  # the app's own origin, where its Neuroglancer client runs


def registry(tmp_path: Path) -> AppContext:
    """The app's token registry (tokens in a real session store), without the Dash app."""
    return AppContext.create(
        Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 't.db'}")
    )


def ng_origin(origin: str, host: str) -> bool:
    return same_origin(origin, host)


@pytest.fixture()
def context(dataset: DatasetConfig, tmp_path: Path) -> AppContext:
    ctx = registry(tmp_path)
    ctx.allow_dataset(dataset)  # as a viewer showing the dataset does
    return ctx


@pytest.fixture()
def client(context: AppContext) -> flask.testing.FlaskClient:
    app = flask.Flask(__name__)
    register_local_data_route(app, context.data_folder, ng_origin)
    return app.test_client()


def em_folder(config: DatasetConfig) -> Path:
    folder = local_folder(config.source_url)
    assert folder is not None
    return folder


def test_serves_registered_folders_to_the_neuroglancer_origin(client, context, dataset) -> None:  # type: ignore[no-untyped-def]
    folder = em_folder(dataset)
    token = context.data_token(folder)
    info = client.get(f"/ngdata/{token}/info", headers={"Origin": NG_ORIGIN})
    assert info.status_code == 200
    assert info.headers["Access-Control-Allow-Origin"] == NG_ORIGIN
    assert info.headers["Vary"] == "Origin"
    assert json.loads(info.data)["scales"][0]["resolution"] == [4, 4, 40]
    chunk = client.get(f"/ngdata/{token}/4_4_40/0-32_0-32_0-8", headers={"Origin": NG_ORIGIN})
    assert chunk.status_code == 200
    assert chunk.headers["Access-Control-Allow-Origin"] == NG_ORIGIN
    assert chunk.data == (folder / "4_4_40" / "0-32_0-32_0-8").read_bytes()
    assert "Content-Encoding" not in chunk.headers
    # no Origin (CloudVolume, a same-origin page): served, with no CORS grant
    plain = client.get(f"/ngdata/{token}/info")
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost:8050",  # the right host, another port
        f"http://localhost:{NG_PORT}",  # the right host, another port
        "http://evil.example",  # the right port, another host
        "null",
        "http://localhost:notaport",
    ],
)
def test_other_origins_get_nothing(client, context, dataset, origin: str) -> None:  # type: ignore[no-untyped-def]
    token = context.data_token(em_folder(dataset))
    for method in ("get", "options", "head"):
        response = getattr(client, method)(f"/ngdata/{token}/info", headers={"Origin": origin})
        assert response.status_code == 403, (method, origin)
        assert "Access-Control-Allow-Origin" not in response.headers
        assert b"scales" not in response.data


def test_tokens_are_random_per_registration_not_derived_from_the_path(
    dataset,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    folder = em_folder(dataset)
    first, second = registry(tmp_path / "a"), registry(tmp_path / "b")
    token_a, token_b = first.data_token(folder), second.data_token(folder)
    assert token_a != token_b and len(token_a) >= 32  # two registrations, two random tokens
    assert (
        str(folder) not in token_a
        and hashlib.sha256(str(folder).encode()).hexdigest()[:16] not in token_a
    )
    assert first.data_token(folder) == token_a  # stable once registered
    assert first.data_token(Path(str(folder) + "/")) == token_a  # one spelling per folder
    # every worker and every restart on the same database answers the same token
    again = AppContext.create(first.settings)
    assert again.data_folder(token_a) == folder.resolve()
    assert again.data_folder(token_b) is None and again.data_folder("x" * 10_000) is None


def test_head_range_and_preflight(client, context, dataset) -> None:  # type: ignore[no-untyped-def]
    token = context.data_token(em_folder(dataset))
    path = f"/ngdata/{token}/4_4_40/0-32_0-32_0-8"
    assert client.head(path).status_code == 200
    ranged = client.get(path, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10
    preflight = client.options(path, headers={"Origin": NG_ORIGIN})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == NG_ORIGIN
    assert "Range" in preflight.headers["Access-Control-Allow-Headers"]


def test_missing_chunk_is_404_with_cors(client, context, dataset) -> None:  # type: ignore[no-untyped-def]
    # Neuroglancer treats a 404 chunk as empty, so it must be readable cross-origin.
    token = context.data_token(em_folder(dataset))
    response = client.get(
        f"/ngdata/{token}/4_4_40/9000-9032_0-32_0-8", headers={"Origin": NG_ORIGIN}
    )
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == NG_ORIGIN


def test_refuses_other_folders_traversal_listings_and_hidden_files(
    client,
    context,
    dataset,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    folder = em_folder(dataset)
    token = context.data_token(folder)
    secret = folder.parent / "secret.txt"
    secret.write_text("not for the browser")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "info").write_text("{}")
    (folder / "link").symlink_to(outside / "info")
    (folder / ".hidden").write_text("x")
    refused = [
        f"/ngdata/{hashlib.sha256(str(outside).encode()).hexdigest()[:16]}/info",
        "/ngdata/0123456789abcdef/info",
        f"/ngdata/{token}/../secret.txt",
        f"/ngdata/{token}/%2e%2e/secret.txt",
        f"/ngdata/{token}/4_4_40/../../secret.txt",
        f"/ngdata/{token}/link",  # a symlink out of the folder
        f"/ngdata/{token}/.hidden",
        f"/ngdata/{token}/4_4_40",  # a directory: no listing
        f"/ngdata/{token}/4_4_40/",
    ]
    for path in refused:
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert b"not for the browser" not in response.data
        assert b"0-32_0-32_0-8" not in response.data


def test_a_folder_is_served_once_registered(dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = registry(tmp_path)
    app = flask.Flask(__name__)
    register_local_data_route(app, ctx.data_folder, ng_origin)
    client = app.test_client()
    other = write_dataset(tmp_path / "other")
    assert client.get("/ngdata/" + "A" * 32 + "/info").status_code == 404
    ctx.allow_dataset(other)
    token = ctx.data_token(em_folder(other))
    assert client.get(f"/ngdata/{token}/info").status_code == 200


def test_gzip_chunk_served_with_content_encoding(client, context, dataset) -> None:  # type: ignore[no-untyped-def]
    folder = em_folder(dataset)
    raw = b"\x01\x02\x03" * 100
    (folder / "4_4_40" / "gz-only.gz").write_bytes(gzip.compress(raw))
    response = client.get(f"/ngdata/{context.data_token(folder)}/4_4_40/gz-only")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == raw


def test_source_urls_and_dataset_folders(dataset) -> None:  # type: ignore[no-untyped-def]
    url = layer_source_url("http://127.0.0.1:8050/", "tok")
    assert url == "precomputed://http://127.0.0.1:8050/ngdata/tok"
    assert local_folder("gs://bucket/em") is None
    assert local_folder("precomputed://" + dataset.source_url) == em_folder(dataset)
    assert dataset_folders(["gs://bucket/em", dataset.target_url, ""]) == {
        local_folder(dataset.target_url)
    }


def test_origin_rule() -> None:
    assert same_origin("http://example.org:8050", "example.org:8050")
    assert same_origin("http://10.0.0.5", "10.0.0.5")
    assert same_origin("https://synanno.example.org", "synanno.example.org")  # behind TLS
    assert same_origin("http://localhost:80", "localhost")
    assert not same_origin("http://localhost:9999", "localhost:8050")
    assert not same_origin("http://evil.example:8050", "localhost:8050")
    assert not same_origin("ftp://localhost:8050", "localhost:8050")
    assert not same_origin("null", "localhost:8050")
    assert not same_origin("http://localhost:x", "localhost:8050")


@pytest.fixture()
def live_base_url(context: AppContext) -> Iterator[str]:
    app = flask.Flask(__name__)
    register_local_data_route(app, context.data_folder, ng_origin)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_cloudvolume_reads_the_served_volume_over_http(live_base_url, context, dataset) -> None:  # type: ignore[no-untyped-def]
    """An independent reader sees the same voxels through the route as on disk."""
    from cloudvolume import CloudVolume

    folder = local_folder(dataset.neuropil_url)
    assert folder is not None
    over_http = CloudVolume(data_url(live_base_url, context.data_token(folder)), progress=False)
    on_disk = CloudVolume(dataset.neuropil_url, progress=False)
    box = np.s_[40:90, 10:50, 4:12]
    np.testing.assert_array_equal(over_http[box], on_disk[box])
    assert {int(v) for v in np.unique(over_http[box])} == {NEURON_LEFT, NEURON_RIGHT}
