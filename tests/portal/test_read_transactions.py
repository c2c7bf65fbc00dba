"""Read transactions (db.read_transaction, Portal.read): what page views read their draft in.

They must read exactly what a write transaction read before, see what was committed, never take
SQLite's write lock (a page view must not hold up a submission), and leave writers on BEGIN IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from engine.run import auth, cases
from engine.run.db import drafts, make_engine, read_transaction
from engine.run.web.citizen import load_draft, read_draft, record_upload
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, REGISTER, PortalApp

SERVICE = "test-certificate"


def _citizen(portal_app: PortalApp, register: str) -> cases.Actor:
    with portal_app.portal.engine.begin() as conn:
        found = auth.dev_login(conn, register, "Test")
    assert found is not None
    return cases.Actor("citizen", found.id, "Test", frozenset({"applicant"}))


printable = st.characters(blacklist_categories=("Cs", "Cc"))  # PostgreSQL text holds no NUL
answers_st = st.dictionaries(
    st.sampled_from(["purpose", "copies", "note", "district"]),
    st.one_of(st.text(printable, max_size=20), st.integers(-5, 5), st.booleans(), st.none()),
    max_size=4,
)
uploads_st = st.lists(
    st.tuples(st.sampled_from(["passport", "photo"]), st.text(printable, min_size=1, max_size=12)), max_size=3
)


def read_draft_of(portal: Any, draft_id: int, reader: cases.Actor) -> dict[str, Any] | None:
    with read_transaction(portal.engine) as conn:
        return read_draft(conn, draft_id, reader.id)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answers_st, files=uploads_st, submitted=st.booleans(), correction=st.booleans(),
       someone_else=st.booleans())
def test_read_path_returns_what_the_write_path_returned(
    portal_app: PortalApp, answers: dict[str, Any], files: list[tuple[str, str]], submitted: bool,
    correction: bool, someone_else: bool,
) -> None:
    """load_draft in a read transaction == load_draft in a write transaction, for drafts with and without
    uploads, submitted ones, corrections whose case is gone and another citizen's draft (None for both)."""
    portal = portal_app.portal
    owner = _citizen(portal_app, REGISTER)
    reader = _citizen(portal_app, OTHER_REGISTER) if someone_else else owner
    with portal.engine.begin() as conn:
        draft_id = cases.create_draft(conn, owner.id, SERVICE, answers, application_id=999_999 if correction else None)
        for n, (doc, name) in enumerate(files):
            record_upload(conn, draft_id, doc, f"{n:064x}", 10 + n, "image/png", name)
        if submitted:
            conn.execute(drafts.update().where(drafts.c.id == draft_id).values(submitted=True))
    with portal.engine.begin() as conn:
        reference = load_draft(conn, portal, draft_id, reader)
        row = cases.get_draft(conn, draft_id, reader.id)
        assert read_draft(conn, draft_id, reader.id) == row  # the driver-cursor read == SQLAlchemy's
    with read_transaction(portal.engine) as conn:
        read = load_draft(conn, portal, draft_id, reader)
        assert read_draft(conn, draft_id, reader.id) == row
    if row is not None:
        assert {k: type(v) for k, v in row.items()} == {k: type(v) for k, v in (read_draft_of(portal, draft_id,
                                                                                            reader) or {}).items()}
    with read_transaction(portal.engine) as conn:
        without_files = load_draft(conn, portal, draft_id, reader, with_files=False)
    assert read == reference
    if reference is None:
        assert without_files is None
    else:
        assert without_files == (reference[0], reference[1], [])
        assert [(f["document_id"], f["display_name"]) for f in reference[2]] == files
    if someone_else or submitted or correction:
        assert reference is None  # never another citizen's draft, nor a submitted one
    else:
        assert reference is not None and dict(reference[0]["answers"]) == answers


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_portal_read_sees_what_was_committed(portal_app: PortalApp) -> None:
    portal = portal_app.portal
    owner = _citizen(portal_app, REGISTER)
    with portal.engine.begin() as conn:
        draft_id = cases.create_draft(conn, owner.id, SERVICE, {"purpose": "before"})
    for value in ("first", "second"):
        asyncio.run(portal.run(cases.save_answers, draft_id, owner.id, {"purpose": value}))
        found = asyncio.run(portal.read(load_draft, portal, draft_id, owner, False))
        assert found is not None and found[0]["answers"] == {"purpose": value}


