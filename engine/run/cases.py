"""Drafts become applications and applications move through their pinned workflow, safely.

Every operation here runs inside the caller's single transaction. Changes to an application are
`UPDATE … WHERE id = ? AND row_version = ?`: of two officers acting at once, exactly one row
update succeeds and the other is told the case changed. Refusals are returned as data (a code),
never raised, so the web and JSON doors report them the same way.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.compile.model import SubmissionError
from engine.compile.service import Service
from engine.compile.workflow import BACK, Transition
from engine.run import audit, effects
from engine.run.calendar import default_calendar
from engine.run.db import PreparedInsert, PreparedSelect, applications, drafts, now, staff, uploads
from engine.run.services import ServiceBook

_TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Statements built once and executed with parameters: SQLAlchemy then finds them in its
# compiled-statement cache. Building them per call (`insert().values(**row)`, `c.id == value`)
# cost several times the database work (docs/benchmarks.md, "Database").
# A case by id, tracking number or draft: every action, case page and status reads one (on SQLite on the
# driver's cursor, see db.PreparedSelect; SQLAlchemy's execution was most of such a one-row read's cost).
_APP_BY_ID = PreparedSelect(sa.select(applications).where(applications.c.id == sa.bindparam("app_id")), ("app_id",))
_APP_BY_TRACKING = PreparedSelect(
    sa.select(applications).where(applications.c.tracking == sa.bindparam("tracking")), ("tracking",)
)
_APP_BY_DRAFT = PreparedSelect(
    sa.select(applications).where(applications.c.draft_id == sa.bindparam("draft_id")), ("draft_id",)
)
_CITIZEN_APPS = (  # newest first, in the order of the index (citizen_id, submitted_at)
    sa.select(applications)
    .where(applications.c.citizen_id == sa.bindparam("citizen_id"))
    .order_by(applications.c.submitted_at.desc())
)
insert_application = PreparedInsert(applications)  # (conn, row with every column but id) -> the new id
# Optimistic locking: the row changes only if nobody changed it since it was read; the SET clause
# comes from the parameters' column keys. RETURNING gives the audit chain's last hash for the record
# that follows (no statement of its own) and, when they were rewritten, the answers as stored; every
# other column of the new row is what was read or set.
_UPDATE_IF_UNCHANGED = applications.update().where(
    applications.c.id == sa.bindparam("match_id"), applications.c.row_version == sa.bindparam("match_version")
)
_UPDATE_RETURNING_HASH = _UPDATE_IF_UNCHANGED.returning(audit.LAST_HASH)
_UPDATE_RETURNING_ANSWERS = _UPDATE_IF_UNCHANGED.returning(applications.c.answers, audit.LAST_HASH)
_DRAFT_OF = sa.select(drafts).where(
    drafts.c.id == sa.bindparam("draft_id"), drafts.c.citizen_id == sa.bindparam("citizen_id")
)
_DRAFT_OF_FOR_UPDATE = _DRAFT_OF.with_for_update()
# On SQLite (no FOR UPDATE there: its writer lock serialises submissions) on the driver's cursor.
_DRAFT_TO_SUBMIT = PreparedSelect(_DRAFT_OF_FOR_UPDATE, ("draft_id", "citizen_id"))
_DRAFT_UPLOADS = PreparedSelect(
    sa.select(uploads).where(uploads.c.draft_id == sa.bindparam("draft_id")).order_by(uploads.c.id), ("draft_id",)
)
insert_draft = PreparedInsert(drafts)
_ATTACH_UPLOADS = (
    uploads.update()
    .where(uploads.c.draft_id == sa.bindparam("match_draft"))
    .values(application_id=sa.bindparam("app_id"))
)
_MARK_SUBMITTED = (
    drafts.update()
    .where(drafts.c.id == sa.bindparam("match_draft"))
    .values(submitted=True, updated_at=sa.bindparam("stamp"))
)


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a citizen (role `applicant`) or a staff member of one office."""

    kind: str  # citizen | staff
    id: int
    label: str
    roles: frozenset[str]
    office: str | None = None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: str = "ok"  # not_found | conflict | not_allowed | guard_false | comment_required | fields_required
    application: Mapping[str, Any] | None = None  #  | invalid | unroutable | documents_missing | final
    errors: tuple[SubmissionError, ...] = ()
    missing_documents: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # The application's clean answers as of its filing day, when the operation has them at hand (a new
    # submission): readers of the outcome need not validate the answers again.
    values: Mapping[str, Any] | None = None


