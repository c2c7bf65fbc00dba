"""Exchange pages: the consent screen that fetches registry data into a new application, and the
pieces the form, the case page and the citizen's application page show about registry data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.compile.model import I18n, RegistryOperation
from engine.compile.service import Service
from engine.run import cases
from engine.run.exchange import flow
from engine.run.exchange.adapter import RegistryAdapter
from engine.run.exchange.http import ExchangeSettings, HttpRegistry
from engine.run.exchange.local import LocalRegistry
from engine.run.exchange.population import Places
from engine.run.web.app import LoginNeeded, Portal, portal_of, redirect
from engine.run.web.i18n import TEXTS

TEXTS.update(
    {
        "registry_title": I18n("Төрийн мэдээллийн сангаас мэдээлэл авах", "Use data the state already holds"),
        "registry_intro": I18n(
            "Энэ үйлчилгээнд шаардлагатай мэдээллийг төрийн мэдээлэл солилцооны системээс (ХУР) таны "
            "зөвшөөрлөөр татаж, маягтыг бөглөнө. Зөвшөөрөхгүй бол мэдээллээ өөрөө оруулна.",
            "With your consent the portal fetches what this service needs from the state data exchange "
            "(ХУР) and fills in the form. If you do not consent, you type the information yourself.",
        ),
        "registry_review": I18n("Мэдээллээ татах", "Fetch my data"),
        "registry_fills": I18n("Бөглөх", "Fills in"),
        "registry_provides": I18n("Баримт", "Provides"),
        "registry_key": I18n("Хайх дугаар", "Look up by"),
        "registry_consent": I18n("Зөвшөөрч байна", "I consent"),
        "registry_agree": I18n("Зөвшөөрөөд үргэлжлүүлэх", "Consent and continue"),
        "registry_skip": I18n("Өөрөө бөглөх", "Fill in myself"),
        "from_civil_registry": I18n("Иргэний бүртгэлээс", "From the civil registry"),
        "from_state_registry": I18n("Төрийн мэдээллийн сангаас", "From the state registry"),
        "registry_correctable": I18n("шаардлагатай бол засна уу", "correct it if needed"),
        "registry_calls": I18n("Төрийн мэдээллийн сангаас авсан мэдээлэл", "Data requested from the state registry"),
        "registry_extracts": I18n("Төрийн мэдээллийн сангийн лавлагаа", "Registry extracts"),
        "registry_source": I18n("Эх сурвалж", "Source"),
        "registry_fetched": I18n("Татсан", "Fetched"),
        "registry_manual": I18n(
            "Төрийн мэдээллийн сангаас авч чадаагүй: гараар шалгана уу", "Not received from the registry: check by hand"
        ),
        "registry_failed_notice": I18n(
            "Зарим мэдээллийг төрийн мэдээллийн сангаас авч чадсангүй. Та өөрөө бөглөж илгээж болно; "
            "албан хаагч шалгана.",
            "Some data could not be fetched from the state registry. Fill it in yourself and apply; "
            "an officer will check it.",
        ),
        "status_ok": I18n("амжилттай", "received"),
        "status_not_found": I18n("бүртгэл олдсонгүй", "no record found"),
        "status_error": I18n("алдаа", "error"),
        "status_timeout": I18n("хариу ирсэнгүй", "no answer in time"),
        "status_no_consent": I18n("зөвшөөрөл өгөөгүй", "no consent given"),
        "status_no_key": I18n("дугаар өгөөгүй", "no number given"),
        "status_not_called": I18n("дуудаагүй", "not requested"),
    }
)


def adapter_of(portal: Portal) -> RegistryAdapter:
    """The configured adapter: the HTTP exchange when TSONKH_XYP_URL is set, else the local registry."""
    found = portal.registry_adapter
    if found is None:
        settings = ExchangeSettings.from_env()
        if settings.url:
            found = HttpRegistry(settings.url, settings.token, settings.timeout)
        else:
            found = LocalRegistry(portal.engine, Places.from_registries(portal.book.catalog.registries))
        portal.registry_adapter = found
    return found


def service_uses(portal: Portal, service: Service) -> list[flow.Use]:
    return flow.uses(service, portal.book.catalog.registries.operations)


def registry_offer(portal: Portal, service: Service, draft: Mapping[str, Any], draft_id: int) -> list[flow.Use]:
    """The operations to offer on a new application's first page, until the citizen has answered once."""
    if draft.get("application_id") is not None or flow.PROVENANCE in (draft.get("answers") or {}):
        return []
    return service_uses(portal, service)


