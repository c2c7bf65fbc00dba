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

import json
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from transitions import Machine

from bench.harness import CPU, Section, measure, row
from bench.inputs import json_submissions
from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.compile.workflow import BACK, Transition
from engine.run import audit, cases
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


def _one_step(services: list[Service]) -> tuple[Service, list[dict[str, Any]], Transition]:
    """An officer action right after submission that is one transition and nothing else: its target
    waits for a person (no automatic step follows), is not final, and neither declares effects."""
    for service in sorted(services, key=lambda s: -len(s.fields)):
        workflow = service.workflow
        if workflow.states[workflow.initial].role in (None, "applicant", "system"):
            continue
        answers = json_submissions(service, 5)
        if not answers:
            continue
        values = service.validate(answers[0], TODAY).values
        for t in workflow.outgoing(workflow.initial):
            target = workflow.states.get(t.target)
            if (t.by in ("applicant", "system") or t.requires_comment or t.requires_fields or target is None
                    or target.role in (None, "system") or target.final or t.effects or target.effects):
                continue
            if t.guard is None or t.guard.truth(values):
                return service, answers, t
    raise RuntimeError("no service with a single plain officer action right after submission")


class _Cases:
    """Submitted cases of one service, made through the portal's own cases.submit."""

    def __init__(self, engine: sa.Engine, book: ServiceBook, citizen: cases.Actor, service: Service,
                 answers: list[dict[str, Any]]) -> None:
        self.engine, self.book, self.citizen, self.service, self.answers = engine, book, citizen, service, answers
        self.submit_samples: list[float] = []
        self.office = ""

    def submit(self, count: int, timed: bool) -> list[int]:
        made = []
        for index in range(count):
            draft_answers = self.answers[index % len(self.answers)]
            with self.engine.begin() as conn:  # the draft and its uploads exist before the citizen presses submit
                draft = cases.create_draft(conn, self.citizen.id, self.service.id, draft_answers)
                for doc in self.service.required_documents(draft_answers):
                    conn.execute(uploads.insert().values(
                        draft_id=draft, document_id=doc.id, sha256=f"{index:064d}", size=1000,
                        content_type="application/pdf", display_name="scan.pdf", created_at=now()))
            t0 = CPU()
            with self.engine.begin() as conn:
                outcome = cases.submit(conn, self.book, draft, self.citizen, TODAY)
            if timed:
                self.submit_samples.append(CPU() - t0)
            assert outcome.ok and outcome.application is not None, outcome.code
            made.append(int(outcome.application["id"]))
            self.office = str(outcome.application["office"])
        return made


def _raw(path: Path) -> sqlite3.Connection:
    """A bare sqlite3 connection with the portal's settings (engine/run/db.py), no SQLAlchemy."""
    raw = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        raw.execute(f"PRAGMA {pragma}")
    return raw