def is_working_day(day: dt.date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Working days by the holiday calendar kept as data (engine/run/holidays.yaml: Tsagaan Sar, Naadam, swaps)."""
    return default_calendar().add_working_days(start, days)


def new_tracking(today: dt.date) -> str:
    return f"TS-{today:%y%m%d}-" + "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(6))


# --- drafts ------------------------------------------------------------------------------------------
def create_draft(
    conn: Connection,
    citizen_id: int,
    service_id: str,
    answers: Mapping[str, Any],
    application_id: int | None = None,
    definition_version: str | None = None,
    idempotency_key: str | None = None,
) -> int:
    """A new draft's id. An `idempotency_key` already taken raises IntegrityError (callers use a savepoint)."""
    stamp = now()
    return insert_draft(
        conn,
        {
            "citizen_id": citizen_id,
            "service_id": service_id,
            "answers": dict(answers),
            "application_id": application_id,
            "idempotency_key": idempotency_key,
            "definition_version": definition_version,
            "submitted": False,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


def get_draft(conn: Connection, draft_id: int, citizen_id: int) -> Mapping[str, Any] | None:
    """A citizen's own draft only: someone else's draft id gives None, as if it did not exist."""
    row = conn.execute(_DRAFT_OF, {"draft_id": draft_id, "citizen_id": citizen_id}).mappings().first()
    return dict(row) if row else None


def save_answers(conn: Connection, draft_id: int, citizen_id: int, answers: Mapping[str, Any]) -> bool:
    result = conn.execute(
        drafts.update()
        .where(drafts.c.id == draft_id, drafts.c.citizen_id == citizen_id, drafts.c.submitted.is_(False))
        .values(answers=dict(answers), updated_at=now())
    )
    return result.rowcount == 1


def citizen_drafts(conn: Connection, citizen_id: int) -> list[Mapping[str, Any]]:
    rows = conn.execute(
        sa.select(drafts)
        .where(drafts.c.citizen_id == citizen_id, drafts.c.submitted.is_(False), drafts.c.application_id.is_(None))
        .order_by(drafts.c.updated_at.desc())
    ).mappings()
    return [dict(r) for r in rows]


def draft_uploads(conn: Connection, draft_id: int) -> list[Mapping[str, Any]]:
    return list(_DRAFT_UPLOADS.all(conn, draft_id))


def application_uploads(conn: Connection, application_id: int) -> list[Mapping[str, Any]]:
    rows = conn.execute(
        sa.select(uploads).where(uploads.c.application_id == application_id).order_by(uploads.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def missing_documents(service: Service, values: Mapping[str, Any], files: list[Mapping[str, Any]]) -> list[str]:
    """Required documents with no upload; those the state fetches from a registry need none."""
    have = {f["document_id"] for f in files}
    return [d.id for d in service.required_documents(values) if d.registry is None and d.id not in have]


# --- submission ----------------------------------------------------------------------------------------
def submit(conn: Connection, book: ServiceBook, draft_id: int, citizen: Actor, today: dt.date) -> Outcome:
    """Turn a draft into an application (or, for a correction draft, resubmit the application).

    Idempotent: submitting the same draft again returns the application it already made.
    """
    draft = _DRAFT_TO_SUBMIT.first(conn, draft_id, citizen.id)
    if draft is None:
        return Outcome(False, "not_found")
    if draft["application_id"] is not None:
        return _resubmit(conn, book, dict(draft), citizen, today)
    if draft["submitted"]:
        return Outcome(True, application=_application_by_draft(conn, draft_id), details={"repeated": True})
    service = book.get(draft["service_id"])
    if service is None:
        return Outcome(False, "not_found")
    validation = service.validate(draft["answers"], today)
    if not validation.ok:
        return Outcome(False, "invalid", errors=validation.errors)
    files = draft_uploads(conn, draft_id)
    missing = missing_documents(service, validation.values, files)
    if missing:
        return Outcome(False, "documents_missing", missing_documents=tuple(missing))
    office = service.route(validation.values)
    if office is None:
        return Outcome(False, "unroutable")
    book.remember(conn, service)
    workflow = service.workflow
    initial = workflow.states[workflow.initial]
    stamp = now()
    row: dict[str, Any] = {
        "tracking": new_tracking(today),
        "draft_id": draft_id,
        "citizen_id": citizen.id,
        "service_id": service.id,
        "definition_version": service.version,
        "answers": _stored(validation.values),
        "state": workflow.initial,
        "back_state": None,
        "office": office,
        "assignee_id": None,
        "fee_total": service.fee_total(validation.values),
        "due_date": add_working_days(today, service.sla_days).isoformat(),
        "state_due_date": _state_due(initial.sla_days, today),
        "last_comment": None,
        "row_version": 1,
        "submitted_at": stamp,
        "updated_at": stamp,
        "closed": False,
    }
    try:
        with conn.begin_nested():
            app_id = insert_application(conn, row)
    except IntegrityError:  # the same draft submitted twice at once: the other request made it
        existing = _application_by_draft(conn, draft_id)
        if existing is None:
            raise
        return Outcome(True, application=existing, details={"repeated": True})
    conn.execute(_ATTACH_UPLOADS, {"match_draft": draft_id, "app_id": app_id})
    conn.execute(_MARK_SUBMITTED, {"match_draft": draft_id, "stamp": stamp})
    audit.append(
        conn,
        application_id=app_id,
        actor=citizen.label,
        role="applicant",
        office=office,
        action="submit",
        from_state=None,
        to_state=workflow.initial,
    )
    app = inserted_application(app_id, row)
    # The answers as of the filing day are what was just validated, unless the day turned between
    # `today` and the stamp (the date bounds are then judged as of the stamp's day, as for any case).
    filed = filed_on(app)
    values = CaseValues(service, app["answers"], filed, validation.values if filed == today else None)
    effects.after_submit(conn, book, app)  # notices and documents (issue 8)
    latest = _system_steps(conn, book, service, app, today, values)  # system steps do not change answers
    return Outcome(True, application=latest, values=values)


def inserted_application(app_id: int, row: Mapping[str, Any]) -> dict[str, Any]:
    """What `get_application` reads back right after `insert_application(conn, row)` gave `app_id`, without the read.

    Every column is the value inserted; the answers are JSON as `_stored` makes them, which read back equal.
    """
    return {"id": app_id, **{name: row[name] for name in insert_application.columns}}


def _resubmit(conn: Connection, book: ServiceBook, draft: Mapping[str, Any], citizen: Actor, today: dt.date) -> Outcome:
    """A correction draft: save the edited answers into the application and take the applicant's step."""
    app = get_application(conn, draft["application_id"])
    if app is None or app["citizen_id"] != citizen.id:
        return Outcome(False, "not_found")
    if draft["submitted"]:
        return Outcome(True, application=app, details={"repeated": True})
    service = book.pinned(conn, app["definition_version"])
    if service is None:
        return Outcome(False, "not_found")
    # Corrected answers are judged as of the filing day, like the original ones.
    validation = service.validate(draft["answers"], filed_on(app))
    if not validation.ok:
        return Outcome(False, "invalid", errors=validation.errors)
    conn.execute(uploads.update().where(uploads.c.draft_id == draft["id"]).values(application_id=app["id"]))
    missing = missing_documents(service, validation.values, application_uploads(conn, app["id"]))
    if missing:
        return Outcome(False, "documents_missing", missing_documents=tuple(missing))
    step = resubmit_transition(service, app["state"], validation.values)
    if step is None:
        return Outcome(False, "not_allowed")
    outcome = _fire(
        conn,
        book,
        app,
        citizen,
        step.action,
        comment=None,
        expected_version=app["row_version"],
        today=today,
        new_answers=_stored(validation.values),
    )
    if outcome.ok:
        conn.execute(drafts.update().where(drafts.c.id == draft["id"]).values(submitted=True, updated_at=now()))
    return outcome


def resubmit_transition(service: Service, state: str, values: Mapping[str, Any]) -> Transition | None:
    """The applicant's step that sends corrected answers back: '@back' first, else one to a non-final state."""
    steps = service.workflow.available(state, {"applicant"}, values)
    for t in steps:
        if t.target == BACK:
            return t
    for t in steps:
        if not service.workflow.states[t.target].final:
            return t
    return None


def pay(conn: Connection, book: ServiceBook, app_id: int, citizen: Actor, today: dt.date) -> Outcome:
    """The development payment provider: confirms payment at once by taking the state's system step.

    A case waiting on the applicant with a system transition out (e.g. `paid` from awaiting_payment)
    is waiting for a payment event; a real gateway would send it. Enabled by TSONKH_DEV_PAYMENTS.
    """
    app = get_application(conn, app_id)
    if not visible_to(citizen, app):
        return Outcome(False, "not_found")
    assert app is not None
    service = book.pinned(conn, app["definition_version"])
    if service is None:
        return Outcome(False, "not_found")
    choice = payment_transition(service, app)
    if choice is None:
        return Outcome(False, "not_allowed")
    return _fire(conn, book, app, SYSTEM, choice.action, None, app["row_version"], today)


def filed_on(app: Mapping[str, Any]) -> dt.date:
    """The day the application was filed: relative date bounds ("within 14 days", "not in the
    future") are judged as of that day, so a case does not lose answers as the calendar moves on.

    The server's local day, as the submission itself was validated (`dt.date.today()`): the stamp is
    UTC (db.now), and in Ulaanbaatar (UTC+8) its date is the day before from midnight to 08:00.
    """
    stamp = app["submitted_at"]
    moment = stamp if isinstance(stamp, dt.datetime) else dt.datetime.fromisoformat(str(stamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().date()


def case_values(service: Service, app: Mapping[str, Any]) -> Mapping[str, Any]:
    """An application's clean answers, validated as of the day it was filed."""
    return service.validate(app["answers"], filed_on(app)).values


def payment_transition(service: Service, app: Mapping[str, Any]) -> Transition | None:
    state = service.workflow.states[app["state"]]
    if state.final or state.role != "applicant":
        return None
    values = case_values(service, app)
    return system_policy(service, app, service.workflow.available(app["state"], {"system"}, values))


def _state_due(sla_days: int | None, today: dt.date) -> str | None:
    return add_working_days(today, sla_days).isoformat() if sla_days else None


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    """Clean values as JSON: dates as ISO text (the validator parses them back the same way)."""

    def convert(value: Any) -> Any:
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: convert(v) for k, v in values.items()}


# --- reading cases ---------------------------------------------------------------------------------------
def _application_by_draft(conn: Connection, draft_id: int) -> Mapping[str, Any] | None:
    return _APP_BY_DRAFT.first(conn, draft_id)


def get_application(conn: Connection, app_id: int) -> Mapping[str, Any] | None:
    return _APP_BY_ID.first(conn, app_id)


def by_tracking(conn: Connection, tracking: str) -> Mapping[str, Any] | None:
    return _APP_BY_TRACKING.first(conn, tracking)


def visible_to(actor: Actor, app: Mapping[str, Any] | None) -> bool:
    """Per-office and per-owner authorization: anything else is answered as 'not found'."""
    if app is None:
        return False
    if actor.kind == "system":
        return True
    if actor.kind == "citizen":
        return bool(app["citizen_id"] == actor.id)
    return bool(app["office"] == actor.office)


def citizen_applications(conn: Connection, citizen_id: int) -> list[Mapping[str, Any]]:
    rows = conn.execute(_CITIZEN_APPS, {"citizen_id": citizen_id}).mappings()
    return [dict(r) for r in rows]


def correction_draft(conn: Connection, app: Mapping[str, Any], citizen: Actor) -> int:
    """The open correction draft of a returned application, created from its answers when first asked."""
    row = conn.execute(
        sa.select(drafts.c.id).where(
            drafts.c.application_id == app["id"], drafts.c.submitted.is_(False), drafts.c.citizen_id == citizen.id
        )
    ).first()
    if row is not None:
        return int(row[0])
    return create_draft(conn, citizen.id, app["service_id"], app["answers"], application_id=app["id"])


# A queue page lists cases, it does not read them: only the columns it shows or decides by are sent,
# for up to 500 rows (answers, the bulk of a row, and the rest stay in the database).
_QUEUE_COLUMNS = tuple(
    applications.c[name]
    for name in ("id", "tracking", "service_id", "definition_version", "state", "office", "assignee_id",
                 "due_date", "state_due_date", "row_version", "submitted_at")
)
_QUEUE_NAMES = tuple(c.name for c in _QUEUE_COLUMNS)


@dataclass(frozen=True)
class QueueFilter:
    service_id: str | None = None
    state: str | None = None
    assigned: str = "any"  # any | me | unassigned
    overdue: bool = False
    waiting_on_me: bool = True  # only states whose acting role this officer holds


QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueKey:
    """Where a queue page starts: after the case with this (due_date, id), the queue's order."""

    due_date: str
    id: int

    def text(self) -> str:
        return f"{self.due_date}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> QueueKey | None:
        """The key from a link; None for a missing or malformed one (the first page).

        A forged key can only move the start within the officer's own queue: the office is a WHERE
        condition of its own, never taken from the key.
        """
        due, _, ident = (text or "").partition(".")
        try:
            dt.date.fromisoformat(due)
            number = int(ident)
        except ValueError:
            return None
        return cls(due, number) if len(due) == 10 and 0 <= number < 2**63 else None


@dataclass(frozen=True)
class QueuePage:
    rows: list[dict[str, Any]]
    next_key: QueueKey | None  # None on the last page


def queue(
    conn: Connection,
    book: ServiceBook,
    officer: Actor,
    filters: QueueFilter,
    today: dt.date,
    after: QueueKey | None = None,
    size: int | None = None,
) -> QueuePage:
    """One page of the officer's office's open cases, oldest due first, with SLA and overdue markers.

    Each row has the columns of `_QUEUE_COLUMNS` (not the answers), with the service, the state, the
    due date shown and the overdue marker. Pages follow each other by keyset on (due_date, id), the
    order of the index (office, closed, due_date, id). Filters SQL cannot express (the state's role
    and finality, which live in the pinned definition) are applied here, so rows are fetched in
    batches until the page is full or the rows run out; the next page starts after the last row
    examined, so no case is skipped or shown twice.
    """
    size = size or QUEUE_PAGE_SIZE  # read when called, so a test can page by two
    today_text = today.isoformat()
    base = sa.select(*_QUEUE_COLUMNS).where(applications.c.office == officer.office, applications.c.closed.is_(False))
    if filters.service_id:
        base = base.where(applications.c.service_id == filters.service_id)
    if filters.state:
        base = base.where(applications.c.state == filters.state)
    if filters.assigned == "me":
        base = base.where(applications.c.assignee_id == officer.id)
    elif filters.assigned == "unassigned":
        base = base.where(applications.c.assignee_id.is_(None))
    if filters.overdue:
        # Overdue is today past the earlier of the two due dates, i.e. past either one (ISO text compares as dates).
        base = base.where(sa.or_(applications.c.due_date < today_text, applications.c.state_due_date < today_text))
    order = sa.tuple_(applications.c.due_date, applications.c.id)
    pinned: dict[str, Service | None] = {}
    out: list[dict[str, Any]] = []
    key = after
    batch = size + 1  # one more than a page: enough to know whether a next page exists when SQL filters all
    while True:
        query = base if key is None else base.where(order > sa.tuple_(key.due_date, key.id))
        rows = conn.execute(query.order_by(applications.c.due_date, applications.c.id).limit(batch)).all()
        for values in rows:
            row = dict(zip(_QUEUE_NAMES, values, strict=True))
            shown = _queue_row(conn, book, officer, filters, today_text, pinned, row)
            if shown is not None:
                if len(out) == size:  # a case beyond this page: there is a next page, starting after `key`
                    _name_assignees(conn, out)
                    return QueuePage(out, key)
                out.append(shown)
            key = QueueKey(row["due_date"], row["id"])
        if len(rows) < batch:
            _name_assignees(conn, out)
            return QueuePage(out, None)
        batch = max(batch, 4 * size)  # Python is filtering: fetch more at a time


def _queue_row(
    conn: Connection,
    book: ServiceBook,
    officer: Actor,
    filters: QueueFilter,
    today_text: str,
    pinned: dict[str, Service | None],
    row: dict[str, Any],
) -> dict[str, Any] | None:
    """The row as the queue shows it, or None when the queue leaves it out."""
    version = row["definition_version"]
    if version not in pinned:
        pinned[version] = book.pinned(conn, version)
    service = pinned[version]
    if service is None:
        return None
    state = service.workflow.states.get(row["state"])
    if state is None or state.final:
        return None
    if filters.waiting_on_me and state.role not in officer.roles:
        return None
    due_date, state_due = row["due_date"], row["state_due_date"]
    earliest = min(due_date, state_due) if due_date and state_due else due_date or state_due
    overdue = today_text > earliest
    if filters.overdue and not overdue:
        return None
    row.update(service=service, state_obj=state, due=state_due or due_date, overdue=overdue)
    return row


def _name_assignees(conn: Connection, rows: list[dict[str, Any]]) -> None:
    assignees = {r["assignee_id"] for r in rows if r["assignee_id"] is not None}
    if assignees:
        names = dict(conn.execute(sa.select(staff.c.id, staff.c.name).where(staff.c.id.in_(assignees))).all())
        for r in rows:
            r["assignee_name"] = names.get(r["assignee_id"])


# --- actions -----------------------------------------------------------------------------------------------
class CaseValues(Mapping[str, Any]):
    """A case's clean answers (validated as of its filing day), validated only when first read.

    Guards read them; most steps have no guard, and one validation serves a step and the automatic
    steps after it, where the answers do not change.
    """

    __slots__ = ("_answers", "_day", "_service", "_values")

    def __init__(
        self, service: Service, answers: Mapping[str, Any], day: dt.date, values: Mapping[str, Any] | None = None
    ) -> None:
        """`values`, when given, are what validating `answers` as of `day` gives (the caller just did)."""
        self._service = service
        self._answers = answers
        self._day = day
        self._values = values

    def _validated(self) -> Mapping[str, Any]:
        if self._values is None:
            self._values = self._service.validate(self._answers, self._day).values
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._validated()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._validated().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._validated())

    def __len__(self) -> int:
        return len(self._validated())


def fire(
    conn: Connection,
    book: ServiceBook,
    app_id: int,
    actor: Actor,
    action: str,
    comment: str | None,
    expected_version: int | None,
    today: dt.date,
    fields: Mapping[str, Any] | None = None,
    new_answers: Mapping[str, Any] | None = None,
) -> Outcome:
    """Take one workflow action on one case, checked against role, office, guard and requirements."""
    app = get_application(conn, app_id)
    return _fire(conn, book, app, actor, action, comment, expected_version, today, fields, new_answers)


def _fire(
    conn: Connection,
    book: ServiceBook,
    app: Mapping[str, Any] | None,
    actor: Actor,
    action: str,
    comment: str | None,
    expected_version: int | None,
    today: dt.date,
    fields: Mapping[str, Any] | None = None,
    new_answers: Mapping[str, Any] | None = None,
    values: CaseValues | None = None,
) -> Outcome:
    """`fire` on a case row read in this transaction; `values`, when given, are that row's CaseValues."""
    if not visible_to(actor, app):
        return Outcome(False, "not_found")
    assert app is not None
    service = book.pinned(conn, app["definition_version"])
    if service is None:
        return Outcome(False, "not_found")
    workflow = service.workflow
    # A stale page is reported as such first: "someone else changed this case" explains any refusal after it.
    if expected_version is not None and expected_version != app["row_version"]:
        return Outcome(False, "conflict", application=app)
    if workflow.states[app["state"]].final:
        return Outcome(False, "final", application=app)
    answers = new_answers if new_answers is not None else app["answers"]
    if values is None or new_answers is not None:
        values = CaseValues(service, answers, filed_on(app))
    step = workflow.fire(app["state"], action, actor.roles, values, comment=comment, back=app["back_state"])
    if not step.ok:
        return Outcome(False, step.reason or "not_allowed", application=app)
    transition = step.transition
    assert transition is not None and step.state is not None
    filled, errors = _required_fields(service, transition, fields or {}, today)
    if errors:
        return Outcome(False, "fields_required", application=app, errors=tuple(errors))
    target = workflow.states[step.state]
    changes: dict[str, Any] = {
        "match_id": app["id"],
        "match_version": app["row_version"],
        "state": step.state,
        "back_state": None if transition.target == BACK else app["state"],
        "row_version": app["row_version"] + 1,
        "updated_at": now(),
        "state_due_date": _state_due(target.sla_days, today),
        "last_comment": (comment or "").strip() or None,
        "closed": target.final,
    }
    if filled or new_answers is not None:  # unchanged answers are not rewritten: the stored JSON is the same
        changes["answers"] = {**answers, **filled}
    found = _update_if_unchanged(conn, app, changes)
    if found is None:
        return Outcome(False, "conflict", application=app)
    after, last_hash = found
    audit.append(
        conn,
        application_id=app["id"],
        actor=actor.label,
        role=_acting_role(transition, actor),
        office=app["office"],
        action=action,
        from_state=app["state"],
        to_state=step.state,
        comment=(comment or "").strip() or None,
        last_hash=last_hash,
    )
    effects.after_step(conn, book, app, after, transition, actor.label)  # issue 8
    if actor.kind == "system":
        return Outcome(True, application=after, details={"transition": transition})
    latest = _system_steps(conn, book, service, after, today, None if "answers" in changes else values)
    return Outcome(True, application=latest, details={"transition": transition})


def _update_if_unchanged(
    conn: Connection, app: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None] | None:
    """Apply `changes` (with `match_id`, `match_version`) if the row is still as read: (new row, the audit
    chain's last hash), or None when someone changed the case first. Locks the chain for the record after."""
    audit.lock_chain(conn)  # before the statement that reads the chain's last hash
    statement = _UPDATE_RETURNING_ANSWERS if "answers" in changes else _UPDATE_RETURNING_HASH
    returned = conn.execute(statement, changes).mappings().first()
    if returned is None:
        return None
    after = {**app, **{k: v for k, v in changes.items() if not k.startswith("match_")}}
    if "answers" in changes:
        after["answers"] = returned["answers"]
    return after, returned[audit.LAST_HASH.name]


# --- automatic steps ---------------------------------------------------------------------------------------
SYSTEM = Actor("system", 0, "system", frozenset({"system"}))
SystemPolicy = Callable[[Service, Mapping[str, Any], list[Transition]], Transition | None]


def first_available(service: Service, app: Mapping[str, Any], choices: list[Transition]) -> Transition | None:
    """The embedded policy: the first system transition the author listed whose guard holds.

    Authors list the expected path first (registry_confirmed before registry_mismatch); a
    registry adapter (ХУР) can replace this policy with one that asks the registry.
    """
    return choices[0] if choices else None


system_policy: SystemPolicy = first_available


def run_system_steps(conn: Connection, book: ServiceBook, app_id: int, today: dt.date, limit: int = 10) -> None:
    """Take the automatic steps of states whose role is `system`, in the same transaction."""
    app = get_application(conn, app_id)
    service = book.pinned(conn, app["definition_version"]) if app is not None else None
    if app is not None and service is not None:
        _system_steps(conn, book, service, app, today, None, limit)


def _system_steps(
    conn: Connection,
    book: ServiceBook,
    service: Service,
    app: Mapping[str, Any],
    today: dt.date,
    values: CaseValues | None,
    limit: int = 10,
) -> Mapping[str, Any]:
    """`run_system_steps` on the row in hand (this transaction's latest); returns the row after the last step.

    `values` are the row's CaseValues when the caller has them: system steps do not change answers.
    """
    for _ in range(limit):
        state = service.workflow.states[app["state"]]
        if state.final or state.role != "system":
            break
        if values is None:
            values = CaseValues(service, app["answers"], filed_on(app))
        choice = system_policy(service, app, service.workflow.available(app["state"], {"system"}, values))
        if choice is None:
            break  # stays for an officer or a later system event
        outcome = _fire(conn, book, app, SYSTEM, choice.action, None, app["row_version"], today, values=values)
        if not outcome.ok or outcome.application is None:
            break
        app = outcome.application
    return app


def _acting_role(transition: Transition, actor: Actor) -> str:
    return transition.by if transition.by in actor.roles else sorted(actor.roles)[0]


def _required_fields(
    service: Service, transition: Transition, given: Mapping[str, Any], today: dt.date
) -> tuple[dict[str, Any], list[SubmissionError]]:
    """Parse the fields an officer must fill to take this action (e.g. a decision number)."""
    from engine.compile.messages import message

    filled: dict[str, Any] = {}
    errors: list[SubmissionError] = []
    for fid in transition.requires_fields:
        f = service.field_index.get(fid)
        if f is None:
            continue
        value, error = f.parse(given.get(fid), today)
        if error is not None:
            errors.append(SubmissionError(fid, error[0], message(error[0], f.label, error[1]), error[1]))
        elif value is None:
            errors.append(SubmissionError(fid, "required", message("required", f.label, {})))
        else:
            filled[fid] = _stored({fid: value})[fid]
    return filled, errors


def set_assignee(
    conn: Connection, app_id: int, officer: Actor, assignee_id: int | None, expected_version: int | None
) -> Outcome:
    """Claim (assign to oneself) or assign to a colleague of the same office; locked like any action."""
    app = get_application(conn, app_id)
    if not visible_to(officer, app):
        return Outcome(False, "not_found")
    assert app is not None
    if expected_version is not None and expected_version != app["row_version"]:
        return Outcome(False, "conflict", application=app)
    changes = {
        "match_id": app_id,
        "match_version": app["row_version"],
        "assignee_id": assignee_id,
        "row_version": app["row_version"] + 1,
        "updated_at": now(),
    }
    found = _update_if_unchanged(conn, app, changes)
    if found is None:
        return Outcome(False, "conflict", application=app)
    after, last_hash = found
    audit.append(
        conn,
        application_id=app_id,
        actor=officer.label,
        role=sorted(officer.roles)[0] if officer.roles else "staff",
        office=app["office"],
        action="claim" if assignee_id == officer.id else "assign",
        from_state=app["state"],
        to_state=app["state"],
        comment=None if assignee_id == officer.id else f"assignee={assignee_id}",
        last_hash=last_hash,
    )
    return Outcome(True, application=after)
