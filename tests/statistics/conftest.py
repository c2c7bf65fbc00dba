"""Statistics and feedback tests reuse the portal's database fixture (SQLite, or a PostgreSQL schema)."""

from tests.portal.conftest import db_url, portal_app  # noqa: F401  (fixtures)
