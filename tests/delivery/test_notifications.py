"""Notices per declared event, in the citizen's chosen channel and language: a real SMTP server on loopback,
a stub SMS gateway, the in-portal inbox in both languages, and every decided case sent once to its agency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.run import effects
from engine.run.delivery_settings import DeliverySettings, Endpoint, SmsSettings, SmtpSettings
from engine.run.notify.channels import sign
from engine.run.worker import Worker
from tests.delivery.project import with_effects
from tests.delivery.stubs import Mailbox, Receiver, receiver, smtp_server
from tests.outputs.test_issued_documents import act, officer_of
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, Client, PortalApp, build_app
from tests.portal.helpers import api_submit

SECRET = "agency-secret"


@pytest.fixture
def app(project: Path, db_url: str) -> Iterator[PortalApp]:
    built = build_app(with_effects(project), db_url)
    yield built
    built.portal.engine.dispose()


@pytest.fixture
def wired() -> Iterator[tuple[DeliverySettings, Mailbox, Receiver, Receiver]]:
    with smtp_server() as box, receiver() as sms, receiver() as agency:
        settings = DeliverySettings(
            smtp=SmtpSettings("127.0.0.1", box.port, sender="noreply@e-mongolia.test"),
            sms=SmsSettings(sms.url, token="gateway-token"),
            endpoints={"gasr": Endpoint(agency.url, SECRET)},
            public_url="https://portal.test",
            timeout=5,
        )
        effects.configure(settings)
        try:
            yield settings, box, sms, agency
        finally:
            effects.configure(None)


def choose(citizen: Client, channel: str, language: str, **address: str) -> None:
    page = citizen.submit("/my/profile", {"channel": channel, "language": language, **address})
    assert page.status_code == 200 and f'value="{channel}" checked' in page.text


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_each_declared_event_reaches_the_citizen_in_their_channel_and_language(
    app: PortalApp, wired: tuple[DeliverySettings, Mailbox, Receiver, Receiver]
) -> None:
    settings, mailbox, sms, agency = wired
    emailed = app.client()
    emailed.sign_in()
    choose(emailed, "email", "en", email="bat@example.mn")
    texted = app.client()
    texted.sign_in(OTHER_REGISTER)
    choose(texted, "sms", "mn", phone="88001122")
    registrar = officer_of(app, "gasr-bayangol")

    granted = api_submit(emailed, district="bayangol")["tracking"]
    act(app, registrar, granted, "approve")
    act(app, registrar, granted, "hand_over")
    returned = api_submit(texted, district="bayangol")["tracking"]
    act(app, registrar, returned, "return_for_correction", comment="Зураг дутуу")
    refused = api_submit(texted, district="bayangol")["tracking"]
    act(app, registrar, refused, "reject", comment="Хугацаа хэтэрсэн")

    worker = Worker(app.portal.engine, settings, book=app.portal.book)
    assert worker.deliver_due().delivered == 3 + 4 + 2  # emails, SMS, decided cases

    assert {m["To"] for m in mailbox.messages} == {"bat@example.mn"}
    subjects = [m["Subject"] for m in mailbox.messages]
    bodies = [m.get_payload(decode=True).decode().strip() for m in mailbox.messages]  # type: ignore[union-attr]
    assert subjects[0] == f"Application {granted} received"
    assert subjects[1].endswith(f"issued ({granted})")
    assert f"No. {granted}-1" in bodies[1] and "https://portal.test/verify/" in bodies[1]
    assert bodies[2] == f"You collected your certificate ({granted})."  # the workflow's own message

    texts = [r.json["text"] for r in sms.receipts]
    assert {r.json["to"] for r in sms.receipts} == {"88001122"}
    assert all(r.headers["authorization"] == "Bearer gateway-token" for r in sms.receipts)
    assert "хүлээн авлаа" in texts[0] and returned in texts[0]
    assert "Засвар" in texts[1] and "Зураг дутуу" in texts[1]  # the new state and the officer's reason, in Mongolian
    assert refused in texts[3] and "олгогдлоо" in texts[3]  # the refusal decision was issued

    decided = {r.json["tracking"]: r for r in agency.receipts}
    assert sorted(decided) == sorted([granted, refused]) and len(agency.receipts) == 2  # once each
    assert decided[granted].json["outcome"] == "granted" and decided[refused].json["outcome"] == "rejected"
    assert decided[refused].json["documents"][0]["number"] == f"{refused}-1"
    for r in agency.receipts:
        assert r.headers["idempotency-key"] == f"case:{r.json['tracking']}:decided"
        assert r.headers["x-tsonkh-signature"] == sign(SECRET, r.headers["x-tsonkh-timestamp"], r.body)
    assert worker.deliver_due().delivered == 0 and len(agency.receipts) == 2

    inbox_mn = emailed.get("/my/inbox").text
    assert f"Өргөдөл {granted} хүлээн авлаа" in inbox_mn  # the inbox always has it, in the portal's language
    emailed.get("/lang/en?next=/my/inbox")
    assert f"Application {granted} received" in emailed.get("/my/inbox").text
    assert f"Шинэ ажил: {granted}" in registrar.get("/staff/inbox").text  # the state's {notify: office}
    assert registrar.get("/staff/outbox").status_code == 403  # dead letters are for the head of office


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_dead_letters_are_shown_to_the_head_of_office_for_replay(
    app: PortalApp, wired: tuple[DeliverySettings, Mailbox, Receiver, Receiver]
) -> None:
    settings, _, _, agency = wired
    citizen = app.client()
    citizen.sign_in()
    tracking = api_submit(citizen, district="khan_uul")["tracking"]  # gasr-central: registrar and head_of_office
    head = officer_of(app, "gasr-central")
    act(app, head, tracking, "reject", comment="incomplete")
    agency.plan = ["fail"]
    worker = Worker(app.portal.engine, settings, book=app.portal.book, max_attempts=1)
    assert worker.deliver_due().dead == 1
    page = head.get("/staff/outbox")
    assert page.status_code == 200 and "HTTP 503" in page.text and "/replay" in page.text
    message_id = page.text.split("/staff/outbox/")[1].split("/replay")[0]
    head.submit(f"/staff/outbox/{message_id}/replay")
    assert worker.deliver_due().delivered == 1
    assert [r.json["tracking"] for r in agency.receipts] == [tracking, tracking]
