"""Alembic environment: migrations always run on a connection handed in by `dataward.storage.migrate`."""

from __future__ import annotations

from alembic import context

from dataward.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `dataward init` or dataward.storage.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
