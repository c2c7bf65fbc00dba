"""Alembic environment: migrations run on a connection handed over by `engine.run.migrate`."""

from __future__ import annotations

from alembic import context

from engine.run.db import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` on the command line: use the configured URL
    from engine.run.db import make_engine
    from engine.run.settings import load_settings

    engine = make_engine(config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
