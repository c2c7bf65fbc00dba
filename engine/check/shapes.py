"""A tiny vocabulary for describing the shape of YAML definitions, and the checker that walks it.

One description serves three uses: the shape check with friendly, positioned problems
(`check_shape`), the JSON Schema that editors use to autocomplete (`to_json_schema`), and the
reference in the docs. Each node says what it accepts and how to tell the author.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.load.yaml_source import Document, PathKey
from engine.problems import Problem, did_you_mean, problem


@dataclass(frozen=True)
class Shape:
    doc: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class Text(Shape):
    pattern: str | None = None
    pattern_doc: str = ""
    enum: tuple[str, ...] = ()
    min_length: int = 0
    enum_code: str = "SHAPE004"  # the problem code for a value not in `enum` (e.g. DOC002 for content types)


@dataclass(frozen=True)
class Integer(Shape):
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Number(Shape):
    pass


@dataclass(frozen=True)
class Boolean(Shape):
    pass


@dataclass(frozen=True)
class Anything(Shape):
    pass


@dataclass(frozen=True)
class Bilingual(Shape):
    """`{mn: …, en: …}`: both languages are required, as the portal shows either."""


@dataclass(frozen=True)
class BilingualList(Shape):
    """`{mn: [...], en: [...]}`: e.g. search keywords."""


@dataclass(frozen=True)
class ListOf(Shape):
    item: Shape = field(default_factory=Anything)
    min_items: int = 0
    allow_single: bool = False  # `from: a` is accepted where `from: [a, b]` is


@dataclass(frozen=True)
class Key:
    shape: Shape
    required: bool = False


@dataclass(frozen=True)
class Obj(Shape):
    keys: Mapping[str, Key] = field(default_factory=dict)


@dataclass(frozen=True)
class MapOf(Shape):
    value: Shape = field(default_factory=Anything)
    key_pattern: str | None = None
    key_doc: str = ""


@dataclass(frozen=True)
class Tagged(Shape):
    """An object whose allowed keys depend on the value of one key (a field's `type`)."""

    tag: str = "type"
    common: Mapping[str, Key] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, Key]] = field(default_factory=dict)


@dataclass(frozen=True)
class Either(Shape):
    """The first option whose `accepts` test matches the raw value decides the shape."""

    options: tuple[tuple[Callable[[Any], bool], Shape], ...] = ()
    expected: str = ""


def is_text(value: Any) -> bool:
    return isinstance(value, str)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def has_key(name: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, dict) and name in value


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a yes/no value ({str(value).lower()})"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


