"""Hypothesis strategies over compiled services: valid answers for any service, and invalid
values per field type. The catalog simulation, the validator properties and the portal tests
all draw from here, so "valid" means one thing across the suite.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from hypothesis import strategies as st

from engine.compile.fields import date_bound
from engine.compile.model import Field
from engine.compile.service import Service

TODAY = dt.date(2026, 6, 15)
CYRILLIC = "АБВГДЕЖЗИЙКЛМНОӨПРСТУҮФХЦЧШЩЭЮЯ"
_WORD_ALPHABET = "абвгдеёжзийклмноөпрстуүфхцчшэюяabcdefghijklmnopqrstuvwxyz"


def _words(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[str]:
    low, high = max(min_size, 1), max(min_size, min(max_size, 40))
    return st.text(alphabet=_WORD_ALPHABET + " ", min_size=low, max_size=high).map(str.strip).filter(
        lambda s: low <= len(s) <= high)


def register_number(born_from: dt.date, born_to: dt.date) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        born = draw(st.dates(min_value=born_from, max_value=born_to))
        month = born.month + (20 if born.year >= 2000 else 0)
        letters = draw(st.sampled_from(CYRILLIC)) + draw(st.sampled_from(CYRILLIC))
        tail = draw(st.integers(0, 99))
        return f"{letters}{born.year % 100:02d}{month:02d}{born.day:02d}{tail:02d}"
    return build()


def _date_range(f: Field, today: dt.date) -> tuple[dt.date, dt.date]:
    low = date_bound(f.min)(today) if isinstance(f.min, str) else dt.date(1950, 1, 1)  # type: ignore[misc]
    high = date_bound(f.max)(today) if isinstance(f.max, str) else today + dt.timedelta(days=365)  # type: ignore[misc]
    return low, max(low, high)


def _digits(n_min: int, n_max: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n_min, max_size=n_max or n_min)


def scalar_value(f: Field, today: dt.date, parent_value: Any = None) -> st.SearchStrategy[Any]:
    kind = f.type
    if kind in ("text", "textarea"):
        if f.pattern:
            strategy = st.from_regex(f.pattern, fullmatch=True)
            low, high = f.min_length or 0, f.max_length or 200
            return strategy.map(str.strip).filter(lambda s: low <= len(s) <= high and s != "")
        return _words(f.min_length or 1, f.max_length or 30)
    if kind in ("integer", "money"):
        low = int(f.min) if f.min is not None else 0
        high = int(f.max) if f.max is not None else low + 10**6
        return st.integers(low, high).flatmap(lambda n: st.sampled_from([n, str(n)]))
    if kind == "decimal":
        low = float(f.min) if f.min is not None else 0.0
        high = float(f.max) if f.max is not None else low + 10**5
        places = f.places if f.places is not None else 2
        return st.integers(int(low * 10**places) + 1, max(int(high * 10**places) - 1, int(low * 10**places) + 1)).map(
            lambda n: f"{n / 10**places:.{places}f}")
    if kind in ("date", "datetime"):
        low, high = _date_range(f, today)
        dates = st.dates(min_value=low, max_value=high)
        return dates.map(lambda d: d.isoformat() + ("T10:30:00" if kind == "datetime" else ""))
    if kind == "boolean":
        return st.just(True) if f.must_be_true else st.booleans()
    if kind == "choice":
        options = [o.value for o in f.options if f.depends_on is None or o.parent == parent_value]
        return st.sampled_from(options) if options else st.nothing()
    if kind == "multichoice":
        values = [o.value for o in f.options]
        low = f.min_items or 1
        high = min(f.max_items or len(values), len(values))
        return st.lists(st.sampled_from(values), min_size=low, max_size=max(low, high), unique=True)
    if kind == "email":
        return st.from_regex(r"[a-z]{1,10}\.[a-z]{1,10}", fullmatch=True).map(lambda s: f"{s}@example.mn")
    if kind == "phone":
        return _digits(7).map(lambda d: "9" + d)
    if kind == "register":
        low_age, high_age = f.min_age or 0, f.max_age if f.max_age is not None else 90
        born_to = dt.date(today.year - low_age, 1, 1) if low_age else today - dt.timedelta(days=1)
        born_from = dt.date(today.year - high_age, 12, 31) if f.max_age is not None else dt.date(1936, 1, 1)
        return register_number(max(born_from, dt.date(1936, 1, 1)), born_to)
    if kind == "company_register":
        return _digits(7)
    if kind == "person_or_company":
        return st.one_of(_digits(7), register_number(dt.date(1950, 1, 1), dt.date(2005, 1, 1)))
    if kind == "plate_number":
        return st.tuples(_digits(4), st.text(alphabet=CYRILLIC, min_size=3, max_size=3)).map(lambda t: f"{t[0]} {t[1]}")
    if kind == "property_number":
        return _digits(10).map(lambda d: "Ү-" + d)
    if kind == "parcel_id":
        return _digits(6, 14)
    if kind == "vin":
        return st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=17, max_size=17)
    if kind == "passport_number":
        return _digits(7).map(lambda d: "E" + d)
    if kind == "postal_code":
        return _digits(5)
    if kind == "url":
        return st.from_regex(r"[a-z]{1,12}", fullmatch=True).map(lambda s: f"https://{s}.gov.mn/")
    if kind == "geo_point":
        return st.tuples(st.integers(42000, 52000), st.integers(88000, 119000)).map(
            lambda t: f"{t[0] / 1000:.3f}, {t[1] / 1000:.3f}")
    raise AssertionError(f"no strategy for {kind}")


def address_value(f: Field, service_options: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, str]:
        street = draw(_words(3, 40))
        if f.area == "ulaanbaatar":
            district = draw(st.sampled_from([o.value for o in service_options["ub_districts"]]))
            khoroos = [o.value for o in service_options["ub_khoroos"] if o.parent == district]
            return {"district": district, "khoroo": draw(st.sampled_from(khoroos)), "street": street}
        region = draw(st.sampled_from([o.value for o in service_options["regions"]]))
        if region == "ulaanbaatar":
            soum = draw(st.sampled_from([o.value for o in service_options["ub_districts"]]))
        else:
            soum = draw(_words(3, 20))
        return {"region": region, "soum_district": soum, "bag_khoroo": draw(_words(1, 20)), "street": street}
    return build()


def answers_for(service: Service, today: dt.date = TODAY) -> st.SearchStrategy[dict[str, Any]]:
    """Answers to every field (hidden ones included: the validator must drop them).

    Field values are drawn independently, so a cross-field rule (an end date after a start date,
    a part no larger than the whole) can fail by chance; such answers are not valid submissions
    and are filtered out. Only the service's own `rule:` errors filter: any other error still fails.
    """
    options = service.validator.address_options

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        return _fill(draw, service.fields, today, options)
    if not service.rules:
        return build()
    return build().filter(lambda answers: not any(
        e.code.startswith("rule:") for e in service.validate(answers, today).errors))


def _fill(draw: st.DrawFn, fields: tuple[Field, ...], today: dt.date, options: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for f in fields:
        if f.type == "repeat":
            low = f.min_items if f.min_items is not None else 1
            high = min(f.max_items if f.max_items is not None else low + 2, low + 2)
            count = draw(st.integers(low, max(low, high)))
            answers[f.id] = [_fill(draw, f.fields, today, options) for _ in range(count)]
        elif f.type == "address":
            answers[f.id] = draw(address_value(f, dict(options)))
        else:
            parent = answers.get(f.depends_on) if f.depends_on else None
            answers[f.id] = draw(scalar_value(f, today, parent))
    return answers


INVALID: dict[str, Any] = {
    "integer": "twelve", "money": "12.5", "decimal": "1,2,3", "date": "2021-02-30", "datetime": "yesterday",
    "boolean": "perhaps", "choice": "not-an-option", "multichoice": ["not-an-option"], "email": "no-at-sign",
    "phone": "12345", "register": "УБ99133212", "company_register": "12AB", "person_or_company": "ZZ",
    "plate_number": "УБА", "property_number": "123", "parcel_id": "abc", "vin": "IOQ", "passport_number": "??",
    "postal_code": "1234", "url": "ftp:/x", "geo_point": "0, 0",
}
