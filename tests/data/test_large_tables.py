"""Large synapse tables: queried in place, side files for neuron and box queries, deep pages.

The thresholds that make a table "large" are lowered so that a generated table of 40,000 rows
in 80 row groups takes the large-table paths; expectations are computed with numpy from the
generated columns. The MICrONS table (real, 64-bit root ids) goes through the indexed path too.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.data import table_indexes, tables
from synanno_dash.data.table_registry import TableRegistry
from synanno_dash.data.tables import TableError, open_table
from tests.conftest import SHARED_DATA

N_ROWS = 40_000
NEURONS = np.array(
    [2**64 - 1, 2**63, 2**53 + 1, 864691135000000123, 864691135000000124, 7], dtype=np.uint64
)


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "INPLACE_MIN_ROWS", 1000)
    monkeypatch.setattr(tables, "INDEX_MIN_ROWS", 1000)
    monkeypatch.setattr(table_indexes, "ROWS_PER_BUCKET", 4000)  # 10 buckets at 40,000 rows


def generate(path: Path, n_rows: int = N_ROWS, seed: int = 4) -> dict[str, np.ndarray]:
    """A CAVE split-column table sorted by id (with gaps), in row groups of 500 rows."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {"id": np.cumsum(rng.integers(1, 5, n_rows)).astype(np.int64)}
    centre = np.column_stack([rng.integers(0, s, n_rows) for s in (400, 300, 60)])
    for name in ("ctr", "pre", "post"):
        for i, axis in enumerate("xyz"):
            columns[f"{name}_pt_position_{axis}"] = centre[:, i] + (name == "post")
    columns["pre_pt_root_id"] = NEURONS[rng.integers(0, len(NEURONS), n_rows)]
    columns["post_pt_root_id"] = NEURONS[rng.integers(0, len(NEURONS), n_rows)]
    pq.write_table(pa.table(columns), path, row_group_size=500)
    return columns


def mats(synapses: list) -> list[int]:
    return [s.materialization_index for s in synapses]


def expect(columns: dict[str, np.ndarray], keep: np.ndarray) -> list[int]:
    return columns["id"][keep].tolist()


def in_box(columns: dict[str, np.ndarray], box: BBox) -> np.ndarray:
    keep = np.ones(len(columns["id"]), bool)
    for i, axis in enumerate("xyz"):
        values = columns[f"ctr_pt_position_{axis}"]
        keep &= (values >= box.start_xyz[i]) & (values < box.stop_xyz[i])
    return keep


