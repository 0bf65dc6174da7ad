"""Synapse tables: schemas, exact ids, queries, paging, the table cache and clear errors.

Every table is written by the test into tmp_path (CSV by hand, Parquet with pyarrow), then
read back through ``open_table``; expectations are computed independently in the test.
"""

from __future__ import annotations

import csv
import os
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Synapse
from synanno_dash.data import table_files
from synanno_dash.data.table_errors import size_text
from synanno_dash.data.tables import ColumnMapping, NeuronCount, TableError, open_table

BIG1 = 864691135000000123  # > 2**53: a float would turn it into ...120
BIG2 = 864691135000000456
U64_MAX = 2**64 - 1  # above a signed 64-bit integer

# Four synapses: centre, pre, post (None = empty cells), pre id, post id.
ROWS = [
    ((10.4, 20, 30), (9, 19, 30), (11, 21, 30), BIG1, BIG2),
    ((50, 60, 3), None, (51, 61, 3), BIG2, BIG1),
    ((0, 0, 0), (1, 1, 1), None, None, BIG2),
    ((99.6, 5, 7), (1, 2, 3), (4, 5, 6), U64_MAX, 7),
]
IDS = [101, 205, 17, 3000]


def expected(mats: list[int]) -> list[Synapse]:
    out = []
    for mat, (ctr, pre, post, pre_id, post_id) in zip(mats, ROWS, strict=True):
        out.append(
            Synapse(mat, tuple(round(v) for v in ctr), pre, post, pre_id, post_id)  # type: ignore[arg-type]
        )
    return sorted(out, key=lambda s: s.materialization_index)


def write_csv(path: Path, columns: dict[str, list]) -> Path:
    names = list(columns)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in zip(*columns.values(), strict=True):
            writer.writerow(["" if v is None else v for v in row])
    return path


def write_parquet(path: Path, columns: dict[str, list], types: dict | None = None) -> Path:
    types = types or {}
    arrays = {k: pa.array(v, type=types.get(k)) for k, v in columns.items()}
    pq.write_table(pa.table(arrays), path)
    return path


def write(tmp_path: Path, fmt: str, columns: dict[str, list], types: dict | None = None) -> Path:
    if fmt == "csv":
        return write_csv(tmp_path / "table.csv", columns)
    return write_parquet(tmp_path / "table.parquet", columns, types)


def axis(points: list, i: int) -> list:
    return [None if p is None else float(p[i]) for p in points]


def split_columns(prefix: str, points: list, suffixes: str = "xyz") -> dict[str, list]:
    return {f"{prefix}{s}": axis(points, i) for i, s in enumerate(suffixes)}


def synanno_columns() -> dict[str, list]:
    ctr, pre, post, pre_id, post_id = (list(c) for c in zip(*ROWS, strict=True))
    return {
        **split_columns("pre_pt_", pre),
        **split_columns("post_pt_", post),
        **split_columns("", ctr),
        "pre_neuron_id": pre_id,
        "post_neuron_id": post_id,
    }