def _database(section: Section, scratch: Path, service: Service, answers: list[dict[str, Any]], state: str,
              t: Transition, quick: bool) -> None:
    path = scratch / "workflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    book = ServiceBook(_catalog_of(service))
    with engine.begin() as conn:
        citizen_id = conn.execute(citizens.insert().values(subject="dev:bench", register_number="УБ90010112",
                                                           name="Bench", created_at=now())).inserted_primary_key[0]
    citizen = cases.Actor("citizen", int(citizen_id), "Bench", frozenset({"applicant"}))
    n = 60 if quick else 400
    single_service, single_answers, single = _one_step(list(_CATALOG.services.values()))
    two = _Cases(engine, book, citizen, service, answers)
    one = _Cases(engine, book, citizen, single_service, single_answers)
    two_ids = two.submit(n, timed=True)
    one_ids = one.submit(n, timed=False)
    raw = _raw(path)

    # Inserting a submission: the engine's insert (cases.insert_application, what cases.submit runs) against
    # the same row through bare sqlite3, into the same table of the same database, samples interleaved.
    with engine.begin() as conn:
        template = dict(conn.execute(sa.select(applications).limit(1)).mappings().one())
    del template["id"]
    insert_sql = f"INSERT INTO applications ({', '.join(template)}) VALUES ({', '.join('?' * len(template))})"
    engine_insert, raw_insert = [], []
    for index in range(n):
        values = {**template, "tracking": f"E{index}", "draft_id": 10**6 + index}
        t0 = CPU()
        with engine.begin() as conn:
            cases.insert_application(conn, values)
        engine_insert.append(CPU() - t0)
        bare = {**template, "tracking": f"R{index}", "draft_id": 2 * 10**6 + index}
        t0 = CPU()
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(insert_sql, [json.dumps(v) if k == "answers" else v for k, v in bare.items()])
        raw.execute("COMMIT")
        raw_insert.append(CPU() - t0)
    raw_ids = [r[0] for r in raw.execute("SELECT id FROM applications WHERE tracking LIKE 'R%' ORDER BY id")]

    # For comparison with earlier runs: the previous figure's baseline (a 9-column table of its own, no
    # indexes but one, no foreign keys) and the previous engine path (a statement built per insert).
    small = _raw(scratch / "raw.db")
    small.execute("CREATE TABLE app (id INTEGER PRIMARY KEY, tracking TEXT UNIQUE, citizen_id INT, service_id TEXT, "
                  "answers TEXT, state TEXT, office TEXT, row_version INT, submitted_at TEXT)")
    payload = json.dumps(template["answers"], ensure_ascii=False)
    small_insert, small_update, built_insert = [], [], []
    for index in range(n):
        t0 = CPU()
        small.execute("BEGIN IMMEDIATE")
        small.execute("INSERT INTO app (tracking, citizen_id, service_id, answers, state, office, row_version, "
                      "submitted_at) VALUES (?,?,?,?,?,?,1,?)", (f"T{index}", 1, service.id, payload, state,
                                                                 template["office"], now()))
        small.execute("COMMIT")
        small_insert.append(CPU() - t0)
        t0 = CPU()
        small.execute("BEGIN IMMEDIATE")
        small.execute("UPDATE app SET state=?, row_version=row_version+1 WHERE id=? AND row_version=?",
                      (t.target, index + 1, 1))
        small.execute("COMMIT")
        small_update.append(CPU() - t0)
        values = {**template, "tracking": f"B{index}", "draft_id": 3 * 10**6 + index}
        t0 = CPU()
        with engine.begin() as conn:
            conn.execute(applications.insert().values(**values))
        built_insert.append(CPU() - t0)
    small.close()

    # One action: cases.fire on a fresh case against the bare versioned UPDATE of one of the rows above.
    officer = cases.Actor("staff", 1, "officer", frozenset({single.by}), one.office)
    fire_samples, raw_update = [], []
    for app_id, raw_id in zip(one_ids, raw_ids, strict=False):
        t0 = CPU()
        with engine.begin() as conn:
            done = cases.fire(conn, book, app_id, officer, single.action, None, None, TODAY)
        fire_samples.append(CPU() - t0)
        assert done.ok and done.application is not None and done.application["state"] == single.target, done.code
        t0 = CPU()
        raw.execute("BEGIN IMMEDIATE")
        cur = raw.execute("UPDATE applications SET state=?, row_version=row_version+1 WHERE id=? AND row_version=?",
                          (single.target, raw_id, 1))
        raw.execute("COMMIT")
        raw_update.append(CPU() - t0)
        assert cur.rowcount == 1

    # The same action's database work through bare sqlite3, statement for statement: read the case, the
    # versioned UPDATE … RETURNING with the audit chain's last hash, hash and INSERT the audit record, commit.
    floor = _floor(raw, raw_ids, single, n)

    # The previous figure's action: residence-permit's documents_complete enters a system state, so the
    # automatic step after it is taken in the same transaction (two transitions, two audit records).
    officer_two = cases.Actor("staff", 1, "officer", frozenset({t.by}), two.office)
    two_samples = []
    for app_id in two_ids:
        t0 = CPU()
        with engine.begin() as conn:
            done = cases.fire(conn, book, app_id, officer_two, t.action, None, None, TODAY)
        two_samples.append(CPU() - t0)
        assert done.ok, done.code

    with engine.connect() as conn:
        count, breaks = audit.verify(conn)
    assert not breaks and count >= 4 * n, (count, breaks[:3])

    insert_base = "raw sqlite3: INSERT one application + commit (the portal's table and settings)"
    update_base = "raw sqlite3: UPDATE … WHERE id=? AND row_version=? + commit (the portal's table)"
    section.rows += [
        row("5", insert_base, raw_insert),
        row("5", "engine: insert one application row + commit (cases.insert_application, engine.begin())",
            engine_insert, baseline=insert_base, target="≤ 1.7×"),
        row("5", "SQLAlchemy Core: insert().values(**row) built per call + commit (the previous engine path)",
            built_insert, baseline=insert_base),
        row("5", "raw sqlite3: INSERT + commit into a 9-column table without the portal's indexes and foreign "
            "keys (the previous baseline)", small_insert),
        row("5", "cases.submit: validate + route + insert + audit + notice, one transaction", two.submit_samples,
            baseline=insert_base, note=service.id),
        row("5", update_base, raw_update),
        row("5", "cases.fire: one action — load, role/guard, versioned UPDATE … RETURNING, audit record, commit",
            fire_samples, baseline=update_base, target="≤ 3×",
            note=f"{single_service.id}: {single.sources[0]} → {single.action} → {single.target}"),
        row("5", "raw sqlite3: UPDATE … WHERE id=? AND row_version=? + commit on that 9-column table (the previous "
            "baseline)", small_update),
        row("5", "raw sqlite3: the statements of that action — SELECT case, UPDATE … RETURNING, audit INSERT, "
            "commit", floor, baseline=update_base),
        row("5", "cases.fire: an action followed by the automatic step it triggers (two transitions, two audit "
            "records)", two_samples, baseline=update_base, note=f"{service.id}: {state} → {t.action} → system step"),
    ]
    section.text.append(
        f"Database rows: SQLite in WAL mode with synchronous=NORMAL and foreign keys on (the portal's settings) on "
        f"a local file, one sample per case ({n} cases), CPU time of this thread. The raw sqlite3 rows run on the "
        f"same database and table as the engine (its indexes and foreign keys included), samples interleaved with "
        f"the engine's. The one-action row is `{single.action}` by `{single.by}` ({single_service.id}): one "
        f"transition and one audit record, no declared effects, no automatic step after it"
        f"{'; it has no guard, so the answers are not validated' if single.guard is None else ''}. The audit "
        f"chain of all {count:,} records verifies after the run."
    )
    engine.dispose()
    raw.close()


