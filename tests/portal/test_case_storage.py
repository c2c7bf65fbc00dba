"""Case storage on SQLite and PostgreSQL: the prepared statements store what SQLAlchemy's own
statements would, a step returns the row exactly as stored, the audit chain stays whole however
actions interleave or race, and a stale version is refused without losing anything."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.inputs import json_submissions
from engine.catalog import Catalog, load_catalog
from engine.compile.service import Service
from engine.run import audit, cases
from engine.run.db import applications, audit_log, citizens, definitions, make_engine, metadata, now, staff, uploads
from engine.run.services import ServiceBook
from tests.conftest import REPO
from tests.portal.conftest import BACKENDS, PortalApp, build_app
from tests.strategies import TODAY, answers_for

pytestmark = pytest.mark.xdist_group("catalog")  # one worker loads the real catalog once for these


@functools.cache
def real_catalog() -> Catalog:
    return load_catalog([str(REPO / "service_defs")], root=REPO)


@functools.cache
def submissions() -> dict[str, list[dict[str, Any]]]:
    """Two valid JSON submissions per catalog service that routes them (fixed seed)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for service in sorted(real_catalog().services.values(), key=lambda s: s.id):
        found = []
        for answers in json_submissions(service, 2):
            validation = service.validate(answers, TODAY)  # the JSON form itself, as a draft stores it
            if validation.ok and service.route(validation.values):
                found.append(answers)
        if found:
            out[service.id] = found
    return out


@pytest.fixture
def catalog_portal(tmp_path: Path, db_url: str) -> Iterator[PortalApp]:
    built = build_app(tmp_path, db_url, catalog=real_catalog())
    yield built
    built.portal.engine.dispose()


def new_citizen(conn: sa.Connection, subject: str = "dev:storage") -> cases.Actor:
    key = conn.execute(citizens.insert().values(subject=subject, register_number="УБ90010112", name="Тест",
                                                created_at=now())).inserted_primary_key[0]
    return cases.Actor("citizen", int(key), "Тест", frozenset({"applicant"}))


def submit(portal: PortalApp, citizen: cases.Actor, service: Service, answers: Mapping[str, Any]) -> cases.Outcome:
    """A draft with every required document uploaded, submitted through cases.submit in one transaction."""
    engine, book = portal.portal.engine, portal.portal.book
    with engine.begin() as conn:
        draft = cases.create_draft(conn, citizen.id, service.id, answers)
        for n, doc in enumerate(service.required_documents(service.validate(answers, TODAY).values)):
            conn.execute(uploads.insert().values(draft_id=draft, document_id=doc.id, sha256=f"{n:064d}", size=10,
                                                 content_type="application/pdf", display_name="a.pdf",
                                                 created_at=now()))
    with engine.begin() as conn:
        return cases.submit(conn, book, draft, citizen, TODAY)


def officer_for(service: Service, office: str) -> cases.Actor:
    return cases.Actor("staff", 1, "Officer", frozenset(service.workflow.acting_roles()), office)


def plain_action(service: Service, app: Mapping[str, Any]) -> str | None:
    """An officer's action from the case's state that needs no fields (a comment is always given)."""
    values = cases.case_values(service, app)
    for t in service.workflow.available(app["state"], service.workflow.acting_roles(), values):
        if t.by not in ("applicant", "system") and not t.requires_fields:
            return t.action
    return None


def stored(conn: sa.Connection, app_id: int) -> dict[str, Any]:
    found = cases.get_application(conn, app_id)
    assert found is not None
    return dict(found)


