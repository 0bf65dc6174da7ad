"""The synapse type of each instance: ``instances.synapse_type`` (excitatory, inhibitory, ...;
NULL when not typed; ``core/synapse_types.py``).

Added only when missing: a database made by ``metadata.create_all`` of this code has it.

Revision ID: 0003_synapse_type
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_synapse_type"
down_revision = "0002_reviewer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("instances")}
    if "synapse_type" not in present:
        op.add_column("instances", sa.Column("synapse_type", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("synapse_type")
