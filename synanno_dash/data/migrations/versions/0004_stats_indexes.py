"""Indexes that make the statistics read only what they need (issue 11, bench/bench_stats.py):

- ``ix_edits_stats_activity`` (session, time, kind, field): the throughput's edit log is read
  from the index alone, in time order, instead of one table row per edit.

(An index for the Custom texts was tried and left out: SQLite then chose it, not covering,
for the ground truth's query over table rows, which became slower.)

Created only when missing (a development build may have made them).

Revision ID: 0004_stats_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_stats_indexes"
down_revision = "0003_synapse_type"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_edits_stats_activity", "edits", ("session_id", "at", "kind", "field")),
)  # fmt: skip


def upgrade() -> None:
    for name, table, columns in INDEXES:
        if name not in {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}:
            op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
