"""Alembic environment. bot/store/db.py passes the connection in; there is no alembic.ini to edit."""

from __future__ import annotations

from alembic import context

from bot.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs `alembic` by hand
    raise RuntimeError("run migrations with `campaign-bot db upgrade`")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
