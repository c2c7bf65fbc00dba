"""Exchange and statistics test helpers: the fixture project plus ХУР operations and a service that
prefills from them (a vehicle record keyed by plate, the applicant's own data and address)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.portal.conftest import PortalApp, build_app, db_url  # noqa: F401  (db_url is a fixture)

DATA = Path(__file__).parent / "data"


def exchange_project(project: Path) -> Path:
    registries = project / "service_defs" / "_shared" / "registries.yaml"
    text = registries.read_text(encoding="utf-8")
    start = text.index("registry_operations:")
    registries.write_text(text[:start] + (DATA / "operations.yaml").read_text("utf-8"), encoding="utf-8")
    target = project / "service_defs" / "central" / "gasr" / "vehicle-record.yaml"
    target.write_text((DATA / "vehicle-record.yaml").read_text("utf-8"), "utf-8")
    return project


@pytest.fixture
def exchange_app(project: Path, db_url: str) -> Iterator[PortalApp]:  # noqa: F811
    built = build_app(exchange_project(project), db_url)
    assert "vehicle-record" in built.portal.book.services, "the exchange test service must compile"
    yield built
    built.portal.engine.dispose()
