"""Figure 6: the three everyday queries with 1,000,000 applications, in PostgreSQL and in SQLite.

The schema is the portal's own, created by its migrations (in a schema of our own in PostgreSQL,
dropped afterwards; in a scratch file for SQLite). Rows are bulk-loaded (COPY; executemany) with
a realistic spread: ~100 offices, ~150 service versions, 85% of cases decided (and `closed`, as
the portal marks them), 10 applications per citizen on average. Each query is the portal's own
function (engine/run/cases.py); the office queue is the page /staff serves (50 cases), first and
halfway by its keyset key; its SQL is captured as it runs and EXPLAINed. Times are
wall-clock (the database is another process).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import WALL, Section, row
from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.run import cases
from engine.run.db import make_engine, now
from engine.run.migrate import upgrade
from engine.run.services import ServiceBook, _jsonable

PG_URL = os.environ.get("TSONKH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = dt.date(2026, 11, 26)
COLUMNS = ("id", "tracking", "draft_id", "citizen_id", "service_id", "definition_version", "answers", "state",
           "back_state", "office", "assignee_id", "fee_total", "due_date", "state_due_date", "last_comment",
           "row_version", "submitted_at", "updated_at", "closed")


def _plan(services: list[Service], total: int, seed: int = 7) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Deterministic rows; returns them with a few real keys to query (an office, a tracking, a citizen)."""
    rnd = random.Random(seed)
    citizens = max(total // 10, 1)
    out = []
    answers = json.dumps({"applicant_name": "Бат-Эрдэнэ Дорж", "register_number": "УБ90010112",
                          "phone": "99112233", "purpose": "ажил эрхлэлт", "amount": 125000}, ensure_ascii=False)
    picks = []
    for service in services:
        states = list(service.workflow.states.values())
        finals = [s.id for s in states if s.final] or [states[-1].id]
        open_ = [s.id for s in states if not s.final and s.role not in (None, "applicant", "system")] or finals
        picks.append((service, finals, open_))
    offices = [f"office-{n:03d}" for n in range(100)]
    start = dt.datetime(2023, 1, 1)
    for i in range(1, total + 1):
        service, finals, open_ = picks[i % len(picks)]
        decided = rnd.random() < 0.85
        submitted = start + dt.timedelta(minutes=i * 1.4)
        stamp = submitted.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        due = (submitted + dt.timedelta(days=rnd.randint(5, 30))).date().isoformat()
        state = rnd.choice(finals) if decided else rnd.choice(open_)
        # `closed` as the portal sets it: true once the case is in a final state.
        out.append((i, f"TS-{i:010d}", i, rnd.randint(1, citizens), service.id, service.version, answers,
                    state, None, rnd.choice(offices), None, 0, due, None, None, 1, stamp, stamp, state in finals))
    probe = out[len(out) // 2]
    open_rows = [r for r in out[-2000:] if r[7] not in picks[r[0] % len(picks)][1]]
    # A later page as an officer reaches it by "Next page": keyed halfway through each office's open cases.
    queues: dict[str, list[tuple[str, int]]] = {}
    for r in out:
        if not r[18]:
            queues.setdefault(r[9], []).append((r[12], r[0]))
    halfway = {office: cases.QueueKey(*sorted(keys)[len(keys) // 2]) for office, keys in queues.items()}
    return out, {"tracking": probe[1], "citizen": probe[3], "office": (open_rows or out)[0][9],
                 "citizens": citizens, "offices": offices, "halfway": halfway}


class Capture:
    """The SQL statements an engine runs, to EXPLAIN the very queries the portal sends."""

    def __init__(self, engine: sa.Engine) -> None:
        self.seen: list[tuple[str, Any]] = []
        sa.event.listen(engine, "before_cursor_execute", self.record)

    def record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.seen.append((statement, parameters))

    def watch_driver(self, conn: sa.Connection, on: bool) -> None:
        """On SQLite also what runs on the driver's own cursor (db.PreparedSelect: the case reads), which
        passes no SQLAlchemy event; sqlite3 hands the statement over with its values written in. Only
        around the run whose plan is shown, never while timing."""
        raw = conn.connection.driver_connection
        if conn.dialect.name == "sqlite" and raw is not None:
            record = (lambda statement: self.seen.append((statement, ()))) if on else None
            raw.set_trace_callback(record)  # type: ignore[attr-defined]


def _queries(book: ServiceBook, keys: dict[str, Any], services: list[Service]) -> dict[str, Callable[[Any, Any], Any]]:
    roles = frozenset(r for s in services for r in s.workflow.acting_roles())

    # The page the portal serves (/staff?all=1): 50 cases, the first page or a later one by its keyset key.
    def queue(conn: Any, rnd: random.Random) -> Any:
        officer = cases.Actor("staff", 1, "officer", roles, rnd.choice(keys["offices"]))
        return cases.queue(conn, book, officer, cases.QueueFilter(waiting_on_me=False), TODAY)

    halfway_offices = sorted(keys["halfway"])

    def later(conn: Any, rnd: random.Random) -> Any:
        office = rnd.choice(halfway_offices)
        officer = cases.Actor("staff", 1, "officer", roles, office)
        return cases.queue(conn, book, officer, cases.QueueFilter(waiting_on_me=False), TODAY, keys["halfway"][office])

    def status(conn: Any, rnd: random.Random) -> Any:
        return cases.by_tracking(conn, f"TS-{rnd.randint(1, keys['total']):010d}")

    def mine(conn: Any, rnd: random.Random) -> Any:
        return cases.citizen_applications(conn, rnd.randint(1, keys["citizens"]))

    return {"office queue page": queue, "office queue, a later page (keyset)": later,
            "status lookup by tracking number": status,
            "citizen's \"my applications\"": mine}


def _measure_query(conn: Any, rnd: random.Random, query: Callable[[Any, Any], Any], count: int, label: str,
                   name: str, section: Section, capture: Capture, explain: Callable[[Any, str, Any], str]) -> None:
    """Warm once, time `count` runs (p95 in the note), then show the plan of the statement it sent."""
    query(conn, rnd)  # warm the cache and the connection
    samples = []
    for _ in range(count):
        t0 = WALL()
        query(conn, rnd)
        samples.append(WALL() - t0)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    r = row("6", f"{label}: {name}", samples, "ms", note=f"p95 {p95 * 1e3:.2f} ms")
    r.extra["p95"] = p95
    if label.startswith("PostgreSQL"):
        r.target = "p95 < 20 ms"
    section.rows.append(r)
    capture.seen.clear()
    capture.watch_driver(conn, True)
    try:
        query(conn, rnd)
    finally:
        capture.watch_driver(conn, False)
    statement, params = next((s, p) for s, p in capture.seen if "applications" in s)
    section.text.append(f"{label}, {name}:\n\n```\n{explain(conn, statement, params)}\n```")


def _measure(engine: sa.Engine, label: str, queries: dict[str, Callable[[Any, Any], Any]], count: int,
             section: Section, explain: Callable[[Any, str, Any], str]) -> None:
    capture = Capture(engine)
    rnd = random.Random(11)
    with engine.connect() as conn:
        for name, query in queries.items():
            _measure_query(conn, rnd, query, count, label, name, section, capture, explain)


def _pg(section: Section, rows: list[tuple[Any, ...]], keys: dict[str, Any], services: list[Service],
        book_for: Callable[[sa.Engine], ServiceBook], count: int) -> None:
    schema = f"bench_{os.getpid()}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        t0 = WALL()
        _pg_copy(engine, rows, keys, services)
        section.text.append(f"PostgreSQL: {len(rows):,} applications loaded with COPY in {WALL() - t0:.0f} s "
                            f"(schema {schema}, dropped afterwards).")
        with engine.begin() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar()
            conn.execute(sa.text("ANALYZE"))
        section.text.append(f"PostgreSQL server {version}.")

        def explain(conn: Any, statement: str, params: Any) -> str:
            result = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, params)
            return "\n".join(r[0] for r in result)

        _measure(engine, "PostgreSQL", _queries(book_for(engine), keys, services), count, section, explain)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _reference_rows(conn: Any, keys: dict[str, Any], services: list[Service]) -> tuple[list[Any], list[Any]]:
    citizens = [(i, f"dev:{i}", None, None, None, now()) for i in range(1, keys["citizens"] + 1)]
    definitions = [(s.version, s.id, json.dumps(_jsonable(s.definition), ensure_ascii=False), now())
                   for s in services]
    return citizens, definitions


def _pg_copy(engine: sa.Engine, rows: list[tuple[Any, ...]], keys: dict[str, Any], services: list[Service]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        citizens, definitions = _reference_rows(None, keys, services)
        with cursor.copy("COPY citizens (id, subject, register_number, name, phone, created_at) FROM STDIN") as copy:
            for r in citizens:
                copy.write_row(r)
        with cursor.copy("COPY definitions (version, service_id, definition, created_at) FROM STDIN") as copy:
            for r in definitions:
                copy.write_row(r)
        with cursor.copy(f"COPY applications ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cursor.execute("SELECT setval(pg_get_serial_sequence('applications', 'id'), %s)", (len(rows),))
        raw.commit()
    finally:
        raw.close()


def _sqlite(section: Section, scratch: Path, rows: list[tuple[Any, ...]], keys: dict[str, Any],
            services: list[Service], book_for: Callable[[sa.Engine], ServiceBook], count: int) -> None:
    path = scratch / "scale.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    t0 = WALL()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # bulk load only; the portal's settings apply to the queries below
    citizens, definitions = _reference_rows(None, keys, services)
    db.executemany("INSERT INTO citizens VALUES (?,?,?,?,?,?)", citizens)
    db.executemany("INSERT INTO definitions VALUES (?,?,?,?)", definitions)
    marks = ",".join("?" * len(COLUMNS))
    for start in range(0, len(rows), 50_000):
        db.executemany(f"INSERT INTO applications ({', '.join(COLUMNS)}) VALUES ({marks})", rows[start:start + 50_000])
    db.execute("ANALYZE")
    db.commit()
    db.close()
    section.text.append(f"SQLite {sqlite3.sqlite_version}: {len(rows):,} applications loaded with executemany "
                        f"in {WALL() - t0:.0f} s ({path.stat().st_size / 1e6:.0f} MB).")
    engine = make_engine(f"sqlite:///{path}")

    def explain(conn: Any, statement: str, params: Any) -> str:
        result = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        return "\n".join(str(r[-1]) for r in result)

    try:
        _measure(engine, "SQLite", _queries(book_for(engine), keys, services), count, section, explain)
    finally:
        engine.dispose()


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("6", "Scale: queries with many applications")
    catalog = load_catalog(["service_defs"])
    services = sorted(catalog.services.values(), key=lambda s: s.id)
    total = 20_000 if quick else 1_000_000
    count = 30 if quick else 200
    t0 = time.perf_counter()
    rows, keys = _plan(services, total)
    keys["total"] = total
    section.text.append(f"{total:,} rows generated in {time.perf_counter() - t0:.0f} s; {count} queries each, "
                        "random office / tracking number / citizen per query (fixed seed).")
    book_for = lambda engine: ServiceBook(catalog)  # noqa: E731
    _sqlite(section, scratch, rows, keys, services, book_for, count)
    try:
        _pg(section, rows, keys, services, book_for, count)
    except sa.exc.OperationalError as err:
        section.text.append(f"PostgreSQL not measured: {err.orig}")
    return section
