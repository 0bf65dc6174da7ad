"""The read-only HTTP route that serves local precomputed folders to Neuroglancer.

The dataset is real precomputed data written with CloudVolume (``compress=False``); requests go
through Flask's test client, and once through a live server read back by CloudVolume over HTTP.
``write_dataset`` is shared with the Neuroglancer service and browser tests.
"""

from __future__ import annotations

import gzip
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
from synanno_dash.services.local_data import (
    data_url,
    dataset_folders,
    folder_token,
    layer_source_url,
    local_folder,
    register_local_data_route,
)

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


def config_folders(config: DatasetConfig) -> set[Path]:
    return dataset_folders([config.source_url, config.target_url, config.neuropil_url])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetConfig:
    return write_dataset(tmp_path_factory.mktemp("ngdata"))


@pytest.fixture()
def allowed(dataset: DatasetConfig) -> set[Path]:
    return config_folders(dataset)


@pytest.fixture()
def client(allowed: set[Path]) -> flask.testing.FlaskClient:
    app = flask.Flask(__name__)
    register_local_data_route(app, lambda: set(allowed))  # asked on every request
    return app.test_client()


def em_folder(config: DatasetConfig) -> Path:
    folder = local_folder(config.source_url)
    assert folder is not None
    return folder


def test_serves_files_of_configured_folders_with_cors(client, dataset) -> None:
    folder = em_folder(dataset)
    token = folder_token(folder)
    info = client.get(f"/ngdata/{token}/info")
    assert info.status_code == 200
    assert info.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(info.data)["scales"][0]["resolution"] == [4, 4, 40]
    chunk = client.get(f"/ngdata/{token}/4_4_40/0-32_0-32_0-8")
    assert chunk.status_code == 200
    assert chunk.headers["Access-Control-Allow-Origin"] == "*"
    assert chunk.data == (folder / "4_4_40" / "0-32_0-32_0-8").read_bytes()
    assert "Content-Encoding" not in chunk.headers


def test_head_range_and_preflight(client, dataset) -> None:
    token = folder_token(em_folder(dataset))
    path = f"/ngdata/{token}/4_4_40/0-32_0-32_0-8"
    assert client.head(path).status_code == 200
    ranged = client.get(path, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10
    preflight = client.options(path)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Range" in preflight.headers["Access-Control-Allow-Headers"]


def test_missing_chunk_is_404_with_cors(client, dataset) -> None:
    # Neuroglancer treats a 404 chunk as empty, so it must be readable cross-origin.
    response = client.get(f"/ngdata/{folder_token(em_folder(dataset))}/4_4_40/9000-9032_0-32_0-8")
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_refuses_other_folders_traversal_listings_and_hidden_files(
    client, dataset, tmp_path: Path
) -> None:
    folder = em_folder(dataset)
    token = folder_token(folder)
    secret = folder.parent / "secret.txt"
    secret.write_text("not for the browser")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "info").write_text("{}")
    (folder / "link").symlink_to(outside / "info")
    (folder / ".hidden").write_text("x")
    refused = [
        f"/ngdata/{folder_token(outside)}/info",  # a real folder, but not a dataset's
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


def test_allowed_roots_are_read_per_request(dataset, tmp_path: Path) -> None:
    roots: set[Path] = set()
    app = flask.Flask(__name__)
    register_local_data_route(app, lambda: roots)
    client = app.test_client()
    path = f"/ngdata/{folder_token(em_folder(dataset))}/info"
    assert client.get(path).status_code == 404
    roots.add(em_folder(dataset))
    assert client.get(path).status_code == 200


def test_gzip_chunk_served_with_content_encoding(client, dataset) -> None:
    folder = em_folder(dataset)
    raw = b"\x01\x02\x03" * 100
    (folder / "4_4_40" / "gz-only.gz").write_bytes(gzip.compress(raw))
    response = client.get(f"/ngdata/{folder_token(folder)}/4_4_40/gz-only")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == raw


def test_source_urls_and_allowed_folders(dataset) -> None:
    folder = em_folder(dataset)
    url = layer_source_url("http://127.0.0.1:8050/", folder)
    assert url == f"precomputed://http://127.0.0.1:8050/ngdata/{folder_token(folder)}"
    assert folder_token(str(folder) + "/") == folder_token(folder)
    assert local_folder("gs://bucket/em") is None
    assert local_folder("precomputed://" + dataset.source_url) == folder
    assert dataset_folders(["gs://bucket/em", dataset.target_url, ""]) == {
        local_folder(dataset.target_url)
    }


@pytest.fixture()
def live_base_url(allowed: set[Path]) -> Iterator[str]:
    app = flask.Flask(__name__)
    register_local_data_route(app, lambda: allowed)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_cloudvolume_reads_the_served_volume_over_http(live_base_url, dataset) -> None:
    """An independent reader sees the same voxels through the route as on disk."""
    from cloudvolume import CloudVolume

    folder = local_folder(dataset.neuropil_url)
    assert folder is not None
    over_http = CloudVolume(data_url(live_base_url, folder), progress=False)
    on_disk = CloudVolume(dataset.neuropil_url, progress=False)
    box = np.s_[40:90, 10:50, 4:12]
    np.testing.assert_array_equal(over_http[box], on_disk[box])
    assert {int(v) for v in np.unique(over_http[box])} == {NEURON_LEFT, NEURON_RIGHT}
