"""Tables of the session store (SQLAlchemy Core).

Neuron ids are stored as decimal text: exact for every unsigned 64-bit id, which a
signed SQLite INTEGER is not.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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
