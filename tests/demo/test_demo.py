"""The demo dataset generator, checked through what it writes (CloudVolume, tensorstore, CSV).

The full-size demo comes from the session fixture ``demo_info`` (conftest: ``ensure_demo``
into a temporary folder, generated once per run); determinism and the regeneration rules are
checked on small (``scale``) datasets.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cloudvolume import CloudVolume

from synanno_dash.core.labels import Category
from synanno_dash.demo.dataset import (
    MARKER_FILE,
    TABLE_COLUMNS,
    DemoInfo,
    ensure_demo,
    generate_demo,
)

SMALL = 0.3
NONE = "none"


def _path(url: str) -> Path:
    assert url.startswith("file:///"), url
    return Path(url[len("file://"):])


def _volume(url: str) -> np.ndarray:
    """The whole layer, [x, y, z]."""
    return np.asarray(CloudVolume(url, progress=False)[:, :, :])[..., 0]


@pytest.fixture(scope="module")
def demo(demo_info: DemoInfo) -> DemoInfo:
    return demo_info


@pytest.fixture(scope="module")
def target(demo: DemoInfo) -> np.ndarray:
    return _volume(demo.target_url)


@pytest.fixture(scope="module")
def neuropil(demo: DemoInfo) -> np.ndarray:
    return _volume(demo.neuropil_url)


@pytest.fixture(scope="module")
def table(demo: DemoInfo) -> pd.DataFrame:
    return pd.read_csv(_path(demo.table_url), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def truth(demo: DemoInfo) -> pd.DataFrame:
    return pd.read_csv(_path(demo.ground_truth_url), dtype=str, keep_default_na=False)


def _point(row: pd.Series, prefix: str) -> tuple[int, int, int] | None:
    values = [row[f"{prefix}{axis}"] for axis in "xyz"]
    if all(v == "" for v in values):
        return None
    return (int(values[0]), int(values[1]), int(values[2]))


def _kinds(table: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    in_table = truth[truth["materialization_index"] != ""]
    by_row = dict(zip(in_table["materialization_index"].astype(int), in_table["error"]))
    return [by_row[i] for i in range(len(table))]


def test_dataset_json_matches_the_info_and_the_files(demo: DemoInfo) -> None:
    assert DemoInfo.load(demo.out_dir) == demo
    data = json.loads((Path(demo.out_dir) / "dataset.json").read_text())
    assert data["seed"] == 0 and data["demo_neuron_id"] == demo.demo_neuron_id
    assert demo.source_resolution_nm == (4.0, 4.0, 40.0)
    assert demo.target_resolution_nm == (8.0, 8.0, 40.0)
    assert demo.target_size_xyz_vx == (512, 512, 64)
    for url in (demo.source_url, demo.target_url, demo.neuropil_url, demo.table_url):
        assert _path(url).is_absolute() and _path(url).exists()
    assert demo.demo_neuron_id in demo.neuron_ids and len(demo.neuron_ids) >= 6
    assert all(i > 2**53 for i in demo.neuron_ids)
    assert (Path(demo.out_dir) / MARKER_FILE).exists()


def test_layers_read_back_at_their_own_resolutions(demo: DemoInfo) -> None:
    expected = {
        demo.source_url: ("image", "uint8", (4, 4, 40), (1024, 1024, 64)),
        demo.target_url: ("segmentation", "uint32", (8, 8, 40), (512, 512, 64)),
        demo.neuropil_url: ("segmentation", "uint64", (8, 8, 40), (512, 512, 64)),
    }
    extents = set()
    for url, (layer, dtype, res, size) in expected.items():
        cv = CloudVolume(url, progress=False)
        assert (cv.layer_type, str(cv.dtype)) == (layer, dtype)
        assert tuple(cv.resolution) == res and tuple(cv.volume_size) == size
        extents.add(tuple(np.array(res) * np.array(size)))
        assert not any(p.suffix == ".gz" for p in _path(url).rglob("*"))  # compress=False
    assert len(extents) == 1  # the three layers cover the same physical region


def test_em_shows_dark_membranes_and_dark_clefts(
    demo: DemoInfo, neuropil: np.ndarray, target: np.ndarray
) -> None:
    """Not noise: neurite boundaries and clefts are darker than neurite interiors."""
    z = 32
    em = np.asarray(CloudVolume(demo.source_url, progress=False)[:, :, z])[:, :, 0, 0]
    step = [round(t / s) for t, s in zip(demo.target_resolution_nm, demo.source_resolution_nm)]
    em_t = em[:: step[0], :: step[1]].astype(float)  # a source pixel in every target voxel
    lab = neuropil[:, :, z]
    edge = np.zeros(lab.shape, dtype=bool)
    edge[1:] |= lab[1:] != lab[:-1]
    edge[:-1] |= lab[1:] != lab[:-1]
    interior = (lab > 0) & ~edge
    interior[1:-1, 1:-1] &= (lab[2:, 1:-1] == lab[1:-1, 1:-1]) & (lab[:-2, 1:-1] == lab[1:-1, 1:-1])
    cleft = target[:, :, z] > 0
    assert em_t[edge].mean() < em_t[interior].mean() - 25
    assert em_t[cleft].mean() < em_t[interior].mean() - 25
    assert 100 < em_t[interior].mean() < 220 and em.std() > 15


def test_table_schema_and_exact_64_bit_neuron_ids(demo: DemoInfo, table: pd.DataFrame) -> None:
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) >= 300 and len(table) == demo.n_table_rows
    pre = [int(v) for v in table["pre_neuron_id"]]
    post = [int(v) for v in table["post_neuron_id"]]
    assert set(pre) | set(post) <= set(demo.neuron_ids)
    # not representable as floats: a float round trip anywhere would change them
    assert all(int(float(i)) != i for i in demo.neuron_ids)
    assert pre.count(demo.demo_neuron_id) >= 20 and post.count(demo.demo_neuron_id) >= 20


def test_every_real_row_has_a_cleft_at_its_centre_and_false_positives_none(
    table: pd.DataFrame, truth: pd.DataFrame, target: np.ndarray
) -> None:
    kinds = _kinds(table, truth)
    assert Category.FALSE_POSITIVE.value in kinds
    for (_, row), kind in zip(table.iterrows(), kinds, strict=True):
        x, y, z = _point(row, "") or (0, 0, 0)
        if kind == Category.FALSE_POSITIVE.value:
            assert not target[x - 8 : x + 9, y - 8 : y + 9, z - 2 : z + 3].any(), (x, y, z)
        else:
            assert target[x - 1 : x + 2, y - 1 : y + 2, z].any(), (kind, x, y, z)


def test_markers_sit_in_their_neurites_and_swaps_are_swapped(
    table: pd.DataFrame, truth: pd.DataFrame, neuropil: np.ndarray
) -> None:
    kinds = _kinds(table, truth)
    real = truth[truth["materialization_index"] != ""].set_index("materialization_index")
    for index, ((_, row), kind) in enumerate(zip(table.iterrows(), kinds, strict=True)):
        pre, post = _point(row, "pre_pt_"), _point(row, "post_pt_")
        assert (pre is None) == (kind == Category.PRE_MARKER.value)
        assert (post is None) == (kind == Category.POST_MARKER.value)
        if kind in (NONE, Category.WRONG_DIRECTION.value):
            assert pre is not None and post is not None
            assert neuropil[pre] == int(row["pre_neuron_id"])
            assert neuropil[post] == int(row["post_neuron_id"])
        if kind == Category.WRONG_DIRECTION.value:
            true_post = int(real.loc[str(index), "post_neuron_id"])
            assert neuropil[pre] == true_post != int(real.loc[str(index), "pre_neuron_id"])


def test_ground_truth_covers_every_row_and_every_error_kind(
    table: pd.DataFrame, truth: pd.DataFrame, target: np.ndarray
) -> None:
    in_table = truth[truth["materialization_index"] != ""]
    assert sorted(in_table["materialization_index"].astype(int)) == list(range(len(table)))
    kinds = set(truth["error"])
    assert {c.value for c in (
        Category.FALSE_POSITIVE, Category.POORLY_ALIGNED, Category.WRONG_DIRECTION,
        Category.PRE_MARKER, Category.POST_MARKER, Category.FALSE_NEGATIVE,
    )} | {NONE} == kinds  # fmt: skip
    share = float((in_table["error"] != NONE).mean())
    assert 0.12 <= share <= 0.3
    left_out = truth[truth["materialization_index"] == ""]
    assert len(left_out) > 0 and set(left_out["error"]) == {Category.FALSE_NEGATIVE.value}
    for _, row in left_out.iterrows():  # a false negative is a real cleft in the target
        x, y, z = (int(row[a]) for a in "xyz")
        assert target[x, y, z] == int(row["cleft_id"])


def test_misaligned_masks_are_moved_off_the_em_cleft(
    truth: pd.DataFrame, target: np.ndarray
) -> None:
    moved = truth[truth["error"] == Category.POORLY_ALIGNED.value]
    assert len(moved) >= 5
    for _, row in moved.iterrows():
        cleft_id = int(row["cleft_id"])
        em = np.array([int(row[a]) for a in "xyz"])
        shift = np.array([int(row[f"shift_{a}"]) for a in "xyz"])
        assert np.abs(shift[:2]).max() >= 4
        assert target[tuple(em)] != cleft_id
        assert target[tuple(em + shift)] == cleft_id


def _branch_depth(vertices: np.ndarray, edges: np.ndarray, root: int, twig_nm: float) -> int:
    """Most branch points on a path from the root, after pruning terminal twigs < twig_nm."""
    nbrs: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        nbrs[int(a)].add(int(b))
        nbrs[int(b)].add(int(a))
    removed: set[int] = set()
    for leaf in [v for v in nbrs if len(nbrs[v]) == 1 and v != root]:
        path, prev, here, length = [leaf], -1, leaf, 0.0
        while len(nbrs[here]) <= 2 and here != root:
            step = [n for n in nbrs[here] if n != prev]
            if not step:
                break
            prev, here = here, step[0]
            length += float(np.linalg.norm(vertices[here] - vertices[prev]))
            path.append(here)
        if length < twig_nm:
            removed.update(path[:-1])
    alive = {v: nbrs[v] - removed for v in nbrs if v not in removed}
    depth, best, stack = {root: 0}, 0, [root]
    while stack:
        v = stack.pop()
        for n in alive[v]:
            if n not in depth:
                depth[n] = depth[v] + (1 if len(alive[n]) >= 3 else 0)
                best = max(best, depth[n])
                stack.append(n)
    return best


def test_skeletons_are_in_nm_and_the_demo_neuron_branches(
    demo: DemoInfo, neuropil: np.ndarray
) -> None:
    cv = CloudVolume(demo.neuropil_url, progress=False)
    assert cv.info["skeletons"] and cv.skeleton.meta.info["@type"] == "neuroglancer_skeletons"
    skel = cv.skeleton.get(demo.demo_neuron_id)
    soma = np.nonzero(skel.vertex_types == 1)[0]
    assert len(soma) == 1 and skel.radius[soma[0]] >= 300
    soma_nm = skel.vertices[soma[0]]
    assert np.allclose(soma_nm, demo.demo_soma_xyz_nm, atol=1)
    soma_vx = tuple(np.floor(soma_nm / np.array(demo.target_resolution_nm)).astype(int))
    assert neuropil[soma_vx] == demo.demo_neuron_id  # vertices in nm, not voxels
    assert _branch_depth(skel.vertices, skel.edges, int(soma[0]), twig_nm=700.0) >= 3
    for neuron_id in demo.neuron_ids:
        assert len(cv.skeleton.get(neuron_id).vertices) > 1


def test_tensorstore_reads_the_same_chunks_as_cloudvolume(demo: DemoInfo) -> None:
    ts = pytest.importorskip("tensorstore")
    for url, box in (
        (demo.source_url, np.s_[128:256, 384:512, 16:32]),
        (demo.neuropil_url, np.s_[192:256, 192:256, 16:32]),
        (demo.target_url, np.s_[0:512, 0:512, 30:34]),
    ):
        store = ts.open({
            "driver": "neuroglancer_precomputed",
            "kvstore": {"driver": "file", "path": str(_path(url)) + "/"},
        }).result()
        via_ts = np.asarray(store[box].read().result())[..., 0]
        via_cv = np.asarray(CloudVolume(url, progress=False)[box])[..., 0]
        assert via_ts.dtype == via_cv.dtype and np.array_equal(via_ts, via_cv)
        assert via_ts.any()


def test_same_seed_gives_identical_data(tmp_path: Path) -> None:
    a = generate_demo(tmp_path / "a", seed=5, scale=SMALL)
    b = generate_demo(tmp_path / "b", seed=5, scale=SMALL)
    c = generate_demo(tmp_path / "c", seed=6, scale=SMALL)
    for url_a, url_b in ((a.source_url, b.source_url), (a.target_url, b.target_url),
                         (a.neuropil_url, b.neuropil_url)):  # fmt: skip
        assert np.array_equal(_volume(url_a), _volume(url_b))
    for name in ("synapses.csv", "ground_truth.csv"):
        text = (tmp_path / "a" / name).read_text()
        assert text == (tmp_path / "b" / name).read_text()
        assert text != (tmp_path / "c" / name).read_text()
    assert not np.array_equal(_volume(a.source_url), _volume(c.source_url))
    assert a.n_table_rows >= 5 and a.target_size_xyz_vx[0] < 512


def test_ensure_demo_reuses_a_complete_dataset_and_redoes_an_interrupted_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    first = ensure_demo(folder, seed=2, scale=SMALL)
    info_file = folder / "source" / "info"
    os.utime(info_file, (1, 1))  # a regeneration would rewrite it
    assert ensure_demo(folder, seed=2, scale=SMALL) == first
    assert info_file.stat().st_mtime == 1
    (folder / MARKER_FILE).unlink()  # as if the run had been interrupted
    (folder / "synapses.csv").write_text("truncated")
    assert ensure_demo(folder, seed=2, scale=SMALL) == first
    assert info_file.stat().st_mtime != 1 and (folder / MARKER_FILE).exists()
    assert len(pd.read_csv(folder / "synapses.csv")) == first.n_table_rows
    assert ensure_demo(folder, seed=3, scale=SMALL).seed == 3  # other settings: regenerated
