"""Spans looked up on demand (engine/load/yaml_source.py `Document.span`, `DeferredSpan`) are the
spans the loader used to record eagerly for every node.

The reference is the previous loader's span recording, kept here verbatim in spirit: a `Span` for
every value path and every mapping key, in a source map, and `span` walking up to the nearest
recorded path. Every file of the catalog, the test cases and generated YAML must agree with it.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.constructor import ConstructorError, SafeConstructor

from engine.load.yaml_source import Document, PathKey, load_text
from engine.problems import DeferredSpan, Span
from tests.conftest import REPO

_MERGE_TAG = "tag:yaml.org,2002:merge"
_KEY_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool")
_constructor = SafeConstructor()


class EagerSourceMap:
    """The previous loader's source map: a span for every value path and every key, recorded while reading."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.spans: dict[PathKey, Span] = {}
        self.key_spans: dict[PathKey, Span] = {}
        if text.startswith("\ufeff"):
            text = text[1:]
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
        if node is not None:
            self.record(node, ())

    def _span(self, node: yaml.Node) -> Span:
        s, e = node.start_mark, node.end_mark
        return Span(self.name, s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def record(self, node: yaml.Node, path: PathKey) -> None:
        self.spans[path] = self._span(node)
        if isinstance(node, yaml.MappingNode):
            try:
                if any(key.tag == _MERGE_TAG for key, _ in node.value):
                    _constructor.flatten_mapping(node)
            except ConstructorError:
                pass
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _KEY_TAGS:
                    continue
                if key_node.value in seen:
                    continue
                seen.add(key_node.value)
                self.key_spans[(*path, key_node.value)] = self._span(key_node)
                self.record(value_node, (*path, key_node.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.record(item, (*path, index))

    def span(self, path: PathKey, key: bool = False) -> Span:
        table = self.key_spans if key else self.spans
        probe = tuple(path)
        while probe:
            found = table.get(probe) or self.spans.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.spans.get((), Span.whole_file(self.name))


def _probes(reference: EagerSourceMap) -> list[PathKey]:
    """Every recorded path, plus paths just past them that are not recorded (a missing key, an index past the end)."""
    out: list[PathKey] = []
    for path in reference.spans:
        out += [path, (*path, "no_such_key"), (*path, 10_000), (*path, -1), (*path, 0)]
    return out


def _agree(text: str, name: str) -> None:
    doc = load_text(text, name)
    if doc.data is None:
        return
    reference = EagerSourceMap(text, name)
    revived = pickle.loads(pickle.dumps(doc))  # the compile cache's copy composes its tree again
    for path in _probes(reference):
        for key in (False, True):
            expected = reference.span(path, key)
            assert doc.span(path, key) == expected, (name, path, key)
            assert revived.span(path, key) == expected, (name, path, key)
    doc.release_nodes()
    for path in list(reference.spans)[::7]:
        assert doc.span(path) == reference.span(path), "after the tree was dropped it composes again"
        assert DeferredSpan(doc, path) == reference.span(path)


CATALOG_FILES = sorted(
    [*(REPO / "service_defs").rglob("*.yaml"), *(REPO / "workflows").glob("*.yaml"),
     *(REPO / "tests" / "cases").rglob("*.yaml"), *(REPO / "examples").rglob("*.yaml")]
)


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_lazy_spans_equal_eager_ones_for_every_node_of_every_file(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")  # one test case is deliberately not UTF-8
    try:
        EagerSourceMap(text, str(path))
    except yaml.YAMLError:
        return  # a case with a syntax error: no values, no spans
    _agree(text, str(path))


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["no", "0123", "a?b", ""]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(min_size=1, max_size=6), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(_values, st.booleans())
def test_lazy_spans_equal_eager_ones_for_generated_yaml(value: Any, flow: bool) -> None:
    _agree(yaml.safe_dump({"root": value}, allow_unicode=True, default_flow_style=flow), "gen.yaml")


_TRICKY = [
    "a: 1\nb: 2\na: 3\n",  # a duplicate: the first is kept
    "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n  z: [1, 2]\n",  # merge keys, flattened in place
    "? [1, 2]\n: v\nk: w\n",  # a key that is not text
    "1: one\nyes: two\n~: three\n'q': four\n",  # int, bool, null and quoted keys
    "\ufeffid: x\nlist:\n  - a\n  - {b: c}\n",  # a byte order mark
    "a: &x [1, {k: v}]\nb: *x\n",  # an alias: the same node at two paths
    "- 1\n- - 2\n  - 3\n",  # a list at the top
]


@pytest.mark.parametrize("text", _TRICKY)
def test_lazy_spans_equal_eager_ones_for_tricky_yaml(text: str) -> None:
    _agree(text, "tricky.yaml")


def test_a_deferred_span_is_its_span() -> None:
    doc = load_text("id: x\nsections:\n  - id: main\n", "f.yaml")
    deferred = DeferredSpan(doc, ("sections", 0))
    plain = doc.span(("sections", 0))
    assert deferred == plain and plain == deferred and hash(deferred) == hash(plain)
    assert repr(deferred) == repr(plain) == "Span(file='f.yaml', line=3, col=5, end_line=4, end_col=1)"
    assert type(pickle.loads(pickle.dumps(deferred))) is Span
    assert (deferred.file, deferred.line, deferred.col, deferred.end_line, deferred.end_col) == plain.astuple()
    assert {deferred: 1}[plain] == 1


def test_a_document_without_text_spans_the_whole_file() -> None:
    doc = Document("<stored definition v1>", "", {"id": "x"})
    assert doc.span(("id",)) == Span.whole_file("<stored definition v1>")
