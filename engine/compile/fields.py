"""Compile each field type into a parser: raw answer in, clean typed value or an error code out.

Form posts give text, the JSON API gives typed values; both go through the same parser so the
two doors accept exactly the same answers. Regexes and bounds are prepared here, once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.compile import mongolia
from engine.compile.model import ParseError, Parser

Result = tuple[Any, ParseError | None]
_MAX_DIGITS = 4300
_BOUND = re.compile(r"today(?:([+-])(\d+)([dmy]))?")


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return raw == [] or raw == {}


def date_bound(text: str | None) -> Callable[[dt.date], dt.date] | None:
    """'today', 'today-18y', 'today+30d' or an ISO date → a function of today's date."""
    if text is None:
        return None
    match = _BOUND.fullmatch(text)
    if match is None:
        fixed = dt.date.fromisoformat(text)
        return lambda today: fixed
    sign, amount, unit = match.groups()
    if sign is None:
        return lambda today: today
    n = int(amount) * (1 if sign == "+" else -1)
    if unit == "d":
        return lambda today: today + dt.timedelta(days=n)
    months = n if unit == "m" else 12 * n
    return lambda today: _add_months(today, months)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError("unreachable")


def text_parser(
    min_length: int | None,
    max_length: int | None,
    pattern: str | None,
    normalise: Callable[[str], str] = str.strip,
    check: Callable[[str, dt.date], ParseError | None] | None = None,
) -> Parser:
    compiled = re.compile(pattern) if pattern else None

    def parse(raw: Any, today: dt.date) -> Result:
        if type(raw) is str:  # the common case first, with is_empty's test for text inlined (hot path)
            if not raw.strip():
                return None, None
            value = normalise(raw)
        elif is_empty(raw):
            return None, None
        elif not isinstance(raw, (str, int)) or isinstance(raw, bool):
            return None, ("type_text", {})
        else:
            value = normalise(str(raw))
        if min_length is not None and len(value) < min_length:
            return None, ("too_short", {"min_length": min_length})
        if max_length is not None and len(value) > max_length:
            return None, ("too_long", {"max_length": max_length})
        if compiled is not None and not compiled.fullmatch(value):
            return None, ("pattern", {})
        if check is not None:
            error = check(value, today)
            if error is not None:
                return None, error
        return value, None

    return parse


def _pattern_check(regex: re.Pattern[str], code: str) -> Callable[[str, dt.date], ParseError | None]:
    return lambda value, _today: None if regex.fullmatch(value) else (code, {})


def decimal_places(number: Decimal) -> int:
    """Digits after the point, trailing zeros not counted: 101.0 has none and "12.50" one (the validator
    stores 101 as the float 101.0, and stored answers must pass again when a guard or a correction reads
    them). Counted on the digits as written: Decimal.normalize() would first round to 28 digits, which
    made "1.00000000000000000000000000001" or "1e-999999999" look like whole numbers."""
    _sign, digits, exponent = number.as_tuple()
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(int(exponent) + trailing))


def number_parser(kind: str, minimum: Any, maximum: Any, places: int | None) -> Parser:
    code = {"integer": "type_integer", "money": "type_money"}.get(kind, "type_number")
    whole = kind in ("integer", "money")

    def parse(raw: Any, today: dt.date) -> Result:
        if is_empty(raw):
            return None, None
        if isinstance(raw, bool):
            return None, (code, {})
        if isinstance(raw, str):
            text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("₮", "")
            text = text.replace(",", "") if kind == "money" else text.replace(",", ".")
            try:
                number = Decimal(text)
            except InvalidOperation:
                return None, (code, {})
            # Text is the one door where an exponent can ask for a number of any size ("1e999999999" would
            # make int() build a billion-digit integer, and float() an infinity): refuse beyond what a JSON
            # integer can carry (CPython's 4,300-digit limit).
            if not number.is_finite() or number.adjusted() >= _MAX_DIGITS:
                return None, (code, {})
        elif isinstance(raw, (int, float)):
            if isinstance(raw, float) and not math.isfinite(raw):
                # JSON's Infinity/NaN: the same answer as the text "Infinity" gets (it crashed before).
                return None, (code, {})
            number = Decimal(str(raw))
        else:
            return None, (code, {})
        if whole:
            if number != number.to_integral_value():
                return None, (code, {})
            value: Any = int(number)
        else:
            if places is not None and decimal_places(number) > places:
                return None, ("too_many_places", {"places": places})
            value = float(number)
        if minimum is not None and value < minimum:
            return None, ("too_small", {"min": minimum})
        if maximum is not None and value > maximum:
            return None, ("too_large", {"max": maximum})
        return value, None

    return parse


