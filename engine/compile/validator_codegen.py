"""The generated validator: one straight-line Python function per service, as fastjsonschema does it.

`Validator.interpret` (validator.py) walks the compiled fields for every submission; this module
writes the same decisions out once, as the source of one function for one service version, so a
submission runs through plain `if`s: no loops over field lists, no dict of parse results, no
expression closures for simple conditions, messages built only when there is an error.

What the source may contain is fixed by this module: identifiers it makes up (`s3`, `e3`, `ip1`),
`repr()` of definition values of plain types (field ids, paths, option values, integer bounds), and
names bound in the namespace to already-compiled objects (the fields' parsers, expression closures,
patterns, prepared messages). Author text is never executed. Whatever is not written out here
(an unusual answer, an error, a condition beyond comparisons and and/or/not) goes to the very
objects the interpreter calls, so both give the same `Validation`; tests/test_validator_codegen.py
checks that over every catalog service.

The one liberty taken: a field's answer is parsed when it is first needed, not in a first pass over
all fields. Parsers are pure, so the only difference is that a hidden field nobody reads is never
parsed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.compile.expressions import FUNCTIONS, Compiled, Environment
from engine.compile.fields import (
    ParserSpec,
    canonical_pattern,
    date_bound,
    is_empty,
    parser_spec,
    register_matched_check,
)
from engine.compile.messages import message
from engine.compile.model import (
    Field,
    I18n,
    Option,
    ParseError,
    Rule,
    SubmissionError,
    Validation,
    submission_error,
    validation,
)
from engine.compile.mongolia import REGISTER
from engine.compile.validator import ADDRESS_LABELS, ADDRESS_PARTS

ValidateFn = Callable[[Mapping[str, Any], dt.date | None], Validation]


_TEXT_KINDS = frozenset({
    "text", "textarea", "email", "phone", "register", "company_register", "person_or_company", "plate_number",
    "property_number", "parcel_id", "vin", "passport_number", "postal_code", "url", "geo_point", "choice",
})
_VALUE_KIND = {"boolean": "bool", "integer": "num", "money": "num", "decimal": "num", "date": "date",
               "multichoice": "strlist", "repeat": "list"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_ORDERED = frozenset({"num", "str", "date"})
_COUNT = FUNCTIONS["count"].implement(Environment({}))  # the expression language's own count()


class Unsupported(Exception):
    """The generator does not write this out; the caller keeps the interpreter (or the closure)."""


def _lit(value: Any) -> str:
    """A definition value as a literal: only plain types whose repr() reads back as the same value."""
    if value is None or type(value) in (str, bool, int):
        return repr(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)
    raise Unsupported(f"no literal for {type(value).__name__}")


def _required_code(f: Field) -> str:
    return "required_choice" if f.type in ("choice", "multichoice", "boolean") else "required"


# --- runtime helpers bound in every generated namespace ------------------------------------------

def _parse_error(errors: list[SubmissionError], path: str, error: ParseError, label: I18n,
                 cache: dict[Any, I18n]) -> None:
    """Append a parser's error; its message is built once per field and (code, params).

    A field's parser draws its params from its own bounds (and today's date), so the same key
    always means the same message; the cache is per field and small.
    """
    code, params = error
    try:
        key = (code, *params.items()) if params else code
        text = cache.get(key)
        if text is None:
            if len(cache) > 64:
                cache.clear()
            text = cache[key] = message(code, label, params)
    except TypeError:  # an unhashable parameter: build it every time
        text = message(code, label, params)
    errors.append(submission_error(path, code, text, params))


def _all_mappings(items: list[Any]) -> bool:
    return all(item.__class__ is dict or isinstance(item, Mapping) for item in items)  # the ABC check is slow


def _option_allowed(options: tuple[Option, ...], value: Any, parent_value: Any) -> bool:
    return any(o.value == value and o.parent == parent_value for o in options)


class _Bounds:
    """The date bounds of a service's fields for one `today`, worked out once per day."""

    def __init__(self, functions: list[Callable[[dt.date], dt.date]]) -> None:
        self.functions = functions
        self.cache: dict[Any, tuple[dt.date, ...]] = {}

    def __call__(self, today: dt.date) -> tuple[dt.date, ...]:
        found = self.cache.get(today)
        if found is None:
            if len(self.cache) > 8:
                self.cache.clear()
            found = self.cache[today] = tuple(fn(today) for fn in self.functions)
        return found


