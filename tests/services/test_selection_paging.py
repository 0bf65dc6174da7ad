"""Reviews larger than a session stores up front: instances stored page by page.

A generated Parquet table (in place through DuckDB, many row groups) stands for a 10^8-row
table; the threshold above which a selection is stored page by page is lowered so that a
table generated in a blink takes that path. Expectations come from the generated columns
(numpy), and a spy on the table counts every row fetched for a page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.core.labels import Label
from synanno_dash.data import tables
from synanno_dash.data.tables import SynapseTable
from synanno_dash.services import false_negatives, review, selection
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import Session, open_session
from synanno_dash.services.statistics import session_statistics
from synanno_dash.settings import Settings

N_ROWS = 30_000
PER_PAGE = 24
SID = "big"


@pytest.fixture
def big_table(tmp_path: Path, demo_info, monkeypatch: pytest.MonkeyPatch) -> tuple[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """(path, centre_xyz per row) of a CAVE-style table sorted by id, in 60 row groups."""
    monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1000)  # queried in place, like 10^8 rows
    monkeypatch.setattr(selection, "EAGER_MAX_INSTANCES", 1000)
    rng = np.random.default_rng(14)
    size = np.array(demo_info.target_size_xyz_vx)
    centre = np.column_stack([rng.integers(8, s - 8, N_ROWS) for s in size])
    ids = np.cumsum(rng.integers(1, 4, N_ROWS)).astype(np.int64)
    columns: dict[str, Any] = {"id": ids}
    for name in ("ctr", "pre", "post"):
        for i, axis in enumerate("xyz"):
            columns[f"{name}_pt_position_{axis}"] = centre[:, i]
    columns["pre_pt_root_id"] = rng.integers(1, 50, N_ROWS).astype(np.uint64) + np.uint64(2**60)
    columns["post_pt_root_id"] = rng.integers(1, 50, N_ROWS).astype(np.uint64)
    path = tmp_path / "synapses.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=500)
    return str(path), np.column_stack([ids, centre])


@pytest.fixture
def context(data_dir: Path, tmp_path: Path) -> Iterator[AppContext]:
    resources = AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'sessions.db'}")
    )
    yield resources
    resources.wait_for_background()


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of every table read (page_after, page_before, query)."""
    sizes: list[int] = []

    def spy(method: Callable[..., list]) -> Callable[..., list]:
        def counted(*args: Any, **kwargs: Any) -> list:
            rows = method(*args, **kwargs)
            sizes.append(len(rows))
            return rows

        return counted

    for name in ("page_after", "page_before", "query"):
        monkeypatch.setattr(SynapseTable, name, spy(getattr(SynapseTable, name)))
    return sizes


def _form(demo_info, table: str, **changes: str) -> OpenDataForm:  # type: ignore[no-untyped-def]
    form = OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url, table=table,
        source_res="4, 4, 40", target_res="8, 8, 40", crop_size="32, 32, 4",
        tiles_per_page=str(PER_PAGE),
    )  # fmt: skip
    return replace(form, **changes)


def _open(context: AppContext, demo_info, table: str, **changes: str) -> Session:  # type: ignore[no-untyped-def]
    outcome = prepare_session(context, SID, _form(demo_info, table, **changes))
    assert outcome.ok, outcome.errors
    context.wait_for_background()
    return open_session(context, SID)


def _mats(items: list) -> list[int]:
    return [i.synapse.materialization_index for i in items]


def _stored(context: AppContext) -> int:
    return len(context.store.instances(SID))


def test_a_whole_table_opens_without_storing_it_and_pages_anywhere(
    context: AppContext, demo_info, big_table, fetched: list[int]  # type: ignore[no-untyped-def]
) -> None:
    path, rows = big_table
    session = _open(context, demo_info, path)
    assert selection.selection_total(session) == N_ROWS
    assert _stored(context) <= PER_PAGE  # Submit stored at most the first page (its prefetch)
    pages = N_ROWS // PER_PAGE
    visited = [1, 2, 3, 700, 699, 698, pages, pages - 1, 2]
    for page in visited:
        shown = review.load_page(session, page)
        assert shown.page_count == pages and shown.page == page
        start = (page - 1) * PER_PAGE
        assert _mats(shown.instances) == rows[start : start + PER_PAGE, 0].tolist()
        assert [i.instance_id for i in shown.instances] == list(range(start, start + PER_PAGE))
        centre = tuple(int(v) for v in rows[start, 1:])
        assert shown.instances[0].synapse.center_xyz_vx == centre
    context.wait_for_background()
    # each visited page and the one after it (prefetched), nothing else
    assert _stored(context) <= 2 * len(set(visited)) * PER_PAGE
    assert max(fetched) <= PER_PAGE + selection.KEYSET_REACH
    assert sum(fetched) < N_ROWS // 10


def test_labels_json_and_statistics_see_every_reviewed_instance(
    context: AppContext, demo_info, big_table  # type: ignore[no-untyped-def]
) -> None:
    path, _rows = big_table
    session = _open(context, demo_info, path)
    far = review.load_page(session, 900).instances[5]
    review.cycle_label(session, far.instance_id)  # correct -> incorrect
    first = review.load_page(session, 1).instances[0]
    review.set_label(session, first.instance_id, Label.UNSURE)
    counts = review.counts(session)
    assert counts["total"] == N_ROWS
    assert (counts["incorrect"], counts["unsure"]) == (1, 1)
    assert counts["correct"] == N_ROWS - 2 and counts["seen"] == 2 * PER_PAGE
    assert review.undo(session) is not None and review.counts(session)["unsure"] == 0
    review.redo(session)
    document = review.session_json_document(session)
    records = {r["sd_instance_id"]: r for r in document["Metadata"]}
    assert records[far.instance_id]["Page"] == 900
    assert records[far.instance_id]["Label"] == "incorrect"
    assert records[first.instance_id]["Page"] == 1
    stats = session_statistics(session)
    # the instances seen, wherever they lie in the table
    assert (stats.overall.seen, stats.overall.incorrect) == (2 * PER_PAGE, 1)