def date_parser(minimum: str | None, maximum: str | None, with_time: bool = False) -> Parser:
    low, high = date_bound(minimum), date_bound(maximum)
    code = "type_datetime" if with_time else "type_date"

    def parse(raw: Any, today: dt.date) -> Result:
        if is_empty(raw):
            return None, None
        if not isinstance(raw, str):
            return None, (code, {})
        text = raw.strip()
        try:
            value: Any = dt.datetime.fromisoformat(text) if with_time else dt.date.fromisoformat(text)
        except ValueError:
            return None, (code, {})
        if not with_time and len(text) != 10:
            return None, (code, {})
        day = value.date() if with_time else value
        if low is not None and day < low(today):
            return None, ("date_too_early", {"min": low(today).isoformat()})
        if high is not None and day > high(today):
            return None, ("date_too_late", {"max": high(today).isoformat()})
        return value, None

    return parse


_TRUE = {"true", "yes", "1", "on", "тийм"}
_FALSE = {"false", "no", "0", "off", "үгүй"}


def boolean_parser(must_be_true: bool) -> Parser:
    def parse(raw: Any, today: dt.date) -> Result:
        if is_empty(raw):
            return None, None
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE:
            value = True
        elif isinstance(raw, str) and raw.strip().lower() in _FALSE:
            value = False
        else:
            return None, ("type_boolean", {})
        if must_be_true and not value:
            return None, ("required_true", {})
        return value, None

    return parse


def choice_parser(values: frozenset[str]) -> Parser:
    def parse(raw: Any, today: dt.date) -> Result:
        if is_empty(raw):
            return None, None
        if not isinstance(raw, str) or raw not in values:
            return None, ("not_an_option", {})
        return raw, None

    return parse


def multichoice_parser(values: frozenset[str], min_items: int | None, max_items: int | None) -> Parser:
    def parse(raw: Any, today: dt.date) -> Result:
        if is_empty(raw):
            return None, None
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            return None, ("not_an_option", {})
        chosen = list(dict.fromkeys(items))  # keep the order, drop repeats
        if any(v not in values for v in chosen):
            return None, ("not_an_option", {})
        if min_items is not None and len(chosen) < min_items:
            return None, ("too_few_items", {"min_items": min_items})
        if max_items is not None and len(chosen) > max_items:
            return None, ("too_many_items", {"max_items": max_items})
        return chosen, None

    return parse


def register_check(min_age: int | None, max_age: int | None) -> Callable[[str, dt.date], ParseError | None]:
    matched = register_matched_check(min_age, max_age)

    def check(value: str, today: dt.date) -> ParseError | None:
        if not mongolia.REGISTER.fullmatch(value):
            return ("register_format", {})
        return matched(value, today)

    return check


def register_matched_check(min_age: int | None, max_age: int | None) -> Callable[[str, dt.date], ParseError | None]:
    """The check of a register number already normalised and matching REGISTER: its birth date and age.

    Ages and "born in the future" are counted as of the validation's `today`, like date bounds: a
    correction is judged as of the filing day, so a birthday between filing and correcting changes nothing.
    """

    def check(value: str, today: dt.date) -> ParseError | None:
        born = mongolia.birth_date_of_normal(value)
        if born is None:
            return ("register_date", {})
        if born > today:
            return ("register_future", {})
        if min_age is None and max_age is None:
            return None
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if min_age is not None and years < min_age:
            return ("register_too_young", {"min_age": min_age})
        if max_age is not None and years > max_age:
            return ("register_too_old", {"max_age": max_age})
        return None

    return check


def _person_or_company(value: str, _today: dt.date) -> ParseError | None:
    if mongolia.COMPANY_REGISTER.fullmatch(value):
        return None
    if mongolia.REGISTER.fullmatch(value) and mongolia.register_birth_date(value) is not None:
        return None
    return ("person_or_company", {})


def _register_or_company_normalise(text: str) -> str:
    value = text.strip().replace(" ", "")
    return value if value.isdigit() else mongolia.normalise_register(value)


def _geo_point(value: str, _today: dt.date) -> ParseError | None:
    try:
        lat_text, lon_text = (part.strip() for part in value.split(","))
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return ("geo_point", {})
    # Mongolia's bounding box, with a small margin.
    if not (41.0 <= lat <= 52.5 and 87.0 <= lon <= 120.5):
        return ("geo_point", {})
    return None


