"""Storage tests here run on SQLite and on PostgreSQL, with the portal tests' database fixture."""

from tests.portal.conftest import db_url  # noqa: F401  (a fixture, used by name)