# --- the prepared insert ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_prepared_insert_stores_what_sqlalchemy_would(catalog_portal: PortalApp, data: st.DataObject) -> None:
    services = sorted(real_catalog().services.values(), key=lambda s: s.id)
    service = data.draw(st.sampled_from(services))
    answers = cases._stored(service.validate(data.draw(answers_for(service)), TODAY).values)
    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        catalog_portal.portal.book.remember(conn, service)
        citizen = conn.execute(sa.select(citizens.c.id).limit(1)).scalar() or new_citizen(conn).id
        base = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(applications.c.id), 0))).scalar_one())
        row = {
            "tracking": f"P-{base}", "draft_id": 10**6 + base, "citizen_id": citizen, "service_id": service.id,
            "definition_version": service.version, "answers": answers, "state": service.workflow.initial,
            "back_state": None, "office": "x", "assignee_id": None, "fee_total": 7, "due_date": "2026-07-01",
            "state_due_date": data.draw(st.none() | st.just("2026-06-20")), "last_comment": None, "row_version": 1,
            "submitted_at": now(), "updated_at": now(), "closed": data.draw(st.booleans()),
        }
        assert set(row) == set(cases.insert_application.columns)
        prepared = cases.insert_application(conn, row)
        reference = conn.execute(
            applications.insert().values({**row, "tracking": f"S-{base}", "draft_id": 2 * 10**6 + base})
        ).inserted_primary_key[0]
        rows = {r["id"]: dict(r) for r in conn.execute(
            sa.select(applications, sa.cast(applications.c.answers, sa.Text).label("answers_text"))
            .where(applications.c.id.in_([prepared, reference]))).mappings()}
    assert set(rows) == {prepared, reference}
    mine, theirs = rows[prepared], rows[reference]
    for key in ("id", "tracking", "draft_id"):
        del mine[key], theirs[key]
    assert mine == theirs  # every column, and the answers' stored JSON text byte for byte
    assert mine["answers"] == answers
    # What a submission builds instead of reading the new row back is what the read gives, types included.
    with engine.connect() as conn:
        read = stored(conn, prepared)
    built = cases.inserted_application(prepared, row)
    assert built == read and {k: type(v) for k, v in built.items()} == {k: type(v) for k, v in read.items()}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_prepared_insert_reports_a_duplicate_as_integrity_error_in_its_savepoint(
    catalog_portal: PortalApp,
) -> None:
    service_id, found = next(iter(submissions().items()))
    service = real_catalog().services[service_id]
    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn)
    made = submit(catalog_portal, citizen, service, found[0]).application
    assert made is not None
    with engine.begin() as conn:
        row = {k: made[k] for k in cases.insert_application.columns}
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():  # the same draft (and tracking) again
            cases.insert_application(conn, row)
        again = cases.insert_application(conn, {**row, "tracking": "T-again", "draft_id": 10**7})
        assert stored(conn, again)["answers"] == made["answers"]  # the transaction went on after the savepoint
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar() == 2


