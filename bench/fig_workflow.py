"""Figure 5: a workflow action, in memory and through the database; inserting a submission.

In memory: Workflow.fire (role, guard, state change) plus the history record the audit log
stores, against a shared `transitions` machine (add_model + trigger + remove_model), the library
the engine's workflow is checked with. Memory per case in flight: the engine keeps no object per
case (the state is a database column), so what a case costs is what a request holds while it
acts on it; a machine-per-case design is shown beside it.

In the database (SQLite, WAL, the portal's own settings): cases.submit and cases.fire against raw
sqlite3 statements doing the bare minimum (INSERT of the row; UPDATE … WHERE id=? AND row_version=?).
"""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from transitions import Machine

from bench.harness import Section, measure, row
from bench.inputs import json_submissions
from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.compile.workflow import BACK, Transition
from engine.run import cases
from engine.run.db import applications, citizens, make_engine, now, uploads
from engine.run.migrate import upgrade
from engine.run.services import ServiceBook
from tests.strategies import TODAY


def _officer_step(service: Service, answers: dict[str, Any]) -> tuple[str, Transition] | None:
    """A state reached on submission and a plain officer action from it (no comment, no fields, no '@back')."""
    workflow = service.workflow
    values = service.validate(answers, TODAY).values
    for state in [workflow.initial, *workflow.states]:
        for t in workflow.outgoing(state):
            if t.by in ("applicant", "system") or t.requires_comment or t.requires_fields or t.target == BACK:
                continue
            if t.guard is None or t.guard.truth(values):
                return state, t
    return None


def _pick(services: list[Service]) -> tuple[Service, list[dict[str, Any]], str, Transition]:
    for service in sorted(services, key=lambda s: -len(s.fields)):
        answers = json_submissions(service, 5)
        if not answers:
            continue
        workflow = service.workflow
        if workflow.states[workflow.initial].role in (None, "applicant", "system"):
            continue  # the case must wait for an officer right after submission
        found = _officer_step(service, answers[0])
        if found is not None and found[0] == workflow.initial:
            return service, answers, found[0], found[1]
    raise RuntimeError("no service with an officer action right after submission")


def _in_memory(section: Section, service: Service, answers: dict[str, Any], state: str, t: Transition) -> None:
    workflow = service.workflow
    values = service.validate(answers, TODAY).values
    roles = frozenset({t.by})

    def engine_step() -> dict[str, Any]:
        step = workflow.fire(state, t.action, roles, values, back=None)
        # The history record the audit log stores for this step (hashing and insert are the database's part).
        return {"action": t.action, "from_state": state, "to_state": step.state, "role": t.by, "at": now()}

    assert engine_step()["to_state"] == t.target
    machine = Machine(model=None, states=list(workflow.states), initial=workflow.initial, auto_transitions=False)
    for tr in workflow.transitions:
        for source in tr.sources:
            if tr.target != BACK:
                machine.add_transition(tr.action, source, tr.target)

    class Case:
        pass

    def machine_step() -> None:
        case = Case()
        machine.add_model(case, initial=state)
        getattr(case, t.action)()
        machine.remove_model(case)

    base = "transitions: shared machine, add_model + trigger + remove_model"
    section.rows.append(row("5", base, measure(machine_step)))
    section.rows.append(row("5", "Workflow.fire + history record (role, guard, state change; no database)",
                            measure(engine_step), baseline=base, target="≤ 10 µs",
                            note=f"{service.id}: {state} → {t.action}"))

    count = 10_000
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = [engine_step() for _ in range(count)]
    after = tracemalloc.take_snapshot()
    per_case = sum(s.size_diff for s in after.compare_to(before, "filename")) / count
    del held
    models = []
    before = tracemalloc.take_snapshot()
    for _ in range(count):
        case = Case()
        machine.add_model(case, initial=state)
        models.append(case)
    after = tracemalloc.take_snapshot()
    per_model = sum(s.size_diff for s in after.compare_to(before, "filename")) / count
    tracemalloc.stop()
    machine.remove_model(models)
    section.text.append(
        f"Memory per case in flight (tracemalloc, {count:,} cases held at once): the engine holds the step's "
        f"result and history record, **{per_case:,.0f} bytes** per case (target ≤ 1 KB; the state itself is a "
        f"database column, so an idle case costs no memory at all); a `transitions` model object per case "
        f"attached to one shared machine costs {per_model:,.0f} bytes."
    )


