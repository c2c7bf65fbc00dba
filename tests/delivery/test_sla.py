"""SLA timers over the holiday calendar: a reminder one working day before a state's deadline, an
escalation after it, each sent once however often (or by however many workers) the check runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.run import sla
from engine.run.calendar import default_calendar
from engine.run.db import applications
from engine.run.delivery_settings import DeliverySettings
from engine.run.notify import inbox
from engine.run.worker import Worker
from tests.delivery.project import with_effects
from tests.outputs.test_issued_documents import act, officer_of
from tests.portal.conftest import BACKENDS, PortalApp, build_app
from tests.portal.helpers import api_submit

D = dt.date


@pytest.fixture
def app(project: Path, db_url: str) -> Iterator[PortalApp]:
    built = build_app(with_effects(project), db_url)
    yield built
    built.portal.engine.dispose()


def test_timers_due_around_naadam() -> None:
    cal = default_calendar()
    due = D(2026, 7, 16)  # Thursday after Naadam (11–15 July)
    assert sla.due_events(cal, due, D(2026, 7, 9)) == []
    assert sla.due_events(cal, due, D(2026, 7, 10)) == ["reminder"]  # the working day before is Friday the 10th
    assert sla.due_events(cal, due, D(2026, 7, 14)) == ["reminder"]
    assert sla.due_events(cal, due, D(2026, 7, 16)) == ["reminder"]
    assert sla.due_events(cal, due, D(2026, 7, 17)) == ["escalation"]
    assert sla.due_events(cal, D(2026, 2, 17), D(2026, 2, 21)) == []  # past due, but no working day has passed yet
    assert sla.due_events(cal, D(2026, 2, 17), D(2026, 2, 23)) == ["escalation"]


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_reminder_and_escalation_are_sent_once_and_survive_a_restart(app: PortalApp) -> None:
    citizen = app.client()
    citizen.sign_in()
    tracking = api_submit(citizen, district="bayangol")["tracking"]
    waiting = api_submit(citizen, district="bayangol")["tracking"]
    act(app, officer_of(app, "gasr-bayangol"), waiting, "return_for_correction", comment="fix")  # the citizen's turn
    engine, book, cal = app.portal.engine, app.portal.book, default_calendar()
    with engine.begin() as conn:
        row = conn.execute(sa.select(applications).where(applications.c.tracking == tracking)).mappings().one()
        assert row["state_due_date"] == cal.add_working_days(D.fromisoformat(row["submitted_at"][:10]), 2).isoformat()
        conn.execute(applications.update().values(state_due_date="2026-07-16"))
    sent = [sla.check(engine, book, cal, D(2026, 7, day)) for day in (9, 10, 13, 16, 17, 20)]
    assert sent == [
        {"reminder": 0, "escalation": 0},
        {"reminder": 1, "escalation": 0},
        {"reminder": 0, "escalation": 0},
        {"reminder": 0, "escalation": 0},
        {"reminder": 0, "escalation": 1},
        {"reminder": 0, "escalation": 0},
    ]
    restarted = Worker(engine, DeliverySettings(), book=book, clock=lambda: dt.datetime(2026, 7, 21, 9, tzinfo=dt.UTC))
    assert restarted.run_once().sla == {"reminder": 0, "escalation": 0}
    with engine.connect() as conn:
        notices = [n["message"]["subject"]["en"] for n in inbox.office_inbox(conn, "gasr-bayangol")]
    assert f"Due soon: {tracking}" in notices and f"Overdue: {tracking}" in notices
    assert not any(waiting in n and ("Due" in n or "Overdue" in n) for n in notices)  # no clock on the citizen's turn
