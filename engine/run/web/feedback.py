"""Feedback pages: the applicant rates a closed case (on its page), and officers read their agency's comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.compile.model import I18n
from engine.run import cases
from engine.run import feedback as store
from engine.run.web.app import LoginNeeded, Portal, portal_of, redirect
from engine.run.web.i18n import TEXTS, text

TEXTS.update(
    {
        "feedback_title": I18n("Үйлчилгээг үнэлэх", "Rate this service"),
        "feedback_rating": I18n("Үнэлгээ (1 — муу, 5 — маш сайн)", "Rating (1 — poor, 5 — excellent)"),
        "feedback_comment": I18n("Сэтгэгдэл (заавал биш)", "Comment (optional)"),
        "feedback_comment_hint": I18n("{n} тэмдэгт хүртэл", "Up to {n} characters"),
        "feedback_send": I18n("Үнэлгээ илгээх", "Send rating"),
        "feedback_thanks": I18n("Үнэлгээ өгсөнд баярлалаа", "Thank you for your rating"),
        "feedback_yours": I18n("Таны үнэлгээ", "Your rating"),
        "feedback_staff": I18n("Иргэдийн үнэлгээ, сэтгэгдэл", "Citizens' ratings and comments"),
        "feedback_none": I18n("Одоогоор үнэлгээ алга", "No ratings yet"),
        "not_final": I18n("Шийдвэрлэгдсэний дараа үнэлнэ", "You can rate once the case is closed"),
        "already_rated": I18n("Та энэ өргөдлийг аль хэдийн үнэлсэн", "You have already rated this case"),
        "bad_rating": I18n("1-ээс 5 хүртэлх үнэлгээ сонгоно уу", "Choose a rating from 1 to 5"),
    }
)


async def give(request: Request) -> Response:
    portal = portal_of(request)
    citizen = Portal.citizen(request)
    if citizen is None:
        raise LoginNeeded("/login", request.url.path)
    form = await portal.form(request)
    tracking = request.path_params["tracking"]

    def rate(conn: Connection) -> store.Given:
        app = cases.by_tracking(conn, tracking)
        if not cases.visible_to(citizen, app):
            return store.Given(False, "not_found")
        assert app is not None
        service = portal.book.pinned(conn, app["definition_version"])
        return store.give(conn, app, service, citizen.id, form.get("rating"), form.get("comment"))

    given = await portal.run(rate)
    if given.code == "not_found":
        raise HTTPException(404)
    if not given.ok:
        return Response(text(given.code, portal.lang(request)), status_code=409 if given.code != "bad_rating" else 422)
    return redirect(f"/applications/{quote(tracking)}")


async def staff_feedback(request: Request) -> Response:
    portal = portal_of(request)
    officer = Portal.officer(request)
    if officer is None:
        raise LoginNeeded("/staff/login", request.url.path)
    offices = portal.book.catalog.registries.offices
    mine = offices.get(officer.office or "")
    same_agency = sorted(o for o, office in offices.items() if mine is not None and office.agency == mine.agency)

    def load(conn: Connection) -> list[Mapping[str, Any]]:
        return store.for_offices(conn, same_agency or [officer.office or ""])

    rows = await portal.read(load)
    services = portal.book.services
    view = [{**r, "service": services.get(r["service_id"]), "office_obj": offices.get(r["office"])} for r in rows]
    return portal.render(request, "feedback/staff.html", {"rows": view, "max_comment": store.MAX_COMMENT})


def routes() -> list[Route]:
    return [
        Route("/applications/{tracking}/feedback", give, methods=["POST"]),
        Route("/staff/feedback", staff_feedback),
    ]