class AddressCheck:
    """One address field, as Validator._address does it, with the allowed parts prepared once."""

    def __init__(self, f: Field, address_options: Mapping[str, tuple[Option, ...]]) -> None:
        self.parts = ADDRESS_PARTS[f.area or "mongolia"]
        self.required_message = message(_required_code(f), f.label, {})
        self.shape_message = message("address", f.label, {})
        self.part_required = {p: message("required", ADDRESS_LABELS[p], {}) for p in self.parts}
        self.part_too_long = {p: message("too_long", ADDRESS_LABELS[p], {"max_length": 200}) for p in self.parts}
        self.part_not_option = {p: message("not_an_option", ADDRESS_LABELS[p], {}) for p in self.parts}
        self.districts = frozenset(o.value for o in address_options.get("ub_districts", ()))
        self.regions = frozenset(o.value for o in address_options.get("regions", ()))
        khoroos: dict[Any, set[str]] = {}
        for o in address_options.get("ub_khoroos", ()):
            khoroos.setdefault(o.parent, set()).add(o.value)
        self.khoroos = {parent: frozenset(values) for parent, values in khoroos.items()}

    def allowed(self, part: str, so_far: Mapping[str, str]) -> frozenset[str] | None:
        """Validator._allowed_part, from the sets prepared above."""
        if part == "district":
            return self.districts
        if part == "khoroo":
            return self.khoroos.get(so_far.get("district"), frozenset())
        if part == "region":
            return self.regions
        if part == "soum_district" and so_far.get("region") == "ulaanbaatar":
            return self.districts
        return None

    def __call__(self, raw: Any, required: bool, errors: list[SubmissionError], path: str) -> dict[str, str] | None:
        parts = self.parts
        if (raw.__class__ is not dict and is_empty(raw)) or raw == {}:
            if required:
                errors.append(submission_error(path, "required", self.required_message))
            return None
        if raw.__class__ is not dict and not isinstance(raw, Mapping):
            errors.append(submission_error(path, "address", self.shape_message))
            return None
        value: dict[str, str] = {}
        get = raw.get
        for part in parts:
            text = get(part)
            if (text.__class__ is not str and not isinstance(text, str)) or not (text := text.strip()):
                if required or any(isinstance(get(p), str) and get(p, "").strip() for p in parts):
                    errors.append(submission_error(f"{path}.{part}", "required", self.part_required[part]))
                continue
            if len(text) > 200:
                errors.append(submission_error(f"{path}.{part}", "too_long", self.part_too_long[part],
                                              {"max_length": 200}))
                continue
            allowed = self.allowed(part, value)
            if allowed is not None and text not in allowed:
                errors.append(submission_error(f"{path}.{part}", "not_an_option", self.part_not_option[part]))
                continue
            value[part] = text
        return value or None


# --- the generator --------------------------------------------------------------------------------

class _Level:
    """The fields of the submission or of one repeat item, and the locals that hold their scope values."""

    def __init__(self, gen: _Generator, fields: tuple[Field, ...], depth: int, prefix: str | None,
                 top: _Level | None) -> None:
        ids = [f.id for f in fields]
        if len(set(ids)) != len(ids):
            raise Unsupported("a field id appears twice")
        self.fields = fields
        self.depth = depth
        self.by_id = {f.id: f for f in fields}
        self.position = {f.id: i for i, f in enumerate(fields)}
        self.var = {f.id: gen.fresh("s") for f in fields}
        self.err = {f.id: gen.fresh("e") for f in fields}
        self.ready: set[str] = set()  # ids whose local holds the scope value the interpreter would see
        self.get = "get" if depth == 0 else f"iget{depth}"
        self.values = "values" if depth == 0 else f"iv{depth}"
        self.prefix = prefix  # None at the top (paths are the ids), else the code of 'path[i].' (errors only)
        self.top = top or self

    def path(self, fid: str) -> str:
        return _lit(fid) if self.prefix is None else f"{self.prefix} + {_lit(fid)}"


