"""The layers around every request: security headers on every kind of response, the body limit, the
signed-cookie session (the same cookies and headers as Starlette's SessionMiddleware), and the
portal's one-transaction-at-a-time rule on SQLite."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from engine.run.web import session as session_module
from engine.run.web.app import CSP, SECURITY_HEADERS, BodyLimit, SecurityHeaders, create_app
from engine.run.web.session import SignedCookieSession
from tests.portal.conftest import BACKENDS, PDF, Client, PortalApp, build_app
from tests.portal.helpers import ANSWERS

SECRET = "a-test-secret-that-is-long-enough-for-hmac"
LIMIT_MESSAGE = "Илгээсэн өгөгдөл хэт том байна. / The request is too large."


def assert_secured(response: Any, hsts: bool = False) -> None:
    """Every security header exactly once, with the value the portal sets."""
    for key, value in SECURITY_HEADERS:
        assert response.headers.get_list(key.decode()) == [value.decode()], (key, response.status_code)
    assert response.headers.get_list("strict-transport-security") == (["max-age=31536000"] if hsts else [])


# --- security headers and the body limit -----------------------------------------------------------------------
def test_every_kind_of_portal_response_carries_the_security_headers(portal_app: PortalApp) -> None:
    client = portal_app.client()
    too_big = {"content-length": str(200 * 1024 * 1024)}
    for response, status in (
        (client.get("/"), 200),  # a page
        (client.get("/static/portal.css"), 200),  # a file
        (client.get("/no/such/page"), 404),
        (client.get("/api/applications/TS-000000-AAAAAA"), 401),  # JSON
        (client.post("/logout", data={"csrf": "wrong"}), 403),  # CSRF
        (client.get("/my", follow_redirects=False), 303),  # to the login
        (client.post("/api/services/test-certificate/applications", content=b"x", headers=too_big), 413),
    ):
        assert response.status_code == status, response.url
        assert_secured(response)
    assert "unsafe-inline" not in CSP


def test_a_server_error_page_carries_the_security_headers_too(project: Path, db_url: str) -> None:
    """Starlette answers an unhandled exception outside the user middleware: the handler adds them itself."""
    built = build_app(project, db_url)
    app = create_app(replace(built.settings, cookie_secure=True), catalog=built.portal.book.catalog)

    async def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    app.router.routes.insert(0, Route("/broken", broken))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("https://testserver/broken")
    assert response.status_code == 500
    assert_secured(response, hsts=True)
    built.portal.engine.dispose()


def _small_app(hsts: bool, max_bytes: int = 100) -> Starlette:
    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"one ", b"two"):
                yield part

        return StreamingResponse(chunks(), media_type="text/plain")

    async def echo(request: Request) -> Response:
        return Response(await request.body(), headers={"x-frame-options": "SAMEORIGIN"})

    return Starlette(
        routes=[Route("/stream", stream), Route("/echo", echo, methods=["POST"])],
        middleware=[Middleware(SecurityHeaders, hsts=hsts), Middleware(BodyLimit, max_bytes=max_bytes)],
    )


@pytest.mark.parametrize("hsts", [False, True])
def test_streamed_responses_are_secured_and_a_handler_own_header_wins(hsts: bool) -> None:
    with TestClient(_small_app(hsts)) as client:
        streamed = client.get("/stream")
        assert streamed.text == "one two"
        assert_secured(streamed, hsts)
        echoed = client.post("/echo", content=b"hello")
        assert echoed.text == "hello"
        assert echoed.headers.get_list("x-frame-options") == ["SAMEORIGIN"]  # never doubled


def test_the_body_limit_answers_413_in_both_languages_declared_or_streamed() -> None:
    with TestClient(_small_app(False, max_bytes=100)) as client:
        declared = client.post("/echo", content=b"x" * 101)
        assert declared.status_code == 413 and declared.text == LIMIT_MESSAGE
        assert_secured(declared)

        def body() -> Any:  # no Content-Length: chunked, counted as it arrives
            yield b"x" * 60
            yield b"x" * 60

        streamed = client.post("/echo", content=body())
        assert streamed.status_code == 413
        assert client.post("/echo", content=b"x" * 100).status_code == 200


# --- the session -----------------------------------------------------------------------------------------------
def _session_app(kind: type) -> Starlette:
    """An endpoint that applies the operations in its JSON body to the session and returns the session."""

    async def act(request: Request) -> Response:
        for op, key, value in await request.json():
            if op == "set":
                request.session[key] = value
            elif op == "pop":
                request.session.pop(key, None)
            elif op == "clear":
                request.session.clear()
            elif op == "read":
                request.session.get(key)
        return JSONResponse(dict(request.scope["session"]))

    return Starlette(
        routes=[Route("/", act, methods=["POST"])],
        middleware=[Middleware(kind, secret_key=SECRET, session_cookie="s", max_age=3600, https_only=True)],
    )


def _cookie_parts(response: Any) -> tuple[Any, ...]:
    """The Set-Cookie header with the signed value replaced by the session it carries."""
    cookies = response.headers.get_list("set-cookie")
    if not cookies:
        return ()
    value, flags = cookies[0].split(";", 1)
    data = value.split("=", 1)[1]
    if data == "null":
        return ("cleared", flags)
    payload = data.rsplit(".", 2)[0]
    return (json.loads(base64.b64decode(payload)), flags)


KEYS = st.sampled_from(["csrf", "lang", "citizen"])
VALUES = st.one_of(st.text(max_size=20), st.integers(), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, VALUES),
        st.tuples(st.sampled_from(["pop", "read"]), KEYS, st.none()),
        st.tuples(st.just("clear"), st.just(""), st.none()),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(OPS, min_size=1, max_size=5))
def test_the_session_behaves_exactly_as_starlettes(requests: list[list[tuple[str, str, Any]]]) -> None:
    """The same requests give the same session, the same Vary and the same Set-Cookie (content and flags)."""
    with (
        TestClient(_session_app(SessionMiddleware), base_url="https://t") as ref,
        TestClient(_session_app(SignedCookieSession), base_url="https://t") as ours,
    ):
        for ops in requests:
            expected, got = ref.post("/", json=ops), ours.post("/", json=ops)
            assert got.json() == expected.json()
            assert got.headers.get("vary") == expected.headers.get("vary")
            assert _cookie_parts(got) == _cookie_parts(expected)


def test_cookies_pass_between_starlettes_session_and_ours() -> None:
    """Same format and signer: sessions made before the change stay valid, and the other way round."""
    for writer, reader in ((SessionMiddleware, SignedCookieSession), (SignedCookieSession, SessionMiddleware)):
        with TestClient(_session_app(writer), base_url="https://t") as first:
            first.post("/", json=[["set", "lang", "en"]])
            cookie = first.cookies["s"]
        with TestClient(_session_app(reader), base_url="https://t", cookies={"s": cookie}) as second:
            assert second.post("/", json=[]).json() == {"lang": "en"}


def test_a_remembered_cookie_is_refused_once_it_is_altered_or_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _session_app(SignedCookieSession)
    with TestClient(app, base_url="https://t") as client:
        client.post("/", json=[["set", "lang", "en"]])
        good = client.cookies["s"]
    for _ in range(2):  # verified once, then taken from memory
        with TestClient(app, base_url="https://t", cookies={"s": good}) as again:
            assert again.post("/", json=[]).json() == {"lang": "en"}
    # a changed payload byte (the signature's last base64 letter may carry unused bits, so not there)
    altered = ("f" if good[0] != "f" else "g") + good[1:]
    forged = (
        base64.b64encode(json.dumps({"lang": "en", "staff": {"id": 1}}).encode()).decode()
        + good[len(good.split(".")[0]) :]
    )
    other_key = SignedCookieSession(app, secret_key="another secret").signer.sign(b"e30=").decode()
    for bad in (altered, forged, other_key, "garbage"):
        with TestClient(app, base_url="https://t", cookies={"s": bad}) as client:
            assert client.post("/", json=[]).json() == {}
    later = time.time() + 3601
    monkeypatch.setattr(session_module.time, "time", lambda: later)
    with TestClient(app, base_url="https://t", cookies={"s": good}) as client:
        assert client.post("/", json=[]).json() == {}  # remembered, but older than max_age


def test_the_memory_of_verified_cookies_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "REMEMBERED", 3)
    app = _session_app(SignedCookieSession)
    cookies = []
    with TestClient(app, base_url="https://t") as client:
        for n in range(5):
            client.post("/", json=[["set", "lang", str(n)]])
            cookies.append(client.cookies["s"])
    middleware = app.middleware_stack
    while not isinstance(middleware, SignedCookieSession):
        middleware = middleware.app  # type: ignore[union-attr]
    for n, cookie in enumerate(cookies):
        with TestClient(app, base_url="https://t", cookies={"s": cookie}) as client:
            assert client.post("/", json=[]).json() == {"lang": str(n)}
    assert len(middleware._verified) == 3


# --- the portal's database work ----------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_on_sqlite_one_transaction_runs_at_a_time(portal_app: PortalApp, db_url: str) -> None:
    portal = portal_app.portal
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(conn: Any) -> None:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1

    async def many() -> None:
        await asyncio.gather(*(portal.run(work) for _ in range(6)))

    asyncio.run(many())
    if db_url.startswith("sqlite"):
        assert most == 1
    else:
        assert most >= 1  # PostgreSQL: side by side is allowed


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_an_api_submission_answers_the_status_it_stored_with_its_files(project: Path, db_url: str) -> None:
    """The status built in the submission's transaction is the one read afterwards; one upload row per file."""
    definition = project / "service_defs/central/gasr/test-certificate.yaml"
    text = definition.read_text(encoding="utf-8")
    receipt = '{id: receipt, type: payment_receipt, required_if: "copies > 1"}'
    assert receipt in text
    definition.write_text(text.replace(receipt, receipt[:-1] + ", max_count: 2}"), encoding="utf-8")
    portal_app = build_app(project, db_url)
    citizen: Client = portal_app.client()
    citizen.sign_in()
    token = citizen.get("/api/session").json()["csrf_token"]
    second = PDF + b"% another file\n"
    payload = {
        "answers": {**ANSWERS, "copies": 2, "district": "khan_uul", "khoroo": "1"},
        "documents": {
            "receipt": [
                {"name": "../a.pdf", "content_base64": base64.b64encode(PDF).decode()},
                {"name": "b.pdf", "content_base64": base64.b64encode(second).decode()},
            ]
        },
    }
    sent = citizen.post(
        "/api/services/test-certificate/applications",
        json=payload,
        headers={"X-CSRF-Token": token, "Idempotency-Key": "k1"},
    )
    assert sent.status_code == 201, sent.text
    status = sent.json()
    assert citizen.get(f"/api/applications/{status['tracking']}").json() == status
    repeated = citizen.post(
        "/api/services/test-certificate/applications",
        json=payload,
        headers={"X-CSRF-Token": token, "Idempotency-Key": "k1"},
    )
    assert repeated.status_code == 200 and repeated.json()["tracking"] == status["tracking"]
    import sqlalchemy as sa

    from engine.run.db import uploads

    with portal_app.portal.engine.connect() as conn:
        rows = conn.execute(sa.select(uploads).order_by(uploads.c.id)).mappings().all()
    assert [(r["document_id"], r["size"], r["content_type"], r["display_name"]) for r in rows] == [
        ("receipt", len(PDF), "application/pdf", "a.pdf"),
        ("receipt", len(second), "application/pdf", "b.pdf"),
    ]
    assert len({r["draft_id"] for r in rows}) == 1 and all(r["application_id"] is not None for r in rows)
    assert all(portal_app.portal.store.exists(r["sha256"]) for r in rows)
    portal_app.portal.engine.dispose()
