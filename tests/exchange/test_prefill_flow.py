"""The exchange in a citizen's application, end to end on the local registry: consent per operation,
prefilled fields shown as registry data (read-only unless correctable), registry extracts on the
case, and the failure path where the registry does not answer but nothing is lost."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine.run.exchange.adapter import TIMEOUT, FailingRegistry
from engine.run.exchange.tables import registry_calls, registry_consents, registry_records
from engine.run.web.exchange import adapter_of
from tests.portal.conftest import BACKENDS, REGISTER, Client, PortalApp, main_text, tracking_of

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def start(citizen: Client) -> str:
    citizen.sign_in()
    page = citizen.submit("/services/vehicle-record/start")
    found = re.search(r"/apply/(\d+)/0", str(page.url))
    assert found, page.url
    assert "data-registry-offer" in page.text  # the first page offers to fetch the data
    return f"/apply/{found.group(1)}"


def field_input(page_text: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page_text)
    assert found, name
    return found.group(0)


def officer_case(app: PortalApp, tracking: str) -> str:
    officer = app.client()
    officer.staff_sign_in("gasr-central", app.demo_password)
    page = officer.get(f"/staff/cases/{tracking}")
    assert page.status_code == 200
    return main_text(page)


def rows(app: PortalApp, table: sa.Table) -> list[dict]:
    with app.portal.engine.begin() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def test_prefill_fetch_and_extract_on_the_local_registry(exchange_app: PortalApp) -> None:
    citizen = exchange_app.client()
    base = start(citizen)
    consent = citizen.get(f"{base}/registry")
    assert consent.status_code == 200
    # The plate is offered from the citizen's own vehicle in the local registry (enrolled on first sight).
    plate = re.search(r'name="key.WS100401"[^>]*value="([^"]*)"', consent.text)
    assert plate and re.fullmatch(r"[0-9]{4} [А-ЯЁӨҮ]{3}", plate.group(1)), consent.text
    page = citizen.submit(
        f"{base}/registry",
        {"_agree": "1", "consent": ["WS100101", "WS100103", "WS100401"], "key.WS100401": plate.group(1)},
    )
    assert str(page.url).endswith(f"{base}/0") and "data-registry-offer" not in page.text
    body = main_text(page)
    # Shown as coming from the civil registry, read-only unless the service allows a correction.
    assert "Иргэний бүртгэлээс" in body and 'data-registry="WS100101"' in body
    surname = field_input(body, "surname")
    assert "readonly" in surname and re.search(r'value="[^"]+"', surname)
    assert "readonly" not in field_input(body, "id_card_number")
    assert 'value="' + plate.group(1) + '"' in field_input(body, "plate")
    make = re.search(r'value="([^"]+)"', field_input(body, "make"))
    assert make and make.group(1) in {"Toyota", "Hyundai", "Lexus", "Nissan", "Kia", "Honda"}
    locked = re.search(r'value="([^"]+)"', surname).group(1)  # type: ignore[union-attr]

    # A posted change to a locked value is ignored; a correctable one is kept.
    answers = {"applicant_register": REGISTER, "applicant_phone": "99112233", "surname": "Хуурамч",
               "id_card_number": "12345678", "plate": plate.group(1), "make": make.group(1), "district": "bayangol"}
    page = citizen.submit(f"{base}/0", answers)
    assert str(page.url).endswith(f"{base}/check"), main_text(page)
    check = main_text(page)
    assert locked in check and "Хуурамч" not in check and "12345678" in check
    page = citizen.submit(f"{base}/submit")
    tracking = tracking_of(page)

    # Consent per operation and one call per operation, recorded.
    consents = rows(exchange_app, registry_consents)
    assert sorted((c["operation"], c["granted"]) for c in consents) == [
        ("WS100101", True), ("WS100103", True), ("WS100401", True)]
    calls = rows(exchange_app, registry_calls)
    assert {c["operation"]: c["status"] for c in calls} == {"WS100101": "ok", "WS100103": "ok", "WS100401": "ok"}
    assert all(c["consent_id"] is not None and c["source"] == "local" for c in calls)
    id_call = next(c for c in calls if c["operation"] == "WS100101")
    assert id_call["purpose"] == "document" and id_call["result"]["surname"] == locked
    assert set(id_call["result"]) <= {"register_number", "surname", "given_name", "birth_date", "sex",
                                      "id_card_number", "address"}

    # The officer sees the registry extract, its source and time; nothing to check by hand.
    case = officer_case(exchange_app, tracking)
    assert 'data-registry-extract="id_card"' in case and "ХУР WS100101, local" in case
    assert "data-registry-manual" not in case
    assert "data-registry-calls" in case and "surname" in case  # which answers came from which operation
    # The citizen sees the extract on their application too.
    mine = main_text(citizen.get(f"/applications/{tracking}"))
    assert 'data-registry-extract="id_card"' in mine


def test_registry_failure_still_lets_the_citizen_apply(exchange_app: PortalApp) -> None:
    exchange_app.portal.registry_adapter = FailingRegistry(TIMEOUT)
    citizen = exchange_app.client()
    base = start(citizen)
    page = citizen.submit(
        f"{base}/registry", {"_agree": "1", "consent": ["WS100101", "WS100103", "WS100401"], "key.WS100401": "1234 УБА"}
    )
    assert "registry=failed" in str(page.url)
    body = main_text(page)
    assert "Зарим мэдээллийг төрийн мэдээллийн сангаас авч чадсангүй" in body
    assert "readonly" not in field_input(body, "surname")  # nothing came, so the citizen types it
    answers = {"applicant_register": REGISTER, "applicant_phone": "99112233", "surname": "Батбаяр",
               "id_card_number": "12345678", "home.region": "ulaanbaatar", "home.soum_district": "bayangol",
               "home.bag_khoroo": "2", "home.street": "1-р байр", "plate": "1234 УБА", "make": "Toyota",
               "district": "bayangol"}
    page = citizen.submit(f"{base}/0", answers)
    assert str(page.url).endswith(f"{base}/check"), main_text(page)
    tracking = tracking_of(citizen.submit(f"{base}/submit"))
    assert {c["status"] for c in rows(exchange_app, registry_calls)} == {TIMEOUT}
    case = officer_case(exchange_app, tracking)
    assert "data-registry-manual" in case and "хариу ирсэнгүй" in case  # marked for a manual check
    assert "Батбаяр" in case  # what the citizen typed is on the case


def test_declined_consent_calls_nothing(exchange_app: PortalApp) -> None:
    citizen = exchange_app.client()
    base = start(citizen)
    page = citizen.submit(f"{base}/registry", {"_skip": "1", "consent": ["WS100101"]})
    assert str(page.url).endswith(f"{base}/0") and "data-registry-offer" not in page.text
    consents = rows(exchange_app, registry_consents)
    assert len(consents) == 3 and not any(c["granted"] for c in consents)
    assert {c["status"] for c in rows(exchange_app, registry_calls)} == {"no_consent"}
    assert "readonly" not in field_input(main_text(page), "surname")


def test_consent_is_per_operation(exchange_app: PortalApp) -> None:
    citizen = exchange_app.client()
    base = start(citizen)
    citizen.submit(f"{base}/registry", {"_agree": "1", "consent": ["WS100103"]})
    calls = {c["operation"]: c for c in rows(exchange_app, registry_calls)}
    assert calls["WS100103"]["status"] == "ok" and calls["WS100103"]["filled"] == ["home"]
    assert calls["WS100101"]["status"] == "no_consent" and calls["WS100401"]["status"] == "no_consent"
    # The local registry was seeded on first use, with the demo population.
    with exchange_app.portal.engine.begin() as conn:
        people = conn.execute(
            sa.select(sa.func.count()).select_from(registry_records).where(registry_records.c.kind == "person")
        ).scalar()
    assert people is not None and people >= 300
    assert adapter_of(exchange_app.portal).name == "local"


def test_another_citizen_cannot_use_my_draft(exchange_app: PortalApp) -> None:
    owner = exchange_app.client()
    base = start(owner)
    other = exchange_app.client()
    other.sign_in("ИЮ88110355")
    assert other.get(f"{base}/registry").status_code == 404
    assert other.submit(f"{base}/registry", {"_agree": "1", "consent": ["WS100101"]}).status_code == 404
    assert rows(exchange_app, registry_calls) == []
