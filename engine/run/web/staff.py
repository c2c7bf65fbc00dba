"""The back office: staff login, the office queue, the case page and workflow actions.

Authorization is by office AND role: a case of another office is answered as not found, and the
actions offered are exactly `Workflow.available(state, roles, answers)` — the same check `fire` repeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.engine import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.run import audit, auth, cases
from engine.run.outputs.documents import of_application as issued_for
from engine.run.web.app import LoginNeeded, Portal, portal_of, redirect
from engine.run.web.citizen import answer_text, safe_next
from engine.run.web.exchange import case_exchange
from engine.run.web.forms import FormBuilder
from engine.run.web.i18n import text


def require_officer(request: Request) -> cases.Actor:
    officer = Portal.officer(request)
    if officer is None:
        raise LoginNeeded("/staff/login", request.url.path)
    return officer


async def staff_login(request: Request) -> Response:
    portal = portal_of(request)
    error = None
    next_path = safe_next(request.query_params.get("next") or "/staff")
    if request.method == "POST":
        form = await portal.form(request)
        next_path = safe_next(str(form.get("next") or "/staff"))
        member = await portal.run(auth.staff_login, str(form.get("username", "")), str(form.get("password", "")))
        if member is not None:
            keep = {k: request.session[k] for k in ("lang",) if k in request.session}
            request.session.clear()
            request.session.update(keep)
            request.session["staff"] = {
                "id": member.id,
                "label": f"{member.name} ({member.username})",
                "office": member.office,
                "roles": sorted(member.roles),
            }
            return redirect(next_path)
        error = "staff_invalid"
    return portal.render(request, "staff_login.html", {"error": error, "next": next_path}, status=400 if error else 200)


async def staff_logout(request: Request) -> Response:
    portal = portal_of(request)
    await portal.form(request)
    request.session.pop("staff", None)
    return redirect("/staff/login")


async def queue_page(request: Request) -> Response:
    portal = portal_of(request)
    officer = require_officer(request)
    q = request.query_params
    filters = cases.QueueFilter(
        service_id=q.get("service") or None,
        state=q.get("state") or None,
        assigned=str(q.get("assigned")) if q.get("assigned") in ("me", "unassigned") else "any",
        overdue=q.get("overdue") == "1",
        waiting_on_me=q.get("all") != "1",
    )
    today = dt.date.today()
    after = cases.QueueKey.parse(q.get("after"))
    page = await portal.read(cases.queue, portal.book, officer, filters, today, after)
    rows = page.rows
    office = portal.book.catalog.registries.offices.get(officer.office or "")
    services, states = filter_choices(portal, office.agency if office else None, rows, portal.lang(request))
    kept = queue_query(filters)
    return portal.render(
        request,
        "queue.html",
        {
            "rows": rows,
            "filters": filters,
            "office": office,
            "services": services,
            "states": states,
            "today": today,
            "later_page": after is not None,
            "first_href": "/staff" + (f"?{urlencode(kept)}" if kept else ""),
            "next_href": "/staff?" + urlencode([*kept, ("after", page.next_key.text())]) if page.next_key else None,
        },
    )


def filter_choices(
    portal: Portal, agency: str | None, rows: list[dict[str, Any]], lang: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The service and state filters' choices: the agency's services and their open states.

    Taken from the catalog, not from the rows shown: a page holds 50 cases, and a filter that only
    offered what the current page happens to show would hide the rest of the queue. A case routed
    here from another agency's service adds that service too.
    """
    offered = {s.id: s for s in portal.book.catalog.services.values() if s.agency == agency}
    for r in rows:
        offered.setdefault(r["service"].id, r["service"])
    states: dict[str, str] = {}
    for service in offered.values():
        for key, state in service.workflow.states.items():
            if not state.final:
                states.setdefault(key, state.label.get(lang))
    return (
        sorted((sid, s.title.get(lang)) for sid, s in offered.items()),
        sorted(states.items()),
    )


def queue_query(filters: cases.QueueFilter) -> list[tuple[str, str]]:
    """The query string parameters that select these filters, for the paging links (the form's own names)."""
    kept = [("service", filters.service_id or ""), ("state", filters.state or "")]
    if filters.assigned != "any":
        kept.append(("assigned", filters.assigned))
    if filters.overdue:
        kept.append(("overdue", "1"))
    if not filters.waiting_on_me:
        kept.append(("all", "1"))
    return [(name, value) for name, value in kept if value]


def case_view(conn: Connection, portal: Portal, tracking: str, officer: cases.Actor) -> dict[str, Any] | None:
    app = cases.by_tracking(conn, tracking)
    if not cases.visible_to(officer, app):
        return None
    assert app is not None
    service = portal.book.pinned(conn, app["definition_version"])
    if service is None:
        return None
    values = cases.case_values(service, app)
    actions = service.workflow.available(app["state"], officer.roles, values)
    colleagues = auth.office_staff(conn, officer.office or "")
    return {
        "app": app,
        "service": service,
        "values": values,
        "state": service.workflow.states[app["state"]],
        "actions": actions,
        "history": audit.history(conn, app["id"]),
        "files": cases.application_uploads(conn, app["id"]),
        "issued": issued_for(conn, app["id"]),  # issued documents (issue 8)
        "colleagues": colleagues,
        "assignee": next((c for c in colleagues if c.id == app["assignee_id"]), None),
        "exchange": case_exchange(conn, portal, app, service),  # registry extracts and manual checks
    }


