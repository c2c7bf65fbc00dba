"""`tsonkh diff` on git revisions, and the textconv driver behind plain `git diff`, on temporary repos."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.review.textconv import textconv
from tests.review.support import PAIRS, build_side

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE = "service_defs/central/gasr/test-certificate.yaml"
TSONKH = [sys.executable, "-m", "engine.cli"]


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "PYTHONPATH": str(REPO_ROOT),
    }


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=_env(repo.parent), capture_output=True, text=True, check=True)
    return done.stdout


def tsonkh(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TSONKH, *args], cwd=repo, env=_env(repo.parent), capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the change pairs' base project, committed once, with the diff driver."""
    root = build_side("field_added", "old", tmp_path)
    shutil.copyfile(REPO_ROOT / ".gitattributes", root / ".gitattributes")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "diff.tsonkh.textconv", " ".join([*TSONKH, "diff", "--textconv"]))
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def _apply(pair: str, repo: Path) -> None:
    shutil.copytree(PAIRS / pair / "new", repo, dirs_exist_ok=True)


def test_textconv_prints_the_resolved_service(repo: Path) -> None:
    text = textconv(repo / SERVICE)
    assert "field applicant_phone" in text  # the shared field group, expanded
    assert "state submitted" in text and "  role: registrar" in text  # the pattern, its parameter filled in
    assert "  max: 5" in text


def test_textconv_of_a_registry_is_its_own_text(repo: Path) -> None:
    path = repo / "service_defs" / "_shared" / "registries.yaml"
    assert textconv(path) == path.read_text(encoding="utf-8")


def test_git_diff_ignores_reformatting_and_shows_meaning(repo: Path) -> None:
    path = repo / SERVICE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text("# reformatted\n" + yaml.safe_dump(data, allow_unicode=True, indent=4, sort_keys=True), "utf-8")
    assert git(repo, "diff", "--stat") != ""  # the text changed …
    patch = git(repo, "diff")
    assert not [line for line in patch.splitlines() if line.startswith(("+ ", "- ", "+\t", "-\t"))], patch
    path.write_text(path.read_text(encoding="utf-8").replace("max: 5", "max: 3"), encoding="utf-8")
    patch = git(repo, "diff")
    assert "-  max: 5" in patch and "+  max: 3" in patch, patch
    git(repo, "commit", "-q", "-am", "fewer copies")
    log = git(repo, "log", "-p", "-1")
    assert "+  max: 3" in log


def test_git_diff_shows_workflow_changes_as_resolved_states(repo: Path) -> None:
    _apply("transitions", repo)
    patch = git(repo, "diff", "--", SERVICE)
    assert "+state approval" in patch
    assert "+  guard: copies <= 3" in patch


def test_diff_between_revisions_and_against_the_working_tree(repo: Path) -> None:
    _apply("state_removed", repo)
    git(repo, "commit", "-q", "-am", "drop correction")
    for sides in (["HEAD~1", "HEAD"], ["HEAD~1..HEAD"], ["main~1...main"]):
        done = tsonkh(repo, "diff", *sides, "--format", "json")
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        assert payload["counts"]["breaking-cases"] == 1, sides
    done = tsonkh(repo, "diff", "HEAD~1..HEAD", "--fail-on", "breaking")
    assert done.returncode == 1
    assert "BREAKS CASES" in tsonkh(repo, "diff", "HEAD~1", "HEAD", "--lang", "en").stdout
    # HEAD alone: against the working tree, which now also changes a label
    path = repo / SERVICE
    path.write_text(path.read_text(encoding="utf-8").replace("en: Reason}", "en: Cause}"), encoding="utf-8")
    payload = json.loads(tsonkh(repo, "diff", "HEAD", "--format", "json").stdout)
    assert [c["what"] for c in payload["changes"]] == ["reworded"]
    assert payload["new"] == "working tree"
    assert git(repo, "status", "--porcelain") == f" M {SERVICE}\n"  # nothing checked out or left behind


def test_a_migration_satisfies_fail_on_breaking(repo: Path) -> None:
    _apply("state_migrated", repo)
    git(repo, "commit", "-q", "-am", "merge correction into submitted")
    done = tsonkh(repo, "diff", "HEAD~1", "HEAD", "--fail-on", "breaking")
    assert done.returncode == 0, done.stdout + done.stderr


def test_markdown_for_a_pull_request(repo: Path) -> None:
    _apply("transitions", repo)
    git(repo, "commit", "-q", "-am", "approval step")
    out = tsonkh(repo, "diff", "main~1", "main", "--format", "markdown", "--lang", "en").stdout
    assert out.startswith("### Semantic diff")
    assert out.count("```mermaid") == 2


def test_unknown_side_is_a_usage_error(repo: Path) -> None:
    done = tsonkh(repo, "diff", "no-such-branch", "HEAD")
    assert done.returncode == 2
    assert "neither a file" in done.stderr


def test_a_side_that_does_not_compile_is_not_a_removal(repo: Path) -> None:
    path = repo / SERVICE
    path.write_text(path.read_text(encoding="utf-8").replace("agency: gasr", "agency: nobody"), encoding="utf-8")
    payload = json.loads(tsonkh(repo, "diff", "HEAD", "--format", "json").stdout)
    assert payload["changes"] == []
    assert any("test-certificate" in w for w in payload["warnings"])


def test_service_filter(repo: Path) -> None:
    _apply("service_added_removed", repo)
    (repo / SERVICE).unlink()
    payload = json.loads(tsonkh(repo, "diff", "HEAD", "--service", "birth-extract", "--format", "json").stdout)
    assert [(c["service"], c["what"]) for c in payload["changes"]] == [("birth-extract", "added")]


def test_a_revision_against_one_file_compares_that_service_only(repo: Path) -> None:
    shutil.copyfile(PAIRS / "service_renamed" / "new" / "service_defs/central/gasr/certificate-copy.yaml",
                    repo / "service_defs/central/gasr/certificate-copy.yaml")  # fmt: skip
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a second service")
    path = repo / SERVICE
    path.write_text(path.read_text(encoding="utf-8").replace("max: 5", "max: 4"), encoding="utf-8")
    payload = json.loads(tsonkh(repo, "diff", "HEAD", SERVICE, "--format", "json").stdout)
    assert [(c["service"], c["what"]) for c in payload["changes"]] == [("test-certificate", "tightened")]
