"""Ground truth of a synapse table's errors (``ground_truth.csv``, see docs/formats.md).

One row per table row (and one per synapse the table misses): which error was injected,
``none`` for a correct row. The statistics score a review against it; every problem with
the file gets a message that names it and the fix, never a traceback.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from synanno_dash.core.labels import Category
from synanno_dash.core.statistics import NO_ERROR

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("materialization_index", "error")
FILE_NAMES = ("{stem}_ground_truth.csv", "ground_truth.csv")  # beside the table
MAX_BYTES = 512 * 1024 * 1024
KNOWN_ERRORS = (NO_ERROR, *(c.value for c in Category if c is not Category.CUSTOM))
_WHOLE = re.compile(r"\s*\d+\s*")


class GroundTruthError(ValueError):
    """The ground-truth file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class GroundTruth:
    path: Path
    errors_by_row: dict[int, str]  # table row (materialization index) -> error kind
    not_in_table: int  # rows without a table row: synapses the table misses

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.errors_by_row.values()))


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
    frame = _read(path)
    index_text, errors = frame["materialization_index"], frame["error"].str.strip()
    missing = index_text.isna() | (index_text.str.strip() == "")
    _check_errors(errors, path)
    present = index_text[~missing]
    bad = ~present.str.fullmatch(_WHOLE)
    if bad.any():
        row = int(present.index[bad][0]) + 2  # 1-based, after the header line
        raise GroundTruthError(
            f"Ground truth {path.name}, line {row}: materialization_index must be a whole "
            "number >= 0 (the synapse table's row id), or empty for a synapse the table misses."
        )
    rows = present.str.strip().astype("int64")
    duplicated = rows.duplicated()
    if duplicated.any():
        raise GroundTruthError(
            f"Ground truth {path.name}: table row {int(rows[duplicated].iloc[0])} appears "
            "twice. Fix: give one line per table row."
        )
    by_row = dict(zip(rows.tolist(), errors[~missing].tolist(), strict=True))
    if not by_row:
        raise GroundTruthError(
            f"Ground truth {path.name} has no line with a materialization_index: nothing to "
            "score against."
        )
    return GroundTruth(path, by_row, int(missing.sum()))


def _read(path: Path) -> pd.DataFrame:
    """The two columns, as text (pandas is imported when a file is read)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

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
    return pd.DataFrame(
        {c: table.column(c).to_pandas().astype("string") for c in REQUIRED_COLUMNS}
    )


def _check_errors(errors: pd.Series, path: Path) -> None:
    if errors.isna().any():
        row = int(errors.index[errors.isna()][0]) + 2
        raise GroundTruthError(
            f"Ground truth {path.name}, line {row}: the error column is empty. Fix: write "
            f"{NO_ERROR} for a correct row."
        )
    unknown = sorted(set(errors.unique()) - set(KNOWN_ERRORS))
    if unknown:
        shown = ", ".join(repr(str(v)[:40]) for v in unknown[:5])
        raise GroundTruthError(
            f"Ground truth {path.name}: unknown error kind(s) {shown}. Fix: use "
            f"{', '.join(KNOWN_ERRORS)}."
        )
