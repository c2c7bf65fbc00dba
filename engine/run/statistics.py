"""Open service statistics, computed from the audit trail (never from counters that can drift).

For each case the audit chain says when it was received (`submit`), whether it was ever returned to
the applicant for correction, and when it first entered a final state of its pinned workflow.
From those: applications per month, share decided, median and 90th-percentile processing time in
working days (Mongolian holidays from engine/run/calendar.py), share within the promised SLA, share
returned for correction, the open queue and the citizens' average rating. Counts from 1 to 4 are
published as "<5" and shares, times and ratings over fewer than 5 cases are withheld, so that no
one can be recognised; nothing personal is ever read into a result.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics as pystats
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile.service import Service
from engine.compile.workflow import BACK
from engine.run.calendar import HolidayCalendar, default_calendar
from engine.run.db import applications, audit_log
from engine.run.feedback import ratings as all_ratings
from engine.run.services import ServiceBook

THRESHOLD = 5  # smallest count published as a number
SUPPRESSED = "<5"
MONTHS_SHOWN = 12
GRANTED = ("granted", "completed")


@dataclass
class CaseTrail:
    """One case as its audit records tell it."""

    service_id: str
    received: dt.date
    closed: dt.date | None = None
    returned: bool = False
    state: str | None = None
    granted: bool = False  # closed in a final state whose outcome is `granted` or `completed`


@dataclass
class ServiceStatistics:
    service_id: str
    sla_days: int | None
    received: int = 0
    decided: int = 0
    granted: int = 0
    open: int = 0
    returned: int = 0
    within_sla: int = 0
    days: list[int] = field(default_factory=list)  # processing time of each decided case, working days
    per_month: dict[str, int] = field(default_factory=dict)  # YYYY-MM → applications received
    ratings: list[int] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return float(pystats.median(self.days)) if self.days else None

    @property
    def p90_days(self) -> int | None:
        return percentile(self.days, 90)

    @property
    def rating(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    def public(self, months: Sequence[str]) -> dict[str, Any]:
        """What may be published: small counts suppressed, shares and times only over ≥ 5 cases."""
        enough_received = self.received >= THRESHOLD
        enough_decided = self.decided >= THRESHOLD
        return {
            "service_id": self.service_id,
            "sla_days": self.sla_days,
            "received": count(self.received),
            "decided": count(self.decided),
            "open": count(self.open),
            "share_decided": share(self.decided, self.received) if enough_received else None,
            "share_granted": share(self.granted, self.decided) if enough_decided else None,
            "share_returned": share(self.returned, self.received) if enough_received else None,
            "share_within_sla": share(self.within_sla, self.decided) if enough_decided and self.sla_days else None,
            "median_days": self.median_days if enough_decided else None,
            "p90_days": self.p90_days if enough_decided else None,
            "ratings": count(len(self.ratings)),
            "rating": self.rating if len(self.ratings) >= THRESHOLD else None,
            "per_month": {m: count(self.per_month.get(m, 0)) for m in months},
        }


def count(n: int) -> int | str:
    return SUPPRESSED if 0 < n < THRESHOLD else n


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def last_months(today: dt.date, n: int = MONTHS_SHOWN) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def correction_states(service: Service) -> frozenset[str]:
    """States where the applicant is asked to correct and send back (an applicant step onward, not to a close)."""
    workflow = service.workflow
    found = set()
    for name, state in workflow.states.items():
        if state.final or state.role != "applicant":
            continue
        for t in workflow.transitions:
            if name not in t.sources or t.by != "applicant":
                continue
            if t.target == BACK or (t.target in workflow.states and not workflow.states[t.target].final):
                found.add(name)
    return frozenset(found)


def trails(conn: Connection, book: ServiceBook) -> list[CaseTrail]:
    """Every case's trail, from the audit log in chain order."""
    query = sa.select(applications.c.id, applications.c.service_id, applications.c.definition_version)
    versions = {row.id: (row.service_id, row.definition_version) for row in conn.execute(query)}
    pinned: dict[str, Service | None] = {}
    finals: dict[str, frozenset[str]] = {}
    grants: dict[str, frozenset[str]] = {}
    corrections: dict[str, frozenset[str]] = {}
    out: dict[int, CaseTrail] = {}
    records = conn.execute(
        sa.select(audit_log.c.application_id, audit_log.c.at, audit_log.c.action, audit_log.c.to_state)
        .where(audit_log.c.application_id.is_not(None))
        .order_by(audit_log.c.id)
    )
    for app_id, at, action, to_state in records:
        if app_id not in versions:
            continue
        service_id, version = versions[app_id]
        if version not in pinned:
            service = book.pinned(conn, version)
            pinned[version] = service
            states = service.workflow.states if service else {}
            finals[version] = frozenset(n for n, s in states.items() if s.final)
            grants[version] = frozenset(n for n, s in states.items() if s.final and s.outcome in GRANTED)
            corrections[version] = correction_states(service) if service else frozenset()
        day = dt.date.fromisoformat(str(at)[:10])
        trail = out.get(app_id)
        if trail is None:
            if action != "submit":
                continue  # a trail that does not start with its submission is not counted
            trail = out[app_id] = CaseTrail(service_id, day, state=to_state)
            continue
        if to_state:
            trail.state = to_state
            if to_state in corrections[version]:
                trail.returned = True
            if to_state in finals[version] and trail.closed is None:
                trail.closed = day
                trail.granted = to_state in grants[version]
    return list(out.values())


