"""The submission validator on inline and generated services: valid answers pass, a bad field is caught there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import load_catalog
from engine.compile.service import Service
from tests.conftest import FIXTURE_PROJECT, CheckYaml, codes, service_yaml
from tests.service_strategies import service_def
from tests.strategies import INVALID, TODAY, answers_for

SAMPLE = service_yaml("""\
sections:
  - id: main
    title: {mn: Үндсэн, en: Main}
    fields:
      - id: reason
        type: choice
        label: {mn: Шалтгаан, en: Reason}
        options:
          - {value: lost, label: {mn: Үрэгдсэн, en: Lost}}
          - {value: damaged, label: {mn: Гэмтсэн, en: Damaged}}
      - {id: damage, type: textarea, label: {mn: Гэмтэл, en: Damage}, show_if: "reason == 'damaged'", max_length: 10}
      - {id: phone, type: phone, label: {mn: Утас, en: Phone}, required: false, required_if: "reason == 'lost'"}
      - {id: arrival, type: date, label: {mn: Ирэх, en: Arrival}}
      - {id: departure, type: date, label: {mn: Явах, en: Departure}}
      - id: vehicles
        type: repeat
        label: {mn: Тээврийн хэрэгсэл, en: Vehicles}
        min_items: 1
        max_items: 2
        fields:
          - {id: plate, type: plate_number, label: {mn: Дугаар, en: Plate}}
          - {id: engine_cc, type: integer, label: {mn: Багтаамж, en: Engine}, min: 50}
rules:
  - id: departure_after_arrival
    check: departure > arrival
    field: departure
    message: {mn: Явах огноо ирэхээс хойш байна, en: Departure must be after arrival}
""")

GOOD = {"reason": "damaged", "damage": "torn", "arrival": "2026-01-01", "departure": "2026-01-05",
        "vehicles": [{"plate": "1234 уба", "engine_cc": "1500"}]}


@pytest.fixture
def sample(check_yaml: CheckYaml) -> Service:
    catalog = check_yaml(SAMPLE)
    assert catalog.errors == []
    return catalog.services["sample"]


def paths(service: Service, answers: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in service.validate(answers, TODAY).errors]


def test_valid_answers_are_cleaned(sample: Service) -> None:
    result = sample.validate(GOOD, TODAY)
    assert result.ok, result.errors
    assert result.values["vehicles"] == [{"plate": "1234 УБА", "engine_cc": 1500}]
    assert result.values["arrival"] == dt.date(2026, 1, 1)


def test_hidden_fields_are_dropped_not_validated(sample: Service) -> None:
    result = sample.validate({**GOOD, "reason": "lost", "phone": "99112233", "damage": "x" * 100}, TODAY)
    assert result.ok and "damage" not in result.values


def test_required_if_follows_the_condition(sample: Service) -> None:
    assert ("phone", "required") in paths(sample, {**GOOD, "reason": "lost"})
    assert ("phone", "required") not in paths(sample, GOOD)


def test_cross_field_rule_reports_at_its_field_in_both_languages(sample: Service) -> None:
    (error,) = sample.validate({**GOOD, "departure": "2025-12-31"}, TODAY).errors
    assert error.path == "departure"
    assert error.message.en == "Departure must be after arrival" and error.message.mn


def test_repeat_bounds_and_item_paths(sample: Service) -> None:
    assert ("vehicles", "too_few_items") in paths(sample, {**GOOD, "vehicles": []})
    assert ("vehicles", "too_many_items") in paths(sample, {**GOOD, "vehicles": GOOD["vehicles"] * 3})
    assert ("vehicles[0].engine_cc", "too_small") in paths(sample, {**GOOD, "vehicles": [{"plate": "1234 УБА",
                                                                                          "engine_cc": 10}]})


def test_every_error_is_collected(sample: Service) -> None:
    found = paths(sample, {"reason": "stolen", "arrival": "2026-02-30", "vehicles": [{"plate": "x"}]})
    assert {p for p, _ in found} >= {"reason", "arrival", "departure", "vehicles[0].plate", "vehicles[0].engine_cc"}


def test_unknown_answers_are_ignored(sample: Service) -> None:
    result = sample.validate({**GOOD, "is_admin": True}, TODAY)
    assert result.ok and "is_admin" not in result.values


@pytest.mark.parametrize("register", ["УБ95120415", "уб95120415", "YБ95120415", "АА05320415"])
def test_register_numbers_accepted(check_yaml: CheckYaml, register: str) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: person, type: register, label: {mn: РД, en: Register}}
    """))
    assert catalog.services["sample"].validate({"person": register}, TODAY).ok


