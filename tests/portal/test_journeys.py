"""End-to-end journeys through the ASGI app: a citizen applies, an officer returns the case for
correction, the citizen resubmits, the officer approves to a final state — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from engine.run import audit
from tests.portal.conftest import BACKENDS, PNG, REGISTER, Client, PortalApp, main_text, tracking_of


def start_application(citizen: Client) -> str:
    citizen.sign_in()
    page = citizen.submit("/services/test-certificate/start")
    assert page.status_code == 200
    found = re.search(r"/apply/(\d+)/0", str(page.url))
    assert found, page.url
    return f"/apply/{found.group(1)}"


def citizen_applies(citizen: Client) -> str:
    """Find the service, fill the form (meeting errors), upload, check answers, submit; the tracking number."""
    found = citizen.get("/?q=gerchilgee")  # Latin spelling finds the Cyrillic title
    assert "/services/test-certificate" in found.text
    service = citizen.get("/services/test-certificate")
    assert "Бүрдүүлэх баримт бичиг" in service.text and "10 000₮" in service.text
    base = start_application(citizen)

    # First attempt: a wrong number and missing answers → error summary linked to inline errors.
    page = citizen.submit(f"{base}/0", {"applicant_phone": "99112233", "copies": "two", "district": "bayangol"})
    assert page.status_code == 422
    body = main_text(page)
    assert 'class="error-summary"' in body and 'href="#f-copies"' in body and 'href="#f-reason"' in body
    assert 'id="f-copies-error"' in body and 'aria-describedby="f-copies-error"' in body

    # "Add another" works without JavaScript: a submit button that adds a row.
    page = citizen.submit(f"{base}/0", {"children.__rows": "0", "_add": "children", "district": "bayangol"})
    assert page.status_code == 200 and 'name="children.0.name"' in page.text

    # Choosing "damaged" reveals a question; the server shows it before moving on.
    answers = {
        "applicant_register": REGISTER,
        "applicant_phone": "99112233",
        "reason": "damaged",
        "copies": "2",
        "district": "bayangol",
        "khoroo": "3",
        "children.__rows": "1",
        "children.0.name": "Бат",
        "children.0.born": "2015-04-01",
    }
    page = citizen.submit(f"{base}/0", answers)
    assert page.status_code == 200, re.findall(r"<li><a href=[^<]*</a>", page.text)
    assert 'role="status"' in page.text and 'name="damage"' in page.text
    page = citizen.submit(f"{base}/0", {**answers, "damage": "Урагдсан", "_shown": "damage"})
    assert str(page.url).endswith("/documents"), main_text(page)

    # Two copies call for the payment receipt: check answers first reports it missing.
    check = citizen.get(f"{base}/check")
    assert check.status_code == 422 and "#f-doc-receipt-file" in check.text
    upload = citizen.submit(
        f"{base}/documents", {"document": "receipt"}, files={"file": ("../../etc/passwd.png", PNG, "image/png")}
    )
    assert upload.status_code == 200 and ">passwd.png<" in upload.text and "../" not in main_text(upload)

    check = citizen.get(f"{base}/check")
    assert check.status_code == 200, main_text(check)
    assert "Урагдсан" in check.text, main_text(check)
    assert "12 000₮" in check.text and "Бат" in check.text
    receipt = citizen.submit(f"{base}/submit")
    assert receipt.status_code == 200 and "/receipt" in str(receipt.url)
    tracking = tracking_of(receipt)
    mine = citizen.get("/my")
    assert tracking in mine.text
    return tracking


def officer_of(app: PortalApp, office: str) -> Client:
    officer = app.client()
    officer.staff_sign_in(office, app.demo_password)
    return officer


def case_version(page_text: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page_text)
    assert found
    return found.group(1)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_citizen_and_officer_journey(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    tracking = citizen_applies(citizen)

    # Routed by district to the Bayangol office; its officer sees it in the queue.
    officer = officer_of(portal_app, "gasr-bayangol")
    queue = officer.get("/staff")
    assert tracking in queue.text
    case = officer.get(f"/staff/cases/{tracking}")
    assert case.status_code == 200
    assert "Урагдсан" in case.text and "Засвар руу буцаах" not in case.text  # the fixture's label is "Буцаах"
    actions = set(re.findall(r'name="action" value="([a-z_]+)"', case.text))
    assert actions == {"approve", "return_for_correction", "reject"}  # exactly what the registrar may do

    # Returning needs a comment.
    refused = officer.submit(
        f"/staff/cases/{tracking}/action", {"action": "return_for_correction", "version": case_version(case.text)}
    )
    assert refused.status_code == 422 and "Тайлбар бичнэ үү" in refused.text
    returned = officer.submit(
        f"/staff/cases/{tracking}/action",
        {"action": "return_for_correction", "version": case_version(refused.text), "comment": "Нэг хувь хангалттай"},
    )
    assert returned.status_code == 200 and "Засвар" in main_text(returned)
    assert "Таны эрхээр одоо хийх үйлдэл алга" in returned.text  # waiting on the citizen now

    # The citizen sees the comment, corrects, and resubmits: the case returns to the same state.
    status = citizen.get(f"/applications/{tracking}")
    assert "Нэг хувь хангалттай" in status.text
    form = citizen.submit(f"/applications/{tracking}/correct")
    base = re.search(r"/apply/\d+", str(form.url)).group(0)
    assert 'value="2"' in form.text  # the answers as submitted
    page = citizen.submit(
        f"{base}/0",
        {
            "applicant_register": REGISTER,
            "applicant_phone": "99112233",
            "reason": "lost",
            "copies": "1",
            "district": "bayangol",
            "khoroo": "3",
            "children.__rows": "0",
        },
    )
    assert "/documents" in str(page.url), main_text(page)
    check = citizen.get(f"{base}/check")
    assert "Засвараа илгээх" in check.text
    again = citizen.submit(f"{base}/submit")
    assert again.status_code == 200 and tracking in again.text

    case = officer.get(f"/staff/cases/{tracking}")
    assert "Үрэгдсэн" in case.text  # the corrected answer
    done = officer.submit(f"/staff/cases/{tracking}/action", {"action": "approve", "version": case_version(case.text)})
    assert done.status_code == 200 and "Олгосон" in main_text(done)
    assert tracking not in officer.get("/staff").text  # closed cases leave the queue

    final = citizen.get(f"/applications/{tracking}")
    assert "Олгосон" in final.text
    with portal_app.portal.engine.connect() as conn:
        count, breaks = audit.verify(conn)
        history = [r["action"] for r in audit.history(conn, 1)]
    assert breaks == [] and count >= 4
    assert history == ["submit", "return_for_correction", "resubmit", "approve"]


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_json_api_submit_status_transition(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    token = citizen.get("/api/session").json()["csrf_token"]
    answers = {
        "applicant_register": REGISTER,
        "applicant_phone": "99112233",
        "reason": "lost",
        "copies": 1,
        "district": "khan_uul",
        "khoroo": "2",
    }
    bad = citizen.post(
        "/api/services/test-certificate/applications",
        json={"answers": {**answers, "copies": 9}},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "copies"
    headers = {"X-CSRF-Token": token, "Idempotency-Key": "k-1"}
    first = citizen.post("/api/services/test-certificate/applications", json={"answers": answers}, headers=headers)
    assert first.status_code == 201, first.text
    again = citizen.post("/api/services/test-certificate/applications", json={"answers": answers}, headers=headers)
    assert again.status_code == 200 and again.json()["tracking"] == first.json()["tracking"]
    tracking = first.json()["tracking"]
    assert first.json()["office"] == "gasr-central"

    officer = officer_of(portal_app, "gasr-central")
    staff_token = officer.get("/api/session").json()["csrf_token"]
    status = officer.get(f"/api/applications/{tracking}").json()
    assert {a["action"] for a in status["actions"]} == {"approve", "return_for_correction", "reject"}
    no_csrf = officer.post(f"/api/applications/{tracking}/transitions", json={"action": "approve", "version": 1})
    assert no_csrf.status_code == 403
    stale = officer.post(
        f"/api/applications/{tracking}/transitions",
        json={"action": "approve", "version": 99},
        headers={"X-CSRF-Token": staff_token},
    )
    assert stale.status_code == 409
    approved = officer.post(
        f"/api/applications/{tracking}/transitions",
        json={"action": "approve", "version": status["version"]},
        headers={"X-CSRF-Token": staff_token},
    )
    assert approved.status_code == 200 and approved.json()["state"] == "granted" and approved.json()["final"]
    assert [h["action"] for h in approved.json()["history"]] == ["submit", "approve"]


def test_openapi_and_submission_schema(portal_app: PortalApp) -> None:
    client = portal_app.client()
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/applications/{tracking}/transitions" in spec["paths"]
    schema = client.get("/services/test-certificate/schema.json").json()
    props = schema["properties"]
    assert props["copies"] == {**props["copies"], "type": "integer", "minimum": 1, "maximum": 5}
    assert props["reason"]["enum"] == ["lost", "damaged"]
    assert props["damage"]["x-show-if"] == "reason == 'damaged'" and "damage" not in schema["required"]
    assert props["children"]["type"] == "array" and props["children"]["maxItems"] == 3
    assert "reason" in schema["required"] and "children" not in schema["required"]
    assert client.get("/services/nope/schema.json").status_code == 404
