"""SQL pieces of the synapse-table queries (``tables.SynapseTable``): rows to synapses,
neuron ids as exact parameters, the box filter, the per-neuron counts.

Every query reads the view ``synapses`` (or a side file) in our columns
(``table_files.COLUMNS``), ordered by materialization index ``mat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import Synapse
from synanno_dash.data.table_files import COLUMNS
from synanno_dash.data.table_types import checked_type

_TWO_64 = 2**64
SELECT_COLUMNS = ", ".join(COLUMNS)


@dataclass(frozen=True, order=True)
class NeuronCount:
    """How many synapses of the table a neuron is pre- and post-synaptic to."""

    neuron_id: int
    n_pre: int
    n_post: int

    @property
    def total(self) -> int:
        return self.n_pre + self.n_post


def quote(path: Path | str) -> str:
    """A path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def id_param(neuron_id: int) -> str:
    """A neuron id as exact text for ``CAST(? AS UBIGINT)`` (ids above 2**53 stay exact)."""
    if not 0 <= neuron_id < _TWO_64:
        raise ValueError(f"a neuron id is an unsigned 64-bit integer, got {neuron_id}")
    return str(neuron_id)


def _point(x: int | None, y: int | None, z: int | None) -> tuple[int, int, int] | None:
    return None if x is None or y is None or z is None else (x, y, z)


def synapse_of_row(row: tuple) -> Synapse:
    """A ``SELECT SELECT_COLUMNS`` row as a synapse."""
    return Synapse(
        materialization_index=row[0],
        center_xyz_vx=(row[1], row[2], row[3]),
        pre_xyz_vx=_point(*row[4:7]),
        post_xyz_vx=_point(*row[7:10]),
        pre_neuron_id=row[10],
        post_neuron_id=row[11],
        synapse_type=checked_type(row[13], row[0]),
    )


def box_sql(bbox: BBox) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters: the centre inside the half-open box."""
    clauses = [f"{c} >= ? AND {c} < ?" for c in ("cz", "cy", "cx")]
    params: list[Any] = []
    for i in (2, 1, 0):
        params += [bbox.start_xyz[i], bbox.stop_xyz[i]]
    return clauses, params


COUNTS_SQL = """
SELECT neuron, CAST(sum(n_pre) AS BIGINT), CAST(sum(n_post) AS BIGINT) FROM (
    SELECT pre_id AS neuron, count(*) AS n_pre, 0 AS n_post
    FROM synapses WHERE pre_id IS NOT NULL GROUP BY pre_id
    UNION ALL
    SELECT post_id, 0, count(*) FROM synapses WHERE post_id IS NOT NULL GROUP BY post_id
) GROUP BY neuron
"""


def repeated_id_rows(cursor: Any, data_path: Path) -> list[int] | None:
    """The data rows (at most two) of the first materialization index the converted file
    ``data_path`` holds twice; None when every one is unique."""
    repeated = cursor.execute(
        "SELECT mat FROM synapses GROUP BY mat HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if repeated is None:
        return None
    rows = cursor.execute(
        f"SELECT file_row_number FROM read_parquet({quote(data_path)}, "
        "file_row_number = true) WHERE mat = ? ORDER BY 1 LIMIT 2",
        [repeated[0]],
    ).fetchall()
    return [int(r[0]) for r in rows]
