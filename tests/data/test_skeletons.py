"""Skeletons read back from real precomputed layers written with CloudVolume, and SWC files.

The layer: a uint64 segmentation at 8x8x40 nm whose info has a 'skeletons' entry and a
skeletons/info of type neuroglancer_skeletons, written uncompressed (as Neuroglancer needs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.compartments import NeuronSkeleton, compute_compartments, find_root
from synanno_dash.data.precomputed import SkeletonData, new_layer, write_skeletons
from synanno_dash.data.skeletons import (
    SkeletonError,
    load_neuron_skeleton,
    load_precomputed_skeleton,
    parse_swc,
    prepare_skeleton,
    read_swc,
    to_swc,
)

BIG_ID = 2**62 + 12345  # a 64-bit id that a float would round
NEURON_ID = 7
VOXEL_TRANSFORM = [8, 0, 0, 0, 0, 8, 0, 0, 0, 0, 40, 0]  # stored voxels -> nm


def y_skeleton() -> NeuronSkeleton:
    """Soma (node 0, type 1) - a 400 nm stem - fork - a 3.3 um arm and a 224 nm twig."""
    vertices = [[0, 0, 0], [200, 0, 0], [400, 0, 0], [1400, 1000, 0], [2400, 2000, 0],
                [2400, 2500, 0], [500, -200, 0]]  # fmt: skip
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (2, 6)]
    return NeuronSkeleton.build(
        vertices, edges, [4000, 300, 300, 200, 200, 200, 100], [1, 3, 3, 3, 3, 3, 3]
    )


def write_layer(path: Path, with_skeletons: bool = True, transform: list | None = None) -> str:
    new_layer(
        path, "segmentation", "uint64", (8, 8, 40), (128, 128, 16), (64, 64, 8),
        skeletons=with_skeletons, skeleton_transform=transform,
    )  # fmt: skip
    return path.resolve().as_uri()


def upload(url: str, segment_id: int, sk: NeuronSkeleton, vertices: np.ndarray) -> None:
    write_skeletons(
        Path(url.removeprefix("file://")),
        [SkeletonData(segment_id, vertices, sk.edges, sk.radii_nm, sk.swc_types)],
    )


@pytest.fixture()
def layer(tmp_path: Path) -> str:
    url = write_layer(tmp_path / "neuropil")
    sk = y_skeleton()
    upload(url, NEURON_ID, sk, sk.vertices_nm)
    # two fragments: the Y and a far piece of 3 nodes
    far = np.array([[5000, 0, 0], [5500, 0, 0], [6000, 0, 0]], dtype=float)
    fragmented = NeuronSkeleton.build(
        np.vstack([sk.vertices_nm, far]),
        np.vstack([sk.edges, [[7, 8], [8, 9]]]),
        np.append(sk.radii_nm, [100, 100, 100]),
        np.append(sk.swc_types, [3, 3, 3]),
    )
    upload(url, BIG_ID, fragmented, fragmented.vertices_nm)
    return url


def test_layer_files_are_what_neuroglancer_reads(layer: str) -> None:
    folder = Path(layer.removeprefix("file://"))
    assert json.loads((folder / "info").read_text())["skeletons"] == "skeletons"
    skeleton_info = json.loads((folder / "skeletons" / "info").read_text())
    assert skeleton_info["@type"] == "neuroglancer_skeletons"
    assert (folder / "skeletons" / str(NEURON_ID)).is_file()  # uncompressed, no .gz


def test_a_stored_skeleton_loads_unchanged(layer: str) -> None:
    expected = y_skeleton()
    loaded = load_precomputed_skeleton(layer, NEURON_ID)
    assert loaded.segment_id == NEURON_ID
    np.testing.assert_allclose(loaded.vertices_nm, expected.vertices_nm)
    assert sorted(map(sorted, loaded.edges.tolist())) == sorted(
        map(sorted, expected.edges.tolist())
    )
    np.testing.assert_allclose(loaded.radii_nm, expected.radii_nm)
    assert loaded.swc_types.tolist() == expected.swc_types.tolist()
    assert find_root(loaded).node == 0


def test_the_skeleton_transform_gives_nm(tmp_path: Path) -> None:
    url = write_layer(tmp_path / "voxels", transform=VOXEL_TRANSFORM)
    sk = y_skeleton()
    upload(url, NEURON_ID, sk, sk.vertices_nm / [8, 8, 40])
    loaded = load_precomputed_skeleton(f"precomputed://{url}", NEURON_ID)
    np.testing.assert_allclose(loaded.vertices_nm, sk.vertices_nm, rtol=1e-6)


def test_loading_heals_fragments_and_prunes_twigs_but_keeps_the_soma(layer: str) -> None:
    raw = load_precomputed_skeleton(layer, BIG_ID)
    assert raw.segment_id == BIG_ID and raw.n_fragments() == 2
    neuron = load_neuron_skeleton(layer, BIG_ID, twig_nm=500)
    assert neuron.segment_id == BIG_ID
    assert neuron.n_fragments() == 1
    kept = {tuple(v) for v in neuron.vertices_nm.round().tolist()}
    assert (500.0, -200.0, 0.0) not in kept  # the 224 nm twig
    # the far fragment is joined at its nearest node and kept: a 4.3 um branch
    assert (6000.0, 0.0, 0.0) in kept and (2400.0, 2000.0, 0.0) in kept
    assert (0.0, 0.0, 0.0) in kept  # the soma at the end of a 400 nm stem stays
    root = find_root(neuron)
    assert neuron.vertices_nm[root.node].tolist() == [0.0, 0.0, 0.0]
    assert neuron.swc_types[root.node] == 1
    assert compute_compartments(neuron).root == root.node
    single = load_neuron_skeleton(layer, NEURON_ID, twig_nm=500)
    assert single.n_nodes == 6 and single.vertices_nm[find_root(single).node].tolist() == [0, 0, 0]
    unpruned = load_neuron_skeleton(layer, BIG_ID, twig_nm=0)
    assert unpruned.n_nodes == raw.n_nodes and unpruned.n_fragments() == 1


def test_missing_skeletons_are_clear_errors(layer: str, tmp_path: Path) -> None:
    with pytest.raises(SkeletonError, match=r"no skeleton for neuron 999\b"):
        load_precomputed_skeleton(layer, 999)
    bare = write_layer(tmp_path / "bare", with_skeletons=False)
    with pytest.raises(SkeletonError, match="has no skeletons .*lacks a 'skeletons' entry"):
        load_precomputed_skeleton(bare, NEURON_ID)
    with pytest.raises(SkeletonError, match="Could not open the neuropil layer"):
        load_precomputed_skeleton(str(tmp_path / "nowhere"), NEURON_ID)
    with pytest.raises(SkeletonError, match="Unsupported address scheme"):
        load_precomputed_skeleton("ftp://example/x", NEURON_ID)


def test_swc_round_trip(tmp_path: Path) -> None:
    sk = y_skeleton()
    text = to_swc(sk, units_nm=1000)  # written in micrometres
    back = parse_swc(text, units_nm=1000)
    np.testing.assert_allclose(back.vertices_nm, sk.vertices_nm, atol=1e-3)
    np.testing.assert_allclose(back.radii_nm, sk.radii_nm, atol=1e-3)
    assert back.swc_types.tolist() == sk.swc_types.tolist()
    assert sorted(map(sorted, back.edges.tolist())) == sorted(map(sorted, sk.edges.tolist()))
    path = tmp_path / "neuron.swc"
    path.write_text(to_swc(sk))
    from_file = read_swc(path)
    np.testing.assert_allclose(from_file.vertices_nm, sk.vertices_nm)
    assert from_file.node_ids.tolist() == sk.node_ids.tolist()


def test_our_swc_reads_in_navis_identically(tmp_path: Path) -> None:
    import navis

    sk = y_skeleton()
    path = tmp_path / "neuron.swc"
    path.write_text(to_swc(sk))
    neuron = navis.read_swc(str(path))
    nodes = neuron.nodes.set_index("node_id").loc[sk.node_ids.tolist()]
    np.testing.assert_allclose(nodes[["x", "y", "z"]].to_numpy(), sk.vertices_nm)
    assert int(np.atleast_1d(neuron.soma)[0]) == int(sk.node_ids[0])


def test_swc_with_odd_ids_comments_and_order() -> None:
    text = (
        "# a comment\n\n30 3 2 0 0 1 10  # child listed first\n10 1 0 0 0 5 -1\n20 3 1 0 0 1 10\n"
    )
    sk = parse_swc(text, units_nm=8)
    assert sk.node_ids.tolist() == [30, 10, 20]
    np.testing.assert_allclose(sk.vertices_nm[:, 0], [16, 0, 8])
    assert sorted(map(sorted, sk.edges.tolist())) == [[0, 1], [1, 2]]
    assert find_root(sk).node == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 1 0 0 0 1 -1\n2 3 1 1\n", r"line 2: expected 7 columns .*found 4"),
        ("1 1 0 0 0 1 -1\n\n2 3 x 0 0 1 1\n", r"line 3: the x coordinate 'x' is not a number"),
        ("1 1 0 0 0 1 -1\n1 3 1 0 0 1 1\n", r"line 2: node id 1 is already used on line 1"),
        ("1 1 0 0 0 1 -1\n2 3 1 0 0 1 5\n", r"line 2: parent 5 of node 2 is not in the file"),
        ("1 1 0 nan 0 1 -1\n", r"line 1: the y coordinate is 'nan'; .* finite"),
        ("# only a comment\n", r"has no nodes"),
    ],
)
def test_malformed_swc_names_the_line(text: str, message: str) -> None:
    with pytest.raises(SkeletonError, match=message):
        parse_swc(text)


def test_prepare_refuses_a_negative_twig_length() -> None:
    with pytest.raises(SkeletonError, match="0 or more nm"):
        prepare_skeleton(y_skeleton(), twig_nm=-1)
