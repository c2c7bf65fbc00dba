"""The two ASGI apps figure 4 serves with uvicorn: the portal itself, and a bare Starlette baseline.

Both are built by factories (`uvicorn --factory bench.http_apps:portal`) from environment
variables that fig_http.py sets, so that every worker process builds the same thing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


def portal() -> Starlette:
    from engine.run.settings import load_settings
    from engine.run.web.app import create_app

    return create_app(load_settings(), out=open(os.devnull, "w"))


def bare() -> Starlette:
    """Parse the JSON body and insert it (one transaction), or serve the unrolled template: nothing else."""
    path = os.environ["BENCH_BARE_DB"]
    page = Environment(autoescape=True).from_string(os.environ["BENCH_BARE_TEMPLATE"])
    views = json.loads(os.environ["BENCH_BARE_VIEWS"])
    local = threading.local()

    def connection() -> sqlite3.Connection:
        db = getattr(local, "db", None)
        if db is None:
            db = local.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS app (id INTEGER PRIMARY KEY, service_id TEXT, answers TEXT)")
        return db

    def insert(service_id: str, answers: Any) -> int:
        db = connection()
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute("INSERT INTO app (service_id, answers) VALUES (?, ?)",
                            (service_id, json.dumps(answers, ensure_ascii=False)))
        db.execute("COMMIT")
        return int(cursor.lastrowid or 0)

    async def submit(request: Request) -> Response:
        data = await request.json()
        new_id = await run_in_threadpool(insert, request.path_params["service_id"], data["answers"])
        return JSONResponse({"id": new_id}, status_code=201)

    async def form(request: Request) -> Response:
        return HTMLResponse(page.render(f=views))

    return Starlette(routes=[Route("/bare/{service_id}", submit, methods=["POST"]), Route("/bare-form", form)])
