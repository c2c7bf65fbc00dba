"""Loopback stand-ins for what the system talks to: an agency endpoint / SMS gateway that can fail, hang
or recover on demand and honours idempotency keys, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receipt:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request by the next planned behaviour (ok | fail | slow | hang), then `ok` for ever."""

    plan: list[str] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    processed: dict[str, Receipt] = field(default_factory=dict)  # by idempotency key: what a real receiver keeps
    release: threading.Event = field(default_factory=threading.Event)
    delay: float = 0.0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        receipt = Receipt({k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.receipts.append(receipt)
            behaviour = self.plan.pop(0) if self.plan else "ok"
        if behaviour == "fail":
            handler.send_response(503)
            handler.end_headers()
            return
        key = receipt.headers.get("idempotency-key", "")
        with self.lock:
            self.processed.setdefault(key, receipt)  # a repeat of a key changes nothing
        if behaviour == "slow":
            time.sleep(1.5)  # longer than the sender's timeout
        elif behaviour == "hang":
            self.release.wait(20)
        elif self.delay:
            time.sleep(self.delay)
        try:
            handler.send_response(200)
            handler.end_headers()
            handler.wfile.write(b'{"ok": true}')
        except OSError:
            pass  # the sender is gone


@contextmanager
def receiver(plan: list[str] | None = None, delay: float = 0.0) -> Iterator[Receiver]:
    state = Receiver(plan=list(plan or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    port: int = 0


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd's start-up check needs a real port number
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
