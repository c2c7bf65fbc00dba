"""The portal's guarantees, each with a test: authorization by office, role and owner; CSRF; security
headers and escaping; upload limits; the audit chain; definition pinning; SLA working days."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.catalog import load_catalog
from engine.cli import main as tsonkh
from engine.run import audit, auth, cases
from engine.run.db import applications, audit_log
from engine.run.files import clean_name, sniff
from engine.run.search import SearchIndex, fold
from engine.run.web.app import create_app
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, PDF, PNG, Client, PortalApp, build_app, main_text
from tests.portal.helpers import api_submit


def officer(app: PortalApp, office: str) -> Client:
    client = app.client()
    client.staff_sign_in(office, app.demo_password)
    return client


# --- authorization ------------------------------------------------------------------------------------------
def test_officer_of_another_district_cannot_see_or_act(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    tracking = api_submit(citizen, district="bayangol")["tracking"]  # routed to gasr-bayangol
    stranger = officer(portal_app, "gasr-khan-uul")
    assert tracking not in stranger.get("/staff?all=1").text
    assert stranger.get(f"/staff/cases/{tracking}").status_code == 404
    refused = stranger.submit(f"/staff/cases/{tracking}/action", {"action": "approve", "version": "1"})
    assert refused.status_code == 404
    assert stranger.submit(f"/staff/cases/{tracking}/assign", {"assignee": "me", "version": "1"}).status_code == 404
    assert stranger.get(f"/api/applications/{tracking}").status_code == 404
    other_agency = officer(portal_app, "ub-land-bayangol")  # same district, another agency's office
    assert other_agency.get(f"/staff/cases/{tracking}").status_code == 404
    with portal_app.portal.engine.connect() as conn:
        assert cases.by_tracking(conn, tracking)["state"] == "submitted"  # type: ignore[index]


def test_role_decides_the_actions_offered_and_allowed(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    tracking = api_submit(citizen, district="khan_uul")["tracking"]  # gasr-central: registrar, head_of_office
    with portal_app.portal.engine.begin() as conn:
        auth.create_staff(conn, "head", "head-pass-1", "Head", "gasr-central", {"head_of_office"})
    head = portal_app.client()
    head.staff_sign_in("head", "head-pass-1")
    page = head.get(f"/staff/cases/{tracking}")
    assert page.status_code == 200 and 'name="action"' not in page.text  # sees the case, may not act
    refused = head.submit(f"/staff/cases/{tracking}/action", {"action": "approve", "version": "1"})
    assert refused.status_code == 403
    claimed = head.submit(f"/staff/cases/{tracking}/assign", {"assignee": "me", "version": "1"})
    assert claimed.status_code == 200 and "Head" in main_text(claimed)
    queue = officer(portal_app, "gasr-central").get("/staff").text
    row = queue[queue.find(tracking) :]
    assert "Head" in row[: row.find("</tr>")]  # the queue names the assignee


def test_a_citizen_cannot_open_another_citizens_things(portal_app: PortalApp) -> None:
    owner = portal_app.client()
    owner.sign_in()
    tracking = api_submit(owner)["tracking"]
    draft = owner.submit("/services/test-certificate/start")
    draft_path = re.search(r"/apply/\d+", str(draft.url)).group(0)  # type: ignore[union-attr]
    other = portal_app.client()
    other.sign_in(OTHER_REGISTER)
    assert other.get(f"/applications/{tracking}").status_code == 404
    assert other.get(f"/applications/{tracking}/receipt").status_code == 404
    assert other.get(f"{draft_path}/0").status_code == 404
    assert other.submit(f"{draft_path}/submit").status_code == 404
    assert other.get(f"/api/applications/{tracking}").status_code == 404
    assert tracking not in other.get("/my").text
    anonymous = portal_app.client()
    assert "/login" in str(anonymous.get(f"/applications/{tracking}").url)
    assert "/staff/login" in str(anonymous.get("/staff").url)
    assert anonymous.get(f"/api/applications/{tracking}").status_code == 401


# --- CSRF, headers, escaping ----------------------------------------------------------------------------------
def test_forms_without_the_csrf_token_are_rejected(portal_app: PortalApp) -> None:
    client = portal_app.client()
    client.get("/login")
    assert client.post("/login", data={"register_number": "УБ99032112"}).status_code == 403
    assert client.post("/login", data={"register_number": "УБ99032112", "csrf": "forged"}).status_code == 403
    client.sign_in()
    assert client.post("/services/test-certificate/start", data={}).status_code == 403
    started = client.submit("/services/test-certificate/start")
    assert started.status_code == 200
    path = str(started.url).split("testserver")[1]
    assert client.post(path, data={"csrf": "x" * 43, "reason": "lost"}).status_code == 403
    api = client.post("/api/services/test-certificate/applications", json={"answers": {}})
    assert api.status_code == 403 and api.json()["error"] == "csrf"


def test_security_headers_cookies_and_escaping(project: Path, db_url: str) -> None:
    built = build_app(project, db_url)
    client = built.client()
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    client.sign_in()
    started = client.submit("/services/test-certificate/start")
    path = str(started.url).split("testserver")[1]
    hostile = "<script>alert(1)</script>"
    page = client.submit(path, {"applicant_phone": hostile, "children.__rows": "0"})
    assert hostile not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    built.portal.engine.dispose()
    secure = build_app(project, db_url)
    secure_app = create_app(replace(secure.settings, cookie_secure=True), catalog=secure.portal.book.catalog)
    with Client(secure_app) as https:
        cookie = https.get("https://testserver/login").headers["set-cookie"].lower()
    assert "secure" in cookie


# --- uploads -----------------------------------------------------------------------------------------------------
def test_upload_limits_size_count_type_and_hostile_names(portal_app: PortalApp) -> None:
    client = portal_app.client()
    client.sign_in()
    started = client.submit("/services/test-certificate/start")
    base = re.search(r"/apply/\d+", str(started.url)).group(0)  # type: ignore[union-attr]
    answers = {
        "applicant_register": "УБ99032112",
        "applicant_phone": "99112233",
        "reason": "lost",
        "copies": "3",
        "district": "khan_uul",
        "khoroo": "1",
        "children.__rows": "0",
    }
    assert "/documents" in str(client.submit(f"{base}/0", answers).url)

    def upload(name: str, data: bytes, claimed: str) -> str:
        response = client.submit(f"{base}/documents", {"document": "receipt"}, files={"file": (name, data, claimed)})
        return main_text(response)

    too_big = PNG + b"\x00" * (5 * 1024 * 1024)  # receipt: max_size_mb 5
    assert "5 МБ" in upload("big.png", too_big, "image/png")
    # The client's claimed type and extension are ignored: the bytes decide.
    assert "Файлын төрөл тохирохгүй" in upload("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    assert "Файлын төрөл тохирохгүй" in upload("page.png", b"<html><script>alert(1)</script>", "image/png")
    hostile = "../../<img src=x onerror=alert(1)>\x00.pdf"
    body = upload(hostile, PDF, "text/html")
    assert "error-summary" not in body
    assert "<img" not in body and "onerror=alert(1)&gt;" not in body.replace("onerror=alert_1_", "")
    assert "1 хүртэл файл" in body
    assert "1-аас олон файл" in upload("second.png", PNG, "image/png")  # max_count 1
    stored = [p for p in (portal_app.settings.upload_dir).rglob("*") if p.is_file()]
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{64}", stored[0].name)
    file_id = re.search(r'href="/files/(\d+)"', body).group(1)  # type: ignore[union-attr]
    download = client.get(f"/files/{file_id}")
    assert download.content == PDF and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment")
    other = portal_app.client()
    other.sign_in(OTHER_REGISTER)
    assert other.get(f"/files/{file_id}").status_code == 404


def test_oversized_request_bodies_are_refused_before_parsing(project: Path, db_url: str) -> None:
    built = build_app(project, db_url)
    small = create_app(replace(built.settings, max_request_mb=1), catalog=built.portal.book.catalog)
    with Client(small) as client:
        client.sign_in()
        started = client.submit("/services/test-certificate/start")
        base = re.search(r"/apply/\d+", str(started.url)).group(0)  # type: ignore[union-attr]
        big = client.submit(
            f"{base}/documents", {"document": "receipt"}, files={"file": ("a.png", PNG * 40000, "image/png")}
        )
        assert big.status_code == 413
    built.portal.engine.dispose()


def test_sniffing_and_name_cleaning() -> None:
    assert sniff(PDF) == "application/pdf" and sniff(PNG) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg" and sniff(b"GIF89a") is None
    assert clean_name("C:\\Users\\x\\..\\паспорт скан.pdf") == "паспорт скан.pdf"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("<script>.pdf") == "script_.pdf"
    assert clean_name("\x00\x1f") == "file"


# --- audit chain --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_audit_chain_verifies_and_detects_tampering(
    portal_app: PortalApp, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    for _ in range(2):
        api_submit(citizen)
    central = api_submit(citizen, district="khan_uul")["tracking"]
    staff = officer(portal_app, "gasr-central")
    page = staff.get(f"/staff/cases/{central}")
    staff.submit(f"/staff/cases/{central}/action", {"action": "reject", "version": "1", "comment": "Буруу"})
    engine = portal_app.portal.engine
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TSONKH_DATA_DIR", str(portal_app.settings.data_dir))
    assert page.status_code == 200
    assert tsonkh(["audit", "verify"]) == 0
    assert "intact: 4 records" in capsys.readouterr().out
    with engine.begin() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings().all()
        assert [r["action"] for r in rows] == ["submit", "submit", "submit", "reject"]
        assert rows[3]["comment"] == "Буруу" and rows[3]["office"] == "gasr-central" and rows[3]["role"] == "registrar"
        assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, 4))
        conn.execute(audit_log.update().where(audit_log.c.id == rows[3]["id"]).values(comment="Зөв"))
    assert tsonkh(["audit", "verify"]) == 1
    assert "edited" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.id == rows[3]["id"]).values(comment="Буруу"))
        assert audit.verify(conn)[1] == []
        conn.execute(audit_log.delete().where(audit_log.c.id == rows[1]["id"]))
        count, breaks = audit.verify(conn)
    assert count == 3 and [b.record_id for b in breaks] == [rows[2]["id"]]


# --- definition pinning -------------------------------------------------------------------------------------------
def change_definition(project: Path) -> None:
    """A new version: the approve action is renamed, and a new question is added."""
    service = project / "service_defs" / "central" / "gasr" / "test-certificate.yaml"
    pattern = project / "workflows" / "simple-review.yaml"
    pattern.write_text(pattern.read_text().replace("action: approve", "action: grant"))
    text = service.read_text().replace(
        "      - {id: copies,",
        "      - {id: purpose, type: text, label: {mn: Зорилго, en: Purpose}}\n      - {id: copies,",
    )
    service.write_text(text)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_case_in_flight_keeps_its_definition_version(project: Path, db_url: str) -> None:
    first = build_app(project, db_url)
    citizen = first.client()
    citizen.sign_in()
    old = api_submit(citizen, district="khan_uul")
    old_version = old["definition_version"]
    change_definition(project)
    # Live reload in the running process …
    first.portal.use_catalog(load_catalog([str(project / "service_defs")]))
    new_version = first.portal.book.get("test-certificate").version  # type: ignore[union-attr]
    assert new_version != old_version
    missing = citizen.post(
        "/api/services/test-certificate/applications",
        json={"answers": {"applicant_phone": "99112233", "reason": "lost", "copies": 1, "district": "khan_uul"}},
        headers={"X-CSRF-Token": citizen.get("/api/session").json()["csrf_token"]},
    )
    assert missing.status_code == 422 and "purpose" in missing.text  # new cases follow the new version
    first.portal.engine.dispose()
    # … and after a restart, when the old version exists only in the database.
    restarted = build_app(project, db_url)
    staff = officer(restarted, "gasr-central") if restarted.demo_password else None
    assert staff is None  # demo accounts are created (and printed) only once
    staff = restarted.client()
    staff.staff_sign_in("gasr-central", first.demo_password)
    page = staff.get(f"/staff/cases/{old['tracking']}")
    assert page.status_code == 200 and 'value="approve"' in page.text and 'value="grant"' not in page.text
    done = staff.submit(f"/staff/cases/{old['tracking']}/action", {"action": "approve", "version": "1"})
    assert done.status_code == 200 and "Олгосон" in main_text(done)
    with restarted.portal.engine.connect() as conn:
        row = conn.execute(sa.select(applications).where(applications.c.tracking == old["tracking"])).mappings().one()
    assert row["definition_version"] == old_version and row["state"] == "granted"
    restarted.portal.engine.dispose()


# --- SLA, queue filters, search -------------------------------------------------------------------------------------
def test_working_days_skip_weekends_and_holidays() -> None:
    friday = dt.date(2026, 11, 20)
    assert cases.add_working_days(friday, 1) == dt.date(2026, 11, 23)  # Monday
    assert cases.add_working_days(dt.date(2026, 11, 25), 1) == dt.date(2026, 11, 27)  # 26 Nov is a holiday
    assert cases.add_working_days(dt.date(2026, 7, 10), 1) == dt.date(2026, 7, 16)  # Naadam and a weekend


def test_queue_marks_overdue_cases_and_filters(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    late = api_submit(citizen, district="khan_uul")["tracking"]
    fresh = api_submit(citizen, district="khan_uul")["tracking"]
    with portal_app.portal.engine.begin() as conn:
        conn.execute(
            applications.update()
            .where(applications.c.tracking == late)
            .values(due_date="2020-01-02", state_due_date="2020-01-01")
        )
    staff = officer(portal_app, "gasr-central")
    queue = staff.get("/staff")
    row = queue.text[queue.text.find(late) :]
    assert "Хугацаа хэтэрсэн" in row[: row.find("</tr>")]
    overdue_only = staff.get("/staff?overdue=1").text
    assert late in overdue_only and fresh not in overdue_only
    staff.submit(f"/staff/cases/{fresh}/assign", {"assignee": "me", "version": "1"})
    mine = staff.get("/staff?assigned=me").text
    assert fresh in mine and late not in mine


def test_search_meets_cyrillic_and_latin_spellings(project: Path) -> None:
    catalog = load_catalog([str(project / "service_defs")])
    index = SearchIndex(catalog.services.values())
    for query in ("гэрчилгээ", "gerchilgee", "Gerchilge", "certificate", "ГЭРЧИЛГЭЭ"):
        assert [s.id for s in index.search(query)] == ["test-certificate"], query
    assert index.search("газар") == [] and index.search("") == []
    assert fold("Хан-Уул") == fold("Khan-Uul") and fold("Өвөрхангай") == fold("Ovorkhangai")


def test_service_page_and_english_switch(portal_app: PortalApp) -> None:
    client = portal_app.client()
    page = client.get("/services/test-certificate")
    assert '<html lang="mn">' in page.text and "Улсын тэмдэгтийн" not in page.text and "Хураамж" in page.text
    english = client.get("/lang/en?next=/services/test-certificate")
    assert str(english.url).endswith("/services/test-certificate")
    assert '<html lang="en">' in english.text and "Documents you need" in english.text and "Duty" in english.text
    assert "ID card" in english.text and "Fetched from the state registry" in english.text
    assert "/lang/mn" in english.text
    evil = client.get("/lang/mn?next=//evil.example/")
    assert str(evil.url) == "http://testserver/"
    assert client.get("/services/nope").status_code == 404


def test_broken_service_files_are_skipped_and_reported(project: Path, tmp_path: Path) -> None:
    broken = project / "service_defs" / "central" / "gasr" / "broken-service.yaml"
    shutil.copy(project / "service_defs" / "central" / "gasr" / "test-certificate.yaml", broken)
    broken.write_text(broken.read_text().replace("id: test-certificate", "id: broken-service").replace("gasr", "nope"))
    import io

    from engine.run.web.app import load_services

    out = io.StringIO()
    catalog = load_services((str(project / "service_defs"),), out)
    assert list(catalog.services) == ["test-certificate"]
    assert "broken-service.yaml" in out.getvalue()


def test_readonly_prefilled_answers_are_kept(project: Path, db_url: str) -> None:
    registries = project / "service_defs" / "_shared" / "registries.yaml"
    registries.write_text(
        registries.read_text().replace(
            "prefill: profile.register_number}", "prefill: profile.register_number, readonly: true}"
        )
    )
    built = build_app(project, db_url)
    citizen = built.client()
    citizen.sign_in()
    started = citizen.submit("/services/test-certificate/start")
    base = re.search(r"/apply/\d+", str(started.url)).group(0)  # type: ignore[union-attr]
    page = citizen.submit(f"{base}/0", {"applicant_register": OTHER_REGISTER, "district": "bayangol"})
    assert 'value="УБ99032112" readonly' in page.text and OTHER_REGISTER not in page.text
    built.portal.engine.dispose()


def test_deployers_override_a_widget_template_by_a_folder_first_on_the_path(
    project: Path, db_url: str, tmp_path: Path
) -> None:
    overrides = tmp_path / "overrides" / "widgets"
    overrides.mkdir(parents=True)
    (overrides / "textarea.html").write_text('<p class="house-style" data-field="{{ fv.name }}">{{ fv.label }}</p>\n')
    built = build_app(project, db_url)
    themed = create_app(
        replace(built.settings, template_dirs=(tmp_path / "overrides",)), catalog=built.portal.book.catalog
    )
    with Client(themed) as client:
        client.sign_in()
        page = client.submit("/services/test-certificate/start")
        assert '<p class="house-style" data-field="damage">Гэмтэл</p>' in page.text
        assert 'name="copies"' in page.text  # the other widgets still come from renderers/templates
    built.portal.engine.dispose()