@pytest.mark.parametrize(("register", "code"), [
    ("УБ95130415", "register_date"),  # month 13
    ("УБ95023015", "register_date"),  # 30 February
    ("УБ40220101", "register_future"),  # born 2040
    ("УБ951204", "register_format"),
    ("1234567890", "register_format"),
])
def test_register_numbers_rejected(check_yaml: CheckYaml, register: str, code: str) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: person, type: register, label: {mn: РД, en: Register}}
    """))
    assert [e.code for e in catalog.services["sample"].validate({"person": register}, TODAY).errors] == [code]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(born=st.dates(min_value=dt.date(1955, 3, 1), max_value=dt.date(2005, 12, 31)), days=st.integers(-400, 400))
def test_register_ages_are_counted_as_of_the_validations_today(check_yaml: CheckYaml, born: dt.date, days: int) -> None:
    """Ages and 'born in the future' are judged on the `today` the validation is given (a correction is
    judged as of its filing day), in the generated validator and the interpreter alike."""
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: person, type: register, min_age: 18, label: {mn: РД, en: Register}}
    """))
    service = catalog.services["sample"]
    month = born.month + (20 if born.year >= 2000 else 0)
    register = f"УБ{born.year % 100:02d}{month:02d}{born.day:02d}15"
    leap_day = (born.month, born.day) == (2, 29)
    eighteenth = dt.date(born.year + 18, 3, 1) if leap_day else born.replace(year=born.year + 18)
    today = eighteenth + dt.timedelta(days=days)
    expected = [] if today >= eighteenth else ["register_too_young"]
    assert [e.code for e in service.validate({"person": register}, today).errors] == expected
    assert [e.code for e in service.validator.interpret({"person": register}, today).errors] == expected
    before_birth = born - dt.timedelta(days=1 + abs(days))
    assert [e.code for e in service.validate({"person": register}, before_birth).errors] == ["register_future"]


# --- generated services ------------------------------------------------------------------------

def compile_generated(definition: dict[str, Any], tmp: Path) -> Service:
    import shutil
    if not (tmp / "project").exists():
        shutil.copytree(FIXTURE_PROJECT, tmp / "project")
    target = tmp / "project" / "service_defs" / "central" / "gasr" / "generated.yaml"
    target.write_text(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")
    catalog = load_catalog([tmp / "project" / "service_defs"], root=tmp / "project")
    assert catalog.errors == [], codes(catalog)
    return catalog.services["generated"]


_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(definition=service_def(), data=st.data())
def test_generated_service_accepts_generated_answers(definition: dict[str, Any], data: st.DataObject,
                                                     tmp_path: Path) -> None:
    service = compile_generated(definition, tmp_path)
    answers = data.draw(answers_for(service))
    result = service.validate(answers, TODAY)
    assert result.ok, [(e.path, e.code, answers.get(e.path.split("[")[0].split(".")[0])) for e in result.errors]
    office = service.route(result.values)
    assert office in ("gasr-bayangol", "gasr-central")


@_SETTINGS
@given(definition=service_def(), data=st.data())
def test_one_bad_field_is_rejected_at_that_field(definition: dict[str, Any], data: st.DataObject,
                                                 tmp_path: Path) -> None:
    service = compile_generated(definition, tmp_path)
    answers = data.draw(answers_for(service))
    visible = service.validate(answers, TODAY).values
    candidates = [f for f in service.fields if f.type in INVALID and f.id in visible]
    if not candidates:
        return
    target = data.draw(st.sampled_from(candidates))
    bad = {**answers, target.id: INVALID[target.type]}
    errors = service.validate(bad, TODAY).errors
    assert target.id in {e.path for e in errors}


def test_a_shared_group_can_be_shown_on_a_condition(check_yaml: CheckYaml) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - id: kind
            type: choice
            label: {mn: Төрөл, en: Kind}
            options:
              - {value: person, label: {mn: Иргэн, en: Person}}
              - {value: company, label: {mn: Байгууллага, en: Company}}
          - {use: applicant, show_if: "kind == 'person'"}
    """))
    service = catalog.services["sample"]
    assert service.validate({"kind": "company"}, TODAY).ok
    assert {e.path for e in service.validate({"kind": "person"}, TODAY).errors} == {"applicant_register",
                                                                                    "applicant_phone"}
    broken = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: kind, type: text, label: {mn: Төрөл, en: Kind}}
          - {use: applicant, show_if: "knd == 'person'"}
    """))
    (problem,) = broken.errors
    assert problem.code == "EXPR002" and problem.span is not None and problem.span.line == 17 and problem.span.col == 36