def _database(section: Section, scratch: Path, service: Service, answers: list[dict[str, Any]], state: str,
              t: Transition, quick: bool) -> None:
    engine = make_engine(f"sqlite:///{scratch / 'workflow.db'}")
    upgrade(engine)
    catalog_book = ServiceBook(_catalog_of(service))
    with engine.begin() as conn:
        citizen_id = conn.execute(citizens.insert().values(subject="dev:bench", register_number="УБ90010112",
                                                           name="Bench", created_at=now())).inserted_primary_key[0]
    citizen = cases.Actor("citizen", int(citizen_id), "Bench", frozenset({"applicant"}))
    n = 60 if quick else 400
    submitted: list[int] = []
    samples_submit = []
    clock_samples = []
    import time

    for index in range(n):
        draft_answers = answers[index % len(answers)]
        with engine.begin() as conn:  # the draft and its uploads exist before the citizen presses submit
            draft = cases.create_draft(conn, citizen.id, service.id, draft_answers)
            for doc in service.required_documents(draft_answers):
                conn.execute(uploads.insert().values(
                    draft_id=draft, document_id=doc.id, sha256=f"{index:064d}", size=1000,
                    content_type="application/pdf", display_name="scan.pdf", created_at=now()))
        t0 = time.thread_time()
        with engine.begin() as conn:
            outcome = cases.submit(conn, catalog_book, draft, citizen, TODAY)
        samples_submit.append(time.thread_time() - t0)
        assert outcome.ok and outcome.application is not None, outcome.code
        submitted.append(int(outcome.application["id"]))
    office = outcome.application["office"]
    officer = cases.Actor("staff", 1, "officer", frozenset({t.by}), office)
    for app_id in submitted:
        t0 = time.thread_time()
        with engine.begin() as conn:
            done = cases.fire(conn, catalog_book, app_id, officer, t.action, None, None, TODAY)
        clock_samples.append(time.thread_time() - t0)
        assert done.ok, done.code

    raw = sqlite3.connect(scratch / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("CREATE TABLE app (id INTEGER PRIMARY KEY, tracking TEXT UNIQUE, citizen_id INT, service_id TEXT, "
                "answers TEXT, state TEXT, office TEXT, row_version INT, submitted_at TEXT)")
    import json

    payload = json.dumps(answers[0], ensure_ascii=False)
    raw_insert = []
    for index in range(n):
        t0 = time.thread_time()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO app (tracking, citizen_id, service_id, answers, state, office, row_version, "
                    "submitted_at) VALUES (?,?,?,?,?,?,1,?)",
                    (f"T{index}", 1, service.id, payload, state, office, now()))
        raw.execute("COMMIT")
        raw_insert.append(time.thread_time() - t0)
    raw_update = []
    for index in range(1, n + 1):
        t0 = time.thread_time()
        raw.execute("BEGIN IMMEDIATE")
        cur = raw.execute("UPDATE app SET state=?, row_version=row_version+1 WHERE id=? AND row_version=?",
                          (t.target, index, 1))
        raw.execute("COMMIT")
        raw_update.append(time.thread_time() - t0)
        assert cur.rowcount == 1

    with engine.begin() as conn:
        core_insert = []
        rows = conn.execute(sa.select(applications).limit(1)).mappings().first()
        assert rows is not None
        template = {k: v for k, v in rows.items() if k != "id"}
    for index in range(n):
        t0 = time.thread_time()
        with engine.begin() as conn:
            conn.execute(applications.insert().values({**template, "tracking": f"X{index}", "draft_id": 10**6 + index}))
        core_insert.append(time.thread_time() - t0)

    section.rows += [
        row("5", "raw sqlite3: INSERT one application + commit", raw_insert),
        row("5", "SQLAlchemy Core: insert one application row + commit (the engine's table)", core_insert,
            baseline="raw sqlite3: INSERT one application + commit", target="≤ 1.7×"),
        row("5", "cases.submit: validate + route + insert + audit, one transaction", samples_submit,
            baseline="raw sqlite3: INSERT one application + commit"),
        row("5", "raw sqlite3: UPDATE … WHERE id=? AND row_version=? + commit", raw_update),
        row("5", "cases.fire: load, role/guard, transition, versioned update, audit, commit", clock_samples,
            baseline="raw sqlite3: UPDATE … WHERE id=? AND row_version=? + commit", target="≤ 3×"),
    ]
    section.text.append(
        f"Database rows: SQLite in WAL mode with synchronous=NORMAL (the portal's settings) on a local file, one "
        f"sample per case ({n} cases), CPU time of this thread; {service.id}, action `{t.action}` by `{t.by}`."
    )
    engine.dispose()
    raw.close()


def _catalog_of(service: Service) -> Any:
    return _CATALOG


_CATALOG: Any = None


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    global _CATALOG
    section = Section("5", "Workflow action")
    _CATALOG = load_catalog(["service_defs"])
    service, answers, state, t = _pick(list(_CATALOG.services.values()))
    _in_memory(section, service, answers[0], state, t)
    _database(section, scratch, service, answers, state, t, quick)
    return section
