"""The one expression language of service definitions: parse, type-check, compile to a callable.

Expressions read like Python comparisons (`reason == 'damaged' and age(birth_date) >= 18`) because
policy officers meet that syntax in spreadsheets and search boxes. We use Python's own parser only
to get a syntax tree; a small whitelist turns that tree into our node types, and evaluation is by
closures built here — never `eval`. An empty answer is `null`, and `null` propagates through
comparisons and arithmetic (three-valued logic, like SQL): a condition that cannot be decided is
treated as "not shown / not required / rule not broken".
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.compile.mongolia import register_birth_date, register_sex

Value = Any
Scope = tuple[Mapping[str, Value], Mapping[str, Value] | None]  # (answers, current repeat item)
Evaluator = Callable[[Scope], Value]

NUMBER, TEXT, BOOL, DATE, LIST, OBJECT, ANY, NULL = "number", "text", "bool", "date", "list", "object", "any", "null"
_DATE_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}")
_BARE_DATE = re.compile(r"(?<![\w.])\d{4}-\d{2}-\d{2}(?![\w.])")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass(frozen=True)
class Type:
    """What an expression gives: a base kind, the element type of a list, the options of a choice."""

    kind: str
    item: Type | None = None
    options: frozenset[str] | None = None
    parts: Mapping[str, Type] | None = None  # address parts or repeat item fields
    label: str = ""  # the field it came from, for messages

    def __str__(self) -> str:
        if self.kind == LIST and self.item is not None:
            return f"list of {self.item}"
        return self.kind


T_NUMBER, T_TEXT, T_BOOL, T_DATE, T_ANY, T_NULL = (Type(k) for k in (NUMBER, TEXT, BOOL, DATE, ANY, NULL))


@dataclass(frozen=True)
class ExprError:
    code: str
    message: str
    offset: int = 0  # character offset in the expression text
    hint: str | None = None


@dataclass(frozen=True)
class Compiled:
    """A checked expression: its text, its result type, the fields it reads, and its evaluator."""

    source: str
    type: Type
    names: frozenset[str]
    evaluate: Evaluator = field(compare=False, repr=False)
    tree: Any = field(compare=False, repr=False)  # JSON-able form for the browser's live preview

    def __call__(self, answers: Mapping[str, Value], item: Mapping[str, Value] | None = None) -> Value:
        return self.evaluate((answers, item))

    def truth(self, answers: Mapping[str, Value], item: Mapping[str, Value] | None = None) -> bool:
        """True only when the expression is decidedly true (null counts as false)."""
        return self.evaluate((answers, item)) is True


class Environment:
    """The names an expression may read: the service's fields, and a repeat item's own fields."""

    def __init__(
        self,
        fields: Mapping[str, Type],
        item_fields: Mapping[str, Type] | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.fields = fields
        self.item_fields = item_fields or {}
        self.today = today


class _Fail(Exception):
    def __init__(self, error: ExprError) -> None:
        super().__init__(error.message)
        self.error = error


_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_MAX_LENGTH = 2000


def compile_expression(text: str, env: Environment, expect: str | None = None) -> Compiled | ExprError:
    """Parse, type-check and compile; an error is returned as data with its offset in `text`."""
    source = text[1:].strip() if text.startswith("=") else text.strip()
    if not source:
        return ExprError("EXPR001", "the expression is empty")
    if len(source) > _MAX_LENGTH:
        return ExprError("EXPR001", f"the expression is longer than {_MAX_LENGTH} characters")
    bare_date = _BARE_DATE.search(_QUOTED.sub(lambda m: " " * len(m.group()), source))
    if bare_date is not None:
        # Unquoted, 2024-01-05 is arithmetic (or a Python error about octal numbers): say what is meant.
        return ExprError(
            "EXPR001",
            f"a date must be written in quotes: '{bare_date.group()}'",
            bare_date.start(),
            f"write '{bare_date.group()}' (or today() for the current date)",
        )
    try:
        with warnings.catch_warnings():
            # `1if x` parses with a SyntaxWarning that Python would print to the checker's stderr.
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        return ExprError(
            "EXPR001",
            f"cannot read the expression: {err.msg}",
            max((err.offset or 1) - 1, 0),
            "write conditions like: reason == 'damaged' and count(children) > 0",
        )
    except (ValueError, RecursionError, MemoryError):
        return ExprError("EXPR001", "cannot read the expression")
    builder = _Builder(env)
    try:
        node_type, evaluate, json_tree = builder.build(tree.body)
    except _Fail as failure:
        return failure.error
    except RecursionError:
        return ExprError("EXPR001", "the expression is nested too deeply")
    if expect == BOOL and node_type.kind not in (BOOL, ANY, NULL):
        return ExprError(
            "EXPR006",
            f"this condition gives a {node_type}, not true/false",
            0,
            "compare it with something, e.g. count(children) > 0",
        )
    if expect == NUMBER and node_type.kind not in (NUMBER, ANY, NULL):
        return ExprError("EXPR006", f"this amount gives a {node_type}, not a number", 0)
    return Compiled(source, node_type, frozenset(builder.names), evaluate, json_tree)


def _null_safe2(op: Callable[[Value, Value], Value]) -> Callable[[Value, Value], Value]:
    def apply(a: Value, b: Value) -> Value:
        if a is None or b is None:
            return None
        return op(*_same_date_kind(a, b))

    return apply


def _same_date_kind(a: Value, b: Value) -> tuple[Value, Value]:
    """Date and datetime fields share the type `date`: a datetime meets a date on its day
    (Python cannot order a datetime against a date)."""
    if isinstance(a, dt.datetime) and isinstance(b, dt.date) and not isinstance(b, dt.datetime):
        return a.date(), b
    if isinstance(b, dt.datetime) and isinstance(a, dt.date) and not isinstance(a, dt.datetime):
        return a, b.date()
    return a, b


def _divide(a: Value, b: Value) -> Value:
    return None if b == 0 else a / b


def _modulo(a: Value, b: Value) -> Value:
    return None if b == 0 else a % b


_ARITH_OPS: dict[str, Callable[[Value, Value], Value]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
    "%": _modulo,
}
_CMP_OPS: dict[str, Callable[[Value, Value], Value]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def _days_between(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def _years_between(a: dt.date, b: dt.date) -> int:
    years = b.year - a.year
    if (b.month, b.day) < (a.month, a.day):
        years -= 1
    return years


class _Builder:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.names: set[str] = set()

    def fail(self, code: str, message: str, node: ast.AST | None, hint: str | None = None) -> _Fail:
        offset = getattr(node, "col_offset", 0) if node is not None else 0
        return _Fail(ExprError(code, message, offset, hint))

    def build(self, node: ast.AST) -> tuple[Type, Evaluator, Any]:
        method = getattr(self, "node_" + type(node).__name__, None)
        if method is None:
            raise self.fail(
                "EXPR001",
                f"'{ast.unparse(node)}' is not allowed in an expression",
                node,
                "use field names, values, comparisons, and/or/not and the listed functions",
            )
        result: tuple[Type, Evaluator, Any] = method(node)
        return result

    # values ---------------------------------------------------------------------------------
    def node_Constant(self, node: ast.Constant) -> tuple[Type, Evaluator, Any]:
        value = node.value
        if isinstance(value, bool) or value is None:  # Python spellings True/False/None are not ours
            ours = str(value).lower() if value is not None else "null"
            raise self.fail("EXPR001", f"write {ours}, not {value}", node, f"expressions spell it {ours}, lower case")
        if isinstance(value, (int, float)):
            return Type(NUMBER), lambda s: value, value
        if isinstance(value, str):
            return Type(TEXT, options=frozenset({value})), lambda s: value, value
        raise self.fail("EXPR001", f"the value {value!r} is not allowed", node)

    def node_List(self, node: ast.List) -> tuple[Type, Evaluator, Any]:
        built = [self.build(item) for item in node.elts]
        kinds = {t.kind for t, _, _ in built}
        item_type = built[0][0] if len(kinds) == 1 else T_ANY
        if all(t.kind == TEXT for t, _, _ in built):
            item_type = Type(TEXT, options=frozenset(v for _, _, v in built if isinstance(v, str)))
        evaluators = [e for _, e, _ in built]
        return Type(LIST, item_type), lambda s: [e(s) for e in evaluators], {"list": [j for _, _, j in built]}

    node_Tuple = node_List

    def node_Name(self, node: ast.Name) -> tuple[Type, Evaluator, Any]:
        name = node.id
        if name == "true":
            return T_BOOL, lambda s: True, True
        if name == "false":
            return T_BOOL, lambda s: False, False
        if name == "null":
            return T_NULL, lambda s: None, None
        if name in self.env.item_fields:
            self.names.add(name)
            return self.env.item_fields[name], lambda s: s[1].get(name) if s[1] is not None else None, {"item": name}
        if name in self.env.fields:
            self.names.add(name)
            return self.env.fields[name], lambda s: s[0].get(name), {"field": name}
        from engine.problems import did_you_mean

        known = [*self.env.fields, *self.env.item_fields]
        raise self.fail("EXPR002", f"unknown field '{name}'", node, did_you_mean(name, known, 0) or None)

    def node_Attribute(self, node: ast.Attribute) -> tuple[Type, Evaluator, Any]:
        base_type, base, base_json = self.build(node.value)
        part = node.attr
        if base_type.kind == OBJECT and base_type.parts is not None:
            if part not in base_type.parts:
                raise self.fail(
                    "EXPR002",
                    f"'{ast.unparse(node.value)}' has no part '{part}'",
                    node,
                    "parts: " + ", ".join(base_type.parts),
                )
            return base_type.parts[part], lambda s: _get_part(base(s), part), {"part": [base_json, part]}
        if base_type.kind == LIST and base_type.item is not None and base_type.item.parts is not None:
            parts = base_type.item.parts
            if part not in parts:
                raise self.fail(
                    "EXPR002",
                    f"'{ast.unparse(node.value)}' items have no field '{part}'",
                    node,
                    "fields: " + ", ".join(parts),
                )
            return Type(LIST, parts[part]), lambda s: _pluck(base(s), part), {"pluck": [base_json, part]}
        raise self.fail("EXPR003", f"'{ast.unparse(node.value)}' has no parts", node)

    # logic ----------------------------------------------------------------------------------
    def node_BoolOp(self, node: ast.BoolOp) -> tuple[Type, Evaluator, Any]:
        built = [self.build(v) for v in node.values]
        for (t, _, _), value in zip(built, node.values, strict=True):
            if t.kind not in (BOOL, ANY, NULL):
                raise self.fail(
                    "EXPR003",
                    f"'{ast.unparse(value)}' is a {t}, not a condition",
                    value,
                    "compare it with something, e.g. x > 0",
                )
        evaluators = [e for _, e, _ in built]
        op = "and" if isinstance(node.op, ast.And) else "or"

        def evaluate_and(s: Scope) -> Value:
            unknown = False
            for e in evaluators:
                v = e(s)
                if v is False:
                    return False
                if v is None:
                    unknown = True
            return None if unknown else True

        def evaluate_or(s: Scope) -> Value:
            unknown = False
            for e in evaluators:
                v = e(s)
                if v is True:
                    return True
                if v is None:
                    unknown = True
            return None if unknown else False

        return T_BOOL, evaluate_and if op == "and" else evaluate_or, {op: [j for _, _, j in built]}

    def node_UnaryOp(self, node: ast.UnaryOp) -> tuple[Type, Evaluator, Any]:
        t, operand, j = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            if t.kind not in (BOOL, ANY, NULL):
                raise self.fail("EXPR003", f"'not' needs a condition, found a {t}", node)
            return T_BOOL, lambda s: None if (v := operand(s)) is None else not v, {"not": j}
        if isinstance(node.op, ast.USub):
            if t.kind not in (NUMBER, ANY):
                raise self.fail("EXPR003", f"'-' needs a number, found a {t}", node)
            return T_NUMBER, lambda s: None if (v := operand(s)) is None else -v, {"neg": j}
        raise self.fail("EXPR001", "this operator is not allowed", node)

    def node_IfExp(self, node: ast.IfExp) -> tuple[Type, Evaluator, Any]:
        ct, cond, cj = self.build(node.test)
        if ct.kind not in (BOOL, ANY, NULL):
            raise self.fail("EXPR003", f"the condition after 'if' is a {ct}, not true/false", node.test)
        at, a, aj = self.build(node.body)
        bt, b, bj = self.build(node.orelse)
        result = at if at.kind == bt.kind or bt.kind == NULL else (bt if at.kind == NULL else T_ANY)
        return result, lambda s: a(s) if cond(s) is True else b(s), {"if": [cj, aj, bj]}

    def node_BinOp(self, node: ast.BinOp) -> tuple[Type, Evaluator, Any]:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail("EXPR001", f"the operator in '{ast.unparse(node)}' is not allowed", node, "use + - * / %")
        lt, left, lj = self.build(node.left)
        rt, right, rj = self.build(node.right)
        if op == "+" and lt.kind == TEXT and rt.kind == TEXT:
            result = T_TEXT
        else:
            for t, side in ((lt, node.left), (rt, node.right)):
                if t.kind not in (NUMBER, ANY, NULL):
                    raise self.fail("EXPR003", f"'{ast.unparse(side)}' is a {t}, but '{op}' needs numbers", side)
            result = T_NUMBER
        apply = _null_safe2(_ARITH_OPS[op])
        return result, lambda s: apply(left(s), right(s)), {op: [lj, rj]}

    def node_Compare(self, node: ast.Compare) -> tuple[Type, Evaluator, Any]:
        if len(node.ops) != 1:
            raise self.fail("EXPR001", "compare two things at a time", node, "write a < b and b < c")
        op = _COMPARE.get(type(node.ops[0]))
        if op is None:  # Python's `is` / `is not` parse, but compare identity, which answers do not have
            raise self.fail("EXPR001", "compare with == or !=, not 'is'", node, "e.g. reason == null, reason != 'lost'")
        left_node, right_node = node.left, node.comparators[0]
        lt, left, lj = self.build(left_node)
        rt, right, rj = self.build(right_node)
        if op in ("in", "not in"):
            if rt.kind != LIST and rt.kind not in (ANY, NULL):
                raise self.fail("EXPR003", f"'{op}' needs a list on its right, found a {rt}", right_node)
            if rt.item is not None:
                self.check_options(lt, rt.item, right_node)
                self.check_options(rt.item, lt, left_node)  # 'heater' in furniture: a multichoice's options
                left, right = self.coerce_dates(lt, rt.item, left, right, right_node, item=True)
        else:
            self.check_comparable(op, lt, rt, node)
            self.check_options(lt, rt, right_node)
            self.check_options(rt, lt, left_node)
            left, right = self.coerce_dates(lt, rt, left, right, right_node)
            left, right = self.coerce_dates_rev(lt, rt, left, right, left_node)
        apply = _null_safe2(_CMP_OPS[op])
        return T_BOOL, lambda s: apply(left(s), right(s)), {op: [lj, rj]}

    def check_comparable(self, op: str, lt: Type, rt: Type, node: ast.AST) -> None:
        kinds = {lt.kind, rt.kind} - {ANY, NULL}
        if len(kinds) <= 1:
            if op not in ("==", "!=") and kinds & {BOOL, LIST, OBJECT}:
                raise self.fail("EXPR003", f"'{op}' cannot order a {kinds.pop()}", node)
            return
        if kinds == {DATE, TEXT}:
            return  # a date literal such as '2020-01-01', checked in coerce_dates
        raise self.fail(
            "EXPR003",
            f"cannot compare a {lt} with a {rt}",
            node,
            "both sides must be numbers, texts, dates or yes/no values",
        )

    def check_options(self, field_type: Type, literal: Type, literal_node: ast.AST) -> None:
        """A choice compared with a text that is none of its options is surely a typo."""
        if field_type.options is None or field_type.label == "" or literal.options is None or literal.label:
            return
        for value in literal.options:
            if value not in field_type.options:
                from engine.problems import did_you_mean

                raise self.fail(
                    "EXPR005",
                    f"'{value}' is not an option of {field_type.label}",
                    literal_node,
                    did_you_mean(value, field_type.options, 12) or None,
                )

    def coerce_dates(
        self, lt: Type, rt: Type, left: Evaluator, right: Evaluator, node: ast.AST, item: bool = False
    ) -> tuple[Evaluator, Evaluator]:
        if lt.kind == DATE and rt.kind == TEXT and rt.options:
            try:
                dates = {v: dt.date.fromisoformat(v) for v in rt.options}
            except ValueError:
                raise self.fail(
                    "EXPR003", "a date is compared with text that is not a date (YYYY-MM-DD)", node
                ) from None
            if not all(_DATE_LITERAL.fullmatch(v) for v in dates):
                raise self.fail("EXPR003", "write dates as YYYY-MM-DD", node)
            if item:
                inner = right
                return left, lambda s: [dates.get(v, v) for v in (inner(s) or [])]
            inner = right
            return left, lambda s: dates.get(inner(s), inner(s))
        return left, right

    def coerce_dates_rev(
        self, lt: Type, rt: Type, left: Evaluator, right: Evaluator, node: ast.AST
    ) -> tuple[Evaluator, Evaluator]:
        new_right, new_left = self.coerce_dates(rt, lt, right, left, node)
        return new_left, new_right

    # functions ------------------------------------------------------------------------------
    def node_Call(self, node: ast.Call) -> tuple[Type, Evaluator, Any]:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise self.fail("EXPR004", "call a function by its name with plain arguments", node)
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            from engine.problems import did_you_mean

            raise self.fail(
                "EXPR004",
                f"unknown function '{name}'",
                node.func,
                did_you_mean(name, FUNCTIONS, 0) or "functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        built = [self.build(arg) for arg in node.args]
        arg_types = [t for t, _, _ in built]
        result_type = spec.check(self, node, arg_types)
        evaluators = [e for _, e, _ in built]
        impl = spec.implement(self.env)
        if spec.null_safe:

            def evaluate(s: Scope) -> Value:
                values = [e(s) for e in evaluators]
                if any(v is None for v in values):
                    return None
                return impl(*values)
        else:

            def evaluate(s: Scope) -> Value:
                return impl(*[e(s) for e in evaluators])

        return result_type, evaluate, {"call": [name, [j for _, _, j in built]]}


def _get_part(value: Value, part: str) -> Value:
    return value.get(part) if isinstance(value, dict) else None


def _pluck(items: Value, part: str) -> Value:
    if not isinstance(items, list):
        return []
    return [item.get(part) for item in items if isinstance(item, dict)]


@dataclass(frozen=True)
class _Function:
    arity: tuple[int, int]  # (min, max) arguments
    args: tuple[str, ...]  # kinds of the arguments; the last repeats
    result: Type
    implement: Callable[[Environment], Callable[..., Value]]
    null_safe: bool = True  # any null argument gives null without calling

    def check(self, builder: _Builder, node: ast.Call, types: list[Type]) -> Type:
        name = node.func.id  # type: ignore[attr-defined]
        low, high = self.arity
        if not low <= len(types) <= high:
            count = f"{low}" if low == high else f"{low} to {high}"
            raise builder.fail("EXPR004", f"{name}() takes {count} argument(s), found {len(types)}", node)
        for index, t in enumerate(types):
            want = self.args[min(index, len(self.args) - 1)]
            if want != ANY and t.kind not in (want, ANY, NULL):
                raise builder.fail(
                    "EXPR003", f"argument {index + 1} of {name}() must be a {want}, found a {t}", node.args[index]
                )
        return self.result


def _sum(items: Value) -> Value:
    return sum((v for v in items or [] if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)), 0)


def _count(items: Value) -> int:
    return len(items) if isinstance(items, (list, str)) else 0


def _empty(value: Value) -> bool:
    return value is None or value == "" or value == [] or value == {}


FUNCTIONS: dict[str, _Function] = {
    "today": _Function((0, 0), (), T_DATE, lambda env: env.today),
    "age": _Function((1, 1), (DATE,), T_NUMBER, lambda env: lambda d: _years_between(d, env.today())),
    "years_between": _Function(
        (2, 2), (DATE,), T_NUMBER, lambda env: lambda a, b: _years_between(*_same_date_kind(a, b))),
    "days_between": _Function(
        (2, 2), (DATE,), T_NUMBER, lambda env: lambda a, b: _days_between(*_same_date_kind(a, b))),
    "count": _Function((1, 1), (LIST,), T_NUMBER, lambda env: _count, null_safe=False),
    "sum": _Function((1, 1), (LIST,), T_NUMBER, lambda env: _sum, null_safe=False),
    "min": _Function((1, 9), (NUMBER,), T_NUMBER, lambda env: min),
    "max": _Function((1, 9), (NUMBER,), T_NUMBER, lambda env: max),
    "round": _Function((1, 1), (NUMBER,), T_NUMBER, lambda env: lambda x: round(x)),
    "empty": _Function((1, 1), (ANY,), T_BOOL, lambda env: _empty, null_safe=False),
    "birth_date": _Function((1, 1), (TEXT,), T_DATE, lambda env: register_birth_date),
    "sex": _Function((1, 1), (TEXT,), Type(TEXT, options=frozenset({"male", "female"})), lambda env: register_sex),
    "lower": _Function((1, 1), (TEXT,), T_TEXT, lambda env: str.lower),
    "upper": _Function((1, 1), (TEXT,), T_TEXT, lambda env: str.upper),
    "year": _Function((1, 1), (DATE,), T_NUMBER, lambda env: lambda d: d.year),
}
