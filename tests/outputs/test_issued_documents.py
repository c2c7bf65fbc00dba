"""Issued documents: rendered once when a declared step issues them, downloaded by their applicant only,
confirmed on the public /verify page without personal data, superseded and revoked through declared steps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.run import audit, cases
from engine.run.outputs import documents
from tests.delivery.project import with_effects
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, REGISTER, Client, PortalApp, build_app
from tests.portal.helpers import api_submit


@pytest.fixture
def app(project: Path, db_url: str) -> Iterator[PortalApp]:
    built = build_app(with_effects(project), db_url)
    yield built
    built.portal.engine.dispose()


def officer_of(app: PortalApp, office: str) -> Client:
    client = app.client()
    client.staff_sign_in(office, app.demo_password)
    return client


def act(app: PortalApp, officer: Client, tracking: str, action: str, comment: str = "") -> None:
    with app.portal.engine.connect() as conn:
        version = cases.by_tracking(conn, tracking)["row_version"]  # type: ignore[index]
    response = officer.submit(
        f"/staff/cases/{tracking}/action", {"action": action, "version": str(version), "comment": comment}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_certificate_issued_downloaded_verified_then_revoked(app: PortalApp) -> None:
    citizen = app.client()
    citizen.sign_in()  # named "Test": initials "T."
    tracking = api_submit(citizen, district="bayangol")["tracking"]
    registrar = officer_of(app, "gasr-bayangol")
    act(app, registrar, tracking, "approve")

    listing = citizen.get("/my/documents")
    number = f"{tracking}-1"
    assert number in listing.text
    assert f'href="/my/documents/{number}"' in citizen.get(f"/applications/{tracking}").text  # on the case page too
    case_page = registrar.get(f"/staff/cases/{tracking}").text
    assert number in case_page and "/revoke" not in case_page  # a registrar sees it; only a head may revoke
    page = citizen.get(f"/my/documents/{number}")
    assert page.status_code == 200
    assert hashlib.sha256(page.text.encode()).hexdigest() == page.headers["x-document-sha256"]
    assert tracking in page.text and "Улсын бүртгэлийн ерөнхий газар" in page.text  # the issuing agency
    assert "<script" not in page.text and "unsafe-inline" in page.headers["content-security-policy"]
    code = re.search(r'class="verify">([A-Z0-9-]+)<', page.text).group(1)  # type: ignore[union-attr]
    download = citizen.get(f"/my/documents/{number}?download=1")
    assert download.headers["content-disposition"].startswith("attachment") and download.text == page.text

    stranger = app.client()
    stranger.sign_in(OTHER_REGISTER)
    assert stranger.get(f"/my/documents/{number}").status_code == 404
    assert number not in stranger.get("/my/documents").text
    anonymous = app.client()
    assert "/login" in str(anonymous.get(f"/my/documents/{number}").url)

    verified = anonymous.get(f"/verify/{code}")
    assert verified.status_code == 200
    result = verified.text[verified.text.find('id="verify-result"') :]
    assert 'data-status="valid"' in verified.text and number in result and "T." in result
    assert REGISTER not in verified.text and "99112233" not in verified.text  # no personal data
    assert "Улсын бүртгэлийн ерөнхий газар" in result
    assert anonymous.get("/verify/NOPE-NOPE-NOPE").status_code == 404

    act(app, registrar, tracking, "revoke", comment="issued in error")
    verified = anonymous.get(f"/verify/{code}")
    assert 'data-status="revoked"' in verified.text
    with app.portal.engine.connect() as conn:
        stored = documents.by_number(conn, number)
        assert stored is not None and documents.intact(stored) and stored["html"] == page.text  # never re-rendered
        app_id = cases.by_tracking(conn, tracking)["id"]  # type: ignore[index]
        actions = [r["action"] for r in audit.history(conn, app_id)]
        assert actions.index("issue_document") < actions.index("revoke_document")
        assert audit.verify(conn)[1] == []


def test_reissue_supersedes_and_refusal_uses_the_refusal_layout(app: PortalApp) -> None:
    citizen = app.client()
    citizen.sign_in()
    first = api_submit(citizen, district="bayangol")["tracking"]
    second = api_submit(citizen, district="bayangol")["tracking"]
    registrar = officer_of(app, "gasr-bayangol")
    act(app, registrar, first, "approve")
    act(app, registrar, first, "reissue")
    act(app, registrar, second, "reject", comment="the photo is missing")
    with app.portal.engine.connect() as conn:
        old, new = documents.by_number(conn, f"{first}-1"), documents.by_number(conn, f"{first}-2")
        refusal = documents.by_number(conn, f"{second}-1")
    assert old is not None and new is not None and refusal is not None
    assert (old["status"], old["superseded_by"], new["status"]) == ("superseded", f"{first}-2", "valid")
    assert 'data-status="superseded"' in app.client().get(f"/verify/{old['code']}").text
    assert refusal["template"] == "refusal.html" and "the photo is missing" in refusal["html"]


def test_generic_layouts_are_chosen_by_kind(tmp_path: Path) -> None:
    assert documents.template_for("birth_certificate") == "certificate.html"
    assert documents.template_for("tree_felling_permit") == "permit.html"
    assert documents.template_for("exploration_licence") == "licence.html"
    assert documents.template_for("land_ownership_decision") == "decision.html"
    assert documents.template_for("refusal_decision") == "refusal.html"
    assert documents.template_for("something_else") == "document.html"
    (tmp_path / "exploration_licence.html").write_text("own layout")
    assert documents.template_for("exploration_licence", tmp_path) == "exploration_licence.html"
    assert documents.initials("Батын  Дорж") == "Б. Д." and documents.initials(None) == "—"