def _raw_writer(path: str) -> sqlite3.Connection:
    """A second SQLite connection that never waits for a lock: a held write lock makes it fail at once."""
    raw = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    raw.execute("PRAGMA busy_timeout=0")
    return raw


def test_a_read_transaction_never_blocks_a_writer_on_sqlite(tmp_path: Any) -> None:
    path = str(tmp_path / "x.db")
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    writer = _raw_writer(path)
    try:
        with read_transaction(engine) as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
            writer.execute("BEGIN IMMEDIATE")  # would raise 'database is locked' under a write lock
            writer.execute("INSERT INTO t VALUES (2)")
            writer.execute("COMMIT")
            # Its snapshot began at its first SELECT: the reads inside one transaction agree.
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        with read_transaction(engine) as conn:  # a new one sees the commit
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
        # Writers still take the write lock at BEGIN (the context variable did not leak out).
        with engine.begin() as conn, pytest.raises(sqlite3.OperationalError, match="locked"):
            writer.execute("BEGIN IMMEDIATE")
    finally:
        writer.close()
        engine.dispose()


def test_the_begin_mode_does_not_leak_to_other_threads(tmp_path: Any) -> None:
    """While one thread's read transaction is open, another thread's engine.begin() is still IMMEDIATE."""
    path = str(tmp_path / "x.db")
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    writer = _raw_writer(path)
    opened, done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            opened.wait(10)
            with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
                writer.execute("BEGIN IMMEDIATE")
        except BaseException as err:  # reported on the main thread
            failures.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        with read_transaction(engine) as conn:
            conn.exec_driver_sql("SELECT 1").all()
            opened.set()
            done.wait(10)
    finally:
        thread.join(10)
        writer.close()
        engine.dispose()
    assert not failures, failures


def test_section_page_never_shows_another_citizens_draft(portal_app: PortalApp) -> None:
    owner, other = portal_app.client(), portal_app.client()
    owner.sign_in(REGISTER)
    page = owner.submit(f"/services/{SERVICE}/start")
    assert page.status_code == 200
    assert page.url.path.startswith("/apply/")
    other.sign_in(OTHER_REGISTER)
    assert other.get(page.url.path).status_code == 404
    assert owner.get(page.url.path).status_code == 200


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_write_inside_a_read_transaction_is_refused_and_the_connection_writes_again(portal_app: PortalApp) -> None:
    """Portal.read is for work that only reads: a handler that writes there fails here, in the tests, on
    both databases; and the pooled connection it used is a writer again afterwards."""
    portal = portal_app.portal
    owner = _citizen(portal_app, REGISTER)
    with portal.engine.begin() as conn:
        draft_id = cases.create_draft(conn, owner.id, SERVICE, {"purpose": "before"})
    for _ in range(12):  # more rounds than the pool holds connections: every pooled one is reused
        with pytest.raises(Exception, match=r"(?i)read.?only"):
            asyncio.run(portal.read(cases.save_answers, draft_id, owner.id, {"purpose": "in a read"}))
        asyncio.run(portal.run(cases.save_answers, draft_id, owner.id, {"purpose": "written"}))
        found = asyncio.run(portal.read(load_draft, portal, draft_id, owner, False))
        assert found is not None and found[0]["answers"] == {"purpose": "written"}


def test_a_read_whose_begin_fails_leaves_the_connection_a_writer() -> None:
    """In-memory SQLite has one connection per thread: a read begun inside that thread's open write
    transaction fails at BEGIN, after the begin hook made the connection read-only; the write goes on."""
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    try:
        with engine.begin() as writer:
            with pytest.raises(OperationalError, match="within a transaction"), read_transaction(engine):
                pass
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")  # 'attempt to write a readonly database' before
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    finally:
        engine.dispose()