class ShapeChecker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def report(self, code: str, message: str, path: PathKey, hint: str | None = None, key: bool = False) -> None:
        self.problems.append(problem(code, message, self.doc.span(path, key=key), hint))

    def check(self, shape: Shape, value: Any, path: PathKey) -> None:
        # By the shape's class, looked up once per class rather than by name at every value.
        method = _CHECKS.get(type(shape))
        if method is None:
            method = _CHECKS[type(shape)] = getattr(ShapeChecker, "check_" + type(shape).__name__.lower())
        method(self, shape, value, path)

    def wrong(self, expected: str, value: Any, path: PathKey, hint: str | None = None) -> None:
        self.report("SHAPE003", f"expected {expected}, found {kind_of(value)}", path, hint)

    def check_anything(self, shape: Anything, value: Any, path: PathKey) -> None:
        return

    def check_text(self, shape: Text, value: Any, path: PathKey) -> None:
        if not isinstance(value, str):  # text is by far the most common value: test for it first
            if isinstance(value, bool) or is_int(value) or isinstance(value, float):
                # Most often an unquoted code or a YAML 1.1 boolean: say so precisely.
                span = self.doc.span(path)
                source = self.doc.line(span.line)[span.col - 1 : span.end_col - 1] if span.line == span.end_line else ""
                self.wrong("text", value, path, f'quote it so it stays text: "{source}"' if source else "quote it")
                return
            self.wrong("text", value, path)
            return
        if shape.enum and value not in shape.enum:
            self.report(shape.enum_code, f"'{value}' is not allowed here", path, did_you_mean(value, shape.enum, 12))
        elif shape.pattern and not _regex(shape.pattern).fullmatch(value):
            self.report("SHAPE005", f"'{value}' is not {shape.pattern_doc or 'allowed here'}", path)
        elif len(value.strip()) < shape.min_length:
            self.report("SHAPE004", "the text is empty", path)

    def check_integer(self, shape: Integer, value: Any, path: PathKey) -> None:
        if not is_int(value):
            self.wrong("a whole number", value, path)
        elif shape.min is not None and value < shape.min:
            self.report("SHAPE004", f"{value} is below the minimum {shape.min}", path)
        elif shape.max is not None and value > shape.max:
            self.report("SHAPE004", f"{value} is above the maximum {shape.max}", path)

    def check_number(self, shape: Number, value: Any, path: PathKey) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.wrong("a number", value, path)

    def check_boolean(self, shape: Boolean, value: Any, path: PathKey) -> None:
        if not isinstance(value, bool):
            self.wrong("true or false", value, path)

    def check_bilingual(self, shape: Bilingual, value: Any, path: PathKey) -> None:
        if isinstance(value, str):
            self.report("SHAPE006", "this text needs both languages", path, f'write {{mn: "…", en: "{value[:30]}"}}')
            return
        if not isinstance(value, dict):
            self.wrong("a bilingual text {mn: …, en: …}", value, path)
            return
        for lang in ("mn", "en"):
            text = value.get(lang)
            if text is None:
                self.report(
                    "SHAPE006",
                    f"the {'Mongolian' if lang == 'mn' else 'English'} text ({lang}) is missing",
                    path,
                    f"add `{lang}: …` beside the other language",
                )
            elif not isinstance(text, str):
                self.check_text(Text(), text, (*path, lang))
            elif not text.strip():
                self.report("SHAPE006", f"the {lang} text is empty", (*path, lang))
        for extra in value:
            if extra in ("mn", "en"):
                continue
            if value[extra] is None:
                # `{mn: Архи, согтууруулах ундаа, en: …}`: in a {…} mapping a comma ends the text,
                # so the rest becomes a key without a value. Say that, not "unknown language".
                self.report(
                    "SHAPE002",
                    f"the text is cut at a comma: '{extra}' was read as a key",
                    (*path, extra),
                    'inside {…} quote a text that contains a comma: mn: "…, …"',
                    key=True,
                )
                continue
            self.report(
                "SHAPE002", f"unknown language key '{extra}'", (*path, extra), "only mn and en are used", key=True
            )

    def check_bilinguallist(self, shape: BilingualList, value: Any, path: PathKey) -> None:
        if not isinstance(value, dict):
            self.wrong("{mn: [...], en: [...]}", value, path)
            return
        for lang in ("mn", "en"):
            items = value.get(lang)
            if items is None:
                self.report("SHAPE006", f"the {lang} list is missing", path)
            else:
                self.check(ListOf(Text()), items, (*path, lang))
        for extra in value:
            if extra not in ("mn", "en"):
                self.report("SHAPE002", f"unknown language key '{extra}'", (*path, extra), key=True)

    def check_listof(self, shape: ListOf, value: Any, path: PathKey) -> None:
        if shape.allow_single and not isinstance(value, list):
            self.check(shape.item, value, path)
            return
        if not isinstance(value, list):
            self.wrong("a list", value, path, "start each item on its own line with '- '")
            return
        if len(value) < shape.min_items:
            self.report("SHAPE004", f"at least {shape.min_items} item(s) are needed", path)
        for index, item in enumerate(value):
            self.check(shape.item, item, (*path, index))

    def check_obj(self, shape: Obj, value: Any, path: PathKey) -> None:
        self.check_keys(shape.keys, value, path)

    def check_keys(self, keys: Mapping[str, Key], value: Any, path: PathKey, what: str = "") -> None:
        if not isinstance(value, dict):
            self.wrong("a mapping of keys", value, path)
            return
        for name, key in keys.items():
            if key.required and name not in value:
                self.report(
                    "SHAPE001",
                    f"missing required key '{name}'{what}",
                    path,
                    f"add `{name}:`" + (f" ({key.shape.doc})" if key.shape.doc else ""),
                )
        for name, item in value.items():
            if name not in keys:
                self.report(
                    "SHAPE002", f"unknown key '{name}'{what}", (*path, name), did_you_mean(name, keys, 14), key=True
                )
            else:
                self.check(keys[name].shape, item, (*path, name))

    def check_mapof(self, shape: MapOf, value: Any, path: PathKey) -> None:
        if not isinstance(value, dict):
            self.wrong("a mapping", value, path)
            return
        for name, item in value.items():
            if shape.key_pattern and not _regex(shape.key_pattern).fullmatch(name):
                self.report("SHAPE005", f"'{name}' is not {shape.key_doc or 'a valid id'}", (*path, name), key=True)
            self.check(shape.value, item, (*path, name))

    def check_tagged(self, shape: Tagged, value: Any, path: PathKey) -> None:
        if not isinstance(value, dict):
            self.wrong("a mapping of keys", value, path)
            return
        tag = value.get(shape.tag)
        if tag is None:
            self.report("SHAPE001", f"missing required key '{shape.tag}'", path, did_you_mean("", shape.variants, 40))
            self.check_keys({**shape.common, **_union(shape.variants)}, value, path)
            return
        if not isinstance(tag, str) or tag not in shape.variants:
            self.report(
                "FIELD004",
                f"unknown {shape.tag} '{tag}'",
                (*path, shape.tag),
                did_you_mean(str(tag), shape.variants, 40),
            )
            # Without a known type we cannot say which keys are required; only flag keys no type takes.
            known = {shape.tag, *shape.common, *_union(shape.variants)}
            for name in value:
                if name not in known:
                    self.report(
                        "SHAPE002", f"unknown key '{name}'", (*path, name), did_you_mean(name, known, 0), key=True
                    )
            return
        union, allowed = _tagged_keys(shape, tag)
        other_types = [name for name in value if name not in allowed and name in union]
        for name in other_types:
            self.report(
                "FIELD005",
                f"{'an' if tag[0] in 'aeiou' else 'a'} {tag} field does not take '{name}'",
                (*path, name),
                f"'{name}' belongs to other field types",
                key=True,
            )
        self.check_keys(
            allowed,
            {k: v for k, v in value.items() if k not in other_types} if other_types else value,
            path,
            f" for {'an' if tag[0] in 'aeiou' else 'a'} {tag} field",
        )

    def check_either(self, shape: Either, value: Any, path: PathKey) -> None:
        for accepts, option in shape.options:
            if accepts(value):
                self.check(option, value, path)
                return
        self.wrong(shape.expected, value, path)


