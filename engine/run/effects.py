"""What a step of a case causes besides its new state: the effects its workflow declares, in the same transaction.

`{issue: <kind>}` renders and stores a document, `{revoke: <kind>}` revokes one, `{notify:
applicant|office|agency, message?}` tells someone (inbox now; email, SMS or webhook through the
outbox), and reaching a final state queues the decided case for its agency's system. Effects are
taken from the transition and from the state it enters. Everything is written in the caller's
transaction: if the step rolls back, so do its documents and notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from engine.compile.service import Service
from engine.compile.workflow import Transition
from engine.run import outbox
from engine.run.delivery_settings import DeliverySettings, load_delivery_settings
from engine.run.notify import inbox
from engine.run.notify.messages import LANGS, compose
from engine.run.outputs import documents

_settings: DeliverySettings | None = None


def configure(settings: DeliverySettings | None) -> None:
    """Set the delivery settings effects use (the portal and worker do it at start; tests too)."""
    global _settings
    _settings = settings


def settings() -> DeliverySettings:
    global _settings
    if _settings is None:
        _settings = load_delivery_settings()
    return _settings


def context(service: Service, app: Mapping[str, Any], registries: Any, **extra: Any) -> dict[str, dict[str, Any]]:
    """The values a notice template sees, per language."""
    state = service.workflow.states.get(app["state"])
    office = registries.offices.get(app["office"])
    out: dict[str, dict[str, Any]] = {}
    for lang in LANGS:
        values: dict[str, Any] = {
            "tracking": app["tracking"],
            "service": service.title.get(lang),
            "state": state.label.get(lang) if state else app["state"],
            "comment": app.get("last_comment") or "",
            "due_date": app.get("state_due_date") or app.get("due_date") or "",
            "office": office.name.get(lang) if office else app["office"],
            "link": f"{settings().public_url}/my",
        }
        for key, value in extra.items():
            values[key] = value.get(lang) if hasattr(value, "get") and not isinstance(value, str) else value
        out[lang] = values
    return out


def after_submit(conn: Connection, book: Any, app: Mapping[str, Any]) -> None:
    """The applicant is told the application was received, with its number and due date."""
    service = book.pinned(conn, app["definition_version"])
    if service is None:
        return
    notice = compose("submitted", context(service, app, book.catalog.registries))
    inbox.tell_citizen(conn, app["citizen_id"], notice, f"app{app['id']}:submitted", app["id"])
    after_step(conn, book, None, app, None, "system", entered_only=True)


def after_step(
    conn: Connection,
    book: Any,
    before: Mapping[str, Any] | None,
    app: Mapping[str, Any],
    transition: Transition | None,
    actor: str,
    entered_only: bool = False,
) -> None:
    """Apply the effects of `transition` and of the state `app` entered (`app` is the case after the step)."""
    service: Service | None = book.pinned(conn, app["definition_version"])
    if service is None:
        return
    registries = book.catalog.registries
    state = service.workflow.states.get(app["state"])
    declared: list[Mapping[str, Any]] = []
    if transition is not None and not entered_only:
        declared += list(transition.effects)
    if state is not None:
        declared += list(state.effects)
    key = f"app{app['id']}:v{app['row_version']}"
    issued: list[tuple[str, documents.Issued]] = []
    decision = {
        "action": transition.action if transition else None,
        "label": transition.label if transition else None,
        "comment": app.get("last_comment"),
        "state": app["state"],
        "outcome": state.outcome if state else None,
        "from_state": before["state"] if before else None,
    }
    for effect in declared:
        if effect.get("issue"):
            kind = str(effect["issue"])
            made = documents.issue(
                conn,
                app=app,
                service=service,
                kind=kind,
                registries=registries,
                officer=actor,
                decision=decision,
                public_url=settings().public_url,
            )
            issued.append((kind, made))
        if effect.get("revoke"):
            documents.revoke(conn, app, str(effect["revoke"]), actor, "system", app.get("last_comment"))
    for n, effect in enumerate(declared):
        whom = effect.get("notify")
        if not whom:
            continue
        message = effect.get("message")
        body = dict(message) if isinstance(message, Mapping) else None
        if whom == "applicant":
            if issued and body is None:
                kind, made = issued[0]
                title = documents.kind_title(kind, registries.document_types)
                extra = {"document": title, "document_number": made.number, "verify_url": _verify(made.code)}
                notice = compose("issued", context(service, app, registries, **extra))
            else:
                notice = compose("transition", context(service, app, registries), body)
            inbox.tell_citizen(conn, app["citizen_id"], notice, f"{key}:n{n}", app["id"])
        elif whom == "office":
            notice = compose("office", context(service, app, registries), body)
            inbox.tell_office(conn, app["office"], notice, app["id"])
        elif whom == "agency":
            notice = compose("agency", context(service, app, registries), body)
            _to_agency(conn, service, app, "notice", f"{key}:n{n}:agency", {"notice": notice.as_json()})
    if state is not None and state.final:
        _to_agency(conn, service, app, "decided", f"case:{app['tracking']}:decided", {"documents": _numbers(issued)})


def _numbers(issued: list[tuple[str, documents.Issued]]) -> list[dict[str, str]]:
    return [{"kind": kind, "number": made.number, "sha256": made.sha256} for kind, made in issued]


def _verify(code: str) -> str:
    return f"{settings().public_url}/verify/{code}"


def case_payload(service: Service, app: Mapping[str, Any], event: str) -> dict[str, Any]:
    """The case as its agency's system receives it."""
    state = service.workflow.states.get(app["state"])
    return {
        "event": event,
        "tracking": app["tracking"],
        "service_id": service.id,
        "service_version": service.version,
        "agency": service.agency,
        "office": app["office"],
        "state": app["state"],
        "outcome": state.outcome if state else None,
        "answers": app["answers"],
        "fee_total": app["fee_total"],
        "submitted_at": app["submitted_at"],
        "decided_at": app["updated_at"],
        "comment": app.get("last_comment"),
    }


def _to_agency(
    conn: Connection, service: Service, app: Mapping[str, Any], event: str, key: str, extra: Mapping[str, Any]
) -> None:
    """A signed webhook to the agency's system, when one is configured for the service's agency."""
    if service.agency not in settings().endpoints:
        return
    payload = {**case_payload(service, app, event), **extra, "idempotency_key": key}
    outbox.enqueue(conn, "webhook", service.agency, payload, key, app["id"])
