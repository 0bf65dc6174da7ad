"""Alembic environment: migrate the connection ``data.store_migrations`` hands over.

It runs inside that connection's transaction (the one holding the migration lock), so a
migration and the lock end together. No ``alembic.ini``: the configuration is built in code.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