def compute(
    conn: Connection, book: ServiceBook, calendar: HolidayCalendar | None = None
) -> dict[str, ServiceStatistics]:
    """Statistics of every service in the catalog (also those with no application yet)."""
    calendar = calendar or default_calendar()
    found = summarise(trails(conn, book), book.services, calendar)
    for service_id, stars in all_ratings(conn).items():
        if service_id in found:
            found[service_id].ratings = stars
    return found


def summarise(
    cases: Iterable[CaseTrail], services: Mapping[str, Service], calendar: HolidayCalendar
) -> dict[str, ServiceStatistics]:
    out = {sid: ServiceStatistics(sid, s.sla_days) for sid, s in services.items()}
    for case in cases:
        stats = out.get(case.service_id)
        if stats is None:
            continue  # a retired service: its cases stay in the audit log, not on the public page
        stats.received += 1
        month = case.received.strftime("%Y-%m")
        stats.per_month[month] = stats.per_month.get(month, 0) + 1
        if case.returned:
            stats.returned += 1
        if case.closed is None:
            stats.open += 1
            continue
        stats.decided += 1
        stats.granted += 1 if case.granted else 0
        days = calendar.working_days_between(case.received, case.closed)
        stats.days.append(days)
        if stats.sla_days and days <= stats.sla_days:
            stats.within_sla += 1
    return out


# --- downloads -----------------------------------------------------------------------------------------
COLUMNS = (
    "service_id", "title_mn", "title_en", "agency", "sla_days", "received", "decided", "share_decided", "share_granted",
    "median_days", "p90_days", "share_within_sla", "share_returned", "open", "rating", "ratings",
)


def catalog_rows(found: Mapping[str, ServiceStatistics], services: Mapping[str, Service], today: dt.date) -> list[dict]:
    months = last_months(today)
    rows = []
    for sid in sorted(services):
        s = services[sid]
        public = found[sid].public(months)
        rows.append({"service_id": sid, "title_mn": s.title.mn, "title_en": s.title.en, "agency": s.agency, **public})
    return rows


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue()


def service_long_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One service in long form (metric, period, value): open-data tools read it without a schema."""
    out = [{"service_id": row["service_id"], "metric": "received", "period": m, "value": v}
           for m, v in row["per_month"].items()]
    for metric in COLUMNS[4:]:
        out.append({"service_id": row["service_id"], "metric": metric, "period": "all", "value": row.get(metric)})
    return out
