"""Stage 1: YAML is read with positions, and every reading trap becomes a problem, never an exception."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.load.yaml_source import load_text


def test_values_and_positions_are_kept_apart() -> None:
    doc = load_text("id: x\nsections:\n  - id: main\n    title: {mn: А, en: A}\n", "f.yaml")
    assert doc.data == {"id": "x", "sections": [{"id": "main", "title": {"mn": "А", "en": "A"}}]}
    span = doc.span(("sections", 0, "title", "en"))
    assert (span.line, span.col) == (4, 24)
    assert doc.problems == []


def test_duplicate_key_is_reported_at_the_second_one() -> None:
    doc = load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(p.code, p.span.line if p.span else 0) for p in doc.problems] == [("YAML002", 3)]
    assert doc.data == {"a": 1, "b": 2}, "the first value is kept, unlike PyYAML which keeps the last"


def test_yaml11_booleans_and_leading_zeros_are_warned() -> None:
    doc = load_text("value: no\nflag: true\ncode: 0123\n", "f.yaml")
    assert [p.code for p in doc.problems] == ["YAML003", "YAML004"]
    assert doc.data["flag"] is True


def test_quoted_values_stay_text() -> None:
    doc = load_text("a: 'no'\nb: \"0123\"\nc: 2020-01-01\n", "f.yaml")
    assert doc.data == {"a": "no", "b": "0123", "c": "2020-01-01"}
    assert doc.problems == []


def test_tab_indentation_gets_a_precise_hint() -> None:
    doc = load_text("a:\n\t- b\n", "f.yaml")
    (p,) = doc.problems
    assert p.code == "YAML001" and p.span is not None and p.span.line == 2
    assert "spaces" in (p.hint or "")


def test_empty_file() -> None:
    assert [p.code for p in load_text("", "f.yaml").problems] == ["YAML006"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_loader_never_raises_on_any_text(text: str) -> None:
    doc = load_text(text, "f.yaml")
    assert doc.data is not None or doc.problems


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), children,
                                                                       max_size=4),
    max_leaves=20,
))
def test_loader_reads_what_pyyaml_writes(value: object) -> None:
    text = yaml.safe_dump({"root": value}, allow_unicode=True)
    doc = load_text(text, "f.yaml")
    assert doc.data == yaml.safe_load(text)
