"""Definition problems: what is wrong in a YAML file, where, and how to fix it.

Problems are data, never exceptions: every stage returns a list of them, and `tsonkh check`
prints them sorted by position. The codes and their one-line meaning live in `CODES`, which
`docs/errors.md` documents (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, eq=False)
class Span:
    """A range in a source file; lines and columns count from 1, like editors do."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def whole_file(file: str) -> Span:
        return Span(file, 1, 1, 1, 1)

    def astuple(self) -> tuple[str, int, int, int, int]:
        return (self.file, self.line, self.col, self.end_line, self.end_col)

    # By value, written out so that a `DeferredSpan` equals the plain Span it stands for.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return self.astuple() == other.astuple()

    def __hash__(self) -> int:
        return hash(self.astuple())

    def __reduce__(self) -> tuple[type[Span], tuple[str, int, int, int, int]]:
        # Pickled by constructor call (and always as a plain Span): dataclasses' slots __setstate__
        # is ~5x slower, and the compile cache stores many spans.
        return (Span, self.astuple())


class SpanSource(Protocol):
    def span(self, path: tuple[str | int, ...], key: bool = False) -> Span: ...


_SPAN_FIELDS = frozenset(("file", "line", "col", "end_line", "end_col"))


class DeferredSpan(Span):
    """The span of a value, looked up in its document the first time any part of it is read.

    The compiled model keeps a span for every field, state, transition, rule, fee and document
    (diff and docs tools may point at them), but nothing reads them on the way to serving a
    service: finding 20,000 of them at every start was a tenth of it. Until read, the position
    slots are empty; reading one finds the span and fills them all. It equals, hashes, prints and
    pickles as the plain Span it stands for.
    """

    __slots__ = ("_key", "_path", "_source")
    _source: SpanSource
    _path: tuple[str | int, ...]
    _key: bool

    def __init__(self, source: SpanSource, path: tuple[str | int, ...], key: bool = False) -> None:
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_key", key)

    def __getattr__(self, name: str) -> object:
        # Called only for a slot still empty: once filled, the slots answer directly.
        if name not in _SPAN_FIELDS:
            raise AttributeError(name)
        found = self._source.span(self._path, self._key)
        for part in _SPAN_FIELDS:
            object.__setattr__(self, part, getattr(found, part))
        return getattr(found, name)

    def __repr__(self) -> str:
        return repr(Span(*self.astuple()))


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    span: Span | None
    hint: str | None = None
    severity: Severity = "error"

    def __reduce__(self) -> tuple[type[Problem], tuple[object, ...]]:
        return (Problem, (self.code, self.message, self.span, self.hint, self.severity))  # fast, as Span's

    def sort_key(self) -> tuple[str, int, int, str, str]:
        # The message breaks ties at one position, so the order never depends on set iteration.
        if self.span is None:
            return ("", 0, 0, self.code, self.message)
        return (self.span.file, self.span.line, self.span.col, self.code, self.message)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.span is not None:
            out.update(
                file=self.span.file,
                line=self.span.line,
                column=self.span.col,
                end_line=self.span.end_line,
                end_column=self.span.end_col,
            )
        if self.hint:
            out["hint"] = self.hint
        return out


def problem(code: str, message: str, span: Span | None, hint: str | None = None) -> Problem:
    """Build a problem with the severity its code has in the catalogue."""
    return Problem(code, message, span, hint, CODES[code][0])


