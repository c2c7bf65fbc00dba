"""The loader that looks spans up on demand (engine/load/yaml_source.py `Document.span`,
`DeferredSpan`) reads the same values and problems, and gives the same spans, as the previous
loader that recorded a span for every node while reading.

The reference is the previous loader, kept here: a `Span` for every value path and every mapping
key in a source map, and `span` walking up to the nearest recorded path. Every file of the
catalog, of the test cases and of the examples, and generated YAML, must agree with it.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.constructor import ConstructorError, SafeConstructor

from engine.load.yaml_source import Document, PathKey, load_text
from engine.problems import DeferredSpan, Problem, Span, problem
from tests.conftest import REPO

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_BOOLS = {"true", "false"}
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_constructor = SafeConstructor()


class EagerSourceMap:
    """The previous loader, as it was: values, reading problems, and a span for every value path and
    every mapping key, recorded while reading (`_Builder` below is its builder, unchanged)."""

    def __init__(self, text: str, name: str) -> None:
        self.path = name
        self.data: Any = None
        self.problems: list[Problem] = []
        self.spans: dict[PathKey, Span] = {}
        self.key_spans: dict[PathKey, Span] = {}
        if text.startswith("\ufeff"):
            text = text[1:]
        node = yaml.compose(text, Loader=yaml.CSafeLoader)  # a syntax error raises: callers skip those
        if node is None:
            self.problems.append(problem("YAML006", "the file is empty", Span.whole_file(name),
                                         "a definition starts with keys such as `id:`"))
            return
        try:
            self.data = _Builder(self).value(node, ())
        except RecursionError:
            self.problems.append(problem("YAML001", "the YAML is nested too deeply", Span.whole_file(name)))
            self.data = None
        if self.data is None and not self.problems:
            self.problems.append(problem("YAML006", "the file holds no values", Span.whole_file(name),
                                         "a definition starts with keys such as `id:`"))

    def span(self, path: PathKey, key: bool = False) -> Span:
        table = self.key_spans if key else self.spans
        probe = tuple(path)
        while probe:
            found = table.get(probe) or self.spans.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.spans.get((), Span.whole_file(self.path))


def _span(name: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    """Turns a composed node tree into values, recording spans and reading problems."""

    def __init__(self, doc: EagerSourceMap) -> None:
        self.doc = doc
        self.name = doc.path

    def value(self, node: yaml.Node, path: PathKey, in_flow: bool = False) -> Any:
        self.doc.spans[path] = _span(self.name, node)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            flow = bool(node.flow_style)
            return [self.value(item, (*path, index), flow) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if in_flow and not node.style and "?" in node.value:
            # libyaml reads `{mn: Хэн бэ?, en: …}`, but PyYAML's pure parser and some editors reject it.
            self.doc.problems.append(problem(
                "YAML008", "an unquoted '?' inside { } or [ ] is read differently by YAML tools",
                _span(self.name, node), f'quote the text: "{node.value}"'))
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # Merge keys (`<<: *anchor`) are flattened the way PyYAML does before we read pairs.
        try:
            if any(key.tag == _MERGE_TAG for key, _ in node.value):
                _constructor.flatten_mapping(node)
        except ConstructorError as err:
            self.doc.problems.append(problem("YAML001", f"invalid merge key: {err.problem}", _span(self.name, node)))
        for key_node, value_node in node.value:
            key_span = _span(self.name, key_node)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (_STR_TAG, _INT_TAG, _BOOL_TAG):
                self.doc.problems.append(problem("YAML005", "a mapping key must be plain text", key_span))
                continue
            key = key_node.value
            if key_node.tag == _BOOL_TAG and key.lower() not in _PLAIN_BOOLS:
                self.doc.problems.append(
                    problem(
                        "YAML003", f"key '{key}' is read as a boolean by YAML 1.1 tools", key_span, f'quote it: "{key}"'
                    )
                )
            if key in out:
                first = self.doc.key_spans[(*path, key)]
                self.doc.problems.append(
                    problem(
                        "YAML002",
                        f"duplicate key '{key}' (first at line {first.line})",
                        key_span,
                        "keep one of the two; YAML would silently keep only the last",
                    )
                )
                continue
            self.doc.key_spans[(*path, key)] = key_span
            out[key] = self.value(value_node, (*path, key), bool(node.flow_style))
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text, tag = node.value, node.tag
        plain = not node.style  # libyaml says '' where the pure-Python composer says None
        if not plain or tag == _STR_TAG:
            return text
        if tag == _NULL_TAG:
            return None
        if tag == _BOOL_TAG:
            if text.lower() not in _PLAIN_BOOLS:
                self.doc.problems.append(
                    problem(
                        "YAML003",
                        f"'{text}' is read as the boolean {text.lower() in ('yes', 'y', 'on')}",
                        _span(self.name, node),
                        f'write true or false for a yes/no value, or quote it ("{text}") for text',
                    )
                )
            return _constructor.construct_yaml_bool(node)
        if tag == _INT_TAG:
            if _LEADING_ZERO.match(text):
                self.doc.problems.append(
                    problem(
                        "YAML004",
                        f"'{text}' has a leading zero and is read as the number "
                        f"{_constructor.construct_yaml_int(node)}",
                        _span(self.name, node),
                        f'quote it ("{text}") if it is a code',
                    )
                )
            try:
                return _constructor.construct_yaml_int(node)
            except ValueError:
                return text
        if tag == _FLOAT_TAG:
            try:
                return _constructor.construct_yaml_float(node)
            except ValueError:
                return text
        # Timestamps and other implicit tags stay text: dates are parsed by the stage that knows
        # the value is meant to be a date, which can then say precisely what is wrong.
        return text


def _probes(reference: EagerSourceMap) -> list[PathKey]:
    """Every recorded path, plus paths just past them that are not recorded (a missing key, an index past the end)."""
    out: list[PathKey] = []
    for path in reference.spans:
        out += [path, (*path, "no_such_key"), (*path, 10_000), (*path, -1), (*path, 0)]
    return out


def _agree(text: str, name: str) -> None:
    doc = load_text(text, name)
    reference = EagerSourceMap(text, name)
    assert doc.data == reference.data
    assert doc.problems == reference.problems, "the same reading problems, in the same order"
    if doc.data is None:
        return
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


_WORDS = ["no", "yes", "On", "true", "0123", "-012", "12", "1.5", "~", "null", "2020-01-01", "a?b", "'q?'",
          '"0123"', "text", "x: y", "[1, no]", "{a: b?, c: 0123}", "*x", "&x {k: v}", "!!str 5"]
_KEYS = st.sampled_from(["a", "b", "c", "yes", "1", "'no'", "<<"])


@st.composite
def _yaml_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """YAML text with the traps the loader reports: duplicate keys, YAML 1.1 booleans, leading
    zeros, '?' in flow, anchors, aliases and merge keys (which may not compose: such a draw is skipped)."""
    indent = "  " * depth
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(_KEYS)
        if depth < 2 and draw(st.booleans()):
            lines.append(f"{indent}{key}:\n" + draw(_yaml_texts(depth + 1)))
        elif draw(st.booleans()):
            items = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3))
            lines.append(f"{indent}{key}:\n" + "".join(f"{indent}  - {item}\n" for item in items))
        else:
            lines.append(f"{indent}{key}: {draw(st.sampled_from(_WORDS))}\n")
    return "".join(lines)


@settings(max_examples=300, deadline=None)
@given(_yaml_texts())
def test_lazy_spans_and_problems_equal_the_previous_loaders_for_tricky_generated_yaml(text: str) -> None:
    try:
        EagerSourceMap(text, "gen.yaml")
    except (yaml.YAMLError, ValueError):
        return  # not YAML (e.g. an alias to an anchor not yet defined): the loader reports it its own way
    _agree(text, "gen.yaml")


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
