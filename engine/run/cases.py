"""Drafts become applications and applications move through their pinned workflow, safely.

Every operation here runs inside the caller's single transaction. Changes to an application are
`UPDATE … WHERE id = ? AND row_version = ?`: of two officers acting at once, exactly one row
update succeeds and the other is told the case changed. Refusals are returned as data (a code),
never raised, so the web and JSON doors report them the same way.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
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
from engine.run.db import applications, drafts, now, staff, uploads
from engine.run.services import ServiceBook

_TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
) -> int:
    stamp = now()
    result = conn.execute(
        drafts.insert().values(
            citizen_id=citizen_id,
            service_id=service_id,
            answers=dict(answers),
            application_id=application_id,
            definition_version=definition_version,
            submitted=False,
            created_at=stamp,
            updated_at=stamp,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_draft(conn: Connection, draft_id: int, citizen_id: int) -> Mapping[str, Any] | None:
    """A citizen's own draft only: someone else's draft id gives None, as if it did not exist."""
    row = (
        conn.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.citizen_id == citizen_id))
        .mappings()
        .first()
    )
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
    rows = conn.execute(sa.select(uploads).where(uploads.c.draft_id == draft_id).order_by(uploads.c.id)).mappings()
    return [dict(r) for r in rows]


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
    query = sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.citizen_id == citizen.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    draft = conn.execute(query).mappings().first()
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
    values = _stored(validation.values)
    try:
        with conn.begin_nested():
            result = conn.execute(
                applications.insert().values(
                    tracking=new_tracking(today),
                    draft_id=draft_id,
                    citizen_id=citizen.id,
                    service_id=service.id,
                    definition_version=service.version,
                    answers=values,
                    state=workflow.initial,
                    back_state=None,
                    office=office,
                    assignee_id=None,
                    fee_total=service.fee_total(validation.values),
                    due_date=add_working_days(today, service.sla_days).isoformat(),
                    state_due_date=_state_due(initial.sla_days, today),
                    last_comment=None,
                    row_version=1,
                    submitted_at=stamp,
                    updated_at=stamp,
                )
            )
    except IntegrityError:  # the same draft submitted twice at once: the other request made it
        existing = _application_by_draft(conn, draft_id)
        if existing is None:
            raise
        return Outcome(True, application=existing, details={"repeated": True})
    app_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    conn.execute(uploads.update().where(uploads.c.draft_id == draft_id).values(application_id=app_id))
    conn.execute(drafts.update().where(drafts.c.id == draft_id).values(submitted=True, updated_at=stamp))
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
    effects.after_submit(conn, book, get_application(conn, app_id) or {})  # notices and documents (issue 8)
    run_system_steps(conn, book, app_id, today)
    return Outcome(True, application=get_application(conn, app_id))


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
    outcome = fire(
        conn,
        book,
        app["id"],
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
    return fire(conn, book, app_id, SYSTEM, choice.action, None, app["row_version"], today)


def filed_on(app: Mapping[str, Any]) -> dt.date:
    """The day the application was filed: relative date bounds ("within 14 days", "not in the
    future") are judged as of that day, so a case does not lose answers as the calendar moves on."""
    return dt.date.fromisoformat(str(app["submitted_at"])[:10])


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
    row = conn.execute(sa.select(applications).where(applications.c.draft_id == draft_id)).mappings().first()
    return dict(row) if row else None


def get_application(conn: Connection, app_id: int) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(applications).where(applications.c.id == app_id)).mappings().first()
    return dict(row) if row else None


def by_tracking(conn: Connection, tracking: str) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(applications).where(applications.c.tracking == tracking)).mappings().first()
    return dict(row) if row else None


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
    rows = conn.execute(
        sa.select(applications)
        .where(applications.c.citizen_id == citizen_id)
        .order_by(applications.c.submitted_at.desc())
    ).mappings()
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


@dataclass(frozen=True)
class QueueFilter:
    service_id: str | None = None
    state: str | None = None
    assigned: str = "any"  # any | me | unassigned
    overdue: bool = False
    waiting_on_me: bool = True  # only states whose acting role this officer holds


