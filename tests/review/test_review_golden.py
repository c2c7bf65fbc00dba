"""Golden files of the semantic diff for crafted change pairs (tests/review/pairs/<name>).

Regenerate after an intended change of the output: TSONKH_UPDATE_GOLDEN=1 make test ARGS=tests/review
and review the changed files in tests/review/golden/ like any other diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.review.render_diff import render_json, render_markdown, render_text
from tests.review.support import GOLDEN, PAIR_NAMES, diff_pair, stable

UPDATE = os.environ.get("TSONKH_UPDATE_GOLDEN") == "1"


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden {path}: run with TSONKH_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_diff_matches_golden(pair: str, tmp_path: Path) -> None:
    result = diff_pair(pair, tmp_path)
    _check(f"{pair}.txt", stable(render_text(result, "en")) + "\n")
    _check(f"{pair}.json", stable(render_json(result)) + "\n")


@pytest.mark.parametrize("pair", ["state_removed", "transitions", "options"])
def test_markdown_and_mongolian_golden(pair: str, tmp_path: Path) -> None:
    result = diff_pair(pair, tmp_path)
    _check(f"{pair}.md", stable(render_markdown(result, "en")))
    _check(f"{pair}.mn.txt", stable(render_text(result, "mn")) + "\n")


def _kinds(pair: str, tmp: Path) -> set[tuple[str, str, str]]:
    return {(c.subject, c.what, c.impact) for c in diff_pair(pair, tmp).changes}


# Independent of the goldens: the classification each pair exists to show.
EXPECTED = {
    "reformatted": set(),
    "field_added": {
        ("field", "added", "breaking-drafts"),
        ("field", "added", "behaviour"),
        ("rule", "added", "breaking-drafts"),
    },
    "field_removed": {("field", "removed", "behaviour")},
    "field_retyped": {("field", "changed", "breaking-drafts")},
    "required_flip": {("field", "now_optional", "behaviour"), ("field", "now_required", "breaking-drafts")},
    "constraints": {("field", "tightened", "breaking-drafts"), ("field", "loosened", "behaviour")},
    "options": {
        ("field", "option_added", "behaviour"),
        ("field", "option_removed", "breaking-drafts"),
        ("field", "reworded", "wording"),
    },
    "conditions": {("field", "changed", "breaking-drafts"), ("rule", "changed", "breaking-drafts")},
    "documents": {
        ("document", "removed", "behaviour"),
        ("document", "added", "breaking-drafts"),
        ("document", "now_required", "breaking-drafts"),
        ("document", "tightened", "breaking-drafts"),
        ("document", "loosened", "behaviour"),
    },
    "fees_and_sla": {
        ("fee", "changed", "behaviour"),
        ("fee", "added", "behaviour"),
        ("service", "changed", "behaviour"),
    },
    "state_removed": {("state", "removed", "breaking-cases"), ("transition", "removed", "behaviour")},
    "state_migrated": {("state", "removed", "behaviour"), ("workflow", "changed", "behaviour")},
    "transitions": {
        ("state", "added", "behaviour"),
        ("transition", "added", "behaviour"),
        ("transition", "changed", "behaviour"),
        ("state", "changed", "behaviour"),
    },
    "routing": {("routing", "changed", "behaviour")},
    "wording": {
        ("service", "reworded", "wording"),
        ("field", "changed", "wording"),
        ("section", "reworded", "wording"),
    },
    "layout": {("field", "moved", "wording"), ("field", "changed", "wording")},
    "service_renamed": {("service", "renamed", "breaking-drafts")},
    "service_added_removed": {("service", "added", "behaviour"), ("service", "removed", "breaking-drafts")},
    "shared_group": {("field", "tightened", "breaking-drafts"), ("field", "reworded", "wording")},
}


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_pair_shows_its_kind_of_change(pair: str, tmp_path: Path) -> None:
    found = _kinds(pair, tmp_path)
    assert EXPECTED[pair] <= found, (EXPECTED[pair] - found, found)
    if not EXPECTED[pair]:
        assert found == set()


def test_json_carries_both_languages_and_before_after(tmp_path: Path) -> None:
    payload = json.loads(render_json(diff_pair("conditions", tmp_path)))
    change = next(c for c in payload["changes"] if c["attr"] == "show_if")
    assert change["before"] == "reason == 'damaged'"
    assert change["after"] == "reason in ['damaged', 'lost']"
    assert set(change["text"]) == {"mn", "en"}


def test_routing_change_lists_answers_that_now_route_elsewhere(tmp_path: Path) -> None:
    change = next(c for c in diff_pair("routing", tmp_path).changes if c.subject == "routing")
    assert change.reroutes == 1
    assert change.examples[0]["answers"]["district"] == "khan_uul"
    assert change.examples[0]["answers"]["delivery"] == "pickup"
    assert (change.examples[0]["before"], change.examples[0]["after"]) == ("gasr-central", "gasr-khan-uul")
