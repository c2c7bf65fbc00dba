"""How many saved drafts and cases in flight each change of a semantic diff touches.

Rows are read through a small adapter (`Rows`) so the diff does not depend on the portal's code:
`SqlRows` reflects the portal's `drafts` and `applications` tables (engine/run/db.py) by name and
needs only their `service_id`, `answers` and (for applications) `state` columns. Drafts are
revalidated against both versions, so a "breaking for drafts" change counts only the drafts that
the new version actually rejects where the old one did not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from engine.compile.service import Service
from engine.review.semantic_diff import BREAKING_DRAFTS, Change, DiffResult


class ImpactError(Exception):
    """The database cannot be read as a portal database."""


@dataclass(frozen=True)
class StoredDraft:
    """A saved, unsubmitted draft: its answers and the document ids it has uploads for."""

    answers: Mapping[str, Any]
    documents: frozenset[str] | None = None  # None: the adapter cannot tell


class Rows(Protocol):
    def drafts(self, service_id: str) -> list[StoredDraft]: ...

    def cases(self, service_id: str) -> list[tuple[str, Mapping[str, Any]]]: ...


def _answers(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


class SqlRows:
    """The portal's tables, found by reflection: works on SQLite and PostgreSQL alike."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        try:
            self.engine = sa.create_engine(url)
            meta = sa.MetaData()
            meta.reflect(self.engine, only=lambda name, _meta: name in ("drafts", "applications", "uploads"))
        except Exception as err:  # any driver or URL problem is a usage error for the CLI
            raise ImpactError(f"cannot read the database: {err}") from err
        missing = {"drafts", "applications"} - set(meta.tables)
        if missing:
            raise ImpactError(
                f"the database has no table {', '.join(sorted(missing))}: is it a Tsonkh portal database?"
            )
        self.drafts_table = meta.tables["drafts"]
        self.uploads_table = meta.tables.get("uploads")
        self.cases_table = meta.tables["applications"]
        for table, needed in (
            (self.drafts_table, ("service_id", "answers")),
            (self.cases_table, ("service_id", "answers", "state")),
        ):
            absent = [c for c in needed if c not in table.c]
            if absent:
                raise ImpactError(f"table {table.name} lacks column(s) {', '.join(absent)}")

    def drafts(self, service_id: str) -> list[StoredDraft]:
        import sqlalchemy as sa

        t = self.drafts_table
        query = sa.select(t.c.id, t.c.answers).where(t.c.service_id == service_id)
        if "submitted" in t.c:
            query = query.where(sa.or_(t.c.submitted.is_(False), t.c.submitted.is_(None)))
        with self.engine.connect() as conn:
            rows = [(row[0], _answers(row[1])) for row in conn.execute(query)]
            uploads: dict[Any, set[str]] | None = None
            u = self.uploads_table
            if u is not None and {"draft_id", "document_id"} <= set(u.c.keys()) and rows:
                uploads = {}
                ids = [draft_id for draft_id, _ in rows]
                for first in range(0, len(ids), 500):  # stay under every driver's parameter limit
                    chunk = ids[first : first + 500]
                    query = sa.select(u.c.draft_id, u.c.document_id).where(u.c.draft_id.in_(chunk))
                    for draft_id, document_id in conn.execute(query):
                        uploads.setdefault(draft_id, set()).add(str(document_id))
        return [
            StoredDraft(answers, frozenset(uploads.get(draft_id, ())) if uploads is not None else None)
            for draft_id, answers in rows
        ]

    def cases(self, service_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        import sqlalchemy as sa

        t = self.cases_table
        query = sa.select(t.c.state, t.c.answers).where(t.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [(str(row[0]), _answers(row[1])) for row in conn.execute(query)]


_INDEX = re.compile(r"\[\d+\]")


@dataclass
class PreparedDraft:
    answers: Mapping[str, Any]
    documents: frozenset[str] | None
    newly_failing: set[tuple[str, str]] = field(default_factory=set)  # (field path without indexes, code)
    reroutes: bool = False
    fee_changes: bool = False


def prepare_drafts(
    old: Service | None, new: Service | None, rows: Iterable[StoredDraft | Mapping[str, Any]]
) -> list[PreparedDraft]:
    out = []
    for row in rows:
        stored = row if isinstance(row, StoredDraft) else StoredDraft(row)
        answers = stored.answers
        draft = PreparedDraft(answers, stored.documents)
        if old is not None and new is not None:
            before = {(_INDEX.sub("", e.path), e.code) for e in old.validate(answers).errors}
            after = {(_INDEX.sub("", e.path), e.code) for e in new.validate(answers).errors}
            draft.newly_failing = after - before
            try:
                draft.reroutes = old.route(answers) != new.route(answers)
                draft.fee_changes = old.fee_total(answers) != new.fee_total(answers)
            except Exception:  # answers the old validator never accepted may not evaluate: not counted
                pass
        out.append(draft)
    return out


def _has_answer(answers: Mapping[str, Any], path: str) -> bool:
    value: Any = answers
    for part in path.split("."):
        if isinstance(value, list):
            value = [v.get(part) for v in value if isinstance(v, Mapping)]
            return any(v not in (None, "", []) for v in value)
        value = value.get(part) if isinstance(value, Mapping) else None
    return value not in (None, "", [], {})


def _holds_value(answers: Mapping[str, Any], path: str, option: Any) -> bool:
    value = answers.get(path) if "." not in path else None
    return value == option or (isinstance(value, list) and option in value)


def draft_hit(change: Change, drafts: list[PreparedDraft]) -> int:
    subject = change.subject
    if subject == "field":
        if change.what == "option_removed":
            return sum(1 for d in drafts if _holds_value(d.answers, change.id, change.before))
        if change.impact == BREAKING_DRAFTS:
            return sum(
                1
                for d in drafts
                if any(path == change.id or path.startswith(change.id + ".") for path, _ in d.newly_failing)
            )
        if change.what == "added":
            return len(drafts)
        return sum(1 for d in drafts if _has_answer(d.answers, change.id))
    if subject == "rule" and change.impact == BREAKING_DRAFTS:
        return sum(1 for d in drafts if any(code == "rule:" + change.id for _, code in d.newly_failing))
    if subject == "routing" and change.attr == "rules":
        return sum(1 for d in drafts if d.reroutes)
    if subject == "fee":
        return sum(1 for d in drafts if d.fee_changes)
    if subject == "document" and change.impact == BREAKING_DRAFTS:
        # Drafts that lack an upload the new version wants; without upload records, every draft.
        return sum(1 for d in drafts if d.documents is None or change.id not in d.documents)
    if subject in ("state", "transition", "workflow"):
        return 0
    return len(drafts)


def _cases_hit(change: Change, cases: list[tuple[str, Mapping[str, Any]]]) -> int:
    if change.subject == "service":
        return 0 if change.what == "added" else len(cases)
    if change.subject == "state":
        return sum(1 for state, _ in cases if state == change.id)
    if change.subject == "transition":
        source = change.id.rpartition(".")[0]
        return sum(1 for state, _ in cases if state == source)
    if change.subject == "workflow" and change.attr == "migrate":
        moved = set(change.before or {}) | set(change.after or {})
        return sum(1 for state, _ in cases if state in moved)
    return 0


def in_flight(
    service: Service | None, rows: list[tuple[str, Mapping[str, Any]]]
) -> list[tuple[str, Mapping[str, Any]]]:
    """Cases whose state is not final in the old version (a state it does not know counts as open)."""
    if service is None:
        return rows
    states = service.workflow.states
    return [(s, a) for s, a in rows if not (s in states and states[s].final)]


def count_impact(result: DiffResult, source: str | Rows) -> DiffResult:
    """A copy of `result` whose changes carry `drafts` and `cases` counts."""
    rows = SqlRows(source) if isinstance(source, str) else source
    changes = []
    prepared: dict[str, tuple[list[PreparedDraft], list[tuple[str, Mapping[str, Any]]], Service | None]] = {}
    for change in result.changes:
        pair = result.pairs.get(change.service)
        if change.service not in prepared:
            old = pair.old if pair else None
            new = pair.new if pair else None
            stored_id = old.id if old is not None else change.service
            drafts = prepare_drafts(old, new, rows.drafts(stored_id))
            prepared[change.service] = (drafts, in_flight(old, rows.cases(stored_id)), old)
        drafts, cases, old = prepared[change.service]
        changes.append(replace(change, drafts=draft_hit(change, drafts), cases=_cases_hit(change, cases)))
    return replace(result, changes=changes)
