"""The state one service's compilation shares across its stages: where each value was written, the
problems found so far and the types of the service's fields.

Nothing here raises on bad input: every stage reports what it cannot resolve as a positioned
problem and carries on, so that one run lists every mistake in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from engine.compile.expressions import Compiled, Environment, ExprError, Type, compile_expression
from engine.compile.model import Field
from engine.compile.registries import Located, Registries
from engine.load.yaml_source import Document, PathKey
from engine.problems import DeferredSpan, Problem, Span, problem


class Src(NamedTuple):
    """Where a raw value was written: a document and a path inside it.

    A named tuple rather than a frozen dataclass: just as immutable, and made ~20,000 times per
    catalog (a frozen dataclass's __init__ costs three object.__setattr__ calls)."""

    doc: Document
    path: PathKey
    used_at: Src | None = None  # a shared group's field: the service's `use:` that brought it in

    def at(self, *more: str | int) -> Src:
        return Src(self.doc, (*self.path, *more), self.used_at)

    def span(self, key: bool = False) -> Span:
        return self.doc.span(self.path, key=key)

    def deferred_span(self) -> Span:
        """The span for a compiled model object, found only if someone reads it (problems use `span`)."""
        return DeferredSpan(self.doc, self.path)


class Stage:
    """What every compilation stage reads and writes; `ServiceCompiler` combines the stages."""

    def __init__(self, doc: Document, registries: Registries, patterns: Mapping[str, Located]) -> None:
        self.doc = doc
        self.reg = registries
        self.patterns = patterns
        self.problems: list[Problem] = []
        self.types: dict[str, Type] = {}
        self.fields_by_id: dict[str, Field] = {}
        self.group_conditions: dict[str, Src] = {}  # field id → where its group's show_if was written

    def report(self, code: str, message: str, src: Src, hint: str | None = None, key: bool = False) -> None:
        self.problems.append(problem(code, message, src.span(key), hint))

    def expression(self, text: Any, src: Src, env: Environment, expect: str | None) -> Compiled | None:
        if not isinstance(text, str):
            return None
        result = compile_expression(text, env, expect)
        if isinstance(result, ExprError):
            # Point the caret at the offending character inside the YAML value, past any quote and `=`.
            span = src.span()
            line = src.doc.line(span.line)
            start = span.col - 1
            quote = 1 if line[start : start + 1] in ("'", '"') else 0
            lead = 1 + len(text) - len(text.lstrip("= ")) if text.startswith("=") else len(text) - len(text.lstrip())
            col = span.col + quote + lead + result.offset if span.line == span.end_line else span.col
            where = Span(span.file, span.line, col, span.line, col + 1)
            self.problems.append(problem(result.code, result.message, where, result.hint))
            return None
        return result