def test_a_box_selection_pages_through_its_own_rows(
    context: AppContext, demo_info, big_table, fetched: list[int]  # type: ignore[no-untyped-def]
) -> None:
    path, rows = big_table
    size_x, size_y, size_z = demo_info.target_size_xyz_vx
    box = BBox((0, 0, 0), (size_x // 2, size_y, size_z))
    inside = rows[rows[:, 1] < box.stop_xyz[0]]
    assert len(inside) > 1000  # stored page by page
    start, stop = box.start_xyz, box.stop_xyz
    session = _open(
        context, demo_info, path,
        box_start=", ".join(map(str, start)), box_stop=", ".join(map(str, stop)),
    )  # fmt: skip
    assert selection.selection_total(session) == len(inside)
    last = -(-len(inside) // PER_PAGE)
    for page in (1, 2, 40, last):
        shown = review.load_page(session, page)
        begin = (page - 1) * PER_PAGE
        assert _mats(shown.instances) == inside[begin : begin + PER_PAGE, 0].tolist()
    assert max(fetched) <= PER_PAGE + selection.KEYSET_REACH


def test_a_missed_synapse_added_by_hand_comes_after_the_selection(
    context: AppContext, demo_info, big_table  # type: ignore[no-untyped-def]
) -> None:
    path, _rows = big_table
    session = _open(context, demo_info, path)
    added = false_negatives.add_false_negative(session, (40, 40, 10))
    assert added.instance_id == N_ROWS
    assert review.counts(session)["total"] == N_ROWS + 1
    last = review.load_page(session, 10_000)  # clamped to the last page
    assert last.page == N_ROWS // PER_PAGE + 1
    assert [i.instance_id for i in last.instances] == [N_ROWS]
    again = false_negatives.add_false_negative(session, (41, 40, 10))
    assert again.instance_id == N_ROWS + 1


def test_a_page_stored_twice_keeps_its_labels(
    context: AppContext, demo_info, big_table  # type: ignore[no-untyped-def]
) -> None:
    path, _rows = big_table
    session = _open(context, demo_info, path)
    items = review.load_page(session, 3).instances
    review.cycle_label(session, items[0].instance_id)
    context.store.add_instances_if_absent(SID, items)  # a late prefetch of the same page
    assert review.instance(session, items[0].instance_id).label is Label.INCORRECT


@pytest.mark.parametrize("eager_max", [0, 1_000_000], ids=["page by page", "stored whole"])
def test_both_ways_of_storing_show_the_same_pages(
    context: AppContext, demo_info, eager_max: int, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(selection, "EAGER_MAX_INSTANCES", eager_max)
    session = _open(context, demo_info, demo_info.table_url)
    expected = context.tables.get(demo_info.table_url).query()
    assert (selection.selection_total(session) is None) == (eager_max > 0)
    count = review.load_page(session, 1).page_count
    assert count == -(-len(expected) // PER_PAGE)
    for page in (1, count // 2, count):
        shown = review.load_page(session, page)
        begin = (page - 1) * PER_PAGE
        assert _mats(shown.instances) == _mats_of(expected[begin : begin + PER_PAGE])


def _mats_of(synapses: list) -> list[int]:
    return [s.materialization_index for s in synapses]


@pytest.mark.parametrize("n_rows_factor", [1, 4])
def test_paging_never_reads_the_whole_table(
    context: AppContext, demo_info, big_table, fetched: list[int], n_rows_factor: int  # type: ignore[no-untyped-def]
) -> None:
    """However large the table, a page reads at most a page plus the keyset reach."""
    path, _rows = big_table
    session = _open(context, demo_info, path, tiles_per_page=str(6 * n_rows_factor))
    per_page = 6 * n_rows_factor
    pages = -(-N_ROWS // per_page)
    for page in (1, 2, pages // 3, pages // 3 + 1, pages // 3 - 1, pages):
        review.load_page(session, page)
    assert fetched and max(fetched) <= per_page + selection.KEYSET_REACH
    assert _stored(context) <= 12 * per_page


def test_a_far_jump_reads_from_the_jump_index_once_it_is_built(
    context: AppContext, demo_info, big_table, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    path, rows = big_table
    session = _open(context, demo_info, path)
    review.load_page(session, 1)  # reading the selection starts its jump index
    table = context.tables.get(path)
    build = context.tables.start_jump_index(table, None, None)
    if build is not None:  # still under way
        build.result(timeout=120)
    assert table.jump_index() is not None

    def offset_query(*_args: Any, **_kwargs: Any) -> list:
        raise AssertionError("a far jump used OFFSET although the jump index is built")

    monkeypatch.setattr(SynapseTable, "query", offset_query)
    for page in (1000, 17, N_ROWS // PER_PAGE):
        shown = review.load_page(session, page)
        start = (page - 1) * PER_PAGE
        assert _mats(shown.instances) == rows[start : start + PER_PAGE, 0].tolist()
