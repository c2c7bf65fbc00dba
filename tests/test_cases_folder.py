"""The `tests/cases/` folder: broken definitions pinned to the checker's exact output.

Each case is a folder `tests/cases/<name>/` holding
- the definition file(s) to check, laid out as they would be in a project (a file at the top of
  the case folder lands at the top of the project; `service_defs/_shared/extra.yaml` or
  `workflows/<id>.yaml` add registries or patterns beside the fixture's own);
- optionally `args`: the command line after `tsonkh check` (default: every top-level .yaml file);
- `expected.txt`: the exact transcript — the command, everything it printed (stdout, then
  stderr), and its exit code on the last line as `[exit N]`.

The test copies `tests/fixtures/project` (registries, the `simple-review` pattern) into a
temporary folder, adds the case's files, runs the checker from that folder and compares the
transcript with `expected.txt` character for character: text, lines, columns, carets, hints.

When a message is improved on purpose, regenerate the transcripts and review the diff:

    TSONKH_UPDATE_CASES=1 .venv/bin/pytest tests/test_cases_folder.py
    git diff tests/cases
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from engine.cli import main

HERE = Path(__file__).parent
CASES = HERE / "cases"
FIXTURE = HERE / "fixtures" / "project"
NOT_COPIED = {"expected.txt", "args", "README.md"}
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []


def case_arguments(case: Path) -> list[str]:
    args_file = case / "args"
    if args_file.exists():
        return shlex.split(args_file.read_text(encoding="utf-8"))
    return sorted(p.name for p in case.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def run_case(case: Path, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    shutil.copytree(FIXTURE, workdir)
    for source in sorted(case.rglob("*")):
        if source.is_file() and source.name not in NOT_COPIED:
            target = workdir / source.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    monkeypatch.chdir(workdir)
    args = case_arguments(case)
    capsys.readouterr()
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return f"$ tsonkh check {shlex.join(args)}\n{out}{err}[exit {code}]\n"


def test_the_folder_covers_the_problems_officers_meet_most() -> None:
    wanted = {
        "YAML001",  # syntax error, and tabs
        "YAML002",  # duplicate key
        "YAML004",  # octal-looking code
        "SHAPE002",  # unknown key, with did-you-mean
        "SHAPE003",  # `no` / `yes` as option values
        "SHAPE006",  # missing mn or en
        "FIELD003",
        "FIELD004",
        "EXPR002",
        "EXPR003",
        "EXPR004",
        "EXPR005",
        "DOC001",
        "ROUTE001",
        "ROUTE002",
        "FLOW002",
        "FLOW004",
        "FLOW005",
        "FLOW006",
        "FLOW007",
        "REF003",
        "ID001",
    }
    seen = set()
    for name in CASE_NAMES:
        expected = CASES / name / "expected.txt"
        text = expected.read_text(encoding="utf-8") if expected.exists() else ""
        seen |= {code for code in wanted if f" {code} " in text}
    assert wanted - seen == set()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES / name
    transcript = run_case(case, tmp_path / "project", capsys, monkeypatch)
    expected_file = case / "expected.txt"
    if os.environ.get("TSONKH_UPDATE_CASES") == "1":
        expected_file.write_text(transcript, encoding="utf-8")
    assert expected_file.exists(), f"run with TSONKH_UPDATE_CASES=1 to create {expected_file}"
    assert transcript == expected_file.read_text(encoding="utf-8")
    # Never a traceback, whatever the case.
    assert "Traceback" not in transcript
    assert_exit_code_follows_the_rule(transcript)


def assert_exit_code_follows_the_rule(transcript: str) -> None:
    """1 when there is an error (or a warning with --strict), 0 otherwise, 2 when the command was wrong."""
    command, *_, last = transcript.splitlines()
    code = int(re.fullmatch(r"\[exit (\d)\]", last).group(1))  # type: ignore[union-attr]
    problems = re.findall(r'"severity": "(error|warning)"', transcript)
    summary = re.search(r"(\d+) error\(s\), (\d+) warning\(s\)", transcript)
    if summary is not None:
        errors, warnings = int(summary.group(1)), int(summary.group(2))
    elif "no problems" in transcript or "--format json" in command:
        errors, warnings = problems.count("error"), problems.count("warning")
    else:
        assert code == 2, "no summary: the command itself must have been refused"
        return
    expected = 1 if errors or (warnings and "--strict" in command) else 0
    assert code == expected


def test_outside_a_project_the_checker_says_why_every_reference_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(CASES / "clean-file" / "lost-certificate.yaml", tmp_path / "lost-certificate.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "lost-certificate.yaml"]) == 1
    out, err = capsys.readouterr()
    assert "REF001 unknown agency 'gasr'" in out
    assert "no service_defs/_shared/ folder above lost-certificate.yaml" in err