class _Generator:
    def __init__(self, fields: tuple[Field, ...], rules: tuple[Rule, ...],
                 address_options: Mapping[str, tuple[Option, ...]]) -> None:
        self.fields = fields
        self.rules = rules
        self.address_options = address_options
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "Mapping": Mapping,
            # the names read as the classes; the builders make the very same objects, faster
            "SubmissionError": submission_error,
            "Validation": validation,
            "_parse_error": _parse_error,
            "_all_mappings": _all_mappings,
            "_option_allowed": _option_allowed,
            "_is_empty": is_empty,
            "_count": _COUNT,
            "_date_today": dt.date.today,
            "_fromisoformat": dt.date.fromisoformat,
        }
        self.counter = 0
        self.bound_functions: list[Callable[[dt.date], dt.date]] = []
        self.pad = 1

    # naming
    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def const(self, value: Any, stem: str) -> str:
        """A bound as a literal when it is a plain int (the common case), else a bound name."""
        return repr(value) if type(value) is int else self.bind(value, stem)

    def bind(self, obj: Any, stem: str) -> str:
        name = self.fresh(stem.upper() + "_")
        self.ns[name] = obj
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.pad + line)

    def date_bound_index(self, text: Any) -> int | None:
        if text is None:
            return None
        if not isinstance(text, str):
            raise Unsupported("a date bound that is not text")
        bound = date_bound(text)
        if bound is None:
            return None
        self.bound_functions.append(bound)
        return len(self.bound_functions) - 1

    # the function
    def generate(self) -> str:
        top = _Level(self, self.fields, 0, None, None)
        body_start = len(self.lines)
        self.level_body(top)
        for rule in self.rules:
            broken = self.falsity_code(rule.check, top, rule_scope=True)
            self.emit(f"if {broken}:")
            self.emit(f"    errors.append(SubmissionError({_lit(rule.field)}, {_lit('rule:' + rule.id)}, "
                      f"{self.bind(rule.message, 'rule_msg')}))")
        body = self.lines[body_start:]
        head = [
            "def validate(answers, today=None):",
            "    if not today:",
            "        today = _date_today()",
            "    if answers.__class__ is not dict and not isinstance(answers, Mapping):",
            "        answers = {}",
            "    get = answers.get",
            "    errors = []",
            "    values = {}",
        ]
        if self.bound_functions:
            self.ns["_bounds"] = _Bounds(self.bound_functions)
            head.append("    bounds = _bounds(today)")
        return "\n".join([*head, *body, "    return Validation(values, tuple(errors))", ""])

    def level_body(self, level: _Level) -> None:
        for f in level.fields:
            self.field(level, f)

    # availability: a local must hold what the interpreter's scope holds when a condition reads it
    def resolve(self, level: _Level, name: str, item: bool) -> tuple[_Level, str] | None:
        if item and level.depth > 0:
            return (level, name) if name in level.by_id else None
        return (level.top, name) if name in level.top.by_id else None

    def ensure(self, where: _Level, name: str) -> None:
        if name in where.ready:
            return
        f = where.by_id[name]
        if f.type in ("repeat", "address"):
            self.emit(f"{where.var[name]} = None")  # composed later; conditions read None until then
        else:
            self.parse(where, f)
        where.ready.add(name)

    def ensure_names(self, level: _Level, expr: Compiled | None) -> None:
        if expr is None:
            return
        for name in sorted(expr.names):
            if level.depth > 0 and name in level.by_id:
                self.ensure(level, name)
            elif name in level.top.by_id:
                if level.top is not level and name not in level.top.ready:
                    raise Unsupported("a condition in an item reads an answer not yet parsed")
                self.ensure(level.top, name)

    def item_top_names(self, f: Field) -> set[str]:
        """Top-level names read by any condition or rule inside the repeat `f` (at any depth)."""
        names: set[str] = set()
        for sub in f.fields:
            for expr in (sub.show_if, sub.required_if):
                if expr is not None:
                    names |= {n for n in expr.names if n not in {s.id for s in f.fields}}
            names |= self.item_top_names(sub)
        for rule in f.rules:
            names |= {n for n in rule.check.names if n not in {s.id for s in f.fields}}
        return names

    # one field, in the author's order
    def field(self, level: _Level, f: Field) -> None:
        self.ensure_names(level, f.show_if)
        self.ensure_names(level, f.required_if)
        if f.depends_on is not None and f.depends_on in level.by_id:
            self.ensure(level, f.depends_on)
        if f.type == "repeat":
            for name in sorted(self.item_top_names(f)):
                if name in level.top.by_id:
                    if level.top is not level and name not in level.top.ready:
                        raise Unsupported("a nested repeat reads an answer not yet parsed")
                    self.ensure(level.top, name)
            if f.id not in level.ready:
                self.emit(f"{level.var[f.id]} = None")
        var = level.var[f.id]
        if f.show_if is not None:
            self.emit(f"if {self.truth_code(f.show_if, level)}:")
            self.pad += 1
        if f.id not in level.ready and f.depends_on is None and f.type not in ("repeat", "address"):
            self.parse_and_decide(level, f)  # it stores the value itself
        else:
            if f.type == "repeat":
                self.repeat(level, f)
            elif f.type == "address":
                self.address(level, f)
            else:
                self.scalar_decide(level, f)
            self.emit(f"if {var} is not None:")
            self.emit(f"    {level.values}[{_lit(f.id)}] = {var}")
        if f.show_if is not None:
            self.pad -= 1
            self.emit("else:")
            self.emit(f"    {var} = None")
        level.ready.add(f.id)

    def address(self, level: _Level, f: Field) -> None:
        """An address whose every part is a text within 200 characters and among its allowed values
        is taken inline (the parts stripped, in order); anything else goes to the AddressCheck."""
        check = AddressCheck(f, self.address_options)
        var = level.var[f.id]
        taken: dict[str, str] = {}  # part -> the local holding its stripped text
        tests = ["r.__class__ is dict"]
        for part in check.parts:
            local = taken[part] = self.fresh("ap")
            tests.append(f"({local} := rget({_lit(part)})).__class__ is str")
            tests.append(f"({local} := {local}.strip())")
            tests.append(f"len({local}) <= 200")
            # AddressCheck.allowed, with the parts before this one as they were taken
            if part == "district":
                tests.append(f"{local} in {self.bind(check.districts, 'districts')}")
            elif part == "khoroo":
                district = taken.get("district", "None")
                tests.append(f"{local} in {self.bind(check.khoroos, 'khoroos')}.get({district}, ())")
            elif part == "region":
                tests.append(f"{local} in {self.bind(check.regions, 'regions')}")
            elif part == "soum_district":
                region = taken.get("region", "None")
                tests.append(f"({region} != 'ulaanbaatar' or {local} in {self.bind(check.districts, 'districts')})")
        self.emit(f"r = {level.get}({_lit(f.id)})")
        self.emit("rget = r.get if r.__class__ is dict else None")
        self.emit("if (")
        for i, test in enumerate(tests):
            self.emit(f"    {test}" + (" and" if i < len(tests) - 1 else ""))
        self.emit("):")
        self.emit(f"    {var} = {{{', '.join(f'{_lit(p)}: {v}' for p, v in taken.items())}}}")
        self.emit("else:")
        self.emit(f"    {var} = {self.bind(check, 'address')}(r, {self.required_code(level, f)}, errors, "
                  f"{level.path(f.id)})")

    def required_code(self, level: _Level, f: Field) -> str:
        if f.required_if is None:
            return "True" if f.required else "False"
        return self.truth_code(f.required_if, level)

    def scalar_decide(self, level: _Level, f: Field) -> None:
        if f.id not in level.ready:
            self.parse(level, f)
        var, err, path = level.var[f.id], level.err[f.id], level.path(f.id)
        label = self.bind(f.label, "label")
        cache = self.bind({}, "messages")
        self.emit(f"if {err} is not None:")
        self.emit(f"    _parse_error(errors, {path}, {err}, {label}, {cache})")
        required = self.required_code(level, f)
        if required != "False":
            required_message = self.bind(message(_required_code(f), f.label, {}), "required_msg")
            self.emit(f"elif {var} is None:" if required == "True" else f"elif {var} is None and {required}:")
            self.emit(f"    errors.append(SubmissionError({path}, 'required', {required_message}))")
        if f.depends_on is not None:
            parent = level.var[f.depends_on] if f.depends_on in level.by_id else "None"
            not_allowed = self.bind(
                message("option_not_allowed", f.label, {"parent": self.label_of(level, f.depends_on)}),
                "not_allowed_msg",
            )
            parent_field = level.by_id.get(f.depends_on)
            if parent_field is not None and parent_field.type == "choice":
                # a choice answer is a text or None, so the options' (value, parent) pairs can be a set
                pairs = self.bind(frozenset((o.value, o.parent) for o in f.options), "allowed_pairs")
                allowed = f"({var}, {parent}) in {pairs}"
            else:
                allowed = f"_option_allowed({self.bind(f.options, 'options')}, {var}, {parent})"
            self.emit(f"elif {var} is not None and not {allowed}:")
            self.emit(f"    errors.append(SubmissionError({path}, 'option_not_allowed', {not_allowed}, "
                      f"{{'parent': {_lit(f.depends_on)}}}))")
            self.emit(f"    {var} = None")

    def label_of(self, level: _Level, fid: str) -> I18n:
        """Validator._label: the sibling's label, else any top-level field's, else the id."""
        if fid in level.by_id:
            return level.by_id[fid].label
        if fid in level.top.by_id:
            return level.top.by_id[fid].label
        return I18n(fid, fid)

    def repeat(self, level: _Level, f: Field) -> None:
        var, path = level.var[f.id], level.path(f.id)
        depth = level.depth + 1
        items, index, item = f"items{depth}", f"index{depth}", f"item{depth}"
        prefix = f"{path} + '[' + str({index}) + '].'"  # built only when an item has an error
        required = self.required_code(level, f)
        self.emit(f"raw = {level.get}({_lit(f.id)})")
        self.emit(f"{items} = raw if raw.__class__ is list or isinstance(raw, list) else "
                  "([] if _is_empty(raw) else None)")
        self.emit(f"if {items} is None or not _all_mappings({items}):")
        shape = self.bind(message("type_group", f.label, {}), "shape_msg")
        self.emit(f"    errors.append(SubmissionError({path}, 'type_group', {shape}))")
        self.emit(f"    {var} = None")
        self.emit("else:")
        self.pad += 1
        if f.min_items is not None:
            minimum = _lit(f.min_items)
            few = self.bind(message("too_few_items", f.label, {"min_items": f.min_items}), "few_msg")
        else:
            minimum = {"True": "1", "False": "0"}.get(required, f"(1 if {required} else 0)")
            few = self.bind(message("too_few_items", f.label, {"min_items": 1}), "few_msg")
        self.emit(f"minimum = {minimum}")
        self.emit(f"if len({items}) < minimum:")
        self.emit(f"    errors.append(SubmissionError({path}, 'too_few_items', {few}, {{'min_items': minimum}}))")
        if f.max_items is not None:
            many = self.bind(message("too_many_items", f.label, {"max_items": f.max_items}), "many_msg")
            self.emit(f"if len({items}) > {_lit(f.max_items)}:")
            self.emit(f"    errors.append(SubmissionError({path}, 'too_many_items', {many}, "
                      f"{{'max_items': {_lit(f.max_items)}}}))")
            self.emit(f"    {items} = {items}[:{_lit(f.max_items)}]")
        clean = f"clean{depth}"
        self.emit(f"{clean} = []")
        self.emit(f"for {index}, {item} in enumerate({items}):")
        self.pad += 1
        self.emit(f"iget{depth} = {item}.get")
        self.emit(f"iv{depth} = {{}}")
        inner = _Level(self, f.fields, depth, prefix, level.top)
        self.level_body(inner)
        for rule in f.rules:
            broken = self.falsity_code(rule.check, inner, rule_scope=True)
            self.emit(f"if {broken}:")
            self.emit(f"    errors.append(SubmissionError({prefix} + {_lit(rule.field)}, "
                      f"{_lit('rule:' + rule.id)}, {self.bind(rule.message, 'rule_msg')}))")
        self.emit(f"{clean}.append(iv{depth})")
        self.pad -= 1
        self.emit(f"{var} = {clean} if {clean} else None")
        self.pad -= 1

    # parsing: the common answer inline, everything else through the field's own parser
    def fast_parts(self, level: _Level, f: Field) -> tuple[list[str], str | None, str | None]:
        """(setup lines, the condition under which the answer is taken as it is, what takes it):
        the condition holds only for answers the parser would return unchanged and without error."""
        var = level.var[f.id]
        spec = parser_spec(f.parse)
        if spec is None:
            return [], None, None
        kind, params = spec.kind, spec.params
        if kind in ("text", "textarea"):
            bad = []
            if params.get("min_length") is not None:
                bad.append(f"len({var}) < {self.const(params['min_length'], 'min_length')}")
            if params.get("max_length") is not None:
                bad.append(f"len({var}) > {self.const(params['max_length'], 'max_length')}")
            if params.get("pattern"):
                bad.append(f"{self.bind(re.compile(params['pattern']).fullmatch, 'pattern')}({var}) is None")
            condition = f"r.__class__ is str and ({var} := r.strip())"  # a blank answer takes the parser's way
            return [], condition + (f" and not ({' or '.join(bad)})" if bad else ""), None
        if kind == "date":
            checks = ""
            low = self.date_bound_index(params.get("min"))
            high = self.date_bound_index(params.get("max"))
            if low is not None:
                checks += f" and not ({var} < bounds[{low}])"
            if high is not None:
                checks += f" and not ({var} > bounds[{high}])"
            setup = [
                f"{var} = None",
                "if r.__class__ is str and len(r) == 10:",
                "    try:",
                f"        {var} = _fromisoformat(r)",
                "    except ValueError:",
                "        pass",
            ]
            return setup, f"{var} is not None{checks}", None
        fast = self.fast_condition(spec)
        return [], fast, (f"{var} = r" if fast is not None else None)

    def parse(self, level: _Level, f: Field) -> None:
        """Parse into the field's locals (value, error), for a condition that reads it early."""
        var, err = level.var[f.id], level.err[f.id]
        self.emit(f"r = {level.get}({_lit(f.id)})")
        setup, condition, take = self.fast_parts(level, f)
        slow = f"{var}, {err} = {self.bind(f.parse, 'parse')}(r, today)"
        for line in setup:
            self.emit(line)
        if condition is None:
            self.emit(slow)
            return
        self.emit(f"if {condition}:")
        if take is not None:
            self.emit(f"    {take}")
        self.emit(f"    {err} = None")
        self.emit("else:")
        self.emit(f"    {slow}")

    def parse_and_decide(self, level: _Level, f: Field) -> None:
        """Parse and decide in one: the common answer costs one test and two stores."""
        var, err, path = level.var[f.id], level.err[f.id], level.path(f.id)
        self.emit(f"r = {level.get}({_lit(f.id)})")
        setup, condition, take = self.fast_parts(level, f)
        for line in setup:
            self.emit(line)
        if condition is not None:
            self.emit(f"if {condition}:")
            if take is not None:
                self.emit(f"    {take}")
            self.emit(f"    {level.values}[{_lit(f.id)}] = {var}")
            self.emit("else:")
            self.pad += 1
        self.emit(f"{var}, {err} = {self.bind(f.parse, 'parse')}(r, today)")
        self.emit(f"if {err} is not None:")
        self.emit(f"    _parse_error(errors, {path}, {err}, {self.bind(f.label, 'label')}, "
                  f"{self.bind({}, 'messages')})")
        self.emit(f"elif {var} is not None:")
        self.emit(f"    {level.values}[{_lit(f.id)}] = {var}")
        required = self.required_code(level, f)
        if required != "False":
            required_message = self.bind(message(_required_code(f), f.label, {}), "required_msg")
            self.emit("else:" if required == "True" else f"elif {required}:")
            self.emit(f"    errors.append(SubmissionError({path}, 'required', {required_message}))")
        if condition is not None:
            self.pad -= 1

    def number_bounds(self, spec: ParserSpec) -> str:
        out = ""
        if spec.params.get("min") is not None:
            out += f" and not (r < {self.const(spec.params['min'], 'min')})"
        if spec.params.get("max") is not None:
            out += f" and not (r > {self.const(spec.params['max'], 'max')})"
        return out

    def fast_condition(self, spec: ParserSpec) -> str | None:
        kind, params = spec.kind, spec.params
        if kind in ("integer", "money"):
            return "r.__class__ is int" + self.number_bounds(spec)
        if kind == "decimal":
            condition = "r.__class__ is float and r - r == 0.0" + self.number_bounds(spec)  # finite, in bounds
            if params.get("places") is not None:
                # A float's repr is the shortest text that reads back as it, the text the parser's
                # Decimal(str(r)) sees: without an exponent, its digits after the point are the places.
                places = self.const(params["places"], "places")
                condition += f" and 'e' not in (t := repr(r)) and len(t) - t.index('.') - 1 <= {places}"
            return condition
        if kind == "boolean":
            return "r is True" if params.get("must_be_true") else "(r is True or r is False)"
        if kind == "choice":
            values = frozenset(v for v in params["values"] if v.strip())  # a blank answer is empty, not chosen
            return f"r.__class__ is str and r in {self.bind(values, 'choices')}"
        if kind == "register":
            matches = self.bind(REGISTER.fullmatch, "register")
            check = self.bind(register_matched_check(params.get("min_age"), params.get("max_age")), "register_check")
            return f"r.__class__ is str and {matches}(r) is not None and {check}(r, today) is None"
        canonical = canonical_pattern(spec)
        if canonical is not None:
            regex, longest = canonical
            condition = f"r.__class__ is str and {self.bind(regex.fullmatch, 'canonical')}(r) is not None"
            return condition + (f" and len(r) <= {_lit(longest)}" if longest is not None else "")
        return None

    # conditions: comparisons, and/or/not written out; anything else calls the compiled closure
    def truth_code(self, expr: Compiled, level: _Level) -> str:
        try:
            return _Inline(self, level, rule_scope=False).truth(expr.tree)
        except Unsupported:
            return f"({self.closure_call(expr, level)} is True)"

    def falsity_code(self, expr: Compiled, level: _Level, rule_scope: bool) -> str:
        try:
            return _Inline(self, level, rule_scope).falsity(expr.tree)
        except Unsupported:
            if rule_scope and level.depth == 0:
                scope = "(values, None)"
            elif rule_scope:
                scope = f"({self.scope_dict(expr, level.top, item=False)}, {level.values})"
            else:
                scope = self.scope_arg(expr, level)
            return f"({self.bind(expr.evaluate, 'condition')}({scope}) is False)"

    def closure_call(self, expr: Compiled, level: _Level) -> str:
        return f"{self.bind(expr.evaluate, 'condition')}({self.scope_arg(expr, level)})"

    def scope_arg(self, expr: Compiled, level: _Level) -> str:
        if level.depth == 0:
            return f"({self.scope_dict(expr, level, item=False)}, None)"
        return f"({self.scope_dict(expr, level.top, item=False)}, {self.scope_dict(expr, level, item=True)})"

    def scope_dict(self, expr: Compiled, level: _Level, item: bool) -> str:
        """The names the closure reads, with the values the interpreter's scope dict would hold."""
        pairs = []
        for name in sorted(expr.names):
            if (item and name in level.by_id) or (not item and name in level.by_id):
                pairs.append(f"{_lit(name)}: {level.var[name]}")
        return "{" + ", ".join(pairs) + "}"


