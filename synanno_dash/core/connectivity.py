"""The proofread connectome: neuron x neuron synapse counts from a session's instances.

Counted: every instance not discarded and not labelled incorrect (correct and unsure ones,
and the synapses added by hand, the false negatives the table missed), whose pre and post
neuron ids are both known. An instance without both ids cannot be an edge and is counted
apart (``Connectivity.without_ids``).
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
class Connectivity:
    """Edges sorted by (pre, post) neuron id; counts of what was left out."""

    edges: tuple[Edge, ...]
    excluded_incorrect: int
    without_ids: int

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
    edges = tuple(Edge(pre, post, n) for (pre, post), n in sorted(counts.items()))
    return Connectivity(edges, incorrect, without_ids)
