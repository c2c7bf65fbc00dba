"""The Starlette application: wiring of settings, database, services, templates, security and routes.

`create_app` is the one place that knows every part; handlers live in citizen.py, staff.py and
api.py and reach shared things through `Portal` (request.app.state.portal).
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.catalog import Catalog, compile_documents, load_catalog
from engine.run import auth, cases
from engine.run.db import make_engine, read_transaction
from engine.run.exchange.adapter import RegistryAdapter
from engine.run.files import FileStore, FolderStore
from engine.run.migrate import upgrade
from engine.run.search import SearchIndex
from engine.run.services import ServiceBook
from engine.run.settings import Settings, load_settings
from engine.run.web.form_templates import FormPages, overridden
from engine.run.web.i18n import LANGS, text
from engine.run.web.session import SignedCookieSession

RENDERERS = Path(__file__).resolve().parents[3] / "renderers"
T = TypeVar("T")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000")


def secured(headers: list[tuple[bytes, bytes]], hsts: bool) -> list[tuple[bytes, bytes]]:
    """`headers` with every security header the response does not set itself (its own value wins)."""
    present = {k.lower() for k, _ in headers}
    return headers + [(k, v) for k, v in (*SECURITY_HEADERS, *([HSTS] if hsts else [])) if k not in present]


class SecurityHeaders:
    """Adds the strict Content-Security-Policy (no inline scripts or styles) and friends to every response.

    Pure ASGI (no BaseHTTPMiddleware): it only rewrites the response's start message, so streamed
    and file bodies pass through untouched."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secured(list(message.get("headers", [])), self.hsts)
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses request bodies over the limit (413) before they are parsed or spooled to disk."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Before any session or language is known: say it in both languages.
            message = "Илгээсэн өгөгдөл хэт том байна. / The request is too large."
            await PlainTextResponse(message, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)


