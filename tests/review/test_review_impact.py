"""Impact counts (`tsonkh diff --database`) and the migration plan the portal applies on deploy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.review.impact import ImpactError, SqlRows, count_impact
from engine.review.migration import plan_migration, review_draft
from tests.review.support import build_side, diff_pair

db = pytest.importorskip("engine.run.db", reason="the portal's schema (engine/run/db.py) is not in this checkout")


def _service(pair: str, side: str, tmp: Path) -> Service:
    root = build_side(pair, side, tmp / pair)
    return load_catalog([root / "service_defs"], root=root).services["test-certificate"]


class FakeRows:
    def __init__(self, drafts: list[Mapping[str, Any]], cases: list[tuple[str, Mapping[str, Any]]]) -> None:
        self._drafts, self._cases = drafts, cases

    def drafts(self, service_id: str) -> list[Mapping[str, Any]]:
        return self._drafts if service_id == "test-certificate" else []

    def cases(self, service_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        return self._cases if service_id == "test-certificate" else []


def _by(result: Any, subject: str, ident: str, what: str | None = None) -> Any:
    return next(c for c in result.changes if c.subject == subject and c.id == ident and what in (None, c.what))


def test_a_tightened_maximum_counts_only_the_drafts_it_rejects(tmp_path: Path) -> None:
    rows = FakeRows([{"copies": 4}, {"copies": 2}, {"copies": 5, "reason": "lost"}, {}], [("submitted", {})])
    result = count_impact(diff_pair("constraints", tmp_path), rows)
    assert _by(result, "field", "copies", "tightened").drafts == 2
    assert _by(result, "field", "copies", "loosened").drafts == 3  # drafts that answered copies at all
    assert _by(result, "field", "copies", "tightened").cases == 0


def test_a_removed_option_counts_the_drafts_that_chose_it(tmp_path: Path) -> None:
    rows = FakeRows([{"delivery": "email"}, {"delivery": "post"}, {"delivery": "email"}], [])
    result = count_impact(diff_pair("options", tmp_path), rows)
    assert _by(result, "field", "delivery", "option_removed").drafts == 2


def test_a_removed_state_counts_the_cases_sitting_in_it(tmp_path: Path) -> None:
    cases = [("correction", {}), ("correction", {}), ("submitted", {}), ("granted", {})]
    result = count_impact(diff_pair("state_removed", tmp_path), FakeRows([], cases))
    assert _by(result, "state", "correction").cases == 2
    assert _by(result, "transition", "correction.resubmit").cases == 2
    assert _by(result, "transition", "submitted.return_for_correction").cases == 1


def test_a_routing_change_counts_drafts_that_now_go_elsewhere(tmp_path: Path) -> None:
    drafts = [
        {"district": "khan_uul", "delivery": "pickup"},
        {"district": "khan_uul", "delivery": "post"},
        {"district": "bayangol", "delivery": "pickup"},
    ]
    result = count_impact(diff_pair("routing", tmp_path), FakeRows(drafts, []))
    assert _by(result, "routing", "").drafts == 1


def _portal_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    now = "2026-01-01T00:00:00.000000Z"
    with engine.begin() as conn:
        conn.execute(db.citizens.insert(), [{"id": 1, "subject": "dev:1", "created_at": now}])
        conn.execute(
            db.definitions.insert(),
            [{"version": "v1", "service_id": "test-certificate", "definition": {}, "created_at": now}],
        )
        conn.execute(
            db.drafts.insert(),
            [
                {"id": i, "citizen_id": 1, "service_id": "test-certificate", "answers": answers,
                 "submitted": submitted, "created_at": now, "updated_at": now}
                for i, (answers, submitted) in enumerate(
                    [({"copies": 4}, False), ({"copies": 2}, False), ({"copies": 5}, True)], start=1
                )
            ],
        )  # fmt: skip
        conn.execute(
            db.applications.insert(),
            [
                {"id": i, "tracking": f"T{i}", "draft_id": 100 + i, "citizen_id": 1, "service_id": "test-certificate",
                 "definition_version": "v1", "answers": {"copies": 2}, "state": state, "office": "gasr-central",
                 "due_date": "2026-01-05", "submitted_at": now, "updated_at": now}
                for i, state in enumerate(["correction", "correction", "submitted", "rejected"], start=1)
            ],
        )  # fmt: skip
        conn.execute(
            db.uploads.insert(),
            [{"draft_id": 1, "document_id": "photo", "sha256": "0" * 64, "size": 10, "content_type": "image/jpeg",
              "display_name": "photo.jpg", "created_at": now}],
        )  # fmt: skip
    engine.dispose()
    return url


def test_database_counts_through_the_cli(tmp_path: Path) -> None:
    url = _portal_database(tmp_path / "portal.db")
    old = build_side("state_removed", "old", tmp_path)
    new = build_side("state_removed", "new", tmp_path)
    old_file, new_file = old / "service_defs", new / "service_defs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "diff",
            str(old_file),
            str(new_file),
            "--database",
            url,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    changes = json.loads(done.stdout)["changes"]
    removed = next(c for c in changes if c["subject"] == "state" and c["what"] == "removed")
    assert removed["cases"] == 2
    text = subprocess.run(
        [sys.executable, "-m", "engine.cli", "diff", str(old_file), str(new_file), "--database", url, "--lang", "en"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "0 draft(s), 2 case(s) in flight" in text


def test_submitted_drafts_are_not_counted(tmp_path: Path) -> None:
    rows = SqlRows(_portal_database(tmp_path / "portal.db"))
    drafts = rows.drafts("test-certificate")
    assert sorted(d.answers["copies"] for d in drafts) == [2, 4]
    assert sorted(d.documents for d in drafts) == [frozenset(), frozenset({"photo"})]
    assert sorted(state for state, _ in rows.cases("test-certificate")) == [
        "correction", "correction", "rejected", "submitted",
    ]  # fmt: skip


def test_a_database_without_portal_tables_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    sa.create_engine(url).connect().close()
    with pytest.raises(ImpactError):
        SqlRows(url)


def test_migration_plan_strands_a_removed_state_without_a_map(tmp_path: Path) -> None:
    plan = plan_migration(_service("state_removed", "old", tmp_path), _service("state_removed", "new", tmp_path))
    assert not plan.ok
    assert plan.stranded == ("correction",)
    assert plan.target("submitted") == "submitted"
    assert plan.target("correction") is None


def test_migration_plan_follows_the_map(tmp_path: Path) -> None:
    plan = plan_migration(_service("state_migrated", "old", tmp_path), _service("state_migrated", "new", tmp_path))
    assert plan.ok
    assert plan.changed() == {"correction": "submitted"}
    assert plan.moves == {"submitted": "submitted", "correction": "submitted"}


def test_a_newly_required_document_counts_the_drafts_without_that_upload(tmp_path: Path) -> None:
    url = _portal_database(tmp_path / "portal.db")
    result = count_impact(diff_pair("documents", tmp_path), url)
    assert _by(result, "document", "photo", "now_required").drafts == 1  # draft 2; draft 1 has a photo
    assert _by(result, "document", "old_certificate", "added").drafts == 2


def test_review_draft_tells_a_citizen_what_changed_for_their_draft(tmp_path: Path) -> None:
    old, new = _service("constraints", "old", tmp_path), _service("constraints", "new", tmp_path)
    review = review_draft(old, new, {"copies": 4, "reason": "lost"})
    assert review.blocking
    assert [e.path for e in review.new_errors] == ["copies"]
    assert {(c.id, c.what) for c in review.changes} == {("copies", "tightened"), ("copies", "loosened")}
    untouched = review_draft(old, new, {"copies": 2})
    assert not untouched.blocking
    assert ("copies", "tightened") not in {(c.id, c.what) for c in untouched.changes}


def test_review_draft_names_the_documents_it_lacks(tmp_path: Path) -> None:
    old, new = _service("documents", "old", tmp_path), _service("documents", "new", tmp_path)
    lacking = {c.id for c in review_draft(old, new, {}, documents=["photo"]).changes if c.impact == "breaking-drafts"}
    assert lacking == {"old_certificate"}
