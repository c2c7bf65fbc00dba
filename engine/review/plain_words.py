"""Expressions read aloud: `reason == 'damaged' and copies > 1` → “Reason is “Damaged” and Copies is more than 1”.

Only the common shapes are put in words (comparisons of a field with values, yes/no fields,
`empty`, and/or/not); anything else is shown as the expression itself, which is still exact.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from engine.compile.model import Field, I18n

_AND = I18n(" болон ", " and ")
_OR = I18n(" эсвэл ", " or ")
_COMPARE = {
    ast.Eq: I18n("«{f}» нь {v} байвал", "{f} is {v}"),
    ast.NotEq: I18n("«{f}» нь {v} биш бол", "{f} is not {v}"),
    ast.In: I18n("«{f}» нь {v}-ийн аль нэг бол", "{f} is one of {v}"),
    ast.NotIn: I18n("«{f}» нь {v}-ийн аль нь ч биш бол", "{f} is none of {v}"),
    ast.Gt: I18n("«{f}» {v}-аас их бол", "{f} is more than {v}"),
    ast.GtE: I18n("«{f}» {v} буюу түүнээс их бол", "{f} is at least {v}"),
    ast.Lt: I18n("«{f}» {v}-аас бага бол", "{f} is less than {v}"),
    ast.LtE: I18n("«{f}» {v} буюу түүнээс бага бол", "{f} is at most {v}"),
}
_YES = I18n("«{f}» тийм бол", "{f} is yes")
_NO = I18n("«{f}» үгүй бол", "{f} is no")
_EMPTY = I18n("«{f}» хоосон бол", "{f} is empty")
_NOT_EMPTY = I18n("«{f}» бөглөгдсөн бол", "{f} is filled in")
_NOT = I18n("дараах нь биш бол: ({x})", "not ({x})")


class _Unsaid(Exception):
    """The expression has a shape we do not put in words."""


def in_words(source: str | None, fields: Mapping[str, Field], lang: str) -> str | None:
    """The expression in words, or None when it is better shown as code."""
    if not source:
        return None
    text = source[1:].strip() if source.startswith("=") else source.strip()
    try:
        tree = ast.parse(text, mode="eval").body
        return _say(tree, fields, lang)
    except (_Unsaid, SyntaxError, ValueError, RecursionError):
        return None


def _field(node: ast.AST, fields: Mapping[str, Field], lang: str) -> tuple[str, Field | None]:
    if isinstance(node, ast.Name) and node.id in fields:
        f = fields[node.id]
        return f.label.get(lang), f
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in fields:
        return f"{fields[node.value.id].label.get(lang)} ({node.attr})", None
    raise _Unsaid


def _value(node: ast.AST, f: Field | None, lang: str) -> str:
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        value: Any = node.value
        if isinstance(value, str):
            labels = f.option_labels() if f is not None else {}
            shown = labels[value].get(lang) if value in labels else value
            return f"«{shown}»" if lang == "mn" else f"“{shown}”"
        return str(value)
    if isinstance(node, ast.Name) and node.id in ("true", "false"):
        return ("тийм" if node.id == "true" else "үгүй") if lang == "mn" else ("yes" if node.id == "true" else "no")
    if isinstance(node, (ast.List, ast.Tuple)):
        return "(" + ", ".join(_value(e, f, lang) for e in node.elts) + ")"
    raise _Unsaid


def _say(node: ast.AST, fields: Mapping[str, Field], lang: str) -> str:
    if isinstance(node, ast.BoolOp):
        joiner = (_AND if isinstance(node.op, ast.And) else _OR).get(lang)
        parts = [_say(v, fields, lang) for v in node.values]
        return joiner.join(
            f"({p})" if isinstance(v, ast.BoolOp) else p for p, v in zip(parts, node.values, strict=True)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        if isinstance(node.operand, ast.Name):
            label, _ = _field(node.operand, fields, lang)
            return _NO.get(lang).format(f=label)
        return _NOT.get(lang).format(x=_say(node.operand, fields, lang))
    if isinstance(node, ast.Name):
        label, _ = _field(node, fields, lang)
        return _YES.get(lang).format(f=label)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "empty"
        and len(node.args) == 1
    ):
        label, _ = _field(node.args[0], fields, lang)
        return _EMPTY.get(lang).format(f=label)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, left, right = type(node.ops[0]), node.left, node.comparators[0]
        if op not in _COMPARE:
            raise _Unsaid
        if isinstance(right, ast.Name) and right.id == "null" and op in (ast.Eq, ast.NotEq):
            label, _ = _field(left, fields, lang)
            return (_EMPTY if op is ast.Eq else _NOT_EMPTY).get(lang).format(f=label)
        label, f = _field(left, fields, lang)
        return _COMPARE[op].get(lang).format(f=label, v=_value(right, f, lang))
    raise _Unsaid
