"""Alembic migrations of the portal's database; `engine.run.migrate.upgrade` runs them."""
