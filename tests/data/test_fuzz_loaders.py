"""Fuzzing the synapse-table and SWC loaders with generated input (hypothesis).

Structurally valid files with absurd values, and files that are not tables at all: each load
ends in a table / a skeleton or in our error type (``TableError``, ``SkeletonError``), never
another exception, with memory bounded for inputs of bounded size.
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.data.swc import SkeletonError, parse_swc
from synanno_dash.data.tables import TableError, open_table

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SYNANNO = ["x", "y", "z", "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y",
           "post_pt_z", "pre_neuron_id", "post_neuron_id", "id"]  # fmt: skip
CAVE = ["ctr_pt_position", "pre_pt_position", "post_pt_position", "pre_pt_root_id",
        "post_pt_root_id", "id"]  # fmt: skip
PEAK_BYTES = 48 * 1024**2  # inputs here are at most ~64 kB

absurd_cells = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", "²", "1,5", "[1, 2]", "[1, 2, 3]",
                     "[nan, 1, 2]", "[1e400, 0, 0]", '"', "0x10", "9" * 30, "1.5",
                     "-0"]),  # fmt: skip
    st.text(alphabet=st.characters(blacklist_characters=",\n\r\""), max_size=8),
)


@st.composite
def csv_tables(draw: st.DrawFn) -> str:
    names = draw(st.sampled_from([SYNANNO, SYNANNO[:9], CAVE, CAVE[:3]]))
    names = draw(st.permutations(names))
    rows = draw(st.lists(st.lists(absurd_cells, min_size=len(names), max_size=len(names)),
                         max_size=12))  # fmt: skip
    lines = [",".join(names)] + [",".join(row) for row in rows]
    if draw(st.booleans()) and lines[1:]:  # a ragged row
        lines[-1] += "," + draw(absurd_cells)
    return "\n".join(lines) + "\n"


def _bounded(load: Callable[[], object], errors: tuple[type[Exception], ...]) -> None:
    tracemalloc.start()
    try:
        try:
            load()
        except errors as exc:
            assert str(exc)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, peak


def _open(path: Path) -> None:
    with tempfile.TemporaryDirectory() as cache:
        open_table(path, Path(cache))


@FUZZ
@given(csv_tables())
def test_csv_tables_with_absurd_cells(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))  # lone surrogates: bad UTF-8
        _bounded(lambda: _open(path), (TableError,))


@FUZZ
@given(st.binary(max_size=4096))
def test_files_that_are_not_tables(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(data)
        _bounded(lambda: _open(path), (TableError,))


parquet_columns = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=3, max_size=3).map(pa.array),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3).map(pa.array),
    st.lists(st.one_of(st.none(), absurd_cells), min_size=3, max_size=3).map(pa.array),
    st.lists(st.booleans(), min_size=3, max_size=3).map(pa.array),
    st.lists(st.lists(st.floats(allow_nan=True), max_size=4), min_size=3, max_size=3).map(pa.array),
)


@FUZZ
@given(st.sampled_from([SYNANNO, CAVE]), st.data())
def test_parquet_tables_of_any_column_types(names: list[str], data: st.DataObject) -> None:
    table = pa.table({name: data.draw(parquet_columns) for name in names})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.parquet"
        pq.write_table(table, path)
        _bounded(lambda: _open(path), (TableError,))


swc_tokens = st.one_of(
    st.integers(-5, 12).map(str),
    st.sampled_from(["inf", "-inf", "nan", "1e999", "1e300", "-1", "0", "1.5", "²", "x",
                     "9" * 40, str(2**64)]),  # fmt: skip
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
swc_lines = st.one_of(
    st.lists(swc_tokens, min_size=0, max_size=9).map(" ".join),
    st.just("# a comment"),
    st.text(max_size=20),
)


@FUZZ
@given(st.lists(swc_lines, max_size=40), st.sampled_from([1.0, 8.0, 1000.0, 1e300]))
def test_swc_with_absurd_lines(lines: list[str], units_nm: float) -> None:
    _bounded(lambda: parse_swc("\n".join(lines), units_nm), (SkeletonError,))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(-2, 30)), min_size=1, max_size=60))
def test_swc_trees_cycles_and_missing_parents(links: list[tuple[int, int]]) -> None:
    """Arbitrary parent links: a skeleton when they form rooted trees, else a message."""
    text = "\n".join(f"{node} 3 {node} 0 0 1 {parent}" for node, parent in links)
    try:
        skeleton = parse_swc(text)
    except SkeletonError as exc:
        assert "line" in str(exc) or "lines" in str(exc)
        return
    assert len(skeleton.edges) == sum(1 for _n, p in links if p >= 0)