class Portal:
    """Everything a request handler needs, built once per process."""

    def __init__(self, settings: Settings, catalog: Catalog, engine: Engine, store: FileStore) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.book = ServiceBook(catalog)
        self.index = SearchIndex(catalog.services.values())
        self.oidc = auth.OidcProvider(settings.oidc) if settings.oidc else None
        loader = FileSystemLoader([*map(str, settings.template_dirs), str(RENDERERS / "templates")])
        # auto_reload off: templates are read once per process, not stat()-ed per widget on every render
        # (the form-page benchmark found that check dominating the render time).
        self.templates = Environment(
            loader=loader, autoescape=select_autoescape(default=True), trim_blocks=True, auto_reload=False
        )
        self.templates.globals["widget_of"] = lambda fv: fv.widget
        # The compiled form pages (one per definition version, section and language, built on first use);
        # off when a deployer overrides a template they mirror, so the override is what renders.
        self.form_pages = FormPages(enabled=not overridden(settings.template_dirs))
        # The state registries' adapter (web/exchange.py adapter_of picks it on first use; tests set their own).
        self.registry_adapter: RegistryAdapter | None = None
        # SQLite has one writer at a time and every transaction under run() begins IMMEDIATE, so this
        # process's threads queue on a lock rather than in SQLite's busy handler, which sleeps
        # 1–100 ms between tries (under load that sleeping was the p99; other processes still
        # queue in SQLite). PostgreSQL runs transactions side by side.
        self._one_at_a_time: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def use_catalog(self, catalog: Catalog) -> None:
        self.book.use(catalog)
        self.index = SearchIndex(catalog.services.values())

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `work(conn, …)` in one database transaction on a worker thread."""

        def in_transaction() -> T:
            with self._one_at_a_time, self.engine.begin() as conn:
                return work(conn, *args, **kwargs)

        return await run_in_threadpool(in_transaction)

    async def read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `work(conn, …)`, which only reads, in one read transaction on a worker thread.

        Not behind the writers' lock: on SQLite a read transaction begins deferred (db.read_transaction)
        and WAL lets it run beside the writer, so a page view neither waits for a submission nor holds
        one up. It sees what was committed before its first query, as a transaction under run() would.
        """

        def in_transaction() -> T:
            with read_transaction(self.engine) as conn:
                return work(conn, *args, **kwargs)

        return await run_in_threadpool(in_transaction)

    # --- request helpers ------------------------------------------------------------------------------
    @staticmethod
    def lang(request: Request) -> str:
        lang = request.session.get("lang", "mn")
        return lang if lang in LANGS else "mn"

    @staticmethod
    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return str(token)

    def check_csrf(self, request: Request, given: Any) -> None:
        expected = request.session.get("csrf")
        if not expected or not isinstance(given, str) or not secrets.compare_digest(expected, given):
            raise HTTPException(403, "csrf")

    async def form(self, request: Request, max_files: int = 10) -> Any:
        form = await request.form(max_files=max_files, max_fields=2000)
        self.check_csrf(request, form.get("csrf"))
        return form

    @staticmethod
    def citizen(request: Request) -> cases.Actor | None:
        data = request.session.get("citizen")
        if not isinstance(data, Mapping):
            return None
        return cases.Actor("citizen", int(data["id"]), str(data["label"]), frozenset({"applicant"}))

    @staticmethod
    def officer(request: Request) -> cases.Actor | None:
        data = request.session.get("staff")
        if not isinstance(data, Mapping):
            return None
        return cases.Actor("staff", int(data["id"]), str(data["label"]), frozenset(data["roles"]), str(data["office"]))

    def render(self, request: Request, template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
        lang = self.lang(request)

        def t(key: str, **params: Any) -> str:
            return text(key, lang, **params)

        full = {
            "request": request,
            "lang": lang,
            "t": t,
            "csrf": self.csrf_token(request),
            "citizen": self.citizen(request),
            "officer": self.officer(request),
            "registries": self.book.catalog.registries,
            "oidc": self.oidc is not None,
            "dev_login": self.settings.dev_login,
            **context,
        }
        html = self.templates.get_template(template).render(full)
        return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    """After a POST, the browser fetches the next page with GET (303: the form is not re-sent)."""
    return RedirectResponse(url, status_code=303)


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def load_services(paths: tuple[str, ...], out: Any = sys.stdout) -> Catalog:
    """Every service that compiles; problems are reported on the console, never fatal."""
    try:
        catalog = load_catalog(list(paths))
    except Exception as err:  # a loader bug must not keep the portal down
        print(f"tsonkh: could not load {', '.join(paths)}: {err!r}", file=out)
        return compile_documents({})
    errors = catalog.errors
    if errors:
        files = sorted({p.span.file for p in errors if p.span is not None})
        print(f"tsonkh: {len(files)} file(s) have problems and are skipped (see `tsonkh check`):", file=out)
        for name in files[:30]:
            print(f"  - {name}", file=out)
        if len(files) > 30:
            print(f"  … and {len(files) - 30} more", file=out)
    return catalog


def prepare_database(settings: Settings, catalog: Catalog, out: Any = sys.stdout) -> Engine:
    """Create and migrate the database; create demo staff on first start and print their login once."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        password = auth.ensure_demo_staff(conn, catalog.registries.offices)
    if password:
        offices = sorted(catalog.registries.offices)
        shown = ", ".join(offices[:6]) + (", …" if len(offices) > 6 else "")
        print("Demo staff accounts were created (printed only this once):", file=out)
        print(f"  username = an office id ({shown}); password = {password}", file=out)
        print("  Sign in at /staff/login; a case page tells which office handles it.", file=out)
    return engine


class LoginNeeded(HTTPException):
    """Raised by a handler that needs a signed-in user: answered by a redirect to the login page."""

    def __init__(self, login_path: str, next_path: str) -> None:
        super().__init__(303, "login")
        self.login_path = login_path
        self.next_path = next_path


async def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginNeeded):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "login_required"}, status_code=401)
        return RedirectResponse(f"{exc.login_path}?next={quote(exc.next_path)}", status_code=303)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    key = {403: "forbidden", 404: "not_found"}.get(status, "server_error")
    if isinstance(exc, HTTPException) and exc.detail == "csrf":
        key = "csrf"
    response: Response
    if request.url.path.startswith("/api/"):
        response = JSONResponse({"error": key, "message": text(key, Portal.lang(request))}, status_code=status)
    else:
        response = portal_of(request).render(request, "error.html", {"message_key": key, "status": status}, status)
    if status == 500:  # Starlette sends this answer from outside the user middleware: secure it here
        response.raw_headers[:] = secured(response.raw_headers, portal_of(request).settings.cookie_secure)
    return response


def create_app(settings: Settings | None = None, catalog: Catalog | None = None, out: Any = sys.stdout) -> Starlette:
    from engine.run.deploy import migrate_in_flight
    from engine.run.web import api, citizen, exchange, feedback, outputs, staff, statistics

    settings = settings or load_settings()
    catalog = catalog if catalog is not None else load_services(settings.catalog_paths, out)
    engine = prepare_database(settings, catalog, out)
    portal = Portal(settings, catalog, engine, FolderStore(settings.upload_dir))
    with engine.begin() as conn:
        for move in migrate_in_flight(conn, portal.book):
            print(
                f"tsonkh: moved case {move.tracking} ({move.service_id}) from {move.from_state} "
                f"to {move.to_state}, as the new definition's migrate map says",
                file=out,
            )
    routes = [
        *citizen.routes(),
        *staff.routes(),
        *api.routes(),
        *exchange.routes(),
        *statistics.routes(),
        *feedback.routes(),
        *outputs.routes(),  # issued documents, /verify, inbox, dead letters (issue 8)
        Mount("/static", StaticFiles(directory=str(RENDERERS / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, hsts=settings.cookie_secure),
        Middleware(BodyLimit, max_bytes=settings.max_request_mb * 1024 * 1024),
        Middleware(
            SignedCookieSession,
            secret_key=settings.secret_key,
            session_cookie="tsonkh_session",
            same_site="lax",
            https_only=settings.cookie_secure,
            max_age=8 * 3600,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _error, 500: _error},
    )
    app.state.portal = portal
    return app
