"""The two ASGI apps figure 4 serves with uvicorn: the portal itself, and a bare Starlette baseline.

Both are built by factories (`uvicorn --factory bench.http_apps:portal`) from environment
variables that fig_http.py sets, so that every worker process builds the same thing.

The bare app does what the portal's two measured requests must do at the least, and nothing else:

- POST: parse the same JSON body (answers and base64 documents), decode and sniff every document,
  store each under its SHA-256 (content-addressed, written atomically, as the portal's store does),
  then insert the application and one row per file in one transaction, and answer 201 with a JSON
  status of the same size class as the portal's;
- GET: read the draft's answers from the database and render the per-service unrolled template
  (figure 3's baseline) with them.

Like the portal, it runs its SQLite work on a worker thread and serialises it in-process through
one lock (so that waiting writers queue on the lock instead of SQLite's sleeping busy handler).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

# The magic bytes the portal's sniffer accepts for the figure's documents (PDF, JPEG, PNG).
MAGIC = (b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS application (id INTEGER PRIMARY KEY, tracking TEXT UNIQUE, service_id TEXT, "
    "answers TEXT, state TEXT, submitted_at TEXT)",
    "CREATE TABLE IF NOT EXISTS upload (id INTEGER PRIMARY KEY, application_id INTEGER, document_id TEXT, "
    "sha256 TEXT, size INTEGER, display_name TEXT)",
    "CREATE TABLE IF NOT EXISTS draft (id INTEGER PRIMARY KEY, answers TEXT)",
)


def portal() -> Starlette:
    from engine.run.settings import load_settings
    from engine.run.web.app import create_app

    return create_app(load_settings(), out=open(os.devnull, "w"))


def bare() -> Starlette:
    """Parse and store the submission (one transaction), or serve the unrolled template: nothing else."""
    path = os.environ["BENCH_BARE_DB"]
    files = Path(os.environ["BENCH_BARE_FILES"])
    page = Environment(autoescape=True).from_string(os.environ["BENCH_BARE_TEMPLATE"])
    views: list[dict[str, Any]] = json.loads(os.environ["BENCH_BARE_VIEWS"])
    local = threading.local()
    lock = threading.Lock()

    def connection() -> sqlite3.Connection:
        db = getattr(local, "db", None)
        if db is None:
            db = local.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    with lock:  # every worker process runs this at start; the tables and the draft are made once
        db = connection()
        db.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA:
            db.execute(statement)
        db.execute("INSERT OR IGNORE INTO draft (id, answers) VALUES (1, ?)", (os.environ["BENCH_BARE_DRAFT"],))
        db.execute("COMMIT")

    def store(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = files / digest[:2] / digest[2:4] / digest
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{digest}.{os.getpid()}.{threading.get_ident()}")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        return digest

    def insert(service_id: str, answers: Any, documents: list[tuple[str, bytes, str]]) -> dict[str, Any]:
        stored = [(doc_id, store(content), len(content), name) for doc_id, content, name in documents]
        tracking = "TS-" + secrets.token_hex(5).upper()
        with lock:
            db = connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO application (tracking, service_id, answers, state, submitted_at) "
                    "VALUES (?, ?, ?, 'submitted', datetime('now'))",
                    (tracking, service_id, json.dumps(answers, ensure_ascii=False)),
                )
                app_id = int(cursor.lastrowid or 0)
                db.executemany(
                    "INSERT INTO upload (application_id, document_id, sha256, size, display_name) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(app_id, *row) for row in stored],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return {"id": app_id, "tracking": tracking, "service": service_id, "state": "submitted",
                "documents": [{"document": d, "sha256": s, "size": n} for d, s, n, _ in stored]}

    async def submit(request: Request) -> Response:
        data = await request.json()
        documents = []
        for doc_id, items in (data.get("documents") or {}).items():
            for item in items:
                try:
                    content = base64.b64decode(item["content_base64"], validate=True)
                except (binascii.Error, ValueError):
                    return JSONResponse({"error": "documents_invalid"}, status_code=422)
                if not content.startswith(MAGIC):
                    return JSONResponse({"error": "documents_invalid"}, status_code=422)
                documents.append((str(doc_id), content, str(item.get("name") or "")[:120]))
        status = await run_in_threadpool(insert, request.path_params["service_id"], data["answers"], documents)
        return JSONResponse(status, status_code=201)

    def draft_answers(draft_id: int) -> dict[str, Any]:
        row = connection().execute("SELECT answers FROM draft WHERE id = ?", (draft_id,)).fetchone()
        answers: dict[str, Any] = json.loads(row[0])
        return answers

    async def form(request: Request) -> Response:
        answers = await run_in_threadpool(draft_answers, 1)
        shown = []
        for view in views:
            value = answers.get(view["name"])
            shown.append({**view, "value": value if isinstance(value, str | int | float) else ""})
        return HTMLResponse(page.render(f=shown))

    return Starlette(routes=[Route("/bare/{service_id}", submit, methods=["POST"]), Route("/bare-form", form)])