def render_case(
    request: Request,
    portal: Portal,
    view: Mapping[str, Any],
    message: str | None = None,
    ok: bool = False,
    errors: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    lang = portal.lang(request)
    service = view["service"]
    answers = []
    for section in service.sections:
        rows = []
        for f in section.fields:
            value = view["values"].get(f.id)
            if value is None:
                continue
            rows.append({"label": f.label.get(lang), "value": answer_text(f, value, lang)})
        answers.append({"title": section.title.get(lang), "rows": rows})
    action_forms = []
    for t in view["actions"]:
        builder = FormBuilder(lang, {}, (errors or {}).get(t.action, {}), {}, {}, {})
        fields = [service.field_index[fid] for fid in t.requires_fields if fid in service.field_index]
        action_forms.append({"t": t, "fields": builder.build(fields, {}, prefix="")})
    return portal.render(
        request,
        "case.html",
        {
            **view,
            "answers": answers,
            "action_forms": action_forms,
            "message": message,
            "ok": ok,
            "office": portal.book.catalog.registries.offices.get(view["app"]["office"]),
        },
        status=status,
    )


async def case_page(request: Request) -> Response:
    portal = portal_of(request)
    officer = require_officer(request)
    view = await portal.read(case_view, portal, request.path_params["tracking"], officer)
    if view is None:
        raise HTTPException(404)
    done = request.query_params.get("done")
    return render_case(request, portal, view, text("done", portal.lang(request)) if done else None, ok=bool(done))


def _version(form: Any) -> int | None:
    try:
        return int(form.get("version", ""))
    except ValueError:
        return None


async def case_action(request: Request) -> Response:
    portal = portal_of(request)
    officer = require_officer(request)
    form = await portal.form(request)
    tracking = request.path_params["tracking"]
    app = await portal.read(cases.by_tracking, tracking)
    if not cases.visible_to(officer, app):
        raise HTTPException(404)
    assert app is not None
    action = str(form.get("action", ""))
    fields = {k[len("field.") :]: v for k, v in form.items() if k.startswith("field.")}
    outcome = await portal.run(
        cases.fire,
        portal.book,
        app["id"],
        officer,
        action,
        str(form.get("comment", "")),
        _version(form),
        dt.date.today(),
        fields,
    )
    if outcome.ok:
        return redirect(f"/staff/cases/{quote(tracking)}?done=1")
    view = await portal.read(case_view, portal, tracking, officer)
    if view is None:
        raise HTTPException(404)
    lang = portal.lang(request)
    status = 409 if outcome.code == "conflict" else (403 if outcome.code == "not_allowed" else 422)
    errors = {action: {e.path: [e] for e in outcome.errors}} if outcome.errors else None
    return render_case(request, portal, view, text(outcome.code, lang), errors=errors, status=status)


async def case_assign(request: Request) -> Response:
    portal = portal_of(request)
    officer = require_officer(request)
    form = await portal.form(request)
    tracking = request.path_params["tracking"]

    def assign(conn: Connection) -> cases.Outcome:
        app = cases.by_tracking(conn, tracking)
        if not cases.visible_to(officer, app):
            return cases.Outcome(False, "not_found")
        assert app is not None
        target = form.get("assignee", "me")
        if target == "me":
            assignee: int | None = officer.id
        elif str(target).isdigit():
            colleague = auth.staff_by_id(conn, int(str(target)))
            if colleague is None or colleague.office != officer.office:
                return cases.Outcome(False, "not_allowed")
            assignee = colleague.id
        else:
            assignee = None
        return cases.set_assignee(conn, app["id"], officer, assignee, _version(form))

    outcome = await portal.run(assign)
    if outcome.code == "not_found":
        raise HTTPException(404)
    if outcome.ok:
        return redirect(f"/staff/cases/{quote(tracking)}?done=1")
    view = await portal.read(case_view, portal, tracking, officer)
    if view is None:
        raise HTTPException(404)
    status = 409 if outcome.code == "conflict" else 403
    return render_case(request, portal, view, text(outcome.code, portal.lang(request)), status=status)


def routes() -> list[Route]:
    return [
        Route("/staff/login", staff_login, methods=["GET", "POST"]),
        Route("/staff/logout", staff_logout, methods=["POST"]),
        Route("/staff", queue_page),
        Route("/staff/cases/{tracking}", case_page),
        Route("/staff/cases/{tracking}/action", case_action, methods=["POST"]),
        Route("/staff/cases/{tracking}/assign", case_assign, methods=["POST"]),
    ]
