"""Portal test helpers: an app on a fresh database (SQLite, or a private PostgreSQL schema), a
client that carries the CSRF token like a browser does, sign-in helpers, and a live uvicorn server."""

from __future__ import annotations

import io
import os
import re
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project pins
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine.catalog import Catalog
from engine.run.settings import Settings, load_settings
from engine.run.web.app import Portal, create_app

PG_ENV = "TSONKH_TEST_POSTGRES_URL"
POSTGRES = pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("postgres")], id="postgres")
BACKENDS = ["sqlite", POSTGRES]
REGISTER = "УБ99032112"
OTHER_REGISTER = "ИЮ88110355"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for one test: a SQLite file, or a new schema on the test PostgreSQL."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'portal.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    schema = "t_" + secrets.token_hex(6)
    try:
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as err:
        if os.environ.get("TSONKH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {base} is required but unreachable: {err}")
        pytest.skip(f"PostgreSQL at {base} is unreachable")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class PortalApp:
    app: Starlette
    settings: Settings
    demo_password: str

    @property
    def portal(self) -> Portal:
        portal: Portal = self.app.state.portal
        return portal

    def client(self) -> Client:
        return Client(self.app)


def build_app(
    project: Path, db_url: str, catalog_paths: tuple[str, ...] | None = None, catalog: Catalog | None = None
) -> PortalApp:
    out = io.StringIO()
    settings = load_settings(
        {"TSONKH_DATA_DIR": str(project / "data"), "DATABASE_URL": db_url},
        catalog_paths=catalog_paths or (str(project / "service_defs"),),
    )
    app = create_app(settings, catalog=catalog, out=out)
    found = re.search(r"password = (\S+)", out.getvalue())
    return PortalApp(app, settings, found.group(1) if found else "")


@pytest.fixture
def portal_app(project: Path, db_url: str) -> Iterator[PortalApp]:
    built = build_app(project, db_url)
    yield built
    built.portal.engine.dispose()


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client(TestClient):
    """A TestClient that keeps the last CSRF token it saw, as a browser's form would carry it."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, follow_redirects=True)
        self.csrf = ""

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        found = _CSRF.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        if found:
            self.csrf = found.group(1)
        return response

    def submit(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the current CSRF token (fetching a page first if there is none yet)."""
        if not self.csrf:
            self.get("/login")
        return self.post(url, data={"csrf": self.csrf, **(data or {})}, **kwargs)

    def sign_in(self, register: str = REGISTER) -> Any:
        self.get("/login")
        response = self.submit("/login", {"register_number": register, "name": "Test", "next": "/"})
        assert response.status_code == 200
        self.get("/")  # a fresh CSRF token after the session was renewed at login
        return response

    def staff_sign_in(self, username: str, password: str) -> Any:
        self.get("/staff/login")
        response = self.submit("/staff/login", {"username": username, "password": password})
        assert response.status_code == 200, response.text
        assert "/staff" in str(response.url)
        return response


def main_text(response: Any) -> str:
    text = response.text
    return text[text.find("<main") : text.find("</main>")]


def tracking_of(response: Any) -> str:
    found = re.search(r"TS-\d{6}-[A-Z0-9]{6}", response.text)
    assert found, main_text(response)
    return found.group(0)


class LiveServer:
    """The app on a real uvicorn server in a thread, on a free loopback port."""

    def __init__(self, app: Starlette) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", http="httptools")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
