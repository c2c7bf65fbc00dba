"""The database schema (SQLAlchemy Core) and the engine factory; Alembic migrations create it.

Times are stored as ISO-8601 UTC text and dates as YYYY-MM-DD text: they sort correctly, read the
same on SQLite and PostgreSQL, and the audit chain hashes exactly the bytes that are stored.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import operator
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

metadata = sa.MetaData()

citizens = sa.Table(
    "citizens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subject", sa.String(200), nullable=False, unique=True),  # "dev:<РД>" or "oidc:<sub>"
    sa.Column("register_number", sa.String(20)),
    sa.Column("name", sa.String(200)),
    sa.Column("phone", sa.String(40)),
    sa.Column("created_at", sa.String(32), nullable=False),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("office", sa.String(100), nullable=False, index=True),
    sa.Column("roles", sa.JSON, nullable=False),  # role ids from the shared registry
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

definitions = sa.Table(
    "definitions",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),  # the service's content hash
    sa.Column("service_id", sa.String(120), nullable=False, index=True),
    sa.Column("definition", sa.JSON, nullable=False),  # the resolved definition, kept for cases in flight
    sa.Column("created_at", sa.String(32), nullable=False),
)

drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False, index=True),
    sa.Column("service_id", sa.String(120), nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    # A correction draft edits an application returned to the citizen; otherwise it is a new one.
    sa.Column("application_id", sa.Integer, nullable=True),
    sa.Column("idempotency_key", sa.String(100), nullable=True, unique=True),  # the JSON API's retry key
    # The definition version the draft was started under: when it differs from today's, the
    # check-your-answers page tells the citizen what changed for them (engine.review.migration).
    sa.Column("definition_version", sa.String(64), nullable=True),
    sa.Column("submitted", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tracking", sa.String(32), nullable=False, unique=True),
    sa.Column("draft_id", sa.Integer, nullable=False, unique=True),  # one draft makes one application
    sa.Column("citizen_id", sa.Integer, sa.ForeignKey("citizens.id"), nullable=False),
    sa.Column("service_id", sa.String(120), nullable=False, index=True),
    sa.Column("definition_version", sa.String(64), sa.ForeignKey("definitions.version"), nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("state", sa.String(80), nullable=False),
    sa.Column("back_state", sa.String(80)),  # where '@back' returns: the state the case was sent from
    sa.Column("office", sa.String(100), nullable=False),
    sa.Column("assignee_id", sa.Integer, sa.ForeignKey("staff.id")),
    sa.Column("fee_total", sa.Integer, nullable=False, default=0),
    sa.Column("due_date", sa.String(10), nullable=False),
    sa.Column("state_due_date", sa.String(10)),
    sa.Column("last_comment", sa.Text),
    sa.Column("row_version", sa.Integer, nullable=False, default=1),  # optimistic locking
    sa.Column("submitted_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    # True once the case reaches a final state: office queues filter in SQL, so closed cases never
    # crowd open ones out of a page, and the queue index serves the query without a scan.
    sa.Column("closed", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Index("ix_applications_queue", "office", "closed", "due_date", "id"),
    # "My applications", newest first, read in index order (migration 0006).
    sa.Index("ix_applications_citizen", "citizen_id", "submitted_at"),
)

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, nullable=True, index=True),
    sa.Column("application_id", sa.Integer, nullable=True, index=True),
    sa.Column("document_id", sa.String(80), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(120), nullable=False),  # sniffed, never the client's claim
    sa.Column("display_name", sa.String(120), nullable=False),  # cleaned, for display only
    sa.Column("created_at", sa.String(32), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("application_id", sa.Integer, nullable=True, index=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(80), nullable=False),
    sa.Column("office", sa.String(100)),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("from_state", sa.String(80)),
    sa.Column("to_state", sa.String(80)),
    sa.Column("comment", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),  # one successor per record: no forks
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)


class PreparedInsert:
    """An INSERT of every column of a table but its generated key, compiled once per dialect and run with
    `exec_driver_sql` on a positional (qmark) driver — SQLite's.

    On a row as wide as an application, SQLAlchemy's compiled-statement path, even from its cache, cost
    more than SQLite's work for the insert (about 64 µs against 24 µs inside one transaction; the
    driver-SQL path about 35 µs; docs/benchmarks.md, "Database"). The SQL is SQLAlchemy's own
    compilation of the same insert and each value goes through its column type's bind processor (JSON
    through the dialect's serializer), so the stored row is the same; the connection's transaction,
    savepoints, events and error translation (IntegrityError) all still apply. Drivers with named
    parameters (psycopg) take the ordinary cached path.
    """

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.statement = table.insert()
        self.columns = tuple(c.name for c in table.columns if not (c.primary_key and c.autoincrement))
        self._read = operator.itemgetter(*self.columns)  # the row's values in column order, in one C call
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Prepared] = weakref.WeakKeyDictionary()

    def __call__(self, conn: Connection, row: Mapping[str, Any]) -> int:
        """Insert `row` (a value for every column in `columns`); returns the new row's key."""
        dialect = conn.dialect
        if dialect.paramstyle != "qmark":
            return int(conn.execute(self.statement, dict(row)).inserted_primary_key[0])  # type: ignore[index]
        prepared = self._by_dialect.get(dialect)
        if prepared is None:
            prepared = self._by_dialect[dialect] = self._prepare(dialect)
        sql, processors = prepared
        params = list(self._read(row))
        for index, process in processors:
            params[index] = process(params[index])
        return int(conn.exec_driver_sql(sql, tuple(params)).lastrowid)

    def _prepare(self, dialect: Dialect) -> _Prepared:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.columns))
        if list(compiled.positiontup or ()) != list(self.columns):  # every value is a plain parameter, in order
            raise ValueError(f"cannot prepare the insert into {self.table.name}: {compiled.positiontup}")
        processors = []
        for index, name in enumerate(self.columns):
            process = self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:  # JSON through the dialect's serializer, booleans as SQLite stores them
                processors.append((index, process))
        return compiled.string, tuple(processors)


