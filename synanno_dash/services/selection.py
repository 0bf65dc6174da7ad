"""The session's selection of the synapse table, stored up front or page by page.

A box, or a whole table of 10^8 synapses, is more than a session should store at Submit.
Open Data stores the instances of a selection of at most ``EAGER_MAX_INSTANCES`` synapses at
once (and every neuron-centric selection: its review order needs every synapse); a larger
one stores none and records the selection's size in the session state
(``SELECTION_TOTAL_KEY``). Reading a page then stores that page's instances (the grid's
prefetch stores the next page too: a bounded batch ahead of the user), with their position
in review order as instance id, so page ``p`` is the id range ``[(p-1) * n, p * n)``.

Rows of a page come from the table by keyset paging next to an already stored neighbour
(Next and Previous: one indexed range read) or, for a jump far from every stored page, from
the selection's jump index (``SynapseTable.page_at``: the indexed key before the page, then a
keyset read; built once in the background when the selection is first read, with OFFSET
until it is there). Never more than a page plus ``KEYSET_REACH`` rows (or the index's stride)
are fetched for one page. Labels,
undo, the JSON export, the corrections and the statistics read the stored instances: every
instance the user has seen is stored. Instances added by hand (missed synapses) take ids
after the selection's.
"""

from __future__ import annotations

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import (
    DatasetConfig,
    Instance,
    Mode,
    Synapse,
    instance_for,
    synapses_in_target_voxels,
)
from synanno_dash.core.labels import Label
from synanno_dash.core.paging import ReviewPages, UniformPages, page_of_index
from synanno_dash.data.tables import SynapseTable
from synanno_dash.services.session import Session

SELECTION_TOTAL_KEY = "selection_total"
EAGER_MAX_INSTANCES = 50_000  # larger box or whole-table selections are stored page by page
KEYSET_REACH = 480  # rows a page may lie beyond a stored neighbour and still be keyset-paged


def table_box(config: DatasetConfig) -> BBox | None:
    """The session's box in the table's voxels (the table filters on it)."""
    box = config.bbox_target_vx
    if box is None or config.table_resolution is None:
        return box
    return box.scaled(config.target_resolution, config.table_resolution)


def stored_whole(
    config: DatasetConfig, count: int, max_instances_per_session: int = EAGER_MAX_INSTANCES
) -> bool:
    """Whether Open Data stores a selection of ``count`` synapses at Submit: every
    neuron-centric one (Open Data refuses those above ``max_instances_per_session``), a box or
    whole table of at most ``EAGER_MAX_INSTANCES`` and ``max_instances_per_session``."""
    limit = min(EAGER_MAX_INSTANCES, max_instances_per_session)
    return config.mode == Mode.NEURON or count <= limit


def selection_total(session: Session) -> int | None:
    """The size of a selection stored page by page; None when the session holds its
    review whole."""
    total = session.store.get_state(session.session_id).get(SELECTION_TOTAL_KEY)
    return None if total is None else int(total)


def review_pages(session: Session) -> ReviewPages | UniformPages:
    """The pages of the session's review (instances added by hand come last)."""
    per_page = session.config.tiles_per_page
    total = selection_total(session)
    if total is None:
        return ReviewPages.of(session.store.compartment_sequence(session.session_id), per_page)
    return UniformPages(_review_end(session, total), per_page)


def page_instances(session: Session, start: int, stop: int) -> list[Instance]:
    """The instances at review positions ``[start, stop)``, stored first if they are not."""
    total = selection_total(session)
    store, sid = session.store, session.session_id
    if total is None:
        return store.instances_slice(sid, start, stop)
    stored = store.instances_in_range(sid, start, stop)
    selected_stop = min(stop, total)
    if len([i for i in stored if i.instance_id < selected_stop]) < max(0, selected_stop - start):
        synapses = _read_rows(session, start, selected_stop, total)
        crop = session.config.crop_size_xyz_vx
        known = {i.instance_id for i in stored}
        fresh = [
            instance_for(position, synapse, crop)
            for position, synapse in enumerate(synapses, start=start)
            if position not in known
        ]
        store.add_instances_if_absent(sid, fresh)
        stored = store.instances_in_range(sid, start, stop)
    return stored


def counts(session: Session) -> dict[str, int]:
    """Totals for progress bars: instances, seen, and per label; instances not stored yet
    count as unseen with the first label."""
    found = session.store.counts(session.session_id)
    total = selection_total(session)
    if total is None:
        return found
    end = _review_end(session, total)
    found[Label.CORRECT.value] += end - found["total"]
    found["total"] = end
    return found


def next_instance_id(session: Session) -> int:
    """The id of an instance added by hand: after every stored one and the selection."""
    end = session.store.instance_id_end(session.session_id)
    return max(end, selection_total(session) or 0)


def export_pages(session: Session, items: list[Instance]) -> list[int] | None:
    """The grid page of each stored instance of a session stored page by page (None when
    the review is held whole: its pages follow from the list itself)."""
    if selection_total(session) is None:
        return None
    per_page = session.config.tiles_per_page
    return [page_of_index(item.instance_id, per_page) for item in items]


def _review_end(session: Session, total: int) -> int:
    return max(total, session.store.instance_id_end(session.session_id))


def _table(session: Session) -> SynapseTable:
    return session.resources.tables.get(session.config.table_url)


def _read_rows(session: Session, start: int, stop: int, total: int) -> list[Synapse]:
    """The selection's synapses at positions ``[start, stop)`` in target voxels."""
    config, table = session.config, _table(session)
    neuron, box = config.neuron_id, table_box(config)
    below, above = session.store.neighbours(session.session_id, start, stop, total)
    size = stop - start
    if start == 0:
        session.resources.tables.start_jump_index(table, neuron, box)  # for later jumps
        rows = table.page_at(0, size, neuron, box)
    elif below is not None and start - below[0] - 1 <= KEYSET_REACH:
        skip = start - below[0] - 1
        rows = table.page_after(below[1], skip + size, neuron, box)[skip:]
    elif above is not None and above[0] - stop <= KEYSET_REACH:
        rows = table.page_before(above[1], above[0] - start, neuron, box)[:size]
    else:  # a jump far from every stored page
        session.resources.tables.start_jump_index(table, neuron, box)
        rows = table.page_at(start, size, neuron, box)
    return synapses_in_target_voxels(rows, config.table_resolution, config.target_resolution)
