"""Alembic scripts of the session store (run by ``data.store_migrations.migrate``)."""
