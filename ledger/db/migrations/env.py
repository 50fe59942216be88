"""Alembic environment: runs on the connection handed in by ``ledger.db.migrate`` or on DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ledger.db.all_models  # noqa: F401  (registers every table on SQLModel.metadata)
from ledger.db.engine import make_engine
from ledger.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
