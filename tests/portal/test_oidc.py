"""Citizen login through an OpenID Connect provider (ДАН in production), against a stub provider on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from engine.run import auth
from engine.run.settings import OidcSettings
from engine.run.web.app import create_app
from tests.portal.conftest import Client, build_app

pytestmark = pytest.mark.xdist_group("live_server")  # a stub provider listens on a loopback port


class StubProvider(BaseHTTPRequestHandler):
    codes: ClassVar[dict[str, str]] = {"good-code": "token-1"}

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def reply(self, body: object, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/.well-known/openid-configuration":
            self.reply(
                {
                    "issuer": base,
                    "authorization_endpoint": base + "/authorize",
                    "token_endpoint": base + "/token",
                    "userinfo_endpoint": base + "/userinfo",
                }
            )
        elif self.path == "/userinfo":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token != "token-1":
                self.reply({"error": "invalid_token"}, 401)
                return
            self.reply({"sub": "dan-42", "regnum": "ИЮ88110355", "given_name": "Болд", "family_name": "Дорж"})
        else:
            self.reply({"error": "not_found"}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        code = form.get("code", [""])[0]
        if self.path != "/token" or code not in self.codes or form.get("client_id") != ["portal"]:
            self.reply({"error": "invalid_grant"}, 400)
            return
        self.reply({"access_token": self.codes[code], "token_type": "Bearer"})


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_openid_connect_login(project: Path, db_url: str, provider: str) -> None:
    built = build_app(project, db_url)
    settings = built.settings.__class__(
        **{
            **built.settings.__dict__,
            "dev_login": False,
            "oidc": OidcSettings(provider, "portal", "secret", "http://testserver/login/oidc/callback"),
        }
    )
    app = create_app(settings, catalog=built.portal.book.catalog)
    with Client(app) as client:
        page = client.get("/login")
        assert "ДАН системээр нэвтрэх" in page.text and "register_number" not in page.text
        token = client.get("/api/session").json()["csrf_token"]
        dev = client.post("/login", data={"csrf": token, "register_number": "УБ99032112"})
        assert dev.status_code == 404  # the development login is off
        start = client.get("/login/oidc?next=/my", follow_redirects=False)
        assert start.status_code == 303
        location = urlparse(start.headers["location"])
        query = parse_qs(location.query)
        assert location.path == "/authorize" and query["client_id"] == ["portal"] and query["nonce"]
        state = query["state"][0]
        forged = client.get("/login/oidc/callback?code=good-code&state=forged", follow_redirects=False)
        assert forged.status_code == 403
        start = client.get("/login/oidc?next=/my", follow_redirects=False)
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        done = client.get(f"/login/oidc/callback?code=good-code&state={state}")
        assert done.status_code == 200 and str(done.url).endswith("/my")
        assert "Миний өргөдлүүд" in done.text and "Гарах" in done.text
        replay = client.get(f"/login/oidc/callback?code=good-code&state={state}", follow_redirects=False)
        assert replay.status_code == 403  # a state is good once
    with built.portal.engine.connect() as conn:
        citizen = auth.citizen_by_subject(conn, "oidc:dan-42", None, None)
    assert citizen.register_number == "ИЮ88110355" and citizen.name == "Дорж Болд"
    built.portal.engine.dispose()