@pytest.mark.usefixtures("large")
def test_large_parquet_is_queried_in_place_before_and_after_indexing(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    columns = generate(path)
    table = open_table(path, tmp_path / "cache")
    assert table.data_path == path and table.n_rows == N_ROWS  # no copy of the table
    assert pq.ParquetFile(path).metadata.num_row_groups == N_ROWS // 500
    assert table.needs_indexes
    box = BBox((100, 50, 10), (180, 140, 25))
    answers = []
    steps: list[tuple[int, int]] = []
    for phase in ("scan", "indexed"):
        if phase == "indexed":
            table.build_indexes(lambda done, total: steps.append((done, total)))
            assert table.indexed and not table.needs_indexes and steps[-1] == (3, 3)
        found = {}
        for neuron in NEURONS.tolist():
            keep = (columns["pre_pt_root_id"] == neuron) | (columns["post_pt_root_id"] == neuron)
            assert mats(table.query(neuron_id=neuron)) == expect(columns, keep)
            assert table.count(neuron_id=neuron) == int(keep.sum())
            found[neuron] = table.query(neuron_id=neuron, limit=5)
            got = table.query(neuron_id=neuron, limit=3)[0]
            assert neuron in (got.pre_neuron_id, got.post_neuron_id)  # exact 64-bit ids
        assert mats(table.query(bbox=box)) == expect(columns, in_box(columns, box))
        assert table.count(bbox=box) == int(in_box(columns, box).sum())
        neuron = int(NEURONS[3])
        keep = in_box(columns, box) & (
            (columns["pre_pt_root_id"] == neuron) | (columns["post_pt_root_id"] == neuron)
        )
        assert mats(table.query(neuron_id=neuron, bbox=box)) == expect(columns, keep)
        answers.append((found, [(c.neuron_id, c.n_pre, c.n_post) for c in table.neurons()]))
    assert answers[0] == answers[1]
    assert table.query(neuron_id=12345) == [] and table.count(neuron_id=12345) == 0


@pytest.mark.usefixtures("large")
def test_side_files_in_several_files_per_part_answer_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small buffers and two row groups per file (as 10^8 rows do with the real sizes): each
    bucket and slab spans several files, and queries read all of them."""
    monkeypatch.setattr(table_indexes, "BATCH_ROWS", 700)
    monkeypatch.setattr(table_indexes, "BUFFER_ROWS", 3000)
    monkeypatch.setattr(table_indexes, "ROW_GROUPS_PER_FILE", 2)
    path = tmp_path / "big.parquet"
    columns = generate(path)
    table = open_table(path, tmp_path / "cache")
    table.build_indexes()
    buckets = list((table.cache_folder / "indexes" / "by_neuron").glob("bucket=*"))
    assert buckets and all(len(list(b.glob("part-*.parquet"))) > 1 for b in buckets)
    for neuron in NEURONS.tolist():
        keep = (columns["pre_pt_root_id"] == neuron) | (columns["post_pt_root_id"] == neuron)
        assert mats(table.query(neuron_id=neuron)) == expect(columns, keep)
    box = BBox((100, 50, 10), (180, 140, 25))
    assert mats(table.query(bbox=box)) == expect(columns, in_box(columns, box))


@pytest.mark.usefixtures("large")
def test_keyset_pages_reach_deep_pages_and_cover_the_table(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    columns = generate(path)
    table = open_table(path, tmp_path / "cache")
    ids = columns["id"].tolist()
    after, seen = None, []
    while True:
        rows = table.page_after(after, 700)
        if not rows:
            break
        seen += mats(rows)
        after = rows[-1].materialization_index
    assert seen == ids
    page, deep = 24, 1000  # the 1000th page, asked for from the previous page's last id
    want = ids[deep * page : (deep + 1) * page]
    assert mats(table.page_after(ids[deep * page - 1], page)) == want
    box = BBox((0, 0, 20), (400, 300, 40))
    box_ids = expect(columns, in_box(columns, box))
    assert mats(table.page_after(box_ids[99], 10, bbox=box)) == box_ids[100:110]
    assert table.get(ids[12345]).materialization_index == ids[12345]  # type: ignore[union-attr]


@pytest.mark.usefixtures("large")
def test_float_or_text_id_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    columns = generate(path, 2000)
    small_ids = (columns["pre_pt_root_id"] % np.uint64(1000)).astype(np.float64)  # exact floats
    floats = {**columns, "pre_pt_root_id": small_ids}
    floats["pre_pt_root_id"][1500] = 2.5
    pq.write_table(pa.table(floats), path, row_group_size=500)
    with pytest.raises(TableError, match="'pre_pt_root_id', data row 1500"):
        open_table(path, tmp_path / "cache")
    text = {**columns, "post_pt_root_id": columns["post_pt_root_id"].astype(str).astype(object)}
    text["post_pt_root_id"][1700] = "not-an-id"
    pq.write_table(pa.table(text), path, row_group_size=500)
    # named by column, row and kind of value; the cell's text itself is file content, never shown
    with pytest.raises(TableError, match="'post_pt_root_id', data row 1700.*text of 9 char") as err:
        open_table(path, tmp_path / "cache")
    assert "not-an-id" not in str(err.value)


@pytest.mark.usefixtures("large")
def test_negative_id_deep_in_a_large_table_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    columns = generate(path, 20_000)
    signed = {**columns, "pre_pt_root_id": columns["pre_pt_root_id"].astype(np.int64) & 2**40}
    signed["pre_pt_root_id"][15_000] = -3  # past the first batch checked at open
    pq.write_table(pa.table(signed), path, row_group_size=500)
    table = open_table(path, tmp_path / "cache")
    with pytest.raises(TableError, match="non-negative"):
        table.query(neuron_id=1)


def write_synanno_csv(path: Path, n_rows: int) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "z", "pre_pt_x", "pre_pt_y", "pre_pt_z",
                         "post_pt_x", "post_pt_y", "post_pt_z"])  # fmt: skip
        for i in range(n_rows):
            writer.writerow([i, i % 7, i % 5] * 3)
    return path


def test_csv_conversion_reports_progress(tmp_path: Path) -> None:
    path = write_synanno_csv(tmp_path / "table.csv", 30_000)
    steps: list[tuple[int, int]] = []
    table = open_table(path, tmp_path / "cache", progress=lambda d, t: steps.append((d, t)))
    assert table.n_rows == 30_000
    size = path.stat().st_size
    assert steps[-1] == (size, size)
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)


@pytest.mark.usefixtures("large")
def test_registry_builds_side_files_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    generate(path, 5000)
    registry = TableRegistry(tmp_path / "cache")
    table = registry.get(str(path))
    assert registry.get(str(path)) is table  # kept open
    build = registry.index_build(table)
    assert build is not None
    build.result(timeout=120)
    assert table.indexed


MICRONS_CSV = SHARED_DATA / "microns-synapses" / "microns_pinky100_v185_soma_subgraph_synapses.csv"


@pytest.mark.realdata
@pytest.mark.usefixtures("large")
@pytest.mark.skipif(not MICRONS_CSV.exists(), reason=f"MICrONS table absent: {MICRONS_CSV}")
def test_microns_table_indexed(tmp_path: Path) -> None:
    from tests.data.test_tables import MICRONS_MAPPING

    with MICRONS_CSV.open(newline="") as f:
        raw = list(csv.DictReader(f))
    table = open_table(MICRONS_CSV, tmp_path / "cache", MICRONS_MAPPING)
    before = {n.neuron_id: table.query(neuron_id=n.neuron_id) for n in table.neurons()[:20]}
    table.build_indexes()
    assert table.indexed
    for neuron, rows in before.items():
        assert table.query(neuron_id=neuron) == rows
        want = sorted(
            int(r["id"]) for r in raw if str(neuron) in (r["pre_root_id"], r["post_root_id"])
        )
        assert mats(rows) == want


def test_convert_table_command_shows_progress_and_prepares_the_cache(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = write_synanno_csv(tmp_path / "table.csv", 5000)
    command = [sys.executable, "-m", "synanno_dash.cli", "convert-table", str(path),
               "--data-dir", str(tmp_path / "data")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "5,000 synapses (synanno schema)" in done.stdout
    assert "convert: 100%" in done.stderr  # the progress bar reached the end
    assert list((tmp_path / "data" / "tables").glob("table-*/table.parquet"))
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    bad = subprocess.run([*command[:4], str(tmp_path / "bad.csv")], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "Cannot tell the schema" in bad.stderr  # errors on stderr