def _citizen(request: Request) -> cases.Actor:
    citizen = Portal.citizen(request)
    if citizen is None:
        raise LoginNeeded("/login", request.url.path)
    return citizen


async def consent_page(request: Request) -> Response:
    from engine.run.web.citizen import load_draft

    portal = portal_of(request)
    citizen = _citizen(request)
    draft_id = int(request.path_params["draft_id"])
    found = await portal.read(load_draft, portal, draft_id, citizen)
    if found is None:
        raise HTTPException(404)
    draft, service, _files = found
    wanted = service_uses(portal, service)
    if not wanted:
        return redirect(f"/apply/{draft_id}/0")
    register = str((request.session.get("profile") or {}).get("register_number") or "")
    adapter = adapter_of(portal)
    if request.method == "POST":
        form = await portal.form(request)
        granted = set(form.getlist("consent")) if "_agree" in form else set()
        keys = {u.id: str(form.get(f"key.{u.id}", ""))[:40] for u in wanted if u.key_field is not None}
        results = await run_in_threadpool(flow.call_all, adapter, wanted, granted, register, keys)

        def save(conn: Connection) -> bool:
            current = cases.get_draft(conn, draft_id, citizen.id)
            if current is None or current["submitted"]:
                return False
            answers = flow.record(
                conn, citizen.id, draft_id, wanted, granted, keys, results, current["answers"], dt.date.today()
            )
            return cases.save_answers(conn, draft_id, citizen.id, answers)

        if not await portal.run(save):
            raise HTTPException(404)
        failed = any(r.status not in ("ok", "no_consent") for r in results.values())
        return redirect(f"/apply/{draft_id}/0{'?registry=failed' if failed else ''}")
    suggest = getattr(adapter, "suggest", None)
    suggestions: dict[str, str] = {}
    for u in wanted:
        if u.key_field is not None:
            current = draft["answers"].get(u.key_field.id)
            value = current if isinstance(current, str) and current else None
            if value is None and suggest is not None and register:
                value = await run_in_threadpool(suggest, u.key_kind, register)
            suggestions[u.id] = value or ""
    return portal.render(
        request,
        "exchange/consent.html",
        {"service": service, "uses": wanted, "draft_id": draft_id, "suggestions": suggestions},
    )


def source_label(operation: RegistryOperation | None) -> str:
    """Person records come from the civil registry; every other record from a state registry."""
    return "from_civil_registry" if operation is None or operation.record == "person" else "from_state_registry"


def mark_fields(
    views: Sequence[Any], answers: Mapping[str, Any], operations: Mapping[str, RegistryOperation]
) -> None:
    """Tell each prefilled field's view where its value came from and whether it is locked."""
    provenance = flow.provenance_of(answers)
    for view in views:
        info = provenance.get(view.field.id)
        if isinstance(info, Mapping):
            operation = operations.get(str(info.get("op", "")))
            view.registry = {"label": source_label(operation), "op": info.get("op"),
                             "locked": bool(info.get("locked"))}


def case_exchange(conn: Connection, portal: Portal, app: Mapping[str, Any], service: Service) -> flow.CaseExchange:
    return flow.case_exchange(conn, app, service, portal.book.catalog.registries.operations)


def routes() -> list[Route]:
    return [Route("/apply/{draft_id:int}/registry", consent_page, methods=["GET", "POST"])]
