"""The session: a signed cookie, as Starlette's SessionMiddleware keeps it, with verified cookies remembered.

The cookie is written and read in exactly Starlette's format (itsdangerous `TimestampSigner` over
base64 JSON, the same flags), so sessions made before survive and the same secret signs both.
What differs is the cost per request: Starlette verifies the HMAC of the cookie on every
request (≈20–30 µs, the largest part of the portal's middleware); here a cookie value whose
signature was verified once is remembered with its timestamp and JSON, and later requests
carrying the very same value only re-check its age. A cookie is only remembered after the
signer accepted it, and it is looked up by its whole signed value, so no unsigned or altered
cookie is ever taken from the memory.
"""

from __future__ import annotations

import json
import time
from base64 import b64decode, b64encode
from typing import Literal

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REMEMBERED = 4096  # verified cookie values kept per process (≈1 KB each); the oldest go first


class SignedCookieSession:
    """`scope["session"]` from the signed cookie; the cookie re-signed only when the session changed."""

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str,
        session_cookie: str = "session",
        max_age: int = 14 * 24 * 3600,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
    ) -> None:
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + same_site + ("; secure" if https_only else "")
        self._verified: dict[str, tuple[float, bytes]] = {}  # cookie value → (signed at, session JSON)

    def _value(self, scope: Scope) -> str | None:
        """The session cookie from the request's first Cookie header (as Starlette's `request.cookies`)."""
        for key, raw in scope["headers"]:
            if key == b"cookie":
                return cookie_parser(raw.decode("latin-1")).get(self.session_cookie)
        return None

    def _open(self, value: str) -> bytes | None:
        """The session JSON of a cookie whose signature is good and not older than max_age, else None."""
        found = self._verified.get(value)
        if found is None:
            try:
                data, signed = self.signer.unsign(value.encode("utf-8"), max_age=self.max_age, return_timestamp=True)
            except BadSignature:  # also an expired one (SignatureExpired is a BadSignature)
                return None
            found = (signed.timestamp(), b64decode(data))
            if len(self._verified) >= REMEMBERED:
                del self._verified[next(iter(self._verified))]
            self._verified[value] = found
        signed_at, payload = found
        if not 0 <= time.time() - signed_at <= self.max_age:  # the signer's own age check, again on every use
            del self._verified[value]
            return None
        return payload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = self._value(scope)
        payload = self._open(value) if value is not None else None
        was_empty = payload is None
        scope["session"] = Session(json.loads(payload)) if payload is not None else Session()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: Session = scope["session"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if session.accessed:
                    headers.add_vary_header("Cookie")
                if session.modified and session:
                    data = self.signer.sign(b64encode(json.dumps(session).encode("utf-8"))).decode("utf-8")
                    flags = f"path={self.path}; Max-Age={self.max_age}; {self.security_flags}"
                    headers.append("Set-Cookie", f"{self.session_cookie}={data}; {flags}")
                elif session.modified and not was_empty:  # the session was cleared
                    headers.append(
                        "Set-Cookie",
                        f"{self.session_cookie}=null; path={self.path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                        f"{self.security_flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)
