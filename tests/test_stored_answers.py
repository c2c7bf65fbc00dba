"""Stored answers validate again to the same values.

A case keeps its validated values as JSON (cases._stored); guards, the JSON status, corrections and
registry checks validate those stored answers again later. Whatever passed once must pass again, to
the same values: a decimal field with `places` once refused its own stored 101.0 as too many places.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import load_catalog
from engine.run.cases import _stored
from tests.strategies import TODAY, answers_for

CATALOG = load_catalog(["service_defs"])


@pytest.mark.parametrize("service_id", sorted(CATALOG.services))
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(data=st.data())
def test_stored_values_validate_again_to_themselves(service_id: str, data: st.DataObject) -> None:
    service = CATALOG.services[service_id]
    first = service.validate(data.draw(answers_for(service, TODAY)), TODAY)
    assert first.ok, first.errors
    stored = json.loads(json.dumps(_stored(first.values)))  # what the database gives back
    again = service.validate(stored, TODAY)
    assert again.errors == ()
    assert _stored(again.values) == _stored(first.values)
    assert service.validator.interpret(stored, TODAY) == again


@pytest.mark.parametrize(("text", "places", "ok"), [
    ("101.0", 0, True), ("101.5", 0, False), ("100", 0, True), ("12.50", 1, True), ("12.5", 1, True),
    ("12.55", 1, False), ("0.00", 0, True), ("1e2", 0, True), ("1.250e1", 1, True), ("-0.0", 0, True),
    ("0E+10", 0, True), ("0E-10", 0, True),
])
def test_trailing_zeros_are_no_decimal_places(text: str, places: int, ok: bool) -> None:
    from engine.compile.fields import number_parser

    parse = number_parser("decimal", None, None, places)
    assert (parse(text, TODAY)[1] is None) is ok
    assert (parse(float(text), TODAY)[1] is None) is ok


@pytest.mark.parametrize(("text", "places"), [
    ("1.00000000000000000000000000001", 2), ("1e-999999999", 2), ("12345678901234567890123456789012345.5", 0),
])
def test_places_are_counted_on_the_digits_as_written_never_rounded(text: str, places: int) -> None:
    """More than 28 digits (Decimal's default precision) or a tiny exponent are still too many places."""
    from engine.compile.fields import number_parser

    assert number_parser("decimal", None, None, places)(text, TODAY)[1] == ("too_many_places", {"places": places})


@given(digits=st.integers(0, 10**40), shift=st.integers(0, 45), zeros=st.integers(0, 5))
def test_decimal_places_are_the_digits_after_the_point_less_trailing_zeros(digits: int, shift: int, zeros: int) -> None:
    from decimal import Decimal

    from engine.compile.fields import decimal_places

    text = str(digits).rjust(shift + 1, "0")
    whole, fraction = (text[:-shift], text[-shift:]) if shift else (text, "")
    written = Decimal(f"{whole}.{fraction}{'0' * zeros}" if shift or zeros else whole)
    assert decimal_places(written) == len(fraction.rstrip("0"))
