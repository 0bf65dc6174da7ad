"""The proofread connectome: neuron x neuron synapse counts from a session's instances.

Counted: every instance not discarded and not labelled incorrect (correct and unsure ones,
and the synapses added by hand, the false negatives the table missed), whose pre and post
neuron ids are both known. An instance without both ids cannot be an edge and is counted
apart (``Connectivity.without_ids``). Each edge's synapses are also counted per synapse type
(``Connectivity.by_type``: one matrix per type, untyped synapses under ``None``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import Label


@dataclass(frozen=True)
class Edge:
    pre_neuron_id: int
    post_neuron_id: int
    synapse_count: int


@dataclass(frozen=True)
class TypedEdge:
    pre_neuron_id: int
    post_neuron_id: int
    synapse_type: str | None  # None: the synapses without a type
    synapse_count: int


@dataclass(frozen=True)
class Connectivity:
    """Edges sorted by (pre, post) neuron id; the same per synapse type, sorted by (pre,
    post, type) with untyped first; counts of what was left out."""

    edges: tuple[Edge, ...]
    excluded_incorrect: int
    without_ids: int
    by_type: tuple[TypedEdge, ...] = ()

    @property
    def types(self) -> tuple[str | None, ...]:
        """The synapse types counted (``None`` first when some synapse has none)."""
        found = {e.synapse_type for e in self.by_type}
        return (*((None,) if None in found else ()), *sorted(t for t in found if t is not None))

    def edges_of_type(self, synapse_type: str | None) -> tuple[Edge, ...]:
        """The connectivity matrix of one synapse type, as edges."""
        return tuple(
            Edge(e.pre_neuron_id, e.post_neuron_id, e.synapse_count)
            for e in self.by_type
            if e.synapse_type == synapse_type
        )

    @property
    def neuron_ids(self) -> tuple[int, ...]:
        ids = {e.pre_neuron_id for e in self.edges} | {e.post_neuron_id for e in self.edges}
        return tuple(sorted(ids))

    @property
    def synapse_count(self) -> int:
        return sum(e.synapse_count for e in self.edges)


def counts_instance(item: Instance) -> bool:
    """Whether a proofread instance is a synapse of the connectome."""
    return not item.discarded and item.label is not Label.INCORRECT


def connectivity(items: Iterable[Instance]) -> Connectivity:
    counts: Counter[tuple[int, int]] = Counter()
    typed: Counter[tuple[int, int, str | None]] = Counter()
    incorrect = without_ids = 0
    for item in items:
        if not counts_instance(item):
            incorrect += 1
            continue
        pre, post = item.synapse.pre_neuron_id, item.synapse.post_neuron_id
        if pre is None or post is None:
            without_ids += 1
            continue
        counts[(pre, post)] += 1
        typed[(pre, post, item.synapse.synapse_type)] += 1
    edges = tuple(Edge(pre, post, n) for (pre, post), n in sorted(counts.items()))
    by_type = tuple(
        TypedEdge(pre, post, kind, n)
        for (pre, post, kind), n in sorted(typed.items(), key=lambda e: (*e[0][:2], e[0][2] or ""))
    )
    return Connectivity(edges, incorrect, without_ids, by_type)