class _Inline:
    """A condition's tree as Python: `truth` is true exactly when the closure gives True, `falsity`
    exactly when it gives False (null, the third value, is neither). Only forms whose values are
    known — answers of text, choice, number, yes/no and date fields, literals, count() — are written
    out; anything else raises Unsupported and the closure is called instead."""

    def __init__(self, gen: _Generator, level: _Level, rule_scope: bool) -> None:
        self.gen = gen
        self.level = level
        self.rule_scope = rule_scope

    def name(self, node: dict[str, Any]) -> tuple[str, str, bool]:
        if "item" in node:
            where = self.level if self.level.depth > 0 else None
            name = node["item"]
        else:
            where, name = self.level.top, node["field"]
        if where is None or name not in where.by_id:
            raise Unsupported("a name outside this scope")
        f = where.by_id[name]
        kind = "str" if f.type in _TEXT_KINDS else _VALUE_KIND.get(f.type)
        if kind is None:
            raise Unsupported(f"answers of {f.type} fields")
        return where.var[name], kind, True

    def value(self, node: Any) -> tuple[str, str, bool]:
        """(code, kind, may be null)."""
        if isinstance(node, bool):
            return repr(node), "bool", False
        if isinstance(node, str):
            return _lit(node), "str", False
        if isinstance(node, (int, float)):
            return _lit(node), "num", False
        if isinstance(node, dict) and len(node) == 1:
            key, arg = next(iter(node.items()))
            if key in ("field", "item"):
                return self.name(node)
            if key == "call" and arg[0] == "count" and len(arg[1]) == 1:
                inner = arg[1][0]
                if isinstance(inner, dict) and len(inner) == 1 and next(iter(inner)) in ("field", "item"):
                    return f"_count({self.name(inner)[0]})", "num", False
            if key in ("+", "-", "*") and len(arg) == 2:
                (left, lk, ln), (right, rk, rn) = self.value(arg[0]), self.value(arg[1])
                if lk == rk == "num" and not ln and not rn:
                    return f"({left} {key} {right})", "num", False
        raise Unsupported("this value")

    def compare(self, op: str, args: list[Any]) -> tuple[str, str]:
        """(the guard that neither side is null, the comparison)."""
        if op in ("in", "not in"):
            left, kind, nullable = self.value(args[0])
            right = args[1]
            if isinstance(right, dict) and set(right) == {"list"}:
                items = [self.value(v) for v in right["list"]]
                if kind not in ("str", "num") or any(k != kind for _, k, _ in items):
                    raise Unsupported("a list of other kinds")
                target = "(" + "".join(code + ", " for code, _, _ in items) + ")"
                guard = [f"{left} is not None"] if nullable else []
            else:
                target, right_kind, right_null = self.value(right)
                if right_kind != "strlist" or kind != "str":
                    raise Unsupported("in on this kind")
                guard = [f"{c} is not None" for c, n in ((left, nullable), (target, right_null)) if n]
            return " and ".join(guard) or "True", f"{left} {op} {target}"
        (left, lk, ln), (right, rk, rn) = self.value(args[0]), self.value(args[1])
        if lk != rk or lk not in ("str", "num", "bool", "date") or (op not in ("==", "!=") and lk not in _ORDERED):
            raise Unsupported("a comparison of these kinds")
        guard = [f"{c} is not None" for c, n in ((left, ln), (right, rn)) if n]
        return " and ".join(guard) or "True", f"{left} {op} {right}"

    def truth(self, node: Any) -> str:
        if isinstance(node, bool):
            return repr(node)
        if isinstance(node, dict) and len(node) == 1:
            key, arg = next(iter(node.items()))
            if key in ("field", "item"):
                code, kind, _ = self.name(node)
                if kind == "bool":
                    return f"({code} is True)"
            elif key == "and":
                return "(" + " and ".join(self.truth(a) for a in arg) + ")"
            elif key == "or":
                return "(" + " or ".join(self.truth(a) for a in arg) + ")"
            elif key == "not":
                return self.falsity(arg)
            elif key in _COMPARE or key in ("in", "not in"):
                guard, comparison = self.compare(key, arg)
                return f"({guard} and {comparison})" if guard != "True" else f"({comparison})"
        raise Unsupported("this condition")

    def falsity(self, node: Any) -> str:
        if isinstance(node, bool):
            return repr(not node)
        if isinstance(node, dict) and len(node) == 1:
            key, arg = next(iter(node.items()))
            if key in ("field", "item"):
                code, kind, _ = self.name(node)
                if kind == "bool":
                    return f"({code} is False)"
            elif key == "and":
                return "(" + " or ".join(self.falsity(a) for a in arg) + ")"
            elif key == "or":
                return "(" + " and ".join(self.falsity(a) for a in arg) + ")"
            elif key == "not":
                return self.truth(arg)
            elif key in _COMPARE or key in ("in", "not in"):
                guard, comparison = self.compare(key, arg)
                return f"({guard} and not ({comparison}))" if guard != "True" else f"(not ({comparison}))"
        raise Unsupported("this condition")


def generate_source(fields: tuple[Field, ...], rules: tuple[Rule, ...],
                    address_options: Mapping[str, tuple[Option, ...]]) -> tuple[str, dict[str, Any]]:
    """The validator's source and the namespace it runs in (raises Unsupported)."""
    gen = _Generator(fields, rules, address_options)
    source = gen.generate()
    return source, gen.ns


def generate(fields: tuple[Field, ...], rules: tuple[Rule, ...],
             address_options: Mapping[str, tuple[Option, ...]]) -> tuple[ValidateFn, str]:
    source, namespace = generate_source(fields, rules, address_options)
    exec(compile(source, "<generated validator>", "exec"), namespace)
    return namespace["validate"], source