def queue(
    conn: Connection, book: ServiceBook, officer: Actor, filters: QueueFilter, today: dt.date
) -> list[dict[str, Any]]:
    """The officer's office's routed cases, oldest due first, with SLA and overdue markers."""
    query = sa.select(applications).where(applications.c.office == officer.office, applications.c.closed.is_(False))
    if filters.service_id:
        query = query.where(applications.c.service_id == filters.service_id)
    if filters.state:
        query = query.where(applications.c.state == filters.state)
    if filters.assigned == "me":
        query = query.where(applications.c.assignee_id == officer.id)
    elif filters.assigned == "unassigned":
        query = query.where(applications.c.assignee_id.is_(None))
    rows = conn.execute(query.order_by(applications.c.due_date, applications.c.id).limit(500)).mappings()
    out = []
    for row in rows:
        service = book.pinned(conn, row["definition_version"])
        if service is None:
            continue
        state = service.workflow.states.get(row["state"])
        if state is None or state.final:
            continue
        if filters.waiting_on_me and state.role not in officer.roles:
            continue
        due = row["state_due_date"] or row["due_date"]
        overdue = today.isoformat() > min(d for d in (row["due_date"], row["state_due_date"]) if d)
        if filters.overdue and not overdue:
            continue
        out.append({**row, "service": service, "state_obj": state, "due": due, "overdue": overdue})
    assignees = {r["assignee_id"] for r in out if r["assignee_id"] is not None}
    if assignees:
        names = dict(conn.execute(sa.select(staff.c.id, staff.c.name).where(staff.c.id.in_(assignees))).all())
        for r in out:
            r["assignee_name"] = names.get(r["assignee_id"])
    return out


# --- actions -----------------------------------------------------------------------------------------------
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
    answers = dict(new_answers if new_answers is not None else app["answers"])
    guard_answers = service.validate(answers, filed_on(app)).values
    step = workflow.fire(app["state"], action, actor.roles, guard_answers, comment=comment, back=app["back_state"])
    if not step.ok:
        return Outcome(False, step.reason or "not_allowed", application=app)
    transition = step.transition
    assert transition is not None and step.state is not None
    filled, errors = _required_fields(service, transition, fields or {}, today)
    if errors:
        return Outcome(False, "fields_required", application=app, errors=tuple(errors))
    answers.update(filled)
    target = workflow.states[step.state]
    back_state = None if transition.target == BACK else app["state"]
    values: dict[str, Any] = {
        "state": step.state,
        "back_state": back_state,
        "row_version": app["row_version"] + 1,
        "updated_at": now(),
        "answers": answers,
        "state_due_date": _state_due(target.sla_days, today),
        "last_comment": (comment or "").strip() or None,
        "closed": target.final,
    }
    result = conn.execute(
        applications.update()
        .where(applications.c.id == app_id, applications.c.row_version == app["row_version"])
        .values(**values)
    )
    if result.rowcount != 1:
        return Outcome(False, "conflict", application=app)
    audit.append(
        conn,
        application_id=app_id,
        actor=actor.label,
        role=_acting_role(transition, actor),
        office=app["office"],
        action=action,
        from_state=app["state"],
        to_state=step.state,
        comment=(comment or "").strip() or None,
    )
    effects.after_step(conn, book, app, get_application(conn, app_id) or {}, transition, actor.label)  # issue 8
    if actor.kind != "system":
        run_system_steps(conn, book, app_id, today)
    return Outcome(True, application=get_application(conn, app_id), details={"transition": transition})


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
    for _ in range(limit):
        app = get_application(conn, app_id)
        if app is None:
            return
        service = book.pinned(conn, app["definition_version"])
        if service is None:
            return
        state = service.workflow.states[app["state"]]
        if state.final or state.role != "system":
            return
        values = case_values(service, app)
        choice = system_policy(service, app, service.workflow.available(app["state"], {"system"}, values))
        if choice is None:
            return  # stays for an officer or a later system event
        outcome = fire(conn, book, app_id, SYSTEM, choice.action, None, app["row_version"], today)
        if not outcome.ok:
            return


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
    result = conn.execute(
        applications.update()
        .where(applications.c.id == app_id, applications.c.row_version == app["row_version"])
        .values(assignee_id=assignee_id, row_version=app["row_version"] + 1, updated_at=now())
    )
    if result.rowcount != 1:
        return Outcome(False, "conflict", application=app)
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
    )
    return Outcome(True, application=get_application(conn, app_id))