_CHECKS: dict[type[Shape], Callable[[ShapeChecker, Any, Any, PathKey], None]] = {}
_REGEXES: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    # re's own cache costs two Python calls per lookup, and every id in a file is matched.
    found = _REGEXES.get(pattern)
    if found is None:
        found = _REGEXES[pattern] = re.compile(pattern)
    return found


def _union(variants: Mapping[str, Mapping[str, Key]]) -> dict[str, Key]:
    out: dict[str, Key] = {}
    for keys in variants.values():
        out.update(keys)
    return out


# Per Tagged shape and tag: (every variant's keys, the keys this tag allows). Shapes are built once
# at import and never change; the shape is kept in the entry so that its id cannot be reused.
_TAGGED: dict[tuple[int, str], tuple[Tagged, dict[str, Key], dict[str, Key]]] = {}


def _tagged_keys(shape: Tagged, tag: str) -> tuple[dict[str, Key], dict[str, Key]]:
    found = _TAGGED.get((id(shape), tag))
    if found is None or found[0] is not shape:
        allowed = {**shape.common, shape.tag: Key(Text(), True), **shape.variants[tag]}
        found = _TAGGED[(id(shape), tag)] = (shape, _union(shape.variants), allowed)
    return found[1], found[2]


def check_shape(shape: Shape, doc: Document) -> list[Problem]:
    checker = ShapeChecker(doc)
    if not isinstance(doc.data, dict):
        checker.report(
            "YAML006", "the top level must be a mapping of keys", (), "a definition starts with keys such as `id:`"
        )
        return checker.problems
    checker.check(shape, doc.data, ())
    return checker.problems


