"""Read one YAML file into plain Python values, keeping every node's position beside it.

PyYAML's composer gives nodes with marks; we build the values ourselves so that we can report
what PyYAML hides: duplicate keys (it keeps the last silently), YAML 1.1 booleans such as `no`
where text was probably meant, and numbers with a leading zero. Positions are kept beside the
values, not inside them, so later stages work on ordinary dicts and lists: `Document.span(path)`
finds the span of the value at a path (as typesystem's source map does), looked up on demand in
the composed nodes.
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
_KEY_TAGS = (_STR_TAG, _INT_TAG, _BOOL_TAG)
_PLAIN_BOOLS = {"true", "false"}
_SCALAR, _MAPPING = yaml.ScalarNode, yaml.MappingNode
_PAIRS = "_tsonkh_pairs"  # the attribute a mapping node keeps its looked-up pairs in (Document._pairs)
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_constructor = SafeConstructor()


@dataclass
class Document:
    """One YAML file: its values, where every value was written, and its reading problems.

    Positions are looked up on demand (`span`) in the file's node tree, composed again from the
    text on the first call, instead of a `Span` per node built while reading: building those was
    half of the loader's time, keeping the tree instead makes every later garbage collection walk
    it, and a catalog without problems asks for no span at all. (Composing again gives the same
    tree: libyaml is deterministic, and `_compose_again` lets the loader redo its merge-key edits.)
    """

    path: str
    text: str
    data: Any
    problems: list[Problem] = field(default_factory=list)
    root: yaml.Node | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._composed = self.root is not None or not self.text

    def __reduce__(self) -> tuple[Any, ...]:
        # Never the node tree: the text composes again faster than its many small objects unpickle.
        return (Document, (self.path, self.text, self.data, self.problems))

    def span(self, path: PathKey, key: bool = False) -> Span:
        """The span of the value at `path` (or of its key), else of the nearest enclosing value."""
        node = self._tree()
        if node is None:
            return Span.whole_file(self.path)
        key_node = None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                if not isinstance(part, str):
                    break
                found = self._pairs(node).get(part)
                if found is None:
                    break
                key_node, node = found
            elif isinstance(node, yaml.SequenceNode):
                if not isinstance(part, int) or not 0 <= part < len(node.value):
                    break
                key_node, node = None, node.value[part]
            else:
                break
        return node_span(self.path, key_node if key and key_node is not None else node)

    def release_nodes(self) -> None:
        """Drop the node tree a `span` call composed: kept, its many small objects slow every later
        garbage collection of the process; the next `span` call composes the text again."""
        if self.root is not None:
            self.root = None
            self._composed = False

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def _tree(self) -> yaml.Node | None:
        if not self._composed:
            self._composed = True
            if self.data is not None:
                self.root = _compose_again(self.text, self.path)
        return self.root

    @staticmethod
    def _pairs(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The pairs the loader kept: text keys only, the first of duplicates (merge keys already flattened)."""
        # Kept on the node itself, so it goes with its tree (and two threads at worst build it twice).
        found: dict[str, tuple[yaml.Node, yaml.Node]] | None = getattr(node, _PAIRS, None)
        if found is None:
            found = {}
            for key_node, value_node in node.value:
                if _is_text_key(key_node) and key_node.value not in found:
                    found[key_node.value] = (key_node, value_node)
            setattr(node, _PAIRS, found)
        return found