_Prepared = tuple[str, tuple[tuple[int, Callable[[Any], Any]], ...]]


class PreparedSelect:
    """A SELECT of whole rows of one table with positional parameters, compiled once per dialect and run on
    the driver's own cursor for a qmark driver (SQLite's); rows come back as dicts, as `.mappings()` gives.

    For a page view's one-row read SQLAlchemy's execution (context, cursor wrapper, result, row mapping)
    cost about 50 µs against 10 µs for the driver's; the connection and its transaction are still
    SQLAlchemy's. The SQL is SQLAlchemy's compilation of the same statement and each value goes through its
    column type's result processor (JSON through the dialect's deserializer, booleans from SQLite's
    integers), so the dicts are equal. Other drivers (psycopg) take the ordinary cached path.
    """

    def __init__(self, statement: sa.Select[Any], parameters: tuple[str, ...]) -> None:
        self.statement = statement
        self.parameters = parameters  # the bind parameters' names, in the order they are given
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _PreparedRead] = weakref.WeakKeyDictionary()

    def first(self, conn: Connection, *values: Any) -> dict[str, Any] | None:
        found = self._rows(conn, values, one=True)
        return found[0] if found else None

    def all(self, conn: Connection, *values: Any) -> list[dict[str, Any]]:
        """Every row, in the statement's order (what `[dict(r) for r in ….mappings()]` gives)."""
        return self._rows(conn, values, one=False)

    def _rows(self, conn: Connection, values: tuple[Any, ...], one: bool) -> list[dict[str, Any]]:
        dialect = conn.dialect
        if dialect.paramstyle != "qmark":
            result = conn.execute(self.statement, dict(zip(self.parameters, values, strict=True))).mappings()
            if one:
                row = result.first()
                return [dict(row)] if row else []
            return [dict(r) for r in result]
        prepared = self._by_dialect.get(dialect)
        if prepared is None:
            prepared = self._by_dialect[dialect] = self._prepare(dialect)
        sql, names, processors = prepared
        cursor = conn.connection.driver_connection.execute(sql, values)  # type: ignore[union-attr]
        try:
            if one:
                row = cursor.fetchone()
                found = [] if row is None else [row]
            else:
                found = cursor.fetchall()
        finally:
            cursor.close()
        out = []
        for row in found:
            fields = list(row)
            for index, process in processors:
                fields[index] = process(fields[index])
            out.append(dict(zip(names, fields, strict=True)))
        return out

    def _prepare(self, dialect: Dialect) -> _PreparedRead:
        compiled = self.statement.compile(dialect=dialect)
        if list(compiled.positiontup or ()) != list(self.parameters):
            raise ValueError(f"cannot prepare {self.statement}: parameters {compiled.positiontup}")
        columns = list(self.statement.selected_columns)
        processors = []
        for index, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                processors.append((index, process))
        return compiled.string, tuple(c.name for c in columns), tuple(processors)


