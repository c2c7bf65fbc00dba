"""Read one YAML file into plain Python values, keeping every node's position beside it.

PyYAML's composer gives nodes with marks; we build the values ourselves so that we can report
what PyYAML hides: duplicate keys (it keeps the last silently), YAML 1.1 booleans such as `no`
where text was probably meant, and numbers with a leading zero. Positions are kept in a source
map from value path to span (as typesystem does), not inside the values, so later stages work
on ordinary dicts and lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from engine.problems import Problem, Span, problem

try:  # libyaml's composer is several times faster; fall back to pure Python where absent.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the platform build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_BOOLS = {"true", "false"}
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_constructor = SafeConstructor()


@dataclass
class Document:
    """One YAML file: its values, the span of every value by path, and its reading problems."""

    path: str
    text: str
    data: Any
    spans: dict[PathKey, Span] = field(default_factory=dict)
    key_spans: dict[PathKey, Span] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def span(self, path: PathKey, key: bool = False) -> Span:
        """The span of the value at `path` (or of its key), else of the nearest enclosing value."""
        table = self.key_spans if key else self.spans
        probe = tuple(path)
        while probe:
            found = table.get(probe) or self.spans.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.spans.get((), Span.whole_file(self.path))

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


def load_document(path: str | Path, name: str | None = None) -> Document:
    """Read a file; `name` is how problems will call it (defaults to the path as given)."""
    name = name or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        doc = Document(name, "", None)
        doc.problems.append(problem("YAML007", f"cannot read the file: {err.strerror}", Span.whole_file(name)))
        return doc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        doc = Document(name, "", None)
        line = raw[: err.start].count(b"\n") + 1
        doc.problems.append(
            problem("YAML007", "the file is not UTF-8 text", Span(name, line, 1, line, 1), "save the file as UTF-8")
        )
        return doc
    return load_text(text, name)


def load_text(text: str, name: str = "<text>") -> Document:
    """Parse YAML text; never raises: a broken file gives a document with problems and no data."""
    doc = Document(name, text, None)
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        doc.problems.append(_syntax_problem(name, text, err))
        return doc
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        doc.problems.append(problem("YAML001", f"cannot read YAML: {err}", Span.whole_file(name)))
        return doc
    if node is None:
        doc.problems.append(
            problem(
                "YAML006", "the file is empty", Span.whole_file(name), "a definition starts with keys such as `id:`"
            )
        )
        return doc
    try:
        doc.data = _Builder(doc).value(node, ())
    except RecursionError:
        doc.problems.append(problem("YAML001", "the YAML is nested too deeply", Span.whole_file(name)))
        doc.data = None
    if doc.data is None and not doc.problems:
        doc.problems.append(problem("YAML006", "the file holds no values", Span.whole_file(name),
                                    "a definition starts with keys such as `id:`"))
    return doc


def _span(name: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _syntax_problem(name: str, text: str, err: yaml.MarkedYAMLError) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = err.problem or str(err)
    hint = "check the indentation and the quoting on this line"
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in source_line[: max(col, 1)] or "tab" in what.lower():
        what = "a tab character is used for indentation"
        hint = "indent with spaces only (two per level)"
    elif "mapping values are not allowed" in what:
        hint = "a value containing ': ' must be quoted, e.g. title: \"Note: …\""
    elif "found character '@'" in what or "found character '`'" in what or source_line[col - 1 : col] in ("@", "`"):
        # libyaml says only "found character that cannot start any token": look at the character.
        hint = 'a value starting with @ or ` must be quoted, e.g. to: "@back"'
    elif any(text in what for text in ("expected '-' indicator", "expected <block end>", "did not find expected key")):
        hint = "this line is indented differently from the lines around it: line it up with its neighbours"
    elif "could not find expected ':'" in what:
        hint = "each line of a mapping needs `key: value`; quote a value that spans lines"
    return problem("YAML001", f"invalid YAML: {what}", Span(name, line, col, line, col + 1), hint)


class _Builder:
    """Turns a composed node tree into values, recording spans and reading problems."""

    def __init__(self, doc: Document) -> None:
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
