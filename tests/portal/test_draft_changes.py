"""A draft started under an older definition: the check page tells the citizen what changed for them."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import load_catalog
from tests.portal.conftest import PortalApp
from tests.portal.test_journeys import start_application


def test_the_check_page_lists_changes_since_the_draft_was_started(portal_app: PortalApp, project: Path) -> None:
    citizen = portal_app.client()
    base = start_application(citizen)
    unchanged = citizen.get(f"{base}/check")
    assert "changed-title" not in unchanged.text

    service = project / "service_defs" / "central" / "gasr" / "test-certificate.yaml"
    service.write_text(
        service.read_text(encoding="utf-8").replace(
            "      - {id: copies,",
            "      - {id: purpose, type: text, label: {mn: Зорилго, en: Purpose}}\n      - {id: copies,",
        ),
        encoding="utf-8",
    )
    portal_app.portal.use_catalog(load_catalog([str(project / "service_defs")]))
    changed = citizen.get(f"{base}/check")
    assert changed.status_code in (200, 422)
    assert "changed-title" in changed.text and "Зорилго" in changed.text