# --- remembering a definition version -----------------------------------------------------------------------------
class Statements:
    """The SQL text of every statement an engine runs while counting (a test-only event listener)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.seen = engine, list[str]()

    def __enter__(self) -> list[str]:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self.seen

    def __exit__(self, *_: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.seen.append(statement)


def on_definitions(seen: list[str]) -> list[str]:
    return [s for s in seen if "definitions" in s]


def stored_version(conn: sa.Connection, service: Service) -> bool:
    found = conn.execute(sa.select(definitions.c.version).where(definitions.c.version == service.version)).first()
    return found is not None


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_version_stored_and_committed_is_not_looked_for_again(catalog_portal: PortalApp) -> None:
    engine = catalog_portal.portal.engine
    service = real_catalog().services[next(iter(submissions()))]
    book = ServiceBook(real_catalog())
    per_transaction = []
    for _ in range(3):
        with Statements(engine) as seen, engine.begin() as conn:
            book.remember(conn, service)
        per_transaction.append(len(on_definitions(seen)))
    # Looked for and inserted; looked for and found committed; then known: no statement at all.
    assert per_transaction == [2, 1, 0]
    other = ServiceBook(real_catalog())  # another process: it looks once too
    for expected in (1, 0):
        with Statements(engine) as seen, engine.begin() as conn:
            other.remember(conn, service)
        assert len(on_definitions(seen)) == expected


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_version_inserted_by_a_transaction_that_rolled_back_is_inserted_again(catalog_portal: PortalApp) -> None:
    engine = catalog_portal.portal.engine
    service = real_catalog().services[next(iter(submissions()))]
    book = ServiceBook(real_catalog())
    with pytest.raises(RuntimeError), engine.begin() as conn:
        book.remember(conn, service)  # inserts
        book.remember(conn, service)  # finds its own insert, which is not known to be committed
        raise RuntimeError("the transaction rolls back")
    with engine.begin() as conn:
        assert not stored_version(conn, service)
        book.remember(conn, service)  # so it is looked for, and inserted again
    with engine.connect() as conn:
        assert stored_version(conn, service)


def test_what_a_book_knows_of_one_database_says_nothing_of_another(tmp_path: Any) -> None:
    """One book, two databases: seeing a version committed in B must not make A's own uncommitted insert
    of it count as committed (then rolled back, A would lack the row its cases point to)."""
    service = real_catalog().services[next(iter(submissions()))]
    engines = [make_engine(f"sqlite:///{tmp_path / name}.db") for name in ("a", "b")]
    try:
        for engine in engines:
            metadata.create_all(engine)
        a, b = engines
        with b.begin() as conn:
            ServiceBook(real_catalog()).remember(conn, service)  # B has it, committed
        book = ServiceBook(real_catalog())
        with pytest.raises(RuntimeError), a.begin() as in_a:
            book.remember(in_a, service)  # inserted in A, not committed yet
            with b.begin() as in_b:
                book.remember(in_b, service)  # found committed in B
            book.remember(in_a, service)  # its own insert again: still not known committed
            raise RuntimeError("A rolls back")
        with a.begin() as conn:
            assert not stored_version(conn, service)
            book.remember(conn, service)
        with a.connect() as conn:
            assert stored_version(conn, service)
    finally:
        for engine in engines:
            engine.dispose()


# --- a step returns the row as stored -----------------------------------------------------------------------------
def walk(portal: PortalApp, service: Service, answers: Mapping[str, Any], steps: int = 6) -> int:
    """Submit, then take officers' actions until none is left; at each step the outcome's row is the stored one.
    Returns the number of actions taken."""
    engine, book = portal.portal.engine, portal.portal.book
    with engine.begin() as conn:
        citizen = new_citizen(conn, f"dev:{service.id}:{len(answers)}:{now()}")
    outcome = submit(portal, citizen, service, answers)
    assert outcome.ok and outcome.application is not None, (service.id, outcome.code)
    app = dict(outcome.application)
    with engine.connect() as conn:
        assert stored(conn, app["id"]) == app, service.id
    taken = 0
    for _ in range(steps):
        if service.workflow.states[app["state"]].final:
            break
        action = plain_action(service, app)
        if action is None:
            break
        with engine.begin() as conn:
            done = cases.fire(conn, book, app["id"], officer_for(service, app["office"]), action, "Тайлбар",
                              app["row_version"], TODAY)
            assert done.ok and done.application is not None, (service.id, action, done.code)
            assert stored(conn, app["id"]) == dict(done.application), (service.id, action)
        app = dict(done.application)
        taken += 1
    return taken


def test_every_catalog_service_steps_return_the_row_as_stored(catalog_portal: PortalApp) -> None:
    taken = 0
    for service_id, found in submissions().items():
        taken += walk(catalog_portal, real_catalog().services[service_id], found[0])
    assert taken > len(submissions())  # most services were walked a step or more
    with catalog_portal.portal.engine.connect() as conn:
        count, breaks = audit.verify(conn)
    assert breaks == [] and count > taken


@pytest.mark.parametrize("db_url", [BACKENDS[1]], indirect=True)
def test_steps_return_the_row_as_stored_on_postgresql(catalog_portal: PortalApp) -> None:
    chosen = list(submissions().items())[::15]
    assert sum(walk(catalog_portal, real_catalog().services[sid], found[0]) for sid, found in chosen) > 0


def test_claiming_returns_the_row_as_stored(catalog_portal: PortalApp) -> None:
    service_id, found = next(iter(submissions().items()))
    service = real_catalog().services[service_id]
    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn)
    app = submit(catalog_portal, citizen, service, found[0]).application
    assert app is not None
    with engine.begin() as conn:
        officer = officer_for(service, app["office"])
        done = cases.set_assignee(conn, app["id"], officer, None, app["row_version"])
        assert done.ok and done.application is not None
        assert stored(conn, app["id"]) == dict(done.application)
        assert done.application["row_version"] == app["row_version"] + 1


# --- guard values ---------------------------------------------------------------------------------------------------
class CountingService:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.calls = 0

    def validate(self, answers: Mapping[str, Any], today: dt.date | None = None) -> Any:
        self.calls += 1
        return self.service.validate(answers, today)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_case_values_are_the_validated_answers_validated_once_when_read(data: st.DataObject) -> None:
    service = data.draw(st.sampled_from(sorted(real_catalog().services.values(), key=lambda s: s.id)))
    answers = cases._stored(service.validate(data.draw(answers_for(service)), TODAY).values)
    counting = CountingService(service)
    values = cases.CaseValues(counting, answers, TODAY)  # type: ignore[arg-type]
    assert counting.calls == 0  # nothing validated until a guard reads
    expected = service.validate(answers, TODAY).values
    assert dict(values) == dict(expected) and len(values) == len(expected)
    for key in list(expected)[:5]:
        assert values.get(key) == expected.get(key) and values[key] == expected[key]
    assert values.get("__no_such_field__") is None
    for t in service.workflow.transitions:
        if t.guard is not None:
            assert t.guard.truth(values) == t.guard.truth(expected)
    assert counting.calls == 1


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_submitted_values_are_what_validating_the_stored_answers_gives(data: st.DataObject) -> None:
    """A submission hands its validation on (CaseValues with values) instead of validating the stored answers again."""
    service = data.draw(st.sampled_from(sorted(real_catalog().services.values(), key=lambda s: s.id)))
    validation = service.validate(data.draw(answers_for(service)), TODAY)
    stored_answers = cases._stored(validation.values)
    again = service.validate(stored_answers, TODAY)
    assert dict(again.values) == dict(validation.values)
    given_values = cases.CaseValues(service, stored_answers, TODAY, validation.values)
    lazy = cases.CaseValues(service, stored_answers, TODAY)
    assert dict(given_values) == dict(lazy)
    for t in service.workflow.transitions:
        if t.guard is not None:
            assert t.guard.truth(given_values) == t.guard.truth(lazy)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_json_status_of_a_submission_is_the_same_with_the_values_handed_on(catalog_portal: PortalApp) -> None:
    from engine.run.web.api import status_of

    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn, f"dev:status:{now()}")
    for service_id, found in list(submissions().items())[::4]:
        outcome = submit(catalog_portal, citizen, real_catalog().services[service_id], found[0])
        assert outcome.ok and outcome.application is not None and outcome.values is not None, service_id
        with engine.connect() as conn:
            app = stored(conn, outcome.application["id"])
            assert app == dict(outcome.application)
            handed = status_of(conn, catalog_portal.portal, app, citizen, "mn", outcome.values)
            assert handed == status_of(conn, catalog_portal.portal, app, citizen, "mn"), service_id


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_prepared_reads_of_a_submission_give_what_sqlalchemy_gives(catalog_portal: PortalApp) -> None:
    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn, f"dev:reads:{now()}")
    service_id, found = next(iter(submissions().items()))
    outcome = submit(catalog_portal, citizen, real_catalog().services[service_id], found[0])
    assert outcome.application is not None
    app = outcome.application
    with engine.connect() as conn:
        files = [dict(r) for r in conn.execute(
            sa.select(uploads).where(uploads.c.draft_id == app["draft_id"]).order_by(uploads.c.id)).mappings()]
        assert files and cases.draft_uploads(conn, app["draft_id"]) == files
        records = [dict(r) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.application_id == app["id"]).order_by(audit_log.c.id)).mappings()]
        assert records and audit.history(conn, app["id"]) == records
        assert cases.draft_uploads(conn, 10**9) == [] and audit.history(conn, 10**9) == []
        row = conn.execute(sa.select(applications).where(applications.c.id == app["id"])).mappings().one()
        for read in (cases.get_application(conn, app["id"]), cases.by_tracking(conn, app["tracking"]),
                     cases._application_by_draft(conn, app["draft_id"])):
            assert read == dict(row)
            assert {k: type(v) for k, v in (read or {}).items()} == {k: type(v) for k, v in row.items()}
        assert cases.get_application(conn, 10**9) is None and cases.by_tracking(conn, "TS-NONE") is None


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_notice_profile_is_read_with_the_account_phone_in_one_statement(catalog_portal: PortalApp) -> None:
    from engine.run.notify import inbox

    engine = catalog_portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn, f"dev:profile:{now()}")
        conn.execute(citizens.update().where(citizens.c.id == citizen.id).values(phone="99112233"))
    with engine.begin() as conn:
        assert inbox.profile(conn, citizen.id) == inbox.Profile(phone="99112233")  # no profile: the account's phone
        chosen = inbox.Profile("email", "en", "a@example.mn", "88001122")
        inbox.save_profile(conn, citizen.id, chosen)
        assert inbox.profile(conn, citizen.id) == chosen
        assert inbox.profile(conn, 10**9) == inbox.Profile()  # no such account, no profile
        inbox.save_profile(conn, 10**9, chosen)  # a profile without an account (no foreign key)
        assert inbox.profile(conn, 10**9) == chosen


# --- the audit chain --------------------------------------------------------------------------------------------------
def open_cases(portal: PortalApp, count: int) -> list[tuple[Service, dict[str, Any]]]:
    """`count` submitted cases waiting for an officer, over several services."""
    engine = portal.portal.engine
    with engine.begin() as conn:
        citizen = new_citizen(conn, f"dev:open:{now()}")
    out: list[tuple[Service, dict[str, Any]]] = []
    for service_id, found in submissions().items():
        service = real_catalog().services[service_id]
        for answers in found:
            outcome = submit(portal, citizen, service, answers)
            assert outcome.ok and outcome.application is not None
            if plain_action(service, outcome.application) is not None:
                out.append((service, dict(outcome.application)))
        if len(out) >= count:
            return out[:count]
    return out


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_chain_verifies_after_interleaved_steps_claims_and_refusals(catalog_portal: PortalApp) -> None:
    engine, book = catalog_portal.portal.engine, catalog_portal.portal.book
    waiting = open_cases(catalog_portal, 8)
    assert len(waiting) == 8
    for round_ in range(3):
        for index, (service, app) in enumerate(waiting):
            officer = officer_for(service, app["office"])
            with engine.begin() as conn:
                if (index + round_) % 3 == 0:  # a claim between steps
                    done = cases.set_assignee(conn, app["id"], officer, officer.id, app["row_version"])
                elif service.workflow.states[app["state"]].final or plain_action(service, app) is None:
                    continue
                else:
                    action = plain_action(service, app)
                    assert action is not None
                    # A stale page first (refused, nothing written), then the real step, in one transaction.
                    stale = cases.fire(conn, book, app["id"], officer, action, "x", app["row_version"] - 1, TODAY)
                    assert stale.code == "conflict"
                    done = cases.fire(conn, book, app["id"], officer, action, "Тайлбар", app["row_version"], TODAY)
                assert done.ok and done.application is not None
                waiting[index] = (service, dict(done.application))
    with engine.connect() as conn:
        count, breaks = audit.verify(conn)
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings().all()
        for _service, app in waiting:
            history = audit.history(conn, app["id"])
            assert history[0]["action"] == "submit" and history[-1]["to_state"] == app["state"]
            assert len(history) == app["row_version"]  # one record per change of the row, none lost or doubled
    assert breaks == [] and count == len(rows)
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_two_writers_at_once_keep_one_chain(catalog_portal: PortalApp) -> None:
    engine, book = catalog_portal.portal.engine, catalog_portal.portal.book
    waiting = open_cases(catalog_portal, 12)
    halves = [waiting[0::2], waiting[1::2]]
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def writer(mine: list[tuple[Service, dict[str, Any]]]) -> None:
        try:
            barrier.wait()
            for _ in range(2):
                for index, (service, app) in enumerate(mine):
                    officer = officer_for(service, app["office"])
                    with engine.begin() as conn:
                        action = plain_action(service, app)
                        if action is None or service.workflow.states[app["state"]].final:
                            done = cases.set_assignee(conn, app["id"], officer, officer.id, app["row_version"])
                        else:
                            done = cases.fire(conn, book, app["id"], officer, action, "x", app["row_version"], TODAY)
                    assert done.ok and done.application is not None, done.code
                    mine[index] = (service, dict(done.application))
        except BaseException as err:  # reported by the test thread
            failures.append(err)

    threads = [threading.Thread(target=writer, args=(half,)) for half in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    with engine.connect() as conn:
        count, breaks = audit.verify(conn)
        assert breaks == [] and count == conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
        assert count >= len(waiting) * 3  # each case: its submit and two actions


# --- optimistic locking ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_step_on_a_stale_row_is_refused_and_loses_nothing(catalog_portal: PortalApp) -> None:
    engine, book = catalog_portal.portal.engine, catalog_portal.portal.book
    (service, app), = open_cases(catalog_portal, 1)
    officer = officer_for(service, app["office"])
    action = plain_action(service, app)
    assert action is not None
    with engine.begin() as conn:  # the other officer's claim lands between our read and our write
        claimed = cases.set_assignee(conn, app["id"], officer, officer.id, app["row_version"])
    assert claimed.ok and claimed.application is not None
    with engine.begin() as conn:
        before = stored(conn, app["id"])
        records = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
        late = cases._fire(conn, book, app, officer, action, "x", None, TODAY)  # our row, read before the claim
        assert late.code == "conflict" and not late.ok
        assert stored(conn, app["id"]) == before == dict(claimed.application)
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == records
        retry = cases.fire(conn, book, app["id"], officer, action, "x", before["row_version"], TODAY)
        assert retry.ok and retry.application is not None
        assert retry.application["assignee_id"] == officer.id  # the claim is kept by the step after it
    with engine.connect() as conn:
        assert audit.verify(conn)[1] == []


# --- the office queue -------------------------------------------------------------------------------------------------
def reference_queue(conn: sa.Connection, book: Any, officer: cases.Actor, filters: cases.QueueFilter,
                    today: dt.date) -> list[dict[str, Any]]:
    """The queue as it was written before its loop was tuned: the meaning the fast one must keep."""
    query = sa.select(*cases._QUEUE_COLUMNS).where(
        applications.c.office == officer.office, applications.c.closed.is_(False))
    if filters.service_id:
        query = query.where(applications.c.service_id == filters.service_id)
    if filters.state:
        query = query.where(applications.c.state == filters.state)
    if filters.assigned == "me":
        query = query.where(applications.c.assignee_id == officer.id)
    elif filters.assigned == "unassigned":
        query = query.where(applications.c.assignee_id.is_(None))
    out = []
    for row in conn.execute(query.order_by(applications.c.due_date, applications.c.id).limit(500)).mappings():
        service = book.pinned(conn, row["definition_version"])
        state = service.workflow.states.get(row["state"]) if service else None
        if state is None or state.final or (filters.waiting_on_me and state.role not in officer.roles):
            continue
        overdue = today.isoformat() > min(d for d in (row["due_date"], row["state_due_date"]) if d)
        if filters.overdue and not overdue:
            continue
        out.append({**row, "service": service, "state_obj": state, "due": row["state_due_date"] or row["due_date"],
                    "overdue": overdue})
    names = dict(conn.execute(sa.select(staff.c.id, staff.c.name)).all())
    for r in out:
        if any(o["assignee_id"] is not None for o in out):
            r["assignee_name"] = names.get(r["assignee_id"])
    return out


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_queue_lists_what_the_reference_queue_lists(catalog_portal: PortalApp) -> None:
    engine, book = catalog_portal.portal.engine, catalog_portal.portal.book
    waiting = open_cases(catalog_portal, 16)
    with engine.begin() as conn:
        for index, (service, app) in enumerate(waiting):
            officer = officer_for(service, app["office"])
            if index % 3 == 0:
                cases.set_assignee(conn, app["id"], officer, officer.id, app["row_version"])
            elif index % 3 == 1 and (action := plain_action(service, app)) is not None:
                cases.fire(conn, book, app["id"], officer, action, "x", app["row_version"], TODAY)
    offices = sorted({app["office"] for _, app in waiting})
    services = sorted({service.id for service, _ in waiting})
    seen = overdue = assigned = 0
    with engine.connect() as conn:
        states = sorted({s for (s,) in conn.execute(sa.select(applications.c.state).distinct())})
        for office in offices:
            roles = [frozenset(r for s, _ in waiting for r in s.workflow.acting_roles()), frozenset({"registrar"})]
            for officer_roles in roles:
                officer = cases.Actor("staff", 1, "Officer", officer_roles, office)
                for filters in [cases.QueueFilter(), cases.QueueFilter(waiting_on_me=False),
                                cases.QueueFilter(assigned="me", waiting_on_me=False),
                                cases.QueueFilter(assigned="unassigned"), cases.QueueFilter(overdue=True),
                                cases.QueueFilter(service_id=services[0], waiting_on_me=False),
                                cases.QueueFilter(state=states[0], waiting_on_me=False)]:
                    for today in (TODAY, TODAY + dt.timedelta(days=40)):
                        listed = cases.queue(conn, book, officer, filters, today, size=500).rows
                        assert listed == reference_queue(conn, book, officer, filters, today), (office, filters)
                        seen += len(listed)
                        overdue += sum(r["overdue"] for r in listed)
                        assigned += sum(r.get("assignee_name") is not None for r in listed)
    assert seen > 0 and overdue > 0 and assigned > 0  # the comparisons were not all of empty pages


# --- the schema -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_migrated_schema_has_the_declared_indexes(catalog_portal: PortalApp) -> None:
    inspector = sa.inspect(catalog_portal.portal.engine)
    for table in ("applications", "audit_log"):
        found = {i["name"]: tuple(i["column_names"]) for i in inspector.get_indexes(table)
                 if not i.get("duplicates_constraint")}  # PostgreSQL lists the indexes of unique constraints
        declared = {i.name: tuple(c.name for c in i.columns) for i in metadata.tables[table].indexes}
        assert found == declared, table
    queue = {i["name"] for i in inspector.get_indexes("applications")}
    assert {"ix_applications_queue", "ix_applications_citizen"} <= queue
    assert not {"ix_applications_office", "ix_applications_citizen_id"} & queue
