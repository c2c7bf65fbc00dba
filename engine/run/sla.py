"""SLA timers: a reminder to the office before a state's working-day deadline and an escalation after it.

The deadline is the case's `state_due_date`, set from the state's `sla_days` on the holiday
calendar when the case entered the state. Each reminder or escalation is recorded in `sla_events`
(unique per case, state, deadline and kind) in the same transaction as its notice, so a restart or
a second worker never sends one twice and a crash never loses one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.run.calendar import HolidayCalendar
from engine.run.db import applications, now
from engine.run.delivery_db import sla_events
from engine.run.notify import inbox
from engine.run.notify.messages import compose

REMIND_BEFORE = 1  # working days before the deadline
ESCALATE_AFTER = 1  # working days past the deadline
HEAD_ROLE = "head_of_office"


def due_events(calendar: HolidayCalendar, due: dt.date, today: dt.date) -> list[str]:
    """Which timers are due today for a deadline: reminder from REMIND_BEFORE days before; escalation after."""
    events = []
    if calendar.subtract_working_days(due, REMIND_BEFORE) <= today <= due:
        events.append("reminder")
    if today > due and calendar.working_days_between(due, today) >= ESCALATE_AFTER:
        events.append("escalation")
    return events


def check(engine: Engine, book: Any, calendar: HolidayCalendar, today: dt.date) -> dict[str, int]:
    horizon = (today + dt.timedelta(days=30)).isoformat()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(applications.c.id, applications.c.state, applications.c.state_due_date).where(
                applications.c.state_due_date.is_not(None), applications.c.state_due_date <= horizon
            )
        ).all()
        # What was sent already is skipped here, so long-overdue cases cost one read per pass, not a write.
        done = {
            tuple(row)
            for row in conn.execute(
                sa.select(sla_events.c.application_id, sla_events.c.state, sla_events.c.due_date, sla_events.c.kind)
                .join(applications, applications.c.id == sla_events.c.application_id)
                .where(applications.c.state_due_date <= horizon)
            )
        }
    sent = {"reminder": 0, "escalation": 0}
    for app_id, state, due_text in rows:
        events = due_events(calendar, dt.date.fromisoformat(due_text), today)
        for kind in events:
            if (app_id, state, due_text, kind) in done:
                continue
            with engine.begin() as conn:
                if _fire(conn, book, app_id, kind):
                    sent[kind] += 1
    return sent


def _fire(conn: Connection, book: Any, app_id: int, kind: str) -> bool:
    from engine.run.effects import context

    row = conn.execute(sa.select(applications).where(applications.c.id == app_id)).mappings().first()
    app = dict(row) if row is not None else None
    if app is None or not app["state_due_date"]:
        return False
    service = book.pinned(conn, app["definition_version"])
    if service is None:
        return False
    state = service.workflow.states.get(app["state"])
    if state is None or state.final or state.role in (None, "applicant", "system"):
        return False  # the clock runs on the office's work only
    try:
        with conn.begin_nested():
            conn.execute(
                sla_events.insert().values(
                    application_id=app_id, state=app["state"], due_date=app["state_due_date"], kind=kind, at=now()
                )
            )
    except IntegrityError:
        return False  # already sent (by an earlier pass or another worker)
    notice = compose(kind, context(service, app, book.catalog.registries))
    inbox.tell_office(conn, app["office"], notice, app_id)
    return True
