"""Citizen pages: catalog and search, service pages, login, generated forms, uploads, check-your-answers,
submission and receipt, and "my applications" with the correction loop."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from engine.compile.fields import is_empty
from engine.compile.model import DocumentRequirement, Field, SubmissionError
from engine.compile.service import Service
from engine.review.migration import review_draft
from engine.review.render_diff import describe
from engine.run import audit, auth, cases
from engine.run.db import PreparedSelect, drafts, uploads
from engine.run.exchange.flow import PROVENANCE, keep_locked
from engine.run.files import clean_name, sniff
from engine.run.outputs.documents import of_application as issued_for
from engine.run.web.app import LoginNeeded, Portal, portal_of, redirect
from engine.run.web.form_templates import Answers, FormPages, Messages, address_options_of, registry_marks
from engine.run.web.forms import FormBuilder, apply_row_buttons, decode, display_value, html_id
from engine.run.web.i18n import LANGS, text

_TOP = re.compile(r"[.\[]")
EXTENSIONS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "image/vnd.dwg": "DWG",
    "application/zip": "ZIP",
    "application/geo+json": "GeoJSON",
}


def top_field(path: str) -> str:
    return _TOP.split(path, maxsplit=1)[0]


def require_citizen(request: Request) -> cases.Actor:
    citizen = Portal.citizen(request)
    if citizen is None:
        raise LoginNeeded("/login", request.url.path)
    return citizen


def int_param(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except (KeyError, ValueError):
        raise HTTPException(404) from None


# --- catalog ---------------------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    portal = portal_of(request)
    services = portal.book.services
    query = request.query_params.get("q", "").strip()[:200]
    category = request.query_params.get("category") or None
    agency = request.query_params.get("agency") or None
    if query:
        found = portal.index.search(query)
    else:
        found = sorted(services.values(), key=lambda s: s.title.get(portal.lang(request)))
    if category:
        found = [s for s in found if s.category == category]
    if agency:
        found = [s for s in found if s.agency == agency]
    registries = portal.book.catalog.registries
    counts_by_category: dict[str, int] = {}
    counts_by_agency: dict[str, int] = {}
    for s in services.values():
        counts_by_category[s.category] = counts_by_category.get(s.category, 0) + 1
        counts_by_agency[s.agency] = counts_by_agency.get(s.agency, 0) + 1
    lang = portal.lang(request)
    categories = sorted(
        (
            (cid, registries.categories[cid].get(lang), n)
            for cid, n in counts_by_category.items()
            if cid in registries.categories
        ),
        key=lambda c: c[1],
    )
    agencies = sorted(
        (
            (aid, registries.agencies[aid].name.get(lang), n)
            for aid, n in counts_by_agency.items()
            if aid in registries.agencies
        ),
        key=lambda a: a[1],
    )
    filtered = bool(query or category or agency)
    return portal.render(
        request,
        "home.html",
        {
            "query": query,
            "services": found,
            "filtered": filtered,
            "categories": categories,
            "agencies": agencies,
            "category": category,
            "agency": agency,
            "total": len(services),
        },
    )


def service_or_404(portal: Portal, service_id: str) -> Service:
    service = portal.book.get(service_id)
    if service is None:
        raise HTTPException(404)
    return service


async def service_page(request: Request) -> Response:
    portal = portal_of(request)
    service = service_or_404(portal, request.path_params["service_id"])
    registries = portal.book.catalog.registries
    fixed_fee = all(isinstance(line.amount, int) and line.when is None for line in service.fee_lines)
    return portal.render(
        request,
        "service.html",
        {
            "service": service,
            "agency": registries.agencies.get(service.agency),
            "fixed_fee": fixed_fee,
            "fee_total": sum(line.amount for line in service.fee_lines if isinstance(line.amount, int)),
        },
    )


async def start(request: Request) -> Response:
    portal = portal_of(request)
    service = service_or_404(portal, request.path_params["service_id"])
    citizen = require_citizen(request)
    await portal.form(request)
    profile = request.session.get("profile", {})
    answers = initial_answers(service, profile)

    def begin(conn: Connection) -> int:
        portal.book.remember(conn, service)  # so the draft can later be compared with a newer version
        return cases.create_draft(conn, citizen.id, service.id, answers, definition_version=service.version)

    draft_id = await portal.run(begin)
    return redirect(f"/apply/{draft_id}/0")


def initial_answers(service: Service, profile: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults and `prefill: profile.<attr>` values; registry prefills wait for the ХУР connection."""
    answers: dict[str, Any] = {}
    for f in service.fields:
        if f.default is not None:
            answers[f.id] = f.default if not isinstance(f.default, bool) else ("yes" if f.default else "no")
        if f.prefill and f.prefill.startswith("profile."):
            value = profile.get(f.prefill.split(".", 1)[1])
            if value:
                answers[f.id] = value
    return answers


