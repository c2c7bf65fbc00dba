"""Pages for what cases produce: the applicant's issued documents, inbox and notice profile; the public
/verify/<code> page; the office inbox; dead letters for replay; and administrative revocation."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from engine.run import audit, cases, outbox
from engine.run.notify import inbox
from engine.run.outputs import documents
from engine.run.web.app import LoginNeeded, Portal, portal_of, redirect

ADMIN_ROLES = frozenset({"admin", "head_of_office"})
# A stored document carries its own styles (it must print the same forever); it has no scripts.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _pick(lang: str) -> Any:
    def pick(mn: str, en: str) -> str:
        return en if lang == "en" else mn

    return pick


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    portal = portal_of(request)
    return portal.render(request, template, {"L": _pick(portal.lang(request)), **context}, status)


def _citizen(request: Request) -> cases.Actor:
    citizen = Portal.citizen(request)
    if citizen is None:
        raise LoginNeeded("/login", request.url.path)
    return citizen


def _officer(request: Request) -> cases.Actor:
    officer = Portal.officer(request)
    if officer is None:
        raise LoginNeeded("/staff/login", request.url.path)
    return officer


async def my_documents(request: Request) -> Response:
    citizen = _citizen(request)
    rows = await portal_of(request).run(documents.of_citizen, citizen.id)
    return _render(request, "my_documents.html", {"documents": rows})


async def my_document(request: Request) -> Response:
    """The issued document exactly as stored: to its applicant only; anyone else gets 'not found'."""
    citizen = _citizen(request)
    doc = await portal_of(request).run(documents.by_number, request.path_params["number"])
    if doc is None or doc["citizen_id"] != citizen.id:
        raise HTTPException(404)
    headers = {"content-security-policy": DOCUMENT_CSP, "x-document-sha256": doc["sha256"], "cache-control": "private"}
    if request.query_params.get("download") == "1":
        headers["content-disposition"] = f'attachment; filename="{doc["number"]}.html"'
    return HTMLResponse(doc["html"], headers=headers)


async def verify_page(request: Request) -> Response:
    code = request.path_params.get("code") or request.query_params.get("code") or ""
    doc = await portal_of(request).run(documents.by_code, code) if code else None
    status = 404 if code and doc is None else 200
    registries = portal_of(request).book.catalog.registries
    agency = registries.agencies.get(doc["agency"]) if doc else None
    return _render(request, "verify.html", {"code": code, "doc": doc, "agency": agency}, status)


async def my_inbox(request: Request) -> Response:
    citizen = _citizen(request)
    rows = await portal_of(request).run(inbox.citizen_inbox, citizen.id)
    return _render(request, "inbox.html", {"notices": rows, "staff_view": False})


async def my_profile(request: Request) -> Response:
    citizen = _citizen(request)
    portal = portal_of(request)
    saved = False
    if request.method == "POST":
        form = await portal.form(request)
        chosen = inbox.Profile(
            channel=str(form.get("channel", "inbox")),
            language=str(form.get("language", "mn")),
            email=str(form.get("email", "")),
            phone=str(form.get("phone", "")),
        )
        await portal.run(inbox.save_profile, citizen.id, chosen)
        saved = True
    current = await portal.read(inbox.profile, citizen.id)
    return _render(request, "notice_profile.html", {"profile": current, "saved": saved, "channels": inbox.CHANNELS})


async def office_inbox(request: Request) -> Response:
    officer = _officer(request)
    rows = await portal_of(request).run(inbox.office_inbox, officer.office or "")
    return _render(request, "inbox.html", {"notices": rows, "staff_view": True})


def _admin(request: Request) -> cases.Actor:
    officer = _officer(request)
    if not officer.roles & ADMIN_ROLES:
        raise HTTPException(403)
    return officer


async def outbox_page(request: Request) -> Response:
    _admin(request)
    portal = portal_of(request)
    status = request.query_params.get("status", "dead")
    rows = await portal.read(outbox.listing, status if status != "all" else None)
    totals = await portal.read(outbox.counts)
    return _render(request, "outbox.html", {"messages": rows, "totals": totals, "status": status})


async def outbox_replay(request: Request) -> Response:
    officer = _admin(request)
    portal = portal_of(request)
    await portal.form(request)
    message_id = int(request.path_params["id"])

    def replay(conn: Any) -> bool:
        done = outbox.replay(conn, message_id)
        if done:
            audit.append(
                conn,
                application_id=None,
                actor=officer.label,
                role=sorted(officer.roles & ADMIN_ROLES)[0],
                office=officer.office,
                action="replay_message",
                comment=f"outbox {message_id}",
            )
        return done

    if not await portal.run(replay):
        raise HTTPException(404)
    return redirect("/staff/outbox")


async def revoke_document(request: Request) -> Response:
    """The head of the issuing office revokes a document (e.g. issued in error); the reason is audited."""
    officer = _admin(request)
    portal = portal_of(request)
    form = await portal.form(request)
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise HTTPException(400)
    number = request.path_params["number"]

    def revoke(conn: Any) -> bool:
        doc = documents.by_number(conn, number)
        if doc is None or doc["office"] != officer.office:
            return False
        app = cases.get_application(conn, doc["application_id"])
        role = sorted(officer.roles & ADMIN_ROLES)[0]
        return bool(app and documents.revoke(conn, app, doc["kind"], officer.label, role, reason))

    if not await portal.run(revoke):
        raise HTTPException(404)
    return redirect(f"/verify/{(await portal.read(documents.by_number, number) or {}).get('code', '')}")


def routes() -> list[Route]:
    return [
        Route("/my/documents", my_documents),
        Route("/my/documents/{number}", my_document),
        Route("/my/inbox", my_inbox),
        Route("/my/profile", my_profile, methods=["GET", "POST"]),
        Route("/verify", verify_page),
        Route("/verify/{code}", verify_page),
        Route("/staff/inbox", office_inbox),
        Route("/staff/outbox", outbox_page),
        Route("/staff/outbox/{id:int}/replay", outbox_replay, methods=["POST"]),
        Route("/staff/documents/{number}/revoke", revoke_document, methods=["POST"]),
    ]
