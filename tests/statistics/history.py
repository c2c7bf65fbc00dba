"""A synthetic case history with known answers, written through the real submit and action paths
with the audit clock set to chosen days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.run import audit, cases
from tests.portal.conftest import Client, PortalApp
from tests.portal.helpers import api_submit

MONDAY = dt.date(2026, 3, 2)  # no public holiday on a weekday until 13 March 2026
OFFICE = "gasr-bayangol"


@contextmanager
def audit_day(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> Iterator[None]:
    original = audit.now
    monkeypatch.setattr(audit, "now", lambda: f"{day.isoformat()}T03:00:00.000000Z")
    try:
        yield
    finally:
        monkeypatch.setattr(audit, "now", original)


def officer(app: PortalApp) -> cases.Actor:
    with app.portal.engine.begin() as conn:
        from engine.run import auth

        member = next(s for s in auth.office_staff(conn, OFFICE))
    return cases.Actor("staff", member.id, member.name, member.roles, member.office)


def act(app: PortalApp, tracking: str, action: str, comment: str | None = None) -> None:
    portal = app.portal
    who = officer(app)  # read before the action's transaction: SQLite has one writer
    with portal.engine.begin() as conn:
        case = cases.by_tracking(conn, tracking)
        assert case is not None
        outcome = cases.fire(conn, portal.book, case["id"], who, action, comment, None, MONDAY)
        assert outcome.ok, outcome.code


def build_history(app: PortalApp, citizen: Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """7 applications on one Monday: six decided 1…6 working days later (the last one rejected), one
    returned for correction and left open."""
    trackings = []
    with audit_day(monkeypatch, MONDAY):
        for _ in range(7):
            trackings.append(api_submit(citizen)["tracking"])
    decided_on = [MONDAY + dt.timedelta(days=d) for d in (1, 2, 3, 4, 7, 8)]  # Tue…Fri, Mon, Tue
    for n, (tracking, day) in enumerate(zip(trackings, decided_on, strict=False)):
        with audit_day(monkeypatch, day):
            if n == 5:
                act(app, tracking, "reject", "Шаардлага хангаагүй")
            else:
                act(app, tracking, "approve")
    with audit_day(monkeypatch, MONDAY + dt.timedelta(days=1)):
        act(app, trackings[6], "return_for_correction", "Зургаа солино уу")
    return trackings