def did_you_mean(word: str, choices: Iterable[str], listed: int = 8) -> str:
    """A hint naming the closest choice, and the choices themselves when there are few."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    parts = []
    if options and len(options) <= listed:
        parts.append("use one of " + ", ".join(options))
    if close:
        parts.append(f"did you mean '{close[0]}'?")
    return " — ".join(parts) if parts else ""


# The catalogue: code → (severity, what it means). Grouped by the stage that finds it.
CODES: dict[str, tuple[Severity, str]] = {
    # reading YAML
    "YAML001": ("error", "the file is not valid YAML"),
    "YAML002": ("error", "a key appears twice in the same mapping"),
    "YAML003": ("warning", "a YAML 1.1 boolean word (yes/no/on/off) where text may be meant"),
    "YAML004": ("warning", "a number with a leading zero, which YAML reads as octal or drops the zero"),
    "YAML005": ("error", "a mapping key that is not text"),
    "YAML006": ("error", "the file is empty or its top level is not a mapping"),
    "YAML007": ("error", "the file cannot be read as UTF-8 text"),
    "YAML008": ("warning", "an unquoted '?' inside a flow mapping or list, which some YAML tools reject"),
    # shape
    "SHAPE001": ("error", "a required key is missing"),
    "SHAPE002": ("error", "an unknown key"),
    "SHAPE003": ("error", "a value of the wrong kind"),
    "SHAPE004": ("error", "a value outside what is allowed"),
    "SHAPE005": ("error", "an id that does not follow the naming rule"),
    "SHAPE006": ("error", "a bilingual text lacks its Mongolian or English version"),
    # identity and files
    "ID001": ("error", "the id does not match the file name"),
    "ID002": ("error", "two definitions share an id"),
    "ID003": ("error", "the scope does not match the folder"),
    # fields
    "FIELD001": ("error", "two fields share an id in one service"),
    "FIELD002": ("error", "unknown field group"),
    "FIELD003": ("error", "unknown option list"),
    "FIELD004": ("error", "unknown field type"),
    "FIELD005": ("error", "a key that this field type does not take"),
    "FIELD006": ("error", "min is greater than max"),
    "FIELD007": ("error", "depends_on names a field that is not a choice before this one"),
    "FIELD008": ("error", "a pattern that is not a valid regular expression"),
    "FIELD009": ("error", "a default or date bound that does not fit the field"),
    "FIELD010": ("error", "two options share a value"),
    "FIELD011": ("error", "unknown prefill source"),
    "FIELD012": ("warning", "a field that is both required and has required_if"),
    "FIELD013": ("warning", "a cascading choice has no options for some answer to its parent"),
    # expressions
    "EXPR001": ("error", "the expression cannot be parsed"),
    "EXPR002": ("error", "the expression names an unknown field"),
    "EXPR003": ("error", "the expression mixes types that do not fit"),
    "EXPR004": ("error", "the expression calls an unknown function or with the wrong arguments"),
    "EXPR005": ("error", "the expression compares a choice with a value that is not one of its options"),
    "EXPR006": ("error", "the expression gives the wrong type for where it is used"),
    # documents
    "DOC001": ("error", "unknown document type"),
    "DOC002": ("error", "unknown content type"),
    "DOC003": ("error", "unknown registry operation"),
    "DOC004": ("error", "two documents share an id"),
    # registries
    "REF001": ("error", "unknown agency"),
    "REF002": ("error", "unknown category"),
    "REF003": ("error", "unknown role"),
    "REF004": ("error", "unknown office"),
    "REF005": ("error", "an option parent that is not in the parent list"),
    # workflow
    "FLOW001": ("error", "unknown workflow pattern"),
    "FLOW002": ("error", "a pattern parameter is missing or unknown"),
    "FLOW003": ("error", "a transition names an unknown state"),
    "FLOW004": ("error", "a state cannot be reached from the initial state"),
    "FLOW005": ("error", "a non-final state has no way out"),
    "FLOW006": ("error", "a state has no path to a final state"),
    "FLOW007": ("error", "a role acts in the workflow but no office staffs it"),
    "FLOW008": ("error", "two transitions with the same action leave one state"),
    "FLOW009": ("error", "a final state has transitions out of it, or a non-final state lacks a role"),
    "FLOW010": ("error", "'@back' used from a state that no transition enters"),
    "FLOW011": ("error", "requires.fields names an unknown field"),
    "FLOW012": ("error", "a migration maps a state to one that does not exist"),
    "FLOW013": ("error", "a new version drops a state that in-flight cases may sit in, without a migration"),
    # routing
    "ROUTE001": ("error", "a routing rule names an office that does not exist"),
    "ROUTE002": ("error", "some answers reach no office"),
    "ROUTE003": ("error", "a routing template names an unknown field"),
    "ROUTE004": ("error", "the office that receives a case does not staff the role that acts first"),
    "ROUTE005": ("warning", "a routing rule can never match because an earlier rule always does"),
    # fee
    "FEE001": ("error", "a fee amount is not a whole non-negative number of tögrög"),
}
