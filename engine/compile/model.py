"""The compiled, immutable model of a service: what the portal, back office and tools call.

Everything here is built once when a definition is loaded; requests only call these objects.
Every node keeps the span it came from so later tools (diff, docs) can point at the source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.compile.expressions import Compiled
from engine.problems import Span


@dataclass(frozen=True, slots=True)
class I18n:
    """A bilingual text. Mongolian is the default language of the portal."""

    mn: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.mn

    @staticmethod
    def of(value: Any) -> I18n:
        if isinstance(value, dict):
            return I18n(str(value.get("mn", "")), str(value.get("en", "")))
        return I18n(str(value), str(value))

    def format(self, **params: Any) -> I18n:
        return I18n(self.mn.format(**params), self.en.format(**params))

    def as_dict(self) -> dict[str, str]:
        return {"mn": self.mn, "en": self.en}

    def __reduce__(self) -> tuple[type[I18n], tuple[str, str]]:
        # Constructor pickling: the compile cache stores thousands of these, and dataclasses' slots
        # __setstate__ is several times slower.
        return (I18n, (self.mn, self.en))


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: I18n
    parent: str | None = None

    def __reduce__(self) -> tuple[type[Option], tuple[str, I18n, str | None]]:
        return (Option, (self.value, self.label, self.parent))  # fast pickling, as I18n's


@dataclass(frozen=True, slots=True)
class OptionList:
    id: str
    options: tuple[Option, ...]
    parent_list: str | None = None

    def values(self) -> frozenset[str]:
        return frozenset(o.value for o in self.options)


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: I18n
    short: I18n
    scope: str
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    name: I18n
    agency: str
    roles: frozenset[str]
    district: str | None = None
    aimag: str | None = None

    def __reduce__(self) -> tuple[type[Office], tuple[object, ...]]:
        return (Office, (self.id, self.name, self.agency, self.roles, self.district, self.aimag))  # fast, as I18n's


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    label: I18n


@dataclass(frozen=True, slots=True)
class DocumentType:
    id: str
    title: I18n
    accept: tuple[str, ...]
    max_size_mb: int
    max_count: int
    registry: str | None


@dataclass(frozen=True, slots=True)
class RegistryOperation:
    id: str
    title: I18n
    system: str
    returns: tuple[str, ...]
    kind: str = "read"
    key_by: str = "citizen"  # asked by the citizen's register number, or by an answer of this field type
    record: str = "person"  # the kind of registry record that answers


# A field's parser: (raw answer, today) → (clean value, None) or (None, (error code, parameters)).
# An empty answer parses to (None, None): whether it is required is decided by the validator.
ParseError = tuple[str, dict[str, Any]]
Parser = Callable[[Any, date], tuple[Any, ParseError | None]]


@dataclass(frozen=True, slots=True)
class Field:
    id: str
    type: str
    label: I18n
    span: Span
    hint: I18n | None = None
    required: bool = True
    required_if: Compiled | None = None
    show_if: Compiled | None = None
    default: Any = None
    prefill: str | None = None
    readonly: bool = False
    allow_correction: bool = False
    options: tuple[Option, ...] = ()
    option_list: str | None = None
    depends_on: str | None = None
    widget: str | None = None
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: I18n | None = None
    placeholder: I18n | None = None
    places: int | None = None
    mobile: bool = False
    min_age: int | None = None
    max_age: int | None = None
    must_be_true: bool = False
    area: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    item_label: I18n | None = None
    fields: tuple[Field, ...] = ()
    rules: tuple[Rule, ...] = ()  # a repeat's per-item rules
    group: str | None = None  # the shared field group it was inserted from
    parse: Parser = field(default=lambda raw, today: (raw, None), compare=False, repr=False)

    def option_labels(self) -> dict[str, I18n]:
        return {o.value: o.label for o in self.options}


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: I18n
    intro: I18n | None
    fields: tuple[Field, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    check: Compiled
    field: str
    message: I18n
    span: Span


@dataclass(frozen=True, slots=True)
class FeeLine:
    id: str
    label: I18n
    amount: int | Compiled
    when: Compiled | None
    span: Span


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    id: str
    title: I18n
    hint: I18n | None
    required: bool
    required_if: Compiled | None
    accept: tuple[str, ...]  # MIME types
    max_size_mb: int
    max_count: int
    registry: str | None
    type: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class LegalBasis:
    title: I18n
    url: str | None


@dataclass(frozen=True, slots=True)
class SubmissionError:
    """An error in a citizen's answers: keyed by field path, with the message in both languages."""

    path: str
    code: str
    message: I18n
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        message: Any = self.message.get(lang) if lang else self.message.as_dict()
        return {"loc": self.path, "type": self.code, "msg": message, "ctx": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Validation:
    values: Mapping[str, Any]
    errors: tuple[SubmissionError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


# Fast builders for the generated validator. A frozen dataclass's __init__ stores each field through
# object.__setattr__ (and resolves params' default factory): 0.3–0.5 µs per object, as much as
# checking a few fields. These fill the same slots directly, so the object is the same in every way
# (type, equality, hash, repr, pickling, immutability); tests/test_validator_codegen.py checks it.
_new = object.__new__
_set_error_path = SubmissionError.__dict__["path"].__set__
_set_error_code = SubmissionError.__dict__["code"].__set__
_set_error_message = SubmissionError.__dict__["message"].__set__
_set_error_params = SubmissionError.__dict__["params"].__set__
_set_values = Validation.__dict__["values"].__set__
_set_errors = Validation.__dict__["errors"].__set__


def submission_error(path: str, code: str, message: I18n, params: Mapping[str, Any] | None = None) -> SubmissionError:
    """`SubmissionError(path, code, message, params)`, without the dataclass's __init__."""
    error = _new(SubmissionError)
    _set_error_path(error, path)
    _set_error_code(error, code)
    _set_error_message(error, message)
    _set_error_params(error, {} if params is None else params)
    return error


def validation(values: Mapping[str, Any], errors: tuple[SubmissionError, ...]) -> Validation:
    """`Validation(values, errors)`, without the dataclass's __init__."""
    result = _new(Validation)
    _set_values(result, values)
    _set_errors(result, errors)
    return result
