"""The reviewer of each decision: ``sessions.reviewer`` (who reviews in this session, from Open
Data or the sign-in) and ``edits.reviewer`` (who made that decision).

A column is added only when missing: databases opened by a development build before this
revision may already have them.

Revision ID: 0002_reviewer
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_reviewer"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

REVIEWER_COLUMNS = ("sessions", "edits")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in REVIEWER_COLUMNS:
        present = {column["name"] for column in inspector.get_columns(table)}
        if "reviewer" not in present:
            op.add_column(table, sa.Column("reviewer", sa.String(128), nullable=True))


def downgrade() -> None:
    for table in REVIEWER_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reviewer")
