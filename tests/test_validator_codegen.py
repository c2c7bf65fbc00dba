"""The generated validator against the interpreter it replaces: the same `Validation` for every input.

The interpreter (`Validator.interpret`) is the reference. For every catalog service we draw valid
answers, spoil them field by field (deleted, blank, wrong type, near misses, arbitrary JSON), and
throw whole junk documents at both; values must agree in keys, order and types, errors in order,
paths, codes, params and both languages' messages. A crafted service then shows that author text
(labels, expression literals, patterns) reaches the generated source only as data.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import pickle
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import Catalog, load_catalog
from engine.compile import mongolia
from engine.compile.fields import CANONICAL, canonical_pattern, date_bound, parser_spec, scalar_parser
from engine.compile.model import Field, I18n, SubmissionError, Validation, submission_error, validation
from engine.compile.service import Service
from tests.conftest import CheckYaml, service_yaml
from tests.strategies import INVALID, TODAY, answers_for

CATALOG = load_catalog(["service_defs"])
SERVICE_IDS = sorted(CATALOG.services)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return CATALOG

SCALARS = (
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
JUNK = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
NEAR_MISSES = st.sampled_from([
    "", " ", "\t\n", "  x  ", "0", "-1", "00", "1e3", "1,5", "1 000", "12.50", "3.14159", "NaN", "Infinity", "-0",
    "true", "no", "тийм", "perhaps", "2026-02-30", "2026-06-15", " 2026-06-15 ", "20260615", "2026-W24-1",
    "2026-06-15T10:30:00", "УБ95120415", "уб95120415", "YБ95120415", "УБ95130415", "УБ40220101", "АА05320415",
    "99112233", "+976 9911 2233", "9911-2233", "55112233", "1234 уба", "1234УБА", "1234567", "12345678",
    "E1234567", "e1234567", "https://x.gov.mn/", "name@example.mn", "47.918, 106.917", "0, 0", "Ү-2206049413",
    "lost", "damaged", "organisation", "ulaanbaatar", "other", "work", "x" * 300,
])
DAYS = st.sampled_from([TODAY, dt.date(2024, 2, 29), dt.date(2026, 12, 31), dt.date(2030, 1, 1)])


def _edges(f: Field, today: dt.date) -> list[Any]:
    """Answers on and either side of the field's bounds, where a fast path that is off by one would show."""
    out: list[Any] = []
    kind = f.type
    for n in (f.min_length, f.max_length) if kind in ("text", "textarea") else ():
        if isinstance(n, int):
            out += ["a" * max(n - 1, 0), "a" * n, "a" * (n + 1), " " + "a" * n + " ", "a " * (n // 2 + 1)]
    for b in (f.min, f.max):
        if kind in ("integer", "money", "decimal") and isinstance(b, (int, float)) and not isinstance(b, bool):
            out += [b - 1, b, b + 1, b - 0.001, b + 0.001, float(b), str(b), int(b), -b]
        elif kind in ("date", "datetime") and isinstance(b, str):
            bound = date_bound(b)
            if bound is not None:
                day = bound(today)
                out += [(day + dt.timedelta(days=k)).isoformat() for k in (-1, 0, 1)]
                out += [(day + dt.timedelta(days=k)).isoformat() + "T00:00:00" for k in (-1, 0, 1)]
    if kind == "decimal":
        places = f.places if f.places is not None else 2
        out += [1.5, 1.25, 1.125, 0.1 + 0.2, 1e-7, 1e20, 12.0, round(1.0 + 10 ** -places, places),
                1.0 + 10 ** -(places + 1)]
    options = [o.value for o in f.options]
    for n in (f.min_items, f.max_items):
        if isinstance(n, int):
            out += [options[:n - 1], options[:n], options[:n + 1], [{}] * max(n - 1, 0), [{}] * n, [{}] * (n + 1)]
    return out


def _wrong(f: Field, today: dt.date, draw_edge: bool) -> st.SearchStrategy[Any]:
    options = [o.value for o in f.options]
    edges = _edges(f, today)
    if edges and draw_edge:
        return st.sampled_from(edges)
    return st.one_of(
        JUNK, NEAR_MISSES, st.just(INVALID.get(f.type, "??")),
        st.sampled_from(options) if options else st.nothing(),
        st.lists(st.sampled_from(options), max_size=4) if options else st.nothing(),
        st.floats(min_value=-1e6, max_value=1e6), st.integers(-100, 10**7),
    )


def _spoil(draw: st.DrawFn, fields: tuple[Field, ...], answers: dict[str, Any], today: dt.date) -> dict[str, Any]:
    out = dict(answers)
    for f in fields:
        how = draw(st.integers(0, 9))
        if how <= 4:
            if f.type == "repeat" and isinstance(out.get(f.id), list):
                out[f.id] = [_spoil(draw, f.fields, item, today) if isinstance(item, dict) else item
                             for item in out[f.id]]
            continue
        if how == 6:
            out.pop(f.id, None)
        elif how == 5:
            out[f.id] = draw(st.sampled_from([None, "", " ", [], {}]))
        else:
            out[f.id] = draw(_wrong(f, today, draw_edge=how <= 7))
    if draw(st.booleans()):
        out[draw(st.text(max_size=8))] = draw(JUNK)  # an answer to no question
    return out


@st.composite
def submissions(draw: st.DrawFn, service: Service, today: dt.date) -> Any:
    mode = draw(st.sampled_from(["valid", "spoiled", "spoiled", "junk"]))
    if mode == "junk":
        return draw(st.one_of(JUNK, st.dictionaries(st.sampled_from([f.id for f in service.fields]), JUNK)))
    answers = draw(answers_for(service, today))
    return answers if mode == "valid" else _spoil(draw, service.fields, answers, today)


def typed(value: Any) -> Any:
    """A value with its types spelled out, so 1, 1.0 and True are told apart."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, value)


def same(a: Validation, b: Validation) -> None:
    assert typed(dict(a.values)) == typed(dict(b.values))
    assert [(e.path, e.code, e.message, typed(dict(e.params))) for e in a.errors] == [
        (e.path, e.code, e.message, typed(dict(e.params))) for e in b.errors
    ]
    assert a == b


def check_agrees(service: Service, answers: Any, today: dt.date | None) -> None:
    reference = service.validator.interpret(answers, today)
    generated = service.validator.validate(answers, today)
    same(generated, reference)


@pytest.mark.parametrize("service_id", SERVICE_IDS)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_validator_equals_the_interpreter(catalog: Catalog, service_id: str, data: st.DataObject) -> None:
    service = catalog.services[service_id]
    today = data.draw(DAYS, label="today")
    check_agrees(service, data.draw(submissions(service, today), label="answers"), today)


def test_every_catalog_service_is_generated(catalog: Catalog) -> None:
    """No service falls back to the interpreter (the fallback exists for shapes the generator cannot write)."""
    for service in catalog.services.values():
        service.validate({}, TODAY)
        assert service.validator.generated_source is not None, service.id


def test_hostile_inputs(catalog: Catalog) -> None:
    service = catalog.services["residence-permit"]
    for answers in (None, [], "answers", 12, {"family_members": [{}] * 10_000},
                    {"family_members": [1, 2]}, {"family_members": {"a": 1}}, {"stay_address": ["x"]},
                    {"stay_address": {"region": 1, "street": " "}}, {"duration_months": float("inf")},
                    {"duration_months": float("nan")}, {"duration_months": 10**30}, {"sponsor_kind": ["x"] * 10_000}):
        check_agrees(service, answers, TODAY)
    multi = next(s for s in catalog.services.values() if any(f.type == "multichoice" for f in s.fields))
    field = next(f for f in multi.fields if f.type == "multichoice")
    check_agrees(multi, {field.id: [field.options[0].value] * 10_000}, TODAY)


ADDRESS_SERVICES = sorted(s.id for s in CATALOG.services.values() if any(f.type == "address" for f in s.fields))
ADDRESS_VALUES = sorted({  # every district, khoroo and region the services know
    o.value for s in CATALOG.services.values() for options in s.validator.address_options.values() for o in options
})


def _part_spoils() -> st.SearchStrategy[Any]:
    """What one part of an address may be: the generated code takes a whole address inline only when
    every part would pass the AddressCheck, so each of these must reach it (or agree with it)."""
    return st.one_of(
        st.sampled_from([None, "", " ", "\t", 1, True, ["x"], {}, "x" * 200, "x" * 201, " " + "x" * 200 + " ",
                         "not-an-option", "ulaanbaatar", "  ulaanbaatar "]),
        st.sampled_from(ADDRESS_VALUES),
        st.sampled_from(ADDRESS_VALUES).map(lambda v: f" {v}\n"),
        st.text(max_size=4),
    )


@pytest.mark.parametrize("service_id", ADDRESS_SERVICES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_address_parts_agree(catalog: Catalog, service_id: str, data: st.DataObject) -> None:
    """Valid addresses with parts spoiled one or two at a time (the whole-answer spoils above seldom
    make an address that is right but for one part: the inline path's edge)."""
    service = catalog.services[service_id]
    answers = data.draw(answers_for(service, TODAY), label="answers")
    for f in service.fields:
        if f.type != "address":
            continue
        address = dict(answers[f.id]) if isinstance(answers.get(f.id), dict) else {}
        parts = ("district", "khoroo", "street", "region", "soum_district", "bag_khoroo")
        for part in data.draw(st.lists(st.sampled_from(parts), max_size=2), label=f"{f.id} parts"):
            if data.draw(st.booleans()):
                address.pop(part, None)
            else:
                address[part] = data.draw(_part_spoils(), label=part)
        answers[f.id] = address
    check_agrees(service, answers, TODAY)


def test_the_builders_make_the_same_objects() -> None:
    """The generated code builds errors and results with model.submission_error/validation, not the
    dataclasses' __init__: the objects must be indistinguishable."""
    label = I18n("Нэр", "Name")
    pairs = [
        (submission_error("a.b[0].c", "required", label), SubmissionError("a.b[0].c", "required", label)),
        (submission_error("x", "too_long", label, {"max_length": 3}),
         SubmissionError("x", "too_long", label, {"max_length": 3})),
    ]
    for fast, slow in pairs:
        assert type(fast) is SubmissionError and fast == slow and repr(fast) == repr(slow) and hash(fast.path) == hash(
            slow.path)
        assert pickle.loads(pickle.dumps(fast)) == slow and fast.as_dict() == slow.as_dict()
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.code = "other"  # type: ignore[misc]
    first, second = (submission_error("p", "c", label) for _ in range(2))
    assert first.params == {} and first.params is not second.params  # a fresh dict, as default_factory gives
    errors = tuple(fast for fast, _ in pairs)
    fast_result, slow_result = validation({"a": 1}, errors), Validation({"a": 1}, errors)
    assert type(fast_result) is Validation and fast_result == slow_result and repr(fast_result) == repr(slow_result)
    assert pickle.loads(pickle.dumps(fast_result)) == slow_result and not fast_result.ok
    assert validation({}, ()).ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast_result.errors = ()  # type: ignore[misc]


def test_today_defaults_to_the_real_date(catalog: Catalog) -> None:
    service = catalog.services["residence-permit"]
    check_agrees(service, {"entry_date": dt.date.today().isoformat()}, None)


# --- the fast paths' claims about the parsers ------------------------------------------------------

@pytest.mark.parametrize("kind", [*CANONICAL, "phone", "mobile"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_canonical_answer_is_what_the_parser_returns(kind: str, data: st.DataObject) -> None:
    params = {"mobile": True} if kind == "mobile" else {}
    parse = scalar_parser("phone" if kind == "mobile" else kind, params)
    spec = parser_spec(parse)
    assert spec is not None
    found = canonical_pattern(spec)
    assert found is not None
    regex, longest = found
    text = data.draw(st.from_regex(regex, fullmatch=True))
    if longest is None or len(text) <= longest:
        assert parse(text, TODAY) == (text, None)


@given(st.from_regex(mongolia.REGISTER, fullmatch=True))
def test_a_matching_register_is_already_normal(text: str) -> None:
    assert mongolia.normalise_register(text) == text


@pytest.mark.parametrize("kind", ["integer", "money", "decimal"])
@pytest.mark.parametrize("raw", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_are_not_numbers(kind: str, raw: float) -> None:
    code = {"integer": "type_integer", "money": "type_money"}.get(kind, "type_number")
    assert scalar_parser(kind, {"places": 2})(raw, TODAY) == (None, (code, {}))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9), st.integers(0, 4))
def test_decimal_places_fast_path_agrees(raw: float, places: int) -> None:
    """The generated code counts a float's places on its repr and leaves the rest to the parser, so what
    it takes the parser must take; the parser asks Decimal(str(raw)), trailing zeros not counted."""
    text = repr(raw)
    if "e" in text:
        return  # the generated code leaves these to the parser
    value, error = scalar_parser("decimal", {"places": places})(raw, TODAY)
    if len(text) - text.index(".") - 1 <= places:
        assert error is None
    assert (error is None) == (len(text.rstrip("0")) - text.index(".") - 1 <= places)
    if error is None:
        assert value == raw and type(value) is float


# --- author text is data, never code ----------------------------------------------------------------

HOSTILE = "\"\"\" ''' {label} {0} %s \\ \n__import__('os').system('echo pwned') }}{{"
HOSTILE_LITERAL = "\"\"\"); __import__('os').system('echo pwned'); (\"\"\" {x} \\n"


@pytest.fixture
def hostile(check_yaml: CheckYaml) -> Service:
    label = {"mn": HOSTILE, "en": "en " + HOSTILE}
    sections = [{
        "id": "main",
        "title": {"mn": "Үндсэн", "en": "Main"},
        "fields": [
            {"id": "nickname", "type": "text", "label": label, "required": False, "max_length": 80,
             "pattern": r"[^\"']*|\"\"\"|.*__import__.*"},
            {"id": "secret", "type": "text", "label": label,
             "show_if": "nickname == " + repr(HOSTILE_LITERAL)},
            {"id": "note", "type": "text", "label": label, "required": False,
             "required_if": "nickname != " + repr(HOSTILE_LITERAL) + " and nickname != null"},
            {"id": "items", "type": "repeat", "label": label, "required": False, "fields": [
                {"id": "what", "type": "text", "label": label, "show_if": "nickname == " + repr(HOSTILE_LITERAL)},
            ]},
        ],
    }]
    rules = [{"id": "not_the_same", "check": "note != " + repr(HOSTILE_LITERAL), "field": "note",
              "message": label}]
    catalog = check_yaml(service_yaml(yaml.safe_dump({"sections": sections, "rules": rules}, allow_unicode=True)))
    assert catalog.errors == [], [p.message for p in catalog.errors]
    return catalog.services["sample"]


def test_author_text_reaches_the_source_only_as_literals(hostile: Service) -> None:
    cases = [{}, {"nickname": HOSTILE_LITERAL}, {"nickname": HOSTILE_LITERAL, "secret": "s", "note": HOSTILE_LITERAL,
                                                 "items": [{"what": "w"}, {}]},
             {"nickname": "plain", "items": [{"what": 1}]}, {"nickname": "it's"}, {"nickname": "x" * 100}]
    for answers in cases:
        check_agrees(hostile, answers, TODAY)
    source = hostile.validator.generated_source
    assert source is not None
    assert HOSTILE not in source and "__import__" not in source.replace(repr(HOSTILE_LITERAL), "")
    tree = ast.parse(source)
    assert HOSTILE_LITERAL in {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    # Every name in the source is one the generator makes up, or one of a few builtins.
    ours = re.compile(r"[a-z]+[0-9]*|[A-Z][A-Z_]*_[0-9]+|_[a-z_]+|Mapping|SubmissionError|Validation")
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert all(ours.fullmatch(name) for name in names), names
    assert {name for name in names if name.isalpha() and name.islower()} <= {
        "answers", "today", "get", "errors", "values", "r", "raw", "minimum", "bounds", "t", "str", "len",
        "isinstance", "list", "enumerate", "repr", "dict", "tuple"}
    # The label travels into messages untouched (it is a format argument, never a template).
    (error,) = hostile.validate({"nickname": HOSTILE_LITERAL}, TODAY).errors
    assert error.path == "secret" and error.message.en == "Enter en " + HOSTILE