# Identifier types: a normaliser and a pattern each, built once.
_SIMPLE: dict[str, tuple[re.Pattern[str], Callable[[str], str]]] = {
    "plate_number": (mongolia.PLATE, mongolia.normalise_plate),
    "property_number": (mongolia.PROPERTY_NUMBER, mongolia.normalise_register),
    "parcel_id": (mongolia.PARCEL_ID, lambda t: t.strip().replace(" ", "")),
    "vin": (mongolia.VIN, lambda t: t.strip().upper().replace(" ", "")),
    "passport_number": (mongolia.PASSPORT, lambda t: t.strip().upper().replace(" ", "")),
    "postal_code": (mongolia.POSTAL, str.strip),
    "url": (mongolia.URL, str.strip),
}


@dataclass(frozen=True, slots=True)
class ParserSpec:
    """What a scalar parser was built from (the bounds in force after the checker dropped broken
    ones), so the generated validator can inline the common case and call the parser otherwise."""

    kind: str
    params: Mapping[str, Any]


_SPECS: weakref.WeakKeyDictionary[Parser, ParserSpec] = weakref.WeakKeyDictionary()


def parser_spec(parse: Parser) -> ParserSpec | None:
    return _SPECS.get(parse)


# Identifier types whose answers, when they fully match this pattern (and are no longer than the
# bound), are already normal and valid: the normaliser leaves them as they are and the check
# accepts them. The generated validator takes such an answer as it is; tests/test_validator_codegen.py
# checks the claim against the parsers. Registers are absent: their check also reads the date.
CANONICAL: dict[str, tuple[re.Pattern[str], int | None]] = {
    "email": (mongolia.EMAIL, 254),
    "company_register": (mongolia.COMPANY_REGISTER, None),
    "person_or_company": (mongolia.COMPANY_REGISTER, None),
    "plate_number": (re.compile(r"[0-9]{4} [А-ЯЁӨҮ]{3}"), None),
    "property_number": (mongolia.PROPERTY_NUMBER, None),
    "parcel_id": (mongolia.PARCEL_ID, None),
    "vin": (mongolia.VIN, None),
    "passport_number": (mongolia.PASSPORT, None),
    "postal_code": (mongolia.POSTAL, None),
    "url": (mongolia.URL, 2000),
}


def canonical_pattern(spec: ParserSpec) -> tuple[re.Pattern[str], int | None] | None:
    if spec.kind == "phone":
        return (mongolia.MOBILE if spec.params.get("mobile") else mongolia.PHONE), None
    return CANONICAL.get(spec.kind)


def scalar_parser(kind: str, params: dict[str, Any]) -> Parser:
    """The parser for every field type except repeat and address, which the validator composes."""
    parser = _scalar_parser(kind, params)
    _SPECS[parser] = ParserSpec(kind, dict(params))
    return parser


def _scalar_parser(kind: str, params: dict[str, Any]) -> Parser:
    if kind in ("text", "textarea"):
        return text_parser(params.get("min_length"), params.get("max_length"), params.get("pattern"))
    if kind in ("integer", "decimal", "money"):
        return number_parser(kind, params.get("min"), params.get("max"), params.get("places"))
    if kind in ("date", "datetime"):
        return date_parser(params.get("min"), params.get("max"), with_time=kind == "datetime")
    if kind == "boolean":
        return boolean_parser(bool(params.get("must_be_true")))
    if kind == "choice":
        return choice_parser(params["values"])
    if kind == "multichoice":
        return multichoice_parser(params["values"], params.get("min_items"), params.get("max_items"))
    if kind == "email":
        return text_parser(None, 254, None, lambda t: t.strip(), _pattern_check(mongolia.EMAIL, "email"))
    if kind == "phone":
        regex = mongolia.MOBILE if params.get("mobile") else mongolia.PHONE
        return text_parser(
            None,
            None,
            None,
            mongolia.normalise_phone,
            _pattern_check(regex, "mobile" if params.get("mobile") else "phone"),
        )
    if kind == "register":
        return text_parser(
            None, None, None, mongolia.normalise_register, register_check(params.get("min_age"), params.get("max_age"))
        )
    if kind == "company_register":
        return text_parser(
            None,
            None,
            None,
            lambda t: t.strip().replace(" ", ""),
            _pattern_check(mongolia.COMPANY_REGISTER, "company_register"),
        )
    if kind == "person_or_company":
        return text_parser(None, None, None, _register_or_company_normalise, _person_or_company)
    if kind in _SIMPLE:
        regex, normalise = _SIMPLE[kind]
        return text_parser(None, 2000, None, normalise, _pattern_check(regex, kind))
    if kind == "geo_point":
        return text_parser(None, 100, None, str.strip, _geo_point)
    raise ValueError(f"no parser for field type {kind}")