ID_TYPES = {
    "pre_neuron_id": pa.uint64(),
    "post_neuron_id": pa.uint64(),
    "pre_pt_root_id": pa.uint64(),
    "post_pt_root_id": pa.uint64(),
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_synanno_schema_rows_exact(tmp_path: Path, fmt: str) -> None:
    table = open_table(write(tmp_path, fmt, synanno_columns(), ID_TYPES), tmp_path / "cache")
    assert table.schema == "synanno"
    assert table.count() == 4
    assert table.center_bbox_vx == BBox((0, 0, 0), (101, 61, 31))
    # No id column: the materialization index is the 0-based row number.
    assert table.query() == expected([0, 1, 2, 3])


def cave_columns(form: str, fmt: str) -> dict[str, list]:
    ctr, pre, post, pre_id, post_id = (list(c) for c in zip(*ROWS, strict=True))
    columns: dict[str, list] = {"id": IDS}
    for name, points in (("ctr_pt_position", ctr), ("pre_pt_position", pre),
                         ("post_pt_position", post)):  # fmt: skip
        if form == "split":
            columns.update(split_columns(f"{name}_", points))
        elif fmt == "csv":
            columns[name] = [None if p is None else f"[{p[0]}, {p[1]}, {p[2]}]" for p in points]
        else:
            columns[name] = [None if p is None else [float(v) for v in p] for p in points]
    columns["pre_pt_root_id"] = pre_id
    columns["post_pt_root_id"] = post_id
    columns["valid"] = ["t"] * 4  # extra CAVE columns are ignored
    return columns


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("form", ["list", "split"])
def test_cave_schema_rows_exact(tmp_path: Path, fmt: str, form: str) -> None:
    path = write(tmp_path, fmt, cave_columns(form, fmt), ID_TYPES)
    table = open_table(path, tmp_path / "cache")
    assert table.schema == "cave"
    assert table.query() == expected(IDS)
    assert table.get(205) == expected(IDS)[2]
    assert table.get(999) is None


def test_cave_numpy_style_list_strings(tmp_path: Path) -> None:
    columns = {
        "ctr_pt_position": ["[1 2 3]", " [4.0,5.0,6.0] "],
        "pre_pt_position": ["[1, 2, 3]", ""],
        "post_pt_position": ["(7, 8, 9)", "[1,1,1]"],
    }
    table = open_table(write_csv(tmp_path / "t.csv", columns), tmp_path / "cache")
    assert table.query() == [
        Synapse(0, (1, 2, 3), (1, 2, 3), (7, 8, 9)),
        Synapse(1, (4, 5, 6), None, (1, 1, 1)),
    ]


@pytest.mark.parametrize("id_type", [pa.int64(), pa.string(), pa.float64()])
def test_parquet_id_types(tmp_path: Path, id_type: pa.DataType) -> None:
    ids = [BIG1, None] if id_type != pa.float64() else [2**40 + 1, None]
    values = [str(v) if v is not None and id_type == pa.string() else v for v in ids]
    columns = {**synanno_columns(), "pre_neuron_id": values, "post_neuron_id": values}
    columns = {k: v[:2] for k, v in columns.items()}
    types = {"pre_neuron_id": id_type, "post_neuron_id": id_type}
    table = open_table(write(tmp_path, "parquet", columns, types), tmp_path / "cache")
    got = table.query()
    assert [(s.pre_neuron_id, s.post_neuron_id) for s in got] == [(ids[0], ids[0]), (None, None)]
    assert type(got[0].pre_neuron_id) is int


def test_query_by_neuron_as_pre_and_post(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "csv", cave_columns("split", "csv")), tmp_path / "cache")
    # BIG1 is pre of id 101 and post of id 205.
    assert [s.materialization_index for s in table.query(neuron_id=BIG1)] == [101, 205]
    assert [s.materialization_index for s in table.query(neuron_id=BIG2)] == [17, 101, 205]
    assert [s.materialization_index for s in table.query(neuron_id=U64_MAX)] == [3000]
    assert table.count(neuron_id=BIG1) == 2
    assert table.count(neuron_id=BIG1 + 1) == 0
    assert table.query(neuron_id=BIG1 + 1) == []
    box = BBox((0, 0, 0), (20, 30, 40))
    assert [s.materialization_index for s in table.query(neuron_id=BIG2, bbox=box)] == [17, 101]


def test_query_by_box_is_half_open(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "csv", synanno_columns()), tmp_path / "cache")
    # Row 0's centre rounds to (10, 20, 30); row 2 sits at the origin.
    one_voxel = BBox((10, 20, 30), (11, 21, 31))
    assert [s.materialization_index for s in table.query(bbox=one_voxel)] == [0]
    for stop in ((10, 21, 31), (11, 20, 31), (11, 21, 30)):  # stop excludes the centre
        assert table.count(bbox=BBox((0, 1, 1), stop)) == 0
        assert table.query(bbox=BBox((0, 1, 1), stop)) == []
    assert table.count(bbox=BBox((10, 20, 30), (200, 200, 200))) == 1  # start is inside
    for start in ((11, 20, 30), (10, 21, 30), (10, 20, 31)):
        assert table.count(bbox=BBox(start, (200, 200, 200))) == 0
    everything = table.query(bbox=BBox((0, 0, 0), (101, 61, 31)))
    assert [s.materialization_index for s in everything] == [0, 1, 2, 3]
    assert table.count(bbox=BBox((0, 0, 0), (100, 61, 31))) == 3  # x = 100 is out
    assert table.count(bbox=BBox((0, 0, 0), (0, 0, 0))) == 0


