"""Neuron skeletons from a precomputed neuropil layer or an SWC file, healed and pruned.

Units are nm throughout. Precomputed skeleton vertices come back from CloudVolume in
physical space (the skeleton info's ``transform`` applied), which is nm. SWC files are in nm
unless ``units_nm`` says how many nm one SWC unit is (1000 for micrometres, 8 for 8 nm voxels).

navis (imported lazily: it takes seconds to import) heals fragments into one tree and
prunes short terminal twigs; the soma, when there is one, is kept as the root so it is
never pruned. Every problem a user can cause is a ``SkeletonError`` naming it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from synanno_dash.core.compartments import NeuronSkeleton, find_soma, spanning_forest
from synanno_dash.data.swc import SkeletonError, parse_swc, read_swc
from synanno_dash.data.volume_layer import VolumeError, normalize_url, read_secrets

__all__ = [
    "SkeletonError", "load_neuron_skeleton", "load_precomputed_skeleton", "parse_swc",
    "prepare_skeleton", "read_swc", "to_swc",
]  # fmt: skip

DEFAULT_TWIG_NM = 1000.0  # terminal twigs shorter than this are pruned (spines, noise)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _reason(error: BaseException) -> str:
    lines = _ANSI.sub("", str(error)).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def load_precomputed_skeleton(url: str, segment_id: int, secrets_path: str = "") -> NeuronSkeleton:
    """The skeleton of ``segment_id`` from a precomputed segmentation layer, as stored."""
    from cloudvolume import CloudVolume

    try:
        address = normalize_url(url)
        secrets = read_secrets(secrets_path)
    except VolumeError as error:
        raise SkeletonError(str(error)) from None
    try:
        volume = CloudVolume(address, secrets=secrets, progress=False)
    except Exception as error:  # CloudVolume raises many kinds; the message says which
        raise SkeletonError(
            f"Could not open the neuropil layer {url} ({_reason(error)}): check the address."
        ) from None
    if not volume.info.get("skeletons"):
        raise SkeletonError(
            f"The neuropil layer {url} has no skeletons (its info file lacks a 'skeletons' "
            "entry): choose a layer with skeletons or upload the neuron as an SWC file."
        )
    try:
        stored = volume.skeleton.get(int(segment_id))
    except Exception as error:
        if _is_missing(error):
            raise SkeletonError(
                f"The neuropil layer {url} has no skeleton for neuron {int(segment_id)}: "
                "check the neuron id or upload its SWC file."
            ) from None
        raise SkeletonError(
            f"The skeleton of neuron {int(segment_id)} in {url} could not be read "
            f"({_reason(error)})."
        ) from None
    if stored is None or len(stored.vertices) == 0:
        raise SkeletonError(f"The skeleton of neuron {int(segment_id)} in {url} is empty.")
    return _from_cloudvolume(stored, int(segment_id))


def _is_missing(error: Exception) -> bool:
    name = type(error).__name__
    text = str(error)
    return name == "EmptyFileException" or "do not exist" in text or "missing" in text


def _from_cloudvolume(stored: Any, segment_id: int) -> NeuronSkeleton:
    n = len(stored.vertices)
    radii = getattr(stored, "radii", None)
    types = getattr(stored, "vertex_types", None)
    return NeuronSkeleton.build(
        vertices_nm=stored.vertices,
        edges=stored.edges,
        radii_nm=radii if radii is not None and len(radii) == n else None,
        swc_types=types if types is not None and len(types) == n else None,
        segment_id=segment_id,
    )


def to_swc(skeleton: NeuronSkeleton, units_nm: float = 1.0) -> str:
    """SWC text, parents before children, rooted at the soma if there is one."""
    soma = find_soma(skeleton)
    order, parent = spanning_forest(skeleton, None if soma is None else soma.node)
    ids = skeleton.node_ids
    if len(np.unique(ids)) != len(ids):
        ids = np.arange(1, skeleton.n_nodes + 1)
    coords = skeleton.vertices_nm / units_nm
    radii = skeleton.radii_nm / units_nm
    lines = [f"# SWC written by SynAnno Dash; 1 unit = {units_nm:g} nm"]
    for node in order.tolist():
        x, y, z = coords[node]
        up = int(ids[parent[node]]) if parent[node] >= 0 else -1
        lines.append(
            f"{int(ids[node])} {int(skeleton.swc_types[node])} {x:.6g} {y:.6g} {z:.6g} "
            f"{radii[node]:.6g} {up}"
        )
    return "\n".join(lines) + "\n"


def prepare_skeleton(skeleton: NeuronSkeleton, twig_nm: float = DEFAULT_TWIG_NM) -> NeuronSkeleton:
    """Heal fragments into one tree (navis), then prune terminal twigs shorter than
    ``twig_nm`` (0: no pruning). The soma, if found, becomes the root and is kept."""
    if twig_nm < 0:
        raise SkeletonError(f"The twig length to prune must be 0 or more nm, got {twig_nm:g}.")
    if skeleton.n_fragments() == 1 and twig_nm == 0:
        return skeleton
    import navis

    soma = find_soma(skeleton)
    try:
        neuron = _to_navis(skeleton, None if soma is None else soma.node)
        if len(neuron.root) > 1:
            neuron = navis.heal_skeleton(neuron, method="ALL")
        if soma is not None and neuron.root[0] != soma.node:
            neuron = navis.reroot_skeleton(neuron, soma.node)  # so pruning keeps the soma
        if twig_nm > 0:
            neuron = navis.prune_twigs(neuron, twig_nm)
    except Exception as error:  # navis raises many kinds on odd input
        raise SkeletonError(
            f"The skeleton could not be healed or pruned ({_reason(error)})."
        ) from None
    return _from_navis(neuron, skeleton.segment_id)


def _to_navis(skeleton: NeuronSkeleton, root: int | None) -> Any:
    """A navis TreeNeuron whose node ids are our node indices (source ids kept aside)."""
    import navis
    import pandas as pd

    _, parent = spanning_forest(skeleton, root)
    nodes = pd.DataFrame(
        {
            "node_id": np.arange(skeleton.n_nodes, dtype=np.int64),
            "parent_id": parent,
            "x": skeleton.vertices_nm[:, 0],
            "y": skeleton.vertices_nm[:, 1],
            "z": skeleton.vertices_nm[:, 2],
            "radius": skeleton.radii_nm,
            "label": skeleton.swc_types,
            "source_id": skeleton.node_ids,
        }
    )
    return navis.TreeNeuron(nodes, units="1 nm")


def _from_navis(neuron: Any, segment_id: int | None) -> NeuronSkeleton:
    nodes = neuron.nodes
    node_id = nodes["node_id"].to_numpy()
    parent_id = nodes["parent_id"].to_numpy()
    index = np.full(int(node_id.max()) + 1, -1, dtype=np.int64)
    index[node_id] = np.arange(len(node_id))
    child = np.flatnonzero(parent_id >= 0)
    edges = np.stack([child, index[parent_id[child]]], axis=1)
    return NeuronSkeleton.build(
        vertices_nm=nodes[["x", "y", "z"]].to_numpy(dtype=np.float64),
        edges=edges,
        radii_nm=nodes["radius"].to_numpy(dtype=np.float64),
        swc_types=nodes["label"].to_numpy(dtype=np.int64),
        node_ids=nodes["source_id"].to_numpy(dtype=np.int64),
        segment_id=segment_id,
    )


def load_neuron_skeleton(
    url: str, segment_id: int, secrets_path: str = "", twig_nm: float = DEFAULT_TWIG_NM
) -> NeuronSkeleton:
    """Load from the neuropil layer, heal and prune: ready for ``compute_compartments``."""
    return prepare_skeleton(load_precomputed_skeleton(url, segment_id, secrets_path), twig_nm)
