"""`docs/errors.md` documents every problem code the checker knows, and nothing else.

A code added to `engine/problems.py` CODES without a section in the catalogue (or a section left
behind after a code is removed) fails here. The examples in the catalogue name the case folder
in `tests/cases/` they were taken from; that folder must exist and its transcript must show the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.problems import CODES

ROOT = Path(__file__).parent.parent
CATALOGUE = ROOT / "docs" / "errors.md"
CODE = re.compile(r"\b([A-Z]+\d{3})\b")


def sections() -> dict[str, str]:
    """Each `### CODE` heading and the text below it, up to the next heading."""
    text = CATALOGUE.read_text(encoding="utf-8")
    parts = re.split(r"^### ([A-Z]+\d{3})\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_code_has_a_section_and_every_section_a_code() -> None:
    documented = sections()
    assert sorted(set(CODES) - set(documented)) == [], "codes missing from docs/errors.md"
    assert sorted(set(documented) - set(CODES)) == [], "docs/errors.md documents codes the engine does not have"


def test_no_code_is_mentioned_that_the_engine_does_not_have() -> None:
    mentioned = set(CODE.findall(CATALOGUE.read_text(encoding="utf-8")))
    assert sorted(mentioned - set(CODES)) == []


def test_each_section_states_the_severity_from_the_engine_and_a_fix() -> None:
    for code, body in sections().items():
        severity = CODES[code][0]
        assert f"**{severity}**" in body, code
        assert "**Fix:**" in body, code


def test_examples_come_from_real_cases_that_show_the_code() -> None:
    for code, body in sections().items():
        for case in re.findall(r"Example \(`tests/cases/([a-z0-9-]+)/`\)", body):
            transcript = ROOT / "tests" / "cases" / case / "expected.txt"
            assert transcript.exists(), f"{code}: no case {case}"
            assert f" {code} " in transcript.read_text(encoding="utf-8"), f"{code}: case {case} does not show it"
            # The quoted output is the checker's real output, line for line.
            quoted = body.split("```")[1].strip("\n")
            assert quoted in transcript.read_text(encoding="utf-8"), f"{code}: example differs from {case}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_links_between_the_guide_and_the_catalogue_resolve() -> None:
    docs = ROOT / "docs"
    for name in ("authoring.md", "errors.md", "format-quickref.md"):
        text = (docs / name).read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([\w./-]*?)(?:#([\w-]+))?\)", text):
            if target.startswith("http"):
                continue
            file = (docs / target) if target else docs / name
            assert file.exists(), f"{name}: broken link to {target}"
            if anchor:
                assert anchor in anchors(file), f"{name}: no heading #{anchor} in {file.name}"
