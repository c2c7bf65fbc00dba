"""Every service the portal serves renders, and one real catalog service goes end to end: a citizen
applies through the generated pages and an officer of the routed office takes it to a final state."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import pytest

from engine.catalog import Catalog, load_catalog
from engine.compile.service import Service
from engine.run import cases
from tests.conftest import REPO
from tests.portal.conftest import REGISTER, Client, PortalApp, build_app, main_text, tracking_of
from tests.portal.walker import file_for, form_pairs, path_to_final, sample_answers, scalar

CATALOG = REPO / "service_defs"
pytestmark = pytest.mark.xdist_group("catalog")  # one worker loads the real catalog once for these


@functools.cache
def real_catalog() -> Catalog:
    return load_catalog([str(CATALOG)], root=REPO)


def catalog_app(tmp_path: Path) -> PortalApp | None:
    """The portal over the real catalog in service_defs/, when it has services that compile."""
    catalog = real_catalog()
    if not catalog.services:
        return None
    return build_app(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}", catalog=catalog)


def option_lists(app: PortalApp) -> dict[str, tuple]:  # type: ignore[type-arg]
    lists = app.portal.book.catalog.registries.option_lists
    return {name: lists[name].options for name in ("ub_districts", "ub_khoroos", "regions") if name in lists}


def processable(app: PortalApp, service: Service) -> dict[str, object] | None:
    """Generated answers for `service` when they pass its validator and route to an office."""
    answers = sample_answers(service, option_lists(app), dt.date.today())
    validation = service.validate(answers)
    if not validation.ok:
        return None
    office = service.route(validation.values)
    if office is None or office not in app.portal.book.catalog.registries.offices:
        return None
    return answers


def apply_through_pages(citizen: Client, service: Service, answers: dict[str, object]) -> str:
    register = answers.get("applicant_register")
    citizen.sign_in(register if isinstance(register, str) else REGISTER)  # the profile prefills (readonly)
    page = citizen.submit(f"/services/{service.id}/start")
    base = re.search(r"/apply/\d+", str(page.url)).group(0)  # type: ignore[union-attr]
    for index, section in enumerate(service.sections):
        shown = [("_shown", f.id) for f in section.fields if f.show_if is not None]
        data: dict[str, list[str]] = {}
        for name, value in [("csrf", citizen.csrf), *form_pairs(section.fields, answers), *shown]:
            data.setdefault(name, []).append(value)
        page = citizen.post(f"{base}/{index}", data=data)
        assert page.status_code == 200, (service.id, section.id, main_text(page)[:2000])
    values = service.validate(answers).values
    for doc in service.required_documents(values):
        if doc.registry is not None:
            continue
        upload = file_for(doc.accept)
        assert upload is not None, (service.id, doc.id, doc.accept)
        page = citizen.submit(f"{base}/documents", {"document": doc.id}, files={"file": upload})
        assert page.status_code == 200, (service.id, doc.id, main_text(page)[:1000])
    check = citizen.get(f"{base}/check")
    assert check.status_code == 200, (service.id, main_text(check)[:2000])
    receipt = citizen.submit(f"{base}/submit")
    assert "/receipt" in str(receipt.url), (service.id, main_text(receipt)[:2000])
    return tracking_of(receipt)


def process_to_final(app: PortalApp, service: Service, tracking: str, citizen: Client) -> str:
    """Walk the case to a final state: the officer acts, the citizen acts or pays when it is their turn."""
    with app.portal.engine.connect() as conn:
        case = cases.by_tracking(conn, tracking)
    assert case is not None
    office = app.portal.book.catalog.registries.offices[case["office"]]
    officer = app.client()
    officer.staff_sign_in(office.id, app.demo_password)
    for _ in range(15):
        with app.portal.engine.connect() as conn:
            case = cases.by_tracking(conn, tracking)
        assert case is not None
        if service.workflow.states[case["state"]].final:
            return str(case["state"])
        values = service.validate(case["answers"]).values
        plan = path_to_final(service.workflow, case["state"], office.roles, case["back_state"], values)
        assert plan, (service.id, case["state"], "no way to a final state for", sorted(office.roles))
        who, action = plan[0]
        data = {"action": action, "version": str(case["row_version"]), "comment": "Шалгав"}
        if who == "officer":
            transition = next(t for t in service.workflow.outgoing(case["state"]) if t.action == action)
            for fid in transition.requires_fields:
                data[f"field.{fid}"] = str(scalar(service.field_index[fid], dt.date.today(), {}))
            done = officer.submit(f"/staff/cases/{tracking}/action", data)
        elif who == "applicant":
            citizen.get(f"/applications/{tracking}")
            done = citizen.submit(f"/applications/{tracking}/action", data)
        else:
            assert 'action="/applications/' + tracking + '/pay"' in citizen.get(f"/applications/{tracking}").text
            done = citizen.submit(f"/applications/{tracking}/pay")
        assert done.status_code == 200, (service.id, who, action, main_text(done)[:1500])
    raise AssertionError(f"{service.id}: no final state after 15 actions")


def journey(app: PortalApp) -> tuple[str, str]:
    for service in sorted(app.portal.book.services.values(), key=lambda s: s.id):
        answers = processable(app, service)
        if answers is None:
            continue
        citizen = app.client()
        tracking = apply_through_pages(citizen, service, answers)
        return service.id, process_to_final(app, service, tracking, citizen)
    pytest.skip("no catalog service accepts generated answers")


def test_fixture_service_end_to_end_by_the_generic_walker(portal_app: PortalApp) -> None:
    service_id, final = journey(portal_app)
    assert service_id == "test-certificate" and final == "granted"


def test_every_catalog_service_page_and_form_renders(tmp_path: Path) -> None:
    """No service may crash a page: service page, each form step, documents and check-your-answers."""
    app = catalog_app(tmp_path)
    if app is None:
        pytest.skip("service_defs has no service that compiles yet")
    try:
        citizen = app.client()
        citizen.sign_in()
        english = app.client()
        english.get("/lang/en")
        for service in app.portal.book.services.values():
            assert citizen.get(f"/services/{service.id}").status_code == 200, service.id
            assert english.get(f"/services/{service.id}").status_code == 200, service.id
            assert citizen.get(f"/services/{service.id}/schema.json").status_code == 200, service.id
            page = citizen.submit(f"/services/{service.id}/start")
            base = re.search(r"/apply/\d+", str(page.url)).group(0)  # type: ignore[union-attr]
            for index in range(len(service.sections)):
                assert citizen.get(f"{base}/{index}").status_code == 200, (service.id, index)
            empty = citizen.submit(f"{base}/0", {})
            assert (empty.status_code in (200, 422) and "error-summary" in empty.text) or empty.status_code == 200
            assert citizen.get(f"{base}/check").status_code in (200, 422), service.id
        assert citizen.get("/").status_code == 200
    finally:
        app.portal.engine.dispose()


def test_real_catalog_services_end_to_end_one_per_workflow_pattern(tmp_path: Path) -> None:
    """For each workflow pattern in use (and a few inline workflows): apply through the pages and
    process the case to a final state — officers, automatic steps, payments and applicant steps."""
    app = catalog_app(tmp_path)
    if app is None:
        pytest.skip("service_defs has no service that compiles yet")
    try:
        chosen: dict[str, Service] = {}
        inline = 0
        for service in sorted(app.portal.book.services.values(), key=lambda s: s.id):
            key = service.workflow.pattern or f"inline:{service.id}"
            if key in chosen or (service.workflow.pattern is None and inline >= 3):
                continue
            if processable(app, service) is None:
                continue
            chosen[key] = service
            inline += service.workflow.pattern is None
        assert chosen
        finals = {}
        for key, service in chosen.items():
            answers = processable(app, service)
            assert answers is not None
            citizen = app.client()
            tracking = apply_through_pages(citizen, service, answers)
            finals[key] = process_to_final(app, service, tracking, citizen)
        assert all(service.workflow.states[finals[key]].final for key, service in chosen.items())
    finally:
        app.portal.engine.dispose()