def _floor(raw: sqlite3.Connection, ids: list[int], t: Transition, n: int) -> list[float]:
    raw.row_factory = sqlite3.Row
    samples = []
    for app_id in ids[:n]:
        t0 = CPU()
        raw.execute("BEGIN IMMEDIATE")
        case = raw.execute("SELECT * FROM applications WHERE id=?", (app_id,)).fetchone()
        json.loads(case["answers"])  # guards and effects read the answers
        updated = raw.execute(
            "UPDATE applications SET state=?, back_state=?, row_version=?, updated_at=?, state_due_date=?, "
            "last_comment=?, closed=? WHERE id=? AND row_version=? RETURNING *, "
            "(SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS last_hash",
            (t.target, case["state"], case["row_version"] + 1, now(), None, None, False, app_id,
             case["row_version"])).fetchone()
        record = {"application_id": app_id, "at": now(), "actor": "officer", "role": t.by, "office": case["office"],
                  "action": t.action, "from_state": case["state"], "to_state": t.target, "comment": None}
        digest = audit.record_hash(updated["last_hash"], record)
        raw.execute("INSERT INTO audit_log (application_id, at, actor, role, office, action, from_state, to_state, "
                    "comment, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*record.values(), updated["last_hash"], digest))
        raw.execute("COMMIT")
        samples.append(CPU() - t0)
    raw.row_factory = None
    return samples


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