_PreparedRead = tuple[str, tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


SQLITE_POOL = 40  # connections kept per process: anyio's worker-thread limit


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Read transactions run side by side (up to one per worker thread: anyio's 40 by default), so the
        # pool keeps that many connections: an overflow connection is closed when it is returned, and
        # opening one again (file, WAL index, the pragmas below) cost more than the read it served.
        in_memory = sa.engine.make_url(url).database in (None, "", ":memory:")  # one connection per thread
        pool = {} if in_memory else {"pool_size": SQLITE_POOL, "max_overflow": SQLITE_POOL}
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            # Once per pooled connection, never per transaction. WAL lets readers run beside the one
            # writer; foreign keys are off by default in SQLite.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit no longer waits for fsync
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # The driver must not open transactions of its own: SQLAlchemy's begin does (below).
            connection.isolation_level = None

        # Take the write lock at BEGIN so two writers queue instead of failing mid-transaction. This is
        # the dialect's begin hook rather than a "begin" event: any connection event listener makes
        # SQLAlchemy dispatch events around every statement, which cost more than the statement itself.
        engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
        engine.dialect.supports_native_decimal = False
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# Set only while read_transaction begins its transaction, on the thread that begins it: the begin hook
# below reads it (a context variable, so no other thread or task ever sees it set).
_beginning_read: contextvars.ContextVar[bool] = contextvars.ContextVar("tsonkh_beginning_read", default=False)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for work that only reads, committed (there is nothing to commit) at the end.

    SQLite: a deferred BEGIN. It takes no write lock, so it never waits for a writer nor keeps one
    waiting (WAL); its snapshot starts at its first SELECT and holds to the end, so the reads inside
    agree with each other and see everything committed before that SELECT. Work that writes must use
    engine.begin() (BEGIN IMMEDIATE): a deferred transaction that tried to write could fail with
    SQLITE_BUSY instead of queueing. PostgreSQL: engine.begin() with BEGIN READ ONLY.

    Both databases refuse a write inside (SQLite: PRAGMA query_only; PostgreSQL: a read-only
    transaction), so a handler moved to Portal.read that does write fails in the tests, loudly, instead
    of racing the writers in production.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # psycopg then says BEGIN READ ONLY: no extra round trip; the pool resets it on return.
            conn = conn.execution_options(postgresql_readonly=True)
            with conn.begin():
                yield conn
            return
        try:
            token = _beginning_read.set(True)
            try:
                transaction = conn.begin()  # the hook sets query_only before its BEGIN, which can still fail
            finally:
                _beginning_read.reset(token)
            with transaction:
                yield conn
        finally:
            # Always, or the pooled connection would stay read-only for the writer it serves next. Not on an
            # invalidated one: it is discarded, and asking for it would check out a fresh connection.
            if not conn.invalidated:
                conn.connection.dbapi_connection.execute("PRAGMA query_only=0")  # type: ignore[union-attr]


def _begin_immediate(dbapi_connection: Any) -> None:
    if _beginning_read.get():
        dbapi_connection.execute("PRAGMA query_only=1")  # undone by read_transaction when it ends
        dbapi_connection.execute("BEGIN")
    else:
        dbapi_connection.execute("BEGIN IMMEDIATE")
