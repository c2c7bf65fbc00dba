"""`tsonkh check --against REV` refuses a version that strands in-flight cases without a migration."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from tests.conftest import FIXTURE_PROJECT

PATTERN = "workflows/simple-review.yaml"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.mn",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.mn"})


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(FIXTURE_PROJECT, target)
    _git(target, "init", "-q", "-b", "main")
    _git(target, "add", ".")
    _git(target, "commit", "-q", "-m", "first")
    monkeypatch.chdir(target)
    return target


def _drop_correction_state(repo: Path) -> None:
    """The new version has no correction loop: cases waiting for the citizen would be stranded."""
    path = repo / PATTERN
    text = path.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if "correction" not in line and "resubmit" not in line]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def test_unchanged_version_passes(repo: Path) -> None:
    assert main(["check", "service_defs", "--against", "HEAD"]) == 0


def test_dropping_a_state_without_migration_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _drop_correction_state(repo)
    assert main(["check", "service_defs"]) == 0  # on its own the new version is sound
    assert main(["check", "service_defs", "--against", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "FLOW013 state 'correction' of HEAD is gone" in out
    assert "migrate: {correction:" in out


def test_a_migration_map_lets_it_pass(repo: Path) -> None:
    _drop_correction_state(repo)
    service = repo / "service_defs/central/gasr/test-certificate.yaml"
    service.write_text(service.read_text(encoding="utf-8").replace(
        "workflow: {pattern: simple-review, params: {officer: registrar}}",
        "workflow: {pattern: simple-review, params: {officer: registrar}, migrate: {correction: submitted}}"),
        encoding="utf-8")
    assert main(["check", "service_defs", "--against", "HEAD"]) == 0


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    assert main(["check", "service_defs", "--against", "no-such-rev"]) == 2
