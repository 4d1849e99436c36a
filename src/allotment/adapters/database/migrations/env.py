"""Alembic environment: runs on the connection that `migrate.upgrade()` hands over."""

from __future__ import annotations

from alembic import context

from allotment.adapters.database.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always run through migrate.upgrade()
    raise RuntimeError("run migrations through `allotment db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
