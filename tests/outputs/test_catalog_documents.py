"""Issued documents for the real catalog: a birth certificate re-issue taken to its issuing step by a GASR
registrar, downloaded by its applicant only, verified publicly, then revoked by the head of office; and
every document kind the catalog declares renders with a layout."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.catalog import Catalog, load_catalog
from engine.run import audit, cases
from engine.run.db import applications, citizens, now
from engine.run.outputs import documents
from tests.conftest import REPO
from tests.outputs.test_issued_documents import officer_of
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, REGISTER, PortalApp, build_app

SERVICE = "birth-certificate-reissue"
OFFICE = "gasr-central"  # has civil_registrar and head_of_office


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([str(REPO / "service_defs")])


@pytest.fixture
def app(tmp_path: Path, db_url: str, catalog: Catalog) -> Iterator[PortalApp]:
    built = build_app(tmp_path, db_url, catalog=catalog)
    yield built
    built.portal.engine.dispose()


def case_at_printing(app: PortalApp, register: str) -> str:
    """A case of the catalog service waiting at its printing step (how it got there is the portal's business)."""
    book = app.portal.book
    service = book.get(SERVICE)
    assert service is not None
    with app.portal.engine.begin() as conn:
        citizen_id = conn.execute(sa.select(citizens.c.id).where(citizens.c.register_number == register)).scalar_one()
        book.remember(conn, service)
        tracking = cases.new_tracking(dt.date.today())
        conn.execute(
            applications.insert().values(
                tracking=tracking,
                draft_id=-citizen_id,
                citizen_id=citizen_id,
                service_id=SERVICE,
                definition_version=service.version,
                answers={"copies": 1},
                state="printing",
                office=OFFICE,
                fee_total=0,
                due_date="2026-12-31",
                row_version=1,
                submitted_at=now(),
                updated_at=now(),
            )
        )
    return tracking


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_catalog_certificate_issued_downloaded_verified_revoked(app: PortalApp) -> None:
    owner = app.client()
    owner.sign_in()
    other = app.client()
    other.sign_in(OTHER_REGISTER)
    tracking = case_at_printing(app, REGISTER)
    registrar = officer_of(app, OFFICE)
    done = registrar.submit(f"/staff/cases/{tracking}/action", {"action": "complete", "version": "1"})
    assert done.status_code == 200
    number = f"{tracking}-1"
    page = owner.get(f"/my/documents/{number}")
    assert page.status_code == 200 and "Төрсний гэрчилгээ" in page.text  # the document type's registry title
    assert other.get(f"/my/documents/{number}").status_code == 404
    code = re.search(r'class="verify">([A-Z0-9-]+)<', page.text).group(1)  # type: ignore[union-attr]
    public = app.client()
    verified = public.get(f"/verify/{code}")
    assert 'data-status="valid"' in verified.text and REGISTER not in verified.text

    assert f"/staff/documents/{number}/revoke" in registrar.get(f"/staff/cases/{tracking}").text  # a head of office
    assert registrar.submit(f"/staff/documents/{number}/revoke", {"reason": ""}).status_code == 400
    revoked = registrar.submit(f"/staff/documents/{number}/revoke", {"reason": "issued in error"})
    assert revoked.status_code == 200 and 'data-status="revoked"' in public.get(f"/verify/{code}").text
    with app.portal.engine.connect() as conn:
        app_id = cases.by_tracking(conn, tracking)["id"]  # type: ignore[index]
        trail = [(r["action"], r["comment"]) for r in audit.history(conn, app_id)]
    assert ("revoke_document", f"{number}: issued in error") in trail


def test_every_declared_document_kind_renders(app: PortalApp, catalog: Catalog) -> None:
    registries = catalog.registries
    rendered = 0
    with app.portal.engine.connect() as conn:
        tx = conn.begin()
        for n, service in enumerate(catalog.services.values()):
            effects = [e for t in service.workflow.transitions for e in t.effects]
            effects += [e for s in service.workflow.states.values() for e in s.effects]
            for effect in effects:
                if not effect.get("issue"):
                    continue
                office = next(o for o in registries.offices.values() if o.agency == service.agency)
                fake = {
                    "id": -1 - n,
                    "tracking": f"TS-T-{n}-{rendered}",
                    "citizen_id": 0,
                    "office": office.id,
                    "answers": {},
                }
                made = documents.issue(
                    conn,
                    app=fake,
                    service=service,
                    kind=str(effect["issue"]),
                    registries=registries,
                    officer="test",
                    decision={},
                    public_url="",
                )
                assert "${" not in str(effect["issue"]) and made.sha256
                rendered += 1
        tx.rollback()
    assert rendered > 100
