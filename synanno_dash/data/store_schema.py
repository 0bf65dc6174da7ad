"""Tables of the session store (SQLAlchemy Core).

The schema is made and changed by the migrations in ``data/migrations`` (Alembic); this
module describes it to the queries, and ``tests/data/test_store_migrations.py`` checks that
the two agree.

Neuron ids are stored as decimal text: exact for every unsigned 64-bit id, which a
signed SQLite INTEGER is not.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    ScalarSelect,
    String,
    Table,
    Text,
    select,
)

metadata = MetaData()

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("config_json", Text, nullable=True),
    Column("state_json", Text, nullable=False, default="{}"),
    Column("reviewer", String(128), nullable=True),  # who decides (Open Data / sign-in)
)

instances = Table(
    "instances",
    metadata,
    Column("session_id", String(64), ForeignKey("sessions.session_id"), primary_key=True),
    Column("instance_id", Integer, primary_key=True),
    Column("materialization_index", Integer, nullable=False),
    Column("center_xyz_vx", String(64), nullable=False),
    Column("pre_xyz_vx", String(64), nullable=True),
    Column("post_xyz_vx", String(64), nullable=True),
    Column("pre_neuron_id", String(24), nullable=True),
    Column("post_neuron_id", String(24), nullable=True),
    Column("bbox_target_vx", String(128), nullable=False),
    Column("label", String(16), nullable=False),
    Column("seen", Boolean, nullable=False, default=False),
    Column("category", String(32), nullable=True),
    Column("custom_category", Text, nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
    Column("discarded", Boolean, nullable=False, default=False),
    Column("compartment", Integer, nullable=True),
    Column("traversal_index", Integer, nullable=True),
    Column("extra_json", Text, nullable=False, default="{}"),
    Column("updated_at", Float, nullable=False),
    # excitatory, inhibitory, ... (core/synapse_types.py); NULL: not typed. Migration 0003.
    Column("synapse_type", String(64), nullable=True),
)

# Append-only: an undo or redo is a new row referring to the edit it reverses.
edits = Table(
    "edits",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.session_id"), index=True),
    Column("instance_id", Integer, nullable=True),
    Column("kind", String(8), nullable=False),  # do | undo | redo
    Column("field", String(32), nullable=True),
    Column("old_json", Text, nullable=True),
    Column("new_json", Text, nullable=True),
    Column("ref_seq", Integer, nullable=True),
    Column("at", Float, nullable=False),
    Column("reviewer", String(128), nullable=True),  # the session's reviewer at that moment
)

masks = Table(
    "masks",
    metadata,
    Column("session_id", String(64), ForeignKey("sessions.session_id"), primary_key=True),
    Column("instance_id", Integer, primary_key=True),
    Column("z_index", Integer, primary_key=True),
    Column("mask_npy", LargeBinary, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Neuroglancer data route (``/ngdata/<token>/...``): one random token per registered local
# folder, so a URL reveals no path and cannot be derived from one.
data_tokens = Table(
    "data_tokens",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("folder", Text, nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

# When each instance was first shown on a grid page (one row per instance, written by
# ``mark_seen``): the statistics' throughput reads review speed from it, since a tile
# judged correct leaves no edit behind.
seen_events = Table(
    "seen_events",
    metadata,
    Column("session_id", String(64), ForeignKey("sessions.session_id"), primary_key=True),
    Column("instance_id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Index("ix_seen_events_session_at", "session_id", "at"),
)

# The statistics' indexes (databases made before them get them from the baseline migration,
# ``data/migrations``). Each one covers its query (every column it reads), so SQLite
# answers from the index alone.
_i = instances.c
STATS_INDEXES = (
    # counts per compartment, label and category (data.store_stats.review_counts)
    Index("ix_instances_stats_counts", _i.session_id, _i.compartment, _i.seen, _i.label,
          _i.discarded, _i.category),
    # one label's instances: flagged ones, Custom texts, position samples. No index here
    # holds instance_id: SQLite (without ANALYZE) would then read a whole session's index
    # to answer a one-instance lookup that the primary key answers at once.
    Index("ix_instances_stats_label", _i.session_id, _i.label, _i.seen, _i.category),
    # errors per neuron
    Index("ix_instances_stats_pre", _i.session_id, _i.pre_neuron_id, _i.seen, _i.label),
    Index("ix_instances_stats_post", _i.session_id, _i.post_neuron_id, _i.seen, _i.label),
    # agreement between sessions and ground truth join instances on their table row
    Index("ix_instances_session_mat", _i.session_id, _i.materialization_index, _i.seen,
          _i.label, _i.category),
)  # fmt: skip


def reviewer_of(session_id: str) -> ScalarSelect[str | None]:
    """The session's reviewer, read inside the statement that logs a decision."""
    return (
        select(sessions.c.reviewer).where(sessions.c.session_id == session_id).scalar_subquery()
    )