async def set_lang(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang in LANGS:
        request.session["lang"] = lang
    return redirect(safe_next(request.query_params.get("next")))


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- login ----------------------------------------------------------------------------------------------------
async def login(request: Request) -> Response:
    portal = portal_of(request)
    next_path = safe_next(request.query_params.get("next"))
    error = None
    if request.method == "POST":
        form = await portal.form(request)
        next_path = safe_next(form.get("next"))
        if not portal.settings.dev_login:
            raise HTTPException(404)
        citizen = await portal.run(auth.dev_login, str(form.get("register_number", "")), str(form.get("name", "")))
        if citizen is not None:
            start_citizen_session(request, citizen)
            return redirect(next_path)
        error = "login_invalid"
    return portal.render(request, "login.html", {"next": next_path, "error": error}, status=400 if error else 200)


def start_citizen_session(request: Request, citizen: auth.Citizen) -> None:
    keep = {k: request.session[k] for k in ("lang",) if k in request.session}
    request.session.clear()  # a new session on login: no fixation of an earlier one
    request.session.update(keep)
    request.session["citizen"] = {"id": citizen.id, "label": citizen.label}
    request.session["profile"] = {"register_number": citizen.register_number, "phone": citizen.phone}


async def oidc_start(request: Request) -> Response:
    portal = portal_of(request)
    if portal.oidc is None:
        raise HTTPException(404)
    import secrets

    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    request.session["oidc"] = {"state": state, "nonce": nonce, "next": safe_next(request.query_params.get("next"))}
    return redirect(portal.oidc.authorize_url(state, nonce))


async def oidc_callback(request: Request) -> Response:
    portal = portal_of(request)
    pending = request.session.pop("oidc", None)
    if portal.oidc is None or not pending or request.query_params.get("state") != pending.get("state"):
        raise HTTPException(403)

    claims = await run_in_threadpool(portal.oidc.identity, request.query_params.get("code", ""))
    provider = portal.oidc
    citizen = await portal.run(provider.login, claims)
    start_citizen_session(request, citizen)
    return redirect(pending.get("next") or "/")


async def logout(request: Request) -> Response:
    portal = portal_of(request)
    await portal.form(request)
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return redirect("/")


# --- the form ---------------------------------------------------------------------------------------------------
def draft_service(portal: Portal, conn: Connection, draft: Mapping[str, Any]) -> Service | None:
    """A new draft follows today's definition; a correction edits under the case's pinned version."""
    if draft["application_id"] is not None:
        app = cases.get_application(conn, draft["application_id"])
        return portal.book.pinned(conn, app["definition_version"]) if app else None
    return portal.book.get(draft["service_id"])


# cases.get_draft's query (the citizen's own draft only) on the driver's cursor: a form page's one query.
_OWN_DRAFT = PreparedSelect(
    sa.select(drafts).where(drafts.c.id == sa.bindparam("draft_id"), drafts.c.citizen_id == sa.bindparam("citizen_id")),
    ("draft_id", "citizen_id"),
)


def read_draft(conn: Connection, draft_id: int, citizen_id: int) -> dict[str, Any] | None:
    """What cases.get_draft returns: a citizen's own draft only, someone else's draft id gives None."""
    return _OWN_DRAFT.first(conn, draft_id, citizen_id)


def load_draft(
    conn: Connection, portal: Portal, draft_id: int, citizen: cases.Actor, with_files: bool = True
) -> tuple[Mapping[str, Any], Service, list[Mapping[str, Any]]] | None:
    """The citizen's own unsubmitted draft, its service and (unless `with_files` is off) its uploads."""
    draft = read_draft(conn, draft_id, citizen.id)
    if draft is None or draft["submitted"]:
        return None
    service = draft_service(portal, conn, draft)
    if service is None:
        return None
    if not with_files:  # a section page shows no uploads: one query fewer on every form page
        return draft, service, []
    files = cases.draft_uploads(conn, draft_id)
    if draft["application_id"] is not None:
        files = cases.application_uploads(conn, draft["application_id"]) + files
    return draft, service, files


async def draft_context(
    request: Request, portal: Portal, citizen: cases.Actor, with_files: bool = True
) -> tuple[int, Mapping[str, Any], Service, list[Mapping[str, Any]]]:
    """The draft the URL names, read in a read transaction (load_draft only reads); 404 if not the citizen's."""
    draft_id = int_param(request, "draft_id")
    found = await portal.read(load_draft, portal, draft_id, citizen, with_files)
    if found is None:
        raise HTTPException(404)
    draft, service, files = found
    return draft_id, draft, service, files


def address_options(portal: Portal) -> dict[str, Any]:
    return address_options_of(portal.book.catalog.registries)


def uploadable(service: Service) -> list[DocumentRequirement]:
    return [d for d in service.documents if d.registry is None]


def steps(service: Service) -> int:
    return len(service.sections) + (1 if uploadable(service) else 0)


def visibility(service: Service, values: Mapping[str, Any]) -> dict[str, bool]:
    return {f.id: (f.show_if is None or f.show_if.truth(values)) for f in service.fields}


async def section_page(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    draft_id, draft, service, _files = await draft_context(request, portal, citizen, with_files=False)
    index = int_param(request, "index")
    if not 0 <= index < len(service.sections):
        raise HTTPException(404)
    section = service.sections[index]
    answers: dict[str, Any] = dict(draft["answers"])
    errors: list[SubmissionError] = []
    notice = None
    focus = None
    values: Mapping[str, Any] | None = None  # the validated answers, once this request has them
    if request.method == "POST":
        form = await portal.form(request)
        button = next((b for b in ("_add", "_remove", "_refresh") if b in form), None)
        answers.update(decode(section.fields, form, drop_empty_rows=button is None))
        for f in section.fields:  # `readonly` answers (prefilled from the profile) are not the citizen's to change
            if f.readonly and not is_empty(draft["answers"].get(f.id)):
                answers[f.id] = draft["answers"][f.id]
        keep_locked(answers)  # registry values the service does not let the citizen correct
        focus = apply_row_buttons(section.fields, answers, form)
        await portal.run(cases.save_answers, draft_id, citizen.id, answers)
        if "_save" in form:
            return redirect("/my")
        if button is None:
            validation = service.validate(answers)
            values = validation.values
            visible = visibility(service, values)
            shown = set(form.getlist("_shown"))
            ids = {f.id for f in section.fields}
            revealed = {f.id for f in section.fields if f.show_if is not None and visible[f.id] and f.id not in shown}
            errors = [e for e in validation.errors if top_field(e.path) in ids and top_field(e.path) not in revealed]
            if revealed:
                notice = "more_questions"
            elif not errors:
                return redirect(next_step(draft_id, service, index))
    return render_section(request, portal, draft_id, draft, service, index, answers, errors, notice, focus, values)


def next_step(draft_id: int, service: Service, index: int) -> str:
    if index + 1 < len(service.sections):
        return f"/apply/{draft_id}/{index + 1}"
    if uploadable(service):
        return f"/apply/{draft_id}/documents"
    return f"/apply/{draft_id}/check"


def form_pages(portal: Portal) -> FormPages:
    """The portal's compiled form pages (kept on it like the registry adapter, built on first use)."""
    return portal.form_pages


def registry_failed(request: Request) -> bool:
    """The registry lookup sent the citizen back here with ?registry=failed (web/exchange.py)."""
    # Most page views carry no query string: parsing an empty one into QueryParams cost ≈7 µs a page.
    return bool(request.scope.get("query_string")) and request.query_params.get("registry") == "failed"


def render_section(
    request: Request,
    portal: Portal,
    draft_id: int,
    draft: Mapping[str, Any],
    service: Service,
    index: int,
    answers: Mapping[str, Any],
    errors: list[SubmissionError],
    notice: str | None,
    focus: str | None,
    values: Mapping[str, Any] | None = None,
) -> Response:
    """A section's page through its compiled template; the reference page when there is none.

    `values`: the validated answers when the caller has just validated them (a post with errors), so
    that show_if is not decided twice; without them the answers are validated here, and only when a
    field of the section has a show_if (visibility is all the page needs of the validation).
    """
    lang = portal.lang(request)
    registries = portal.book.catalog.registries
    page = form_pages(portal).get(service, index, lang, registries, steps(service))
    if page is None:
        return render_section_reference(request, portal, draft_id, draft, service, index, answers, errors, notice,
                                        focus)
    if values is None and page.shows:
        values = service.validate(answers).values
    messages = Messages()
    for e in errors:
        messages.setdefault(e.path, []).append(e.message.get(lang))
    earlier = draft["answers"]
    marks = Answers(registry_marks(earlier, registries.operations, lang)) if PROVENANCE in earlier else None
    offer = page.offers and draft.get("application_id") is None and PROVENANCE not in (earlier or {})
    if notice is None and registry_failed(request):
        notice = "registry_failed_notice"
    anchors = page.anchors
    html = page.render(dict(
        a=Answers(answers),
        E=messages,
        V={f.id: f.show_if.truth(values) for f in page.shows} if values is not None else {},  # type: ignore[union-attr]
        R=marks,
        summary=[("#" + (anchors.get(e.path) or error_anchor(e.path, service)), e.message.get(lang)) for e in errors],
        notice=text(notice, lang) if notice else None,
        focus=focus,
        offer=offer,
        correction=draft["application_id"] is not None,
        draft_id=draft_id,
        back=f"/apply/{draft_id}/{index - 1}" if index > 0 else f"/services/{service.id}",
        action=f"/apply/{draft_id}/{index}",
        csrf=portal.csrf_token(request),
        citizen=Portal.citizen(request),
        officer=Portal.officer(request),
        # What request.url.path gives (it builds and re-splits the whole URL, ≈10 µs): this route's path is
        # slashes and int parameters only, so no character of it needs the URL's escaping.
        path=request.scope["path"],
    ))
    return HTMLResponse(html, status_code=422 if errors else 200)


def render_section_reference(
    request: Request,
    portal: Portal,
    draft_id: int,
    draft: Mapping[str, Any],
    service: Service,
    index: int,
    answers: Mapping[str, Any],
    errors: list[SubmissionError],
    notice: str | None,
    focus: str | None,
) -> Response:
    """The reference page: FieldViews and form.html with one widget include per field (and deployers' overrides)."""
    lang = portal.lang(request)
    section = service.sections[index]
    values = service.validate(answers).values
    by_path: dict[str, list[SubmissionError]] = {}
    for e in errors:
        by_path.setdefault(e.path, []).append(e)
    builder = FormBuilder(
        lang,
        answers,
        by_path,
        visibility(service, values),
        address_options(portal),
        {f.id: f.label for f in service.fields},
    )
    views = builder.build(section.fields, answers)
    from engine.run.web.exchange import mark_fields, registry_offer

    mark_fields(views, draft["answers"], portal.book.catalog.registries.operations)
    offer = registry_offer(portal, service, draft, draft_id) if index == 0 else None
    if notice is None and registry_failed(request):
        notice = "registry_failed_notice"
    summary = [{"href": "#" + error_anchor(e.path, service), "text": e.message.get(lang)} for e in errors]
    back = f"/apply/{draft_id}/{index - 1}" if index > 0 else f"/services/{service.id}"
    return portal.render(
        request,
        "form.html",
        {
            "service": service,
            "section": section,
            "fields": views,
            "errors": summary,
            "notice": notice,
            "focus": focus,
            "draft_id": draft_id,
            "index": index,
            "step": index + 1,
            "steps": steps(service),
            "back": back,
            "correction": draft["application_id"] is not None,
            "action": f"/apply/{draft_id}/{index}",
            "registry_offer": offer,
        },
        status=422 if errors else 200,
    )


def error_anchor(path: str, service: Service) -> str:
    """Errors on a whole address or group point at its first input."""
    f = service.field_index.get(top_field(path))
    if f is not None and path == f.id and f.type == "address":
        from engine.compile.validator import ADDRESS_PARTS

        return html_id(f"{path}.{ADDRESS_PARTS[f.area or 'mongolia'][0]}")
    return html_id(path)


# --- documents ------------------------------------------------------------------------------------------------------
def document_rows(
    service: Service, values: Mapping[str, Any], files: list[Mapping[str, Any]], lang: str
) -> list[dict[str, Any]]:
    required = {d.id for d in service.required_documents(values)}
    rows = []
    for d in uploadable(service):
        is_required = d.id in required
        if not is_required and d.required_if is not None:
            continue  # a conditional document that these answers do not call for
        rows.append(
            {
                "doc": d,
                "required": is_required,
                "title": d.title.get(lang),
                "hint": d.hint.get(lang) if d.hint else None,
                "types": ", ".join(EXTENSIONS.get(a, a) for a in d.accept),
                "files": [f for f in files if f["document_id"] == d.id],
                "id": html_id("doc." + d.id),
            }
        )
    return rows


async def documents_page(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    draft_id, draft, service, files = await draft_context(request, portal, citizen)
    if not uploadable(service):
        raise HTTPException(404)
    lang = portal.lang(request)
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        limit = max((d.max_count for d in uploadable(service)), default=1)
        form = await portal.form(request, max_files=limit + 1)
        if "_continue" in form:
            return redirect(f"/apply/{draft_id}/check")
        if "_delete" in form:
            await portal.run(delete_upload, draft_id, str(form.get("_delete")))
            return redirect(f"/apply/{draft_id}/documents")
        doc_id = str(form.get("document", ""))
        doc = next((d for d in uploadable(service) if d.id == doc_id), None)
        if doc is None:
            raise HTTPException(400)
        anchor = html_id("doc." + doc.id) + "-file"
        posted = [f for f in form.getlist("file") if hasattr(f, "read")]
        problems = await check_and_store(portal, draft_id, doc, posted, files, lang)
        errors = [{"href": "#" + anchor, "text": p} for p in problems]
        if not errors:
            return redirect(f"/apply/{draft_id}/documents")
        found = await portal.read(load_draft, portal, draft_id, citizen)
        assert found is not None
        files = found[2]
    values = service.validate(draft["answers"]).values
    return portal.render(
        request,
        "documents.html",
        {
            "service": service,
            "draft_id": draft_id,
            "rows": document_rows(service, values, files, lang),
            "errors": errors,
            "step": len(service.sections) + 1,
            "steps": steps(service),
            "back": f"/apply/{draft_id}/{len(service.sections) - 1}",
        },
        status=422 if errors else 200,
    )


async def check_and_store(
    portal: Portal,
    draft_id: int,
    doc: DocumentRequirement,
    posted: list[Any],
    files: list[Mapping[str, Any]],
    lang: str,
) -> list[str]:
    """Read the posted files (no more than the limit allows), vet them, and store what passes."""
    posted = [f for f in posted if f.filename or f.size]
    limit = doc.max_size_mb * 1024 * 1024
    items = [(await upload.read(limit + 1), upload.filename) for upload in posted]
    already = sum(1 for f in files if f["document_id"] == doc.id)
    errors, accepted = vet_uploads(doc, items, already, lang)
    if errors:
        return errors
    for data, kind, name in accepted:
        digest = await run_in_threadpool(portal.store.put, data)  # hashing and writing: off the event loop
        await portal.run(record_upload, draft_id, doc.id, digest, len(data), kind, name)
    return []


def vet_uploads(
    doc: DocumentRequirement, items: list[tuple[bytes, str | None]], already: int, lang: str
) -> tuple[list[str], list[tuple[bytes, str, str]]]:
    """Limits from the definition: count, size, and the sniffed type — the client's claims are ignored.

    The form and the JSON API both pass through here, so the two doors accept the same files."""
    title = doc.title.get(lang)
    types = ", ".join(EXTENSIONS.get(a, a) for a in doc.accept)
    if not items:
        return [text("upload_no_file", lang)], []
    if already + len(items) > doc.max_count:
        return [text("upload_too_many", lang, count=doc.max_count, doc=title)], []
    limit = doc.max_size_mb * 1024 * 1024
    accepted = []
    for data, filename in items:
        if len(data) > limit:
            return [text("upload_too_big", lang, size=doc.max_size_mb)], []
        if not data:
            return [text("upload_empty", lang)], []
        kind = sniff(data)
        if kind is None or kind not in doc.accept:
            return [text("upload_bad_type", lang, types=types)], []
        accepted.append((data, kind, clean_name(filename)))
    return [], accepted


def record_upload(conn: Connection, draft_id: int, doc_id: str, digest: str, size: int, kind: str, name: str) -> None:
    from engine.run.db import now

    conn.execute(
        uploads.insert().values(
            draft_id=draft_id,
            application_id=None,
            document_id=doc_id,
            sha256=digest,
            size=size,
            content_type=kind,
            display_name=name,
            created_at=now(),
        )
    )


def delete_upload(conn: Connection, draft_id: int, upload_id: str) -> None:
    if upload_id.isdigit():
        conn.execute(
            uploads.delete().where(
                uploads.c.id == int(upload_id), uploads.c.draft_id == draft_id, uploads.c.application_id.is_(None)
            )
        )


# --- check your answers and submit ---------------------------------------------------------------------------------
def summary_rows(service: Service, answers: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    values = service.validate(answers).values
    out = []
    for index, section in enumerate(service.sections):
        rows = []
        for f in section.fields:
            if f.show_if is not None and not f.show_if.truth(values):
                continue
            rows.append({"field": f, "label": f.label.get(lang), "value": answer_text(f, values.get(f.id), lang)})
        out.append({"index": index, "title": section.title.get(lang), "rows": rows})
    return out


def answer_text(f: Field, value: Any, lang: str) -> str:
    if f.type == "repeat" and isinstance(value, list):
        label = (f.item_label or f.label).get(lang)
        parts = []
        for n, item in enumerate(value, start=1):
            inner = "; ".join(
                f"{sub.label.get(lang)}: {display_value(sub, item.get(sub.id), lang)}"
                for sub in f.fields
                if item.get(sub.id) is not None
            )
            parts.append(f"{label} {n} — {inner}")
        return "\n".join(parts)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return display_value(f, value, lang)


async def check_page(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    draft_id, draft, service, files = await draft_context(request, portal, citizen)
    return render_check(
        request,
        portal,
        draft_id,
        draft,
        service,
        files,
        outcome=None,
        changes=await changes_since_start(portal, draft, service, files, portal.lang(request)),
    )


async def changes_since_start(
    portal: Portal, draft: Mapping[str, Any], service: Service, files: list[Mapping[str, Any]], lang: str
) -> list[str]:
    """The changes of the service, since this draft was started, that touch this draft — in words."""
    started = draft.get("definition_version")
    if not started or started == service.version:
        return []
    old = await portal.run(portal.book.pinned, started)
    if old is None:
        return []
    review = review_draft(old, service, draft["answers"], {f["document_id"] for f in files})
    return [describe(change, lang) for change in review.changes]


def check_errors(
    service: Service, draft_id: int, answers: Mapping[str, Any], files: list[Mapping[str, Any]], lang: str
) -> list[dict[str, str]]:
    validation = service.validate(answers)
    section_of = {f.id: i for i, s in enumerate(service.sections) for f in s.fields}
    errors = [
        {
            "href": f"/apply/{draft_id}/{section_of.get(top_field(e.path), 0)}#{error_anchor(e.path, service)}",
            "text": e.message.get(lang),
        }
        for e in validation.errors
    ]
    for doc_id in cases.missing_documents(service, validation.values, list(files)):
        doc = next(d for d in service.documents if d.id == doc_id)
        errors.append(
            {
                "href": f"/apply/{draft_id}/documents#{html_id('doc.' + doc_id)}-file",
                "text": text("upload_missing", lang, doc=doc.title.get(lang)),
            }
        )
    return errors


def render_check(
    request: Request,
    portal: Portal,
    draft_id: int,
    draft: Mapping[str, Any],
    service: Service,
    files: list[Mapping[str, Any]],
    outcome: cases.Outcome | None,
    changes: list[str] | None = None,
) -> Response:
    lang = portal.lang(request)
    errors = check_errors(service, draft_id, draft["answers"], files, lang)
    if outcome is not None and not outcome.ok and not errors:
        errors = [{"href": "#submit", "text": text(outcome.code, lang)}]
    values = service.validate(draft["answers"]).values
    return portal.render(
        request,
        "check.html",
        {
            "service": service,
            "draft_id": draft_id,
            "sections": summary_rows(service, draft["answers"], lang),
            "documents": document_rows(service, values, files, lang) if uploadable(service) else [],
            "fees": service.fees(values),
            "fee_total": service.fee_total(values),
            "errors": errors,
            "changes": changes or [],
            "correction": draft["application_id"] is not None,
            "back": f"/apply/{draft_id}/documents"
            if uploadable(service)
            else f"/apply/{draft_id}/{len(service.sections) - 1}",
        },
        status=422 if errors else 200,
    )


async def submit(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    await portal.form(request)
    draft_id = int_param(request, "draft_id")
    outcome = await portal.run(cases.submit, portal.book, draft_id, citizen, dt.date.today())
    if outcome.ok and outcome.application is not None:
        return redirect(f"/applications/{quote(outcome.application['tracking'])}/receipt")
    found = await portal.read(load_draft, portal, draft_id, citizen)
    if found is None:
        raise HTTPException(404)
    draft, service, files = found
    changes = await changes_since_start(portal, draft, service, files, portal.lang(request))
    return render_check(request, portal, draft_id, draft, service, files, outcome, changes)


# --- after submission ---------------------------------------------------------------------------------------
def own_application(conn: Connection, tracking: str, citizen: cases.Actor) -> Mapping[str, Any] | None:
    app = cases.by_tracking(conn, tracking)
    return app if cases.visible_to(citizen, app) else None


def application_view(conn: Connection, portal: Portal, tracking: str, citizen: cases.Actor) -> dict[str, Any] | None:
    app = own_application(conn, tracking, citizen)
    if app is None:
        return None
    service = portal.book.pinned(conn, app["definition_version"])
    if service is None:
        return None
    return {
        "app": app,
        "service": service,
        "state": service.workflow.states.get(app["state"]),
        "history": audit.history(conn, app["id"]),
        "files": cases.application_uploads(conn, app["id"]),
        "issued": issued_for(conn, app["id"]),  # issued documents (issue 8)
        **registry_and_feedback(conn, portal, app, service),
    }


def registry_and_feedback(conn: Connection, portal: Portal, app: Mapping[str, Any], service: Service) -> dict[str, Any]:
    """The registry extracts of the case (issue 6) and the citizen's rating once it is closed."""
    from engine.run import feedback
    from engine.run.web.exchange import case_exchange

    return {"exchange": case_exchange(conn, portal, app, service), "feedback": feedback.of_application(conn, app["id"])}


async def receipt(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    view = await portal.read(application_view, portal, request.path_params["tracking"], citizen)
    if view is None:
        raise HTTPException(404)
    office = portal.book.catalog.registries.offices.get(view["app"]["office"])
    return portal.render(request, "receipt.html", {**view, "office": office})


async def my_applications(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)

    def load(conn: Connection) -> dict[str, Any]:
        apps = []
        for app in cases.citizen_applications(conn, citizen.id):
            service = portal.book.pinned(conn, app["definition_version"])
            state = service.workflow.states.get(app["state"]) if service else None
            apps.append({"app": app, "service": service, "state": state})
        drafts = [
            {"draft": d, "service": portal.book.get(d["service_id"])} for d in cases.citizen_drafts(conn, citizen.id)
        ]
        return {"apps": apps, "drafts": [d for d in drafts if d["service"] is not None]}

    return portal.render(request, "my.html", await portal.read(load))


async def application_page(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    view = await portal.read(application_view, portal, request.path_params["tracking"], citizen)
    if view is None:
        raise HTTPException(404)
    office = portal.book.catalog.registries.offices.get(view["app"]["office"])
    return portal.render(request, "application.html", {**view, "office": office, **citizen_choices(portal, view)})


def citizen_choices(portal: Portal, view: Mapping[str, Any]) -> dict[str, Any]:
    """What the citizen may do now: correct and resubmit, other applicant actions, or pay."""
    service, app, state = view["service"], view["app"], view["state"]
    if state is None or state.final or state.role != "applicant":
        return {"can_correct": False, "actions": [], "payment": None}
    values = cases.case_values(service, app)
    resubmit = cases.resubmit_transition(service, app["state"], values)
    actions = [
        t
        for t in service.workflow.available(app["state"], {"applicant"}, values)
        if resubmit is None or t.action != resubmit.action
    ]
    payment = cases.payment_transition(service, app) if portal.settings.dev_payments else None
    return {"can_correct": resubmit is not None, "actions": actions, "payment": payment}


async def citizen_action(request: Request) -> Response:
    """An applicant's own workflow action other than resubmitting (withdraw, dispute the amount …)."""
    portal = portal_of(request)
    citizen = require_citizen(request)
    form = await portal.form(request)
    tracking = request.path_params["tracking"]

    def act(conn: Connection) -> cases.Outcome:
        app = own_application(conn, tracking, citizen)
        if app is None:
            return cases.Outcome(False, "not_found")
        try:
            version = int(str(form.get("version", "")))
        except ValueError:
            version = None
        return cases.fire(
            conn,
            portal.book,
            app["id"],
            citizen,
            str(form.get("action", "")),
            str(form.get("comment", "")),
            version,
            dt.date.today(),
        )

    outcome = await portal.run(act)
    if outcome.code == "not_found":
        raise HTTPException(404)
    if not outcome.ok:
        view = await portal.read(application_view, portal, tracking, citizen)
        assert view is not None
        office = portal.book.catalog.registries.offices.get(view["app"]["office"])
        context = {
            **view,
            "office": office,
            **citizen_choices(portal, view),
            "message": text(outcome.code, portal.lang(request)),
        }
        return portal.render(request, "application.html", context, status=409 if outcome.code == "conflict" else 422)
    return redirect(f"/applications/{quote(tracking)}")


async def dev_pay(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    await portal.form(request)
    if not portal.settings.dev_payments:
        raise HTTPException(404)
    tracking = request.path_params["tracking"]

    def paying(conn: Connection) -> cases.Outcome:
        app = own_application(conn, tracking, citizen)
        if app is None:
            return cases.Outcome(False, "not_found")
        return cases.pay(conn, portal.book, app["id"], citizen, dt.date.today())

    outcome = await portal.run(paying)
    if outcome.code == "not_found":
        raise HTTPException(404)
    return redirect(f"/applications/{quote(tracking)}")


async def start_correction(request: Request) -> Response:
    portal = portal_of(request)
    citizen = require_citizen(request)
    await portal.form(request)
    tracking = request.path_params["tracking"]

    def open_draft(conn: Connection) -> int | None:
        app = own_application(conn, tracking, citizen)
        if app is None:
            return None
        service = portal.book.pinned(conn, app["definition_version"])
        state = service.workflow.states.get(app["state"]) if service else None
        if service is None or state is None or state.role != "applicant":
            return None
        if cases.resubmit_transition(service, app["state"], cases.case_values(service, app)) is None:
            return None
        return cases.correction_draft(conn, app, citizen)

    draft_id = await portal.run(open_draft)
    if draft_id is None:
        raise HTTPException(404)
    return redirect(f"/apply/{draft_id}/0")


async def download(request: Request) -> Response:
    """A stored file, for its owner or the staff of the office handling its case; never rendered inline."""
    portal = portal_of(request)
    upload_id = int_param(request, "upload_id")
    citizen, officer = Portal.citizen(request), Portal.officer(request)

    def allowed(conn: Connection) -> Mapping[str, Any] | None:
        row = conn.execute(sa.select(uploads).where(uploads.c.id == upload_id)).mappings().first()
        if row is None:
            return None
        if row["application_id"] is not None:
            app = cases.get_application(conn, row["application_id"])
            if (officer and cases.visible_to(officer, app)) or (citizen and cases.visible_to(citizen, app)):
                return dict(row)
            return None
        if citizen and row["draft_id"] is not None and cases.get_draft(conn, row["draft_id"], citizen.id):
            return dict(row)
        return None

    row = await portal.run(allowed)
    if row is None:
        raise HTTPException(404)
    data = portal.store.get(row["sha256"])
    name = f"{row['document_id']}-{row['id']}.{EXTENSIONS.get(row['content_type'], 'bin').lower()}"
    return Response(
        data,
        media_type=row["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/services/{service_id}", service_page),
        Route("/services/{service_id}/start", start, methods=["POST"]),
        Route("/lang/{lang}", set_lang),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/login/oidc", oidc_start),
        Route("/login/oidc/callback", oidc_callback),
        Route("/logout", logout, methods=["POST"]),
        Route("/apply/{draft_id:int}/documents", documents_page, methods=["GET", "POST"]),
        Route("/apply/{draft_id:int}/check", check_page),
        Route("/apply/{draft_id:int}/submit", submit, methods=["POST"]),
        Route("/apply/{draft_id:int}/{index:int}", section_page, methods=["GET", "POST"]),
        Route("/my", my_applications),
        Route("/applications/{tracking}", application_page),
        Route("/applications/{tracking}/receipt", receipt),
        Route("/applications/{tracking}/correct", start_correction, methods=["POST"]),
        Route("/applications/{tracking}/action", citizen_action, methods=["POST"]),
        Route("/applications/{tracking}/pay", dev_pay, methods=["POST"]),
        Route("/files/{upload_id:int}", download),
    ]
