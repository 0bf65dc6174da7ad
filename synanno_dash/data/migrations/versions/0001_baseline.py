"""Baseline: the session store's schema as the code before Alembic made it.

Databases made before Alembic hold some or all of these tables (``seen_events`` and
``data_tokens`` came later, and the statistics' indexes later still); so every table and index
is created only when missing, and upgrading such a database keeps all its rows. Fresh
databases get everything. Later revisions change the schema with plain Alembic operations.

Revision ID: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None



def _session_id_key() -> sa.ForeignKey:
    return sa.ForeignKey("sessions.session_id")


# Indexes created only when missing: (name, table, columns).
INDEXES = (
    ("ix_edits_session_id", "edits", ("session_id",)),
    ("ix_seen_events_session_at", "seen_events", ("session_id", "at")),
    ("ix_instances_stats_counts", "instances",
     ("session_id", "compartment", "seen", "label", "discarded", "category")),
    ("ix_instances_stats_label", "instances", ("session_id", "label", "seen", "category")),
    ("ix_instances_stats_pre", "instances", ("session_id", "pre_neuron_id", "seen", "label")),
    ("ix_instances_stats_post", "instances", ("session_id", "post_neuron_id", "seen", "label")),
    ("ix_instances_session_mat", "instances",
     ("session_id", "materialization_index", "seen", "label", "category")),
)  # fmt: skip


def _tables() -> dict[str, tuple[sa.Column, ...]]:
    """The baseline tables, in creation order (sessions first: the others refer to it)."""
    return {
        "sessions": (
            sa.Column("session_id", sa.String(64), primary_key=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
            sa.Column("config_json", sa.Text, nullable=True),
            sa.Column("state_json", sa.Text, nullable=False),
        ),
        "instances": (
            sa.Column("session_id", sa.String(64), _session_id_key(), primary_key=True),
            sa.Column("instance_id", sa.Integer, primary_key=True),
            sa.Column("materialization_index", sa.Integer, nullable=False),
            sa.Column("center_xyz_vx", sa.String(64), nullable=False),
            sa.Column("pre_xyz_vx", sa.String(64), nullable=True),
            sa.Column("post_xyz_vx", sa.String(64), nullable=True),
            sa.Column("pre_neuron_id", sa.String(24), nullable=True),
            sa.Column("post_neuron_id", sa.String(24), nullable=True),
            sa.Column("bbox_target_vx", sa.String(128), nullable=False),
            sa.Column("label", sa.String(16), nullable=False),
            sa.Column("seen", sa.Boolean, nullable=False),
            sa.Column("category", sa.String(32), nullable=True),
            sa.Column("custom_category", sa.Text, nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("discarded", sa.Boolean, nullable=False),
            sa.Column("compartment", sa.Integer, nullable=True),
            sa.Column("traversal_index", sa.Integer, nullable=True),
            sa.Column("extra_json", sa.Text, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        ),
        "edits": (
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("session_id", sa.String(64), _session_id_key()),
            sa.Column("instance_id", sa.Integer, nullable=True),
            sa.Column("kind", sa.String(8), nullable=False),
            sa.Column("field", sa.String(32), nullable=True),
            sa.Column("old_json", sa.Text, nullable=True),
            sa.Column("new_json", sa.Text, nullable=True),
            sa.Column("ref_seq", sa.Integer, nullable=True),
            sa.Column("at", sa.Float, nullable=False),
        ),
        "masks": (
            sa.Column("session_id", sa.String(64), _session_id_key(), primary_key=True),
            sa.Column("instance_id", sa.Integer, primary_key=True),
            sa.Column("z_index", sa.Integer, primary_key=True),
            sa.Column("mask_npy", sa.LargeBinary, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        ),
        "data_tokens": (
            sa.Column("token", sa.String(64), primary_key=True),
            sa.Column("folder", sa.Text, nullable=False, unique=True),
            sa.Column("created_at", sa.Float, nullable=False),
        ),
        "seen_events": (
            sa.Column("session_id", sa.String(64), _session_id_key(), primary_key=True),
            sa.Column("instance_id", sa.Integer, primary_key=True),
            sa.Column("at", sa.Float, nullable=False),
        ),
    }


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns)
    for name, table, index_columns in INDEXES:
        if name not in {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}:
            op.create_index(name, table, list(index_columns))


def downgrade() -> None:
    for name, table, _index_columns in INDEXES:
        op.drop_index(name, table_name=table)
    for name in reversed(list(_tables())):
        op.drop_table(name)
