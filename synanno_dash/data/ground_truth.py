"""Ground truth of a synapse table's errors (``ground_truth.csv``, see docs/formats.md).

One row per table row (and one per synapse the table misses): which error was injected,
``none`` for a correct row. The statistics score a review against it; every problem with
the file gets a message that names it and the fix, never a traceback.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from synanno_dash.core.labels import Category
from synanno_dash.core.statistics import NO_ERROR

REQUIRED_COLUMNS = ("materialization_index", "error")
FILE_NAMES = ("{stem}_ground_truth.csv", "ground_truth.csv")  # beside the table
MAX_BYTES = 512 * 1024 * 1024
KNOWN_ERRORS = (NO_ERROR, *(c.value for c in Category if c is not Category.CUSTOM))


class GroundTruthError(ValueError):
    """The ground-truth file cannot be used; the message says why and what to do."""


@dataclass(frozen=True, eq=False)
class GroundTruth:
    path: Path
    rows: np.ndarray  # (n,) int64 table rows (materialization indices), each once
    errors: np.ndarray  # (n,) the error kind of each row (str objects)
    not_in_table: int  # lines without a table row: synapses the table misses

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.errors.tolist()))

    def errors_by_row(self) -> dict[int, str]:
        return dict(zip(self.rows.tolist(), self.errors.tolist(), strict=True))


def local_path(path_or_url: str | Path) -> Path:
    text = str(path_or_url).strip()
    parsed = urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise GroundTruthError(f"{text} names a host: use file:///absolute/path.")
        return Path(url2pathname(parsed.path))
    if len(parsed.scheme) > 1:
        raise GroundTruthError(
            f"Ground truth {text}: only local files are read. Fix: download it and give "
            "its local path."
        )
    return Path(text).expanduser()


def find_beside_table(table_url: str) -> Path | None:
    """The ground truth kept beside a local table (``<table>_ground_truth.csv`` or
    ``ground_truth.csv`` in its folder), or None."""
    try:
        table = local_path(table_url)
    except GroundTruthError:
        return None
    for pattern in FILE_NAMES:
        candidate = table.parent / pattern.format(stem=table.stem)
        if candidate.is_file():
            return candidate
    return None


def load_ground_truth(path_or_url: str | Path) -> GroundTruth:
    path = local_path(path_or_url)
    if not path.is_file():
        raise GroundTruthError(
            f"Ground-truth file not found: {path}. Fix: check the path "
            "(the demo writes ground_truth.csv beside synapses.csv)."
        )
    if path.stat().st_size > MAX_BYTES:
        raise GroundTruthError(
            f"Ground-truth file {path} is larger than {MAX_BYTES // 2**20} MiB: keep only "
            "the columns materialization_index and error."
        )
    index, errors = _read(path)
    index = pc.utf8_trim_whitespace(index)
    errors = pc.utf8_trim_whitespace(errors)
    _check_errors(errors, path)
    missing = pc.fill_null(pc.equal(index, ""), True).to_numpy(zero_copy_only=False)
    present = pc.filter(index, pa.array(~missing))
    bad = ~pc.fill_null(pc.match_substring_regex(present, r"^\d{1,18}$"), False).to_numpy(
        zero_copy_only=False
    )
    if bad.any():
        line = int(np.flatnonzero(~missing)[np.argmax(bad)]) + 2  # after the header line
        raise GroundTruthError(
            f"Ground truth {path.name}, line {line}: materialization_index must be a whole "
            "number >= 0 (the synapse table's row id), or empty for a synapse the table misses."
        )
    rows = pc.cast(present, pa.int64()).to_numpy(zero_copy_only=False)
    ordered = np.sort(rows)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(twice):
        raise GroundTruthError(
            f"Ground truth {path.name}: table row {int(twice[0])} appears twice. Fix: give one "
            "line per table row."
        )
    if len(rows) == 0:
        raise GroundTruthError(
            f"Ground truth {path.name} has no line with a materialization_index: nothing to "
            "score against."
        )
    kinds = pc.filter(errors, pa.array(~missing)).to_numpy(zero_copy_only=False)
    return GroundTruth(path, rows, kinds, int(missing.sum()))


def _read(path: Path) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(materialization_index, error) as text."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), [])
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise GroundTruthError(
            f"Cannot read ground truth {path.name} as CSV ({type(exc).__name__}). Fix: save it "
            "as UTF-8 comma-separated text with one header line."
        ) from None
    absent = [c for c in REQUIRED_COLUMNS if c not in header]
    if absent:
        shown = ", ".join(str(c)[:40] for c in header[:12]) or "none"
        raise GroundTruthError(
            f"Ground truth {path.name} lacks the column(s) {', '.join(absent)} (it has: "
            f"{shown}). Fix: one line per table row with materialization_index and error "
            "(see docs/formats.md, Ground truth)."
        )
    convert = pacsv.ConvertOptions(
        include_columns=list(REQUIRED_COLUMNS),
        column_types={c: pa.string() for c in REQUIRED_COLUMNS},
        strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except (pa.ArrowInvalid, OSError):
        # the parser's message quotes the line: say what is wrong without file contents
        raise GroundTruthError(
            f"Cannot read ground truth {path.name}: a line has a different number of cells "
            f"than the header ({len(header)}). Fix: one value per header column on every line."
        ) from None
    return table.column("materialization_index"), table.column("error")


def _check_errors(errors: pa.ChunkedArray, path: Path) -> None:
    empty = pc.fill_null(pc.equal(errors, ""), True).to_numpy(zero_copy_only=False)
    if empty.any():
        raise GroundTruthError(
            f"Ground truth {path.name}, line {int(np.argmax(empty)) + 2}: the error column is "
            f"empty. Fix: write {NO_ERROR} for a correct row."
        )
    unknown = sorted(set(pc.unique(errors).to_pylist()) - set(KNOWN_ERRORS))
    if unknown:
        shown = ", ".join(repr(str(v)[:40]) for v in unknown[:5])
        raise GroundTruthError(
            f"Ground truth {path.name}: unknown error kind(s) {shown}. Fix: use "
            f"{', '.join(KNOWN_ERRORS)}."
        )