def random_table(n: int, seed: int = 3) -> tuple[dict[str, list], list[int]]:
    rng = random.Random(seed)
    neurons = [BIG1 + 1000 * k for k in range(12)]
    ids = rng.sample(range(1, 50 * n), n)  # unique, in no particular order
    ctr = [(rng.randrange(100), rng.randrange(100), rng.randrange(20)) for _ in range(n)]
    pre_ids = [rng.choice(neurons + [None]) for _ in range(n)]
    post_ids = [rng.choice(neurons) for _ in range(n)]
    columns = {
        "id": ids,
        **split_columns("ctr_pt_position_", ctr),
        **split_columns("pre_pt_position_", ctr),
        **split_columns("post_pt_position_", ctr),
        "pre_pt_root_id": pre_ids,
        "post_pt_root_id": post_ids,
    }
    return columns, neurons


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force many import batches so row numbering across batches is exercised."""
    monkeypatch.setattr(table_files, "BATCH_ROWS", 64)
    monkeypatch.setattr(table_files, "CSV_BLOCK_BYTES", 4096)


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_paging_is_stable_and_complete(tmp_path: Path, fmt: str) -> None:
    columns, neurons = random_table(1000)
    table = open_table(write(tmp_path, fmt, columns, ID_TYPES), tmp_path / "cache")
    rows = list(zip(columns["id"], columns["ctr_pt_position_x"], columns["ctr_pt_position_y"],
                    columns["ctr_pt_position_z"], columns["pre_pt_root_id"],
                    columns["post_pt_root_id"], strict=True))  # fmt: skip
    box = BBox((20, 10, 5), (70, 90, 12))
    wide_xy = BBox((0, -4, 5), (100, 100, 12))
    assert table.center_bbox_vx == BBox((0, 0, 0), (100, 100, 20))
    filters: list[tuple[dict, list]] = [
        ({}, rows),
        ({"neuron_id": neurons[3]}, [r for r in rows if neurons[3] in (r[4], r[5])]),
        ({"bbox": box}, [r for r in rows if box.contains_point(r[1:4])]),
        # Boxes spanning the whole extent on some or all axes take another SQL path.
        ({"bbox": BBox((-9, -9, -9), (10**6, 10**6, 10**6))}, rows),
        ({"bbox": BBox((0, 0, 50), (100, 100, 60))}, []),
    ]
    for wide in (wide_xy, BBox((-1, 30, -1), (200, 60, 50)), BBox((10, -1, -1), (50, 500, 500))):
        filters.append(({"bbox": wide}, [r for r in rows if wide.contains_point(r[1:4])]))
    for kwargs, matching in filters:
        want = sorted(r[0] for r in matching)
        assert table.count(**kwargs) == len(want)
        everything = [s.materialization_index for s in table.query(**kwargs)]
        assert everything == want
        pages = [table.query(**kwargs, offset=o, limit=37) for o in range(0, len(want) + 37, 37)]
        flat = [s.materialization_index for page in pages for s in page]
        assert flat == want  # no overlap, nothing lost, same order
        assert all(len(p) == 37 for p in pages[:-2])


@pytest.mark.usefixtures("small_batches")
def test_neurons_counts_and_sorting(tmp_path: Path) -> None:
    columns, neurons = random_table(500, seed=8)
    table = open_table(write(tmp_path, "csv", columns), tmp_path / "cache")
    pre = Counter(v for v in columns["pre_pt_root_id"] if v is not None)
    post = Counter(columns["post_pt_root_id"])
    want = {NeuronCount(n, pre[n], post[n]) for n in set(pre) | set(post)}
    got = table.neurons()
    assert set(got) == want
    totals = [c.total for c in got]
    assert totals == sorted(totals, reverse=True)
    assert [c.neuron_id for c in table.neurons("neuron_id")] == sorted(c.neuron_id for c in want)
    assert [c.n_post for c in table.neurons("n_post")] == sorted(post.values(), reverse=True)


def test_reopen_uses_cache_and_modified_file_is_reimported(tmp_path: Path) -> None:
    path = write(tmp_path, "csv", synanno_columns())
    cache = tmp_path / "cache"
    first = open_table(path, cache)
    before = first.data_path.stat()
    again = open_table(str(path), cache)
    assert again.data_path == first.data_path
    after = again.data_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    columns = {k: v[:2] for k, v in synanno_columns().items()}
    write(tmp_path, "csv", columns)
    os.utime(path, ns=(before.st_mtime_ns + 10**9, before.st_mtime_ns + 10**9))
    changed = open_table(f"file://{path}", cache)
    assert changed.count() == 2
    assert changed.query() == expected([0, 1, 2, 3])[:2]
    assert list(cache.iterdir()) == [changed.cache_folder]  # stale cache removed


def test_mapping_changes_the_cache_key(tmp_path: Path) -> None:
    path = write(tmp_path, "csv", synanno_columns())
    named = open_table(path, tmp_path / "cache")
    mapping = ColumnMapping(center_x="pre_pt_x", center_y="pre_pt_y", center_z="pre_pt_z")
    with pytest.raises(TableError, match="no centre"):
        open_table(path, tmp_path / "cache", mapping)  # row 1 has no pre point
    mapping = ColumnMapping(center_x="post_pt_x", center_y="post_pt_y", center_z="post_pt_z",
                            pre_neuron_id="post_neuron_id")  # fmt: skip
    with pytest.raises(TableError, match="no centre"):
        open_table(path, tmp_path / "cache", mapping)
    mapping = ColumnMapping(center_x="y", center_y="x", center_z="z")
    swapped = open_table(path, tmp_path / "cache", mapping)
    assert swapped.schema == "mapped" and named.schema == "synanno"
    assert swapped.data_path != named.data_path and named.data_path.exists()
    assert swapped.query()[0] == Synapse(0, (20, 10, 30))


# --- errors -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="not found") as err:
        open_table(tmp_path / "nope.csv", tmp_path / "cache")
    assert "nope.csv" in str(err.value) and "Fix" in str(err.value)


def test_folder_and_remote_urls(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="folder"):
        open_table(tmp_path, tmp_path / "cache")
    for url in ("gs://bucket/synapses.parquet", "https://example.org/s.csv"):
        with pytest.raises(TableError, match="download it first"):
            open_table(url, tmp_path / "cache")


def test_unreadable_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + os.urandom(200))
    with pytest.raises(TableError, match="as Parquet") as err:
        open_table(broken, tmp_path / "cache")
    assert "broken.parquet" in str(err.value)
    ragged = tmp_path / "ragged.csv"
    header = ",".join(synanno_columns())
    ragged.write_text(f"{header}\n" + ",".join("1" * 11) + "\n1,2,3\n")
    with pytest.raises(TableError, match="as CSV"):
        open_table(ragged, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # a failed import leaves no cache


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_unknown_columns_list_what_is_expected_not_what_was_found(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path, fmt, {"a": [1], "pos_x": [2], "ctr_pt_position_x": [3]})
    with pytest.raises(TableError) as err:
        open_table(path, tmp_path / "cache")
    message = str(err.value)
    # the file's header is file content: its names are counted, never quoted
    assert "pos_x" not in message and "among its 3 columns" in message
    assert f"{path} ({size_text(path.stat().st_size)})" in message
    assert "synanno" in message and "pre_pt_x" in message
    assert "cave" in message and "ctr_pt_position" in message and "_x/_y/_z" in message
    assert "Missing: ctr_pt_position (or _x/_y/_z)" in message
    assert "ColumnMapping" in message


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_non_numeric_coordinate_names_column_and_row(tmp_path: Path, fmt: str) -> None:
    columns, _ = random_table(300)
    ys = [str(v) for v in columns["ctr_pt_position_y"]]
    ys[203] = "12,5"
    columns["ctr_pt_position_y"] = ys
    with pytest.raises(TableError) as err:
        open_table(write(tmp_path, fmt, columns, ID_TYPES), tmp_path / "cache")
    message = str(err.value)
    assert "'ctr_pt_position_y'" in message and "data row 203" in message
    assert "12,5" not in message and "text of 4 characters" in message and "Fix" in message


def test_bad_cave_point_and_bad_ids(tmp_path: Path) -> None:
    columns = cave_columns("list", "csv")
    columns["pre_pt_position"] = ["[1, 2, 3]", "[1, 2]", None, None]
    with pytest.raises(TableError, match=r"'pre_pt_position', data row 1 .*not an \[x, y, z\]"):
        open_table(write(tmp_path, "csv", columns), tmp_path / "c1")
    for bad, why in (("12.5", "not an integer id"), ("-3", "not an integer id")):
        columns = cave_columns("split", "csv")
        columns["post_pt_root_id"] = [1, 2, bad, 4]
        with pytest.raises(TableError, match=f"'post_pt_root_id', data row 2 .*{why}"):
            open_table(write(tmp_path, "csv", columns), tmp_path / "c2")
    columns = cave_columns("split", "parquet")
    columns["pre_pt_root_id"] = [float(BIG1), None, 1.0, 2.0]
    with pytest.raises(TableError, match=r"data row 0 .*2\*\*53"):
        open_table(write(tmp_path, "parquet", columns), tmp_path / "c3")


def test_duplicate_or_missing_materialization_ids(tmp_path: Path) -> None:
    columns = cave_columns("split", "csv")
    columns["id"] = [5, 6, 5, 7]
    duplicate = r"'id' must be unique but data row 0 and data row 2 .*id=None"
    with pytest.raises(TableError, match=duplicate):
        open_table(write(tmp_path, "csv", columns), tmp_path / "cache")
    columns["id"] = [5, 6, None, 7]
    with pytest.raises(TableError, match=r"'id', data row 2 .*every row needs an id"):
        open_table(write(tmp_path, "csv", columns), tmp_path / "cache")
    columns["x"] = [1, 2, 3, 4]  # now both schemas match
    columns.update({k: [1] * 4 for k in synanno_columns() if k not in columns})
    with pytest.raises(TableError, match="ambiguous"):
        open_table(write(tmp_path, "csv", columns), tmp_path / "cache")


def test_mapping_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "csv", synanno_columns())
    mapping = ColumnMapping(center_x="x", center_y="y", center_z="Z", id="syn_id")
    with pytest.raises(TableError, match=r"(?s)center_z='Z', id='syn_id' \(it has 11 columns\)"):
        open_table(path, tmp_path / "cache", mapping)
    with pytest.raises(TableError, match="all three columns of the pre point"):
        ColumnMapping(center_x="x", center_y="y", center_z="z", pre_x="pre_pt_x")


# --- real data ----------------------------------------------------------------------------

MICRONS_CSV = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/microns-synapses/microns_pinky100_v185_soma_subgraph_synapses.csv"
)
MICRONS_MAPPING = ColumnMapping(
    center_x="ctr_pos_x_vx", center_y="ctr_pos_y_vx", center_z="ctr_pos_z_vx",
    pre_x="pre_pos_x_vx", pre_y="pre_pos_y_vx", pre_z="pre_pos_z_vx",
    post_x="post_pos_x_vx", post_y="post_pos_y_vx", post_z="post_pos_z_vx",
    pre_neuron_id="pre_root_id", post_neuron_id="post_root_id", id="id",
)  # fmt: skip


@pytest.mark.realdata
@pytest.mark.skipif(not MICRONS_CSV.exists(), reason=f"MICrONS table absent: {MICRONS_CSV}")
def test_microns_table_through_a_mapping(tmp_path: Path) -> None:
    with MICRONS_CSV.open(newline="") as f:
        raw = list(csv.DictReader(f))

    def point(row: dict, prefix: str) -> tuple[int, int, int]:
        return tuple(int(row[f"{prefix}_{a}_vx"]) for a in "xyz")  # type: ignore[return-value]

    want = sorted(
        (Synapse(int(r["id"]), point(r, "ctr_pos"), point(r, "pre_pos"), point(r, "post_pos"),
                 int(r["pre_root_id"]), int(r["post_root_id"])) for r in raw),
        key=lambda s: s.materialization_index,
    )  # fmt: skip
    table = open_table(MICRONS_CSV, tmp_path / "cache", MICRONS_MAPPING)
    assert table.schema == "mapped" and table.count() == len(raw) == 1961
    assert table.query() == want
    pre = Counter(int(r["pre_root_id"]) for r in raw)
    post = Counter(int(r["post_root_id"]) for r in raw)
    assert {(c.neuron_id, c.n_pre, c.n_post) for c in table.neurons()} == {
        (n, pre[n], post[n]) for n in set(pre) | set(post)
    }
    busiest = table.neurons()[0].neuron_id
    assert busiest > 2**53  # a real 64-bit root id survived exactly
    assert table.query(neuron_id=busiest) == [
        s for s in want if busiest in (s.pre_neuron_id, s.post_neuron_id)
    ]