# --- JSON Schema, for editors (yaml-language-server) and for `tsonkh schema` ---------------------


def to_json_schema(shape: Shape) -> dict[str, Any]:
    """The JSON Schema of `shape`. A shape that contains itself (a repeat's fields are fields) is
    written once under `$defs` and referred to by `$ref`, so the schema stays finite."""
    builder = _SchemaBuilder()
    out = builder.schema(shape)
    if builder.defs:
        out["$defs"] = dict(sorted(builder.defs.items()))
    return out


class _SchemaBuilder:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[int, str] = {}  # id(shape) → its $defs name, once found to be recursive
        self.open: set[int] = set()  # shapes being built right now (the path from the root)

    def schema(self, shape: Shape) -> dict[str, Any]:
        key = id(shape)
        if key in self.open or key in self.names:
            name = self.names.setdefault(key, self.name_for(shape))
            return {"$ref": f"#/$defs/{name}"}
        self.open.add(key)
        try:
            out = self.build(shape)
        finally:
            self.open.discard(key)
        if shape.doc:
            out.setdefault("description", shape.doc)
        if key in self.names:  # it referred to itself somewhere below: keep the body in $defs
            self.defs[self.names[key]] = out
            return {"$ref": f"#/$defs/{self.names[key]}"}
        return out

    def name_for(self, shape: Shape) -> str:
        words = getattr(shape, "expected", "") or shape.doc or type(shape).__name__
        base = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_").removeprefix("a_").removeprefix("an_") or "shape"
        name, n = base, 2
        while name in self.names.values():
            name, n = f"{base}_{n}", n + 1
        return name

    def build(self, shape: Shape) -> dict[str, Any]:
        out: dict[str, Any]
        if isinstance(shape, Text):
            out = {"type": "string"}
            if shape.enum:
                out["enum"] = list(shape.enum)
            if shape.pattern:
                out["pattern"] = f"^(?:{shape.pattern})$"
        elif isinstance(shape, Integer):
            out = {"type": "integer"}
            if shape.min is not None:
                out["minimum"] = shape.min
            if shape.max is not None:
                out["maximum"] = shape.max
        elif isinstance(shape, Number):
            out = {"type": "number"}
        elif isinstance(shape, Boolean):
            out = {"type": "boolean"}
        elif isinstance(shape, Bilingual):
            out = {
                "type": "object",
                "required": ["mn", "en"],
                "additionalProperties": False,
                "properties": {"mn": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
            }
        elif isinstance(shape, BilingualList):
            strings = {"type": "array", "items": {"type": "string"}}
            out = {
                "type": "object",
                "required": ["mn", "en"],
                "additionalProperties": False,
                "properties": {"mn": strings, "en": strings},
            }
        elif isinstance(shape, ListOf):
            out = {"type": "array", "items": self.schema(shape.item)}
            if shape.min_items:
                out["minItems"] = shape.min_items
            if shape.allow_single:
                out = {"anyOf": [self.schema(shape.item), out]}
        elif isinstance(shape, Obj):
            out = self.object(shape.keys)
        elif isinstance(shape, MapOf):
            out = {"type": "object", "additionalProperties": self.schema(shape.value)}
            if shape.key_pattern:
                out["propertyNames"] = {"pattern": f"^(?:{shape.key_pattern})$"}
        elif isinstance(shape, Tagged):
            branches = []
            for tag, keys in shape.variants.items():
                branches.append(self.object({**shape.common, shape.tag: Key(Text(enum=(tag,)), True), **keys}))
            out = {"oneOf": branches}
        elif isinstance(shape, Either):
            out = {"anyOf": [self.schema(option) for _, option in shape.options]}
        else:
            out = {}
        return out

    def object(self, keys: Mapping[str, Key]) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [name for name, key in keys.items() if key.required],
            "properties": {name: self.schema(key.shape) for name, key in keys.items()},
        }


def walk(value: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, Any]]:
    """Every (path, value) pair below `value`, depth first; used by checks that scan a whole file."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))