def node_span(name: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _compose_again(text: str, name: str) -> yaml.Node | None:
    """The node tree of text that loaded before, exactly as the loader left it."""
    try:
        node = yaml.compose(text[1:] if text.startswith("\ufeff") else text, Loader=_Loader)
        if node is not None and ("<<" in text or "merge" in text):
            # The loader flattens merge keys in place: let it again, in its own order.
            _Builder(Document(name, text, None), text).value(node, False)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return node


def _is_text_key(node: yaml.Node) -> bool:
    return node.__class__ is yaml.ScalarNode and node.tag in _KEY_TAGS


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
    # The node tree is not kept (see `Document`): it is freed here, as PyYAML's own loader frees it.
    try:
        doc.data = _Builder(doc, text).value(node, False)
    except RecursionError:
        doc.problems.append(problem("YAML001", "the YAML is nested too deeply", Span.whole_file(name)))
        doc.data = None
    if doc.data is None and not doc.problems:
        doc.problems.append(problem("YAML006", "the file holds no values", Span.whole_file(name),
                                    "a definition starts with keys such as `id:`"))
    return doc


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
    """Turns a composed node tree into values, recording reading problems (not positions: see `Document`).

    It runs once per node of every file, so it does as little as it can per node. Most scalars are
    text that needs no warning — quoted (`style` set), or plain and resolved as `str` without an
    unquoted '?' inside flow brackets — and `mapping` and the list case take those inline, the
    test written out, rather than calling `value` for each.
    """

    def __init__(self, doc: Document, text: str) -> None:
        self.problems = doc.problems
        self.name = doc.path
        # A merge key is `<<` or an explicit `!!merge`: without either, no mapping needs the search.
        self.may_merge = "<<" in text or "merge" in text

    def value(self, node: Any, in_flow: bool) -> Any:
        # `node` is any yaml.Node; its class is tested by identity (faster than isinstance).
        cls = node.__class__
        if cls is _SCALAR:
            if in_flow and not node.style and "?" in node.value:
                # libyaml reads `{mn: Хэн бэ?, en: …}`, but PyYAML's pure parser and some editors reject it.
                self.problems.append(problem(
                    "YAML008", "an unquoted '?' inside { } or [ ] is read differently by YAML tools",
                    node_span(self.name, node), f'quote the text: "{node.value}"'))
            if node.style or node.tag == _STR_TAG:  # libyaml says '' or None for plain: both are falsy
                return node.value
            return self.scalar(node)
        if cls is _MAPPING:
            return self.mapping(node)
        flow = bool(node.flow_style)
        value = self.value
        # Plain text is taken without a call: see the class docstring.
        return [
            item.value
            if item.__class__ is _SCALAR and (item.style or (item.tag == _STR_TAG and not (flow and "?" in item.value)))
            else value(item, flow)
            for item in node.value
        ]

    def mapping(self, node: yaml.MappingNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # Merge keys (`<<: *anchor`) are flattened the way PyYAML does before we read pairs.
        try:
            if self.may_merge and any(key.tag == _MERGE_TAG for key, _ in node.value):
                _constructor.flatten_mapping(node)
        except ConstructorError as err:
            self.problems.append(problem("YAML001", f"invalid merge key: {err.problem}", node_span(self.name, node)))
        flow = bool(node.flow_style)
        value = self.value
        for key_node, value_node in node.value:
            if key_node.__class__ is _SCALAR and key_node.tag == _STR_TAG and key_node.value not in out:
                # The common case first: a new text key, and most often a text value.
                # Plain text is taken without a call: see the class docstring.
                v = value_node
                if v.__class__ is _SCALAR and (v.style or (v.tag == _STR_TAG and not (flow and "?" in v.value))):
                    out[key_node.value] = v.value
                else:
                    out[key_node.value] = value(v, flow)
                continue
            if not _is_text_key(key_node):
                self.problems.append(
                    problem("YAML005", "a mapping key must be plain text", node_span(self.name, key_node))
                )
                continue
            key = key_node.value
            if key_node.tag == _BOOL_TAG and key.lower() not in _PLAIN_BOOLS:
                self.problems.append(
                    problem(
                        "YAML003",
                        f"key '{key}' is read as a boolean by YAML 1.1 tools",
                        node_span(self.name, key_node),
                        f'quote it: "{key}"',
                    )
                )
            if key in out:
                first = next(k for k, _ in node.value if _is_text_key(k) and k.value == key)
                self.problems.append(
                    problem(
                        "YAML002",
                        f"duplicate key '{key}' (first at line {first.start_mark.line + 1})",
                        node_span(self.name, key_node),
                        "keep one of the two; YAML would silently keep only the last",
                    )
                )
                continue
            out[key] = value(value_node, flow)
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """A plain scalar that YAML resolved to something other than text."""
        text, tag = node.value, node.tag
        if tag == _NULL_TAG:
            return None
        if tag == _BOOL_TAG:
            if text.lower() not in _PLAIN_BOOLS:
                self.problems.append(
                    problem(
                        "YAML003",
                        f"'{text}' is read as the boolean {text.lower() in ('yes', 'y', 'on')}",
                        node_span(self.name, node),
                        f'write true or false for a yes/no value, or quote it ("{text}") for text',
                    )
                )
            return _constructor.construct_yaml_bool(node)
        if tag == _INT_TAG:
            if _LEADING_ZERO.match(text):
                self.problems.append(
                    problem(
                        "YAML004",
                        f"'{text}' has a leading zero and is read as the number "
                        f"{_constructor.construct_yaml_int(node)}",
                        node_span(self.name, node),
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