def test_a_required_cascade_with_no_options_for_a_parent_value_is_warned(check_yaml: CheckYaml) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - id: city
            type: choice
            label: {mn: Хот, en: City}
            options:
              - {value: ub, label: {mn: УБ, en: UB}}
              - {value: erdenet, label: {mn: Эрдэнэт, en: Erdenet}}
          - id: unit
            type: choice
            depends_on: city
            label: {mn: Нэгж, en: Unit}
            options:
              - {value: first, label: {mn: Нэг, en: First}, parent: ub}
    """))
    assert [(p.code, p.severity) for p in catalog.problems] == [("FIELD013", "warning")]
    assert "'erdenet'" in catalog.problems[0].message


def test_prefill_from_a_registry_names_an_attribute_the_operation_returns(check_yaml: CheckYaml) -> None:
    body = """\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: surname, type: text, label: {mn: Овог, en: Surname}, prefill: registry.WS100101.%s}
    """
    assert check_yaml(service_yaml(body % "lastname")).problems == ()
    (problem,) = check_yaml(service_yaml(body % "lastnme")).problems
    assert problem.code == "FIELD011" and "did you mean 'lastname'" in (problem.hint or "")


def test_a_repeat_rule_is_checked_for_each_item(check_yaml: CheckYaml) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - id: periods
            type: repeat
            label: {mn: Ажилласан хугацаа, en: Employment periods}
            fields:
              - {id: start, type: date, label: {mn: Эхэлсэн, en: Start}}
              - {id: end, type: date, label: {mn: Дууссан, en: End}}
            rules:
              - id: start_before_end
                check: start < end
                field: end
                message: {mn: Дууссан огноо эхэлснээс хойш байна, en: The end must be after the start}
    """))
    assert catalog.errors == []
    service = catalog.services["sample"]
    periods = [{"start": "2020-01-01", "end": "2021-01-01"}, {"start": "2022-05-01", "end": "2022-01-01"}]
    errors = service.validate({"periods": periods}, TODAY).errors
    assert [(e.path, e.code) for e in errors] == [("periods[1].end", "rule:start_before_end")]
    assert errors[0].message.en == "The end must be after the start"
    broken = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - id: periods
            type: repeat
            label: {mn: Хугацаа, en: Periods}
            fields:
              - {id: start, type: date, label: {mn: Эхэлсэн, en: Start}}
            rules:
              - {id: bad, check: "start < finish", field: start, message: {mn: Алдаа, en: Wrong}}
    """))
    assert [p.code for p in broken.errors] == ["EXPR002"]


def test_a_number_written_with_a_huge_exponent_is_refused_quickly() -> None:
    """'1e999999999' in a form post once made int() build a billion-digit integer (a denial of service)."""
    from engine.compile.fields import number_parser

    today = dt.date(2026, 1, 1)
    for kind in ("integer", "money", "decimal"):
        parse = number_parser(kind, None, None, None)
        for text in ("1e999999999", "-1E4300", "9e99999"):
            value, error = parse(text, today)
            assert value is None and error is not None, (kind, text)
        assert parse("12e2", today) == ((1200 if kind != "decimal" else 1200.0), None)
