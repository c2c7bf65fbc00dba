"""Realistic inputs shared by the figures: submissions drawn with the test suite's strategies, fixed seed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from engine.compile.model import Field
from engine.compile.service import Service
from tests.strategies import INVALID, TODAY, answers_for

SEED = 20261126


def field_count(fields: tuple[Field, ...]) -> int:
    return sum(1 + field_count(f.fields) for f in fields)


def largest(services: list[Service], count: int) -> list[Service]:
    """The services with the most fields (nested ones counted), largest first; ties by id."""
    return sorted(services, key=lambda s: (-field_count(s.fields), s.id))[:count]


def draw_answers(service: Service, count: int, today: dt.date = TODAY) -> list[dict[str, Any]]:
    """`count` valid answer sets for the service, the same ones on every run (fixed seed, no database)."""
    found: list[dict[str, Any]] = []

    @seed(SEED)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(answers_for(service, today))
    def collect(answers: dict[str, Any]) -> None:
        found.append(answers)

    collect()
    return found[:count]


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def json_submissions(service: Service, count: int, today: dt.date = TODAY) -> list[dict[str, Any]]:
    """Valid submissions in the JSON API's typed form (numbers as numbers), the validator's own output."""
    out = []
    for answers in draw_answers(service, count, today):
        validation = service.validate(answers, today)
        if not validation.errors:
            out.append(_json(validation.values))
    return out


def corrupt(service: Service, submission: dict[str, Any], how_many: int = 3) -> dict[str, Any]:
    """The submission with `how_many` present top-level scalar answers replaced by a wrong value of their type."""
    bad = dict(submission)
    spoiled = 0
    for f in service.fields:
        if spoiled == how_many:
            break
        if f.id in bad and f.type in INVALID and f.type not in ("boolean",):
            bad[f.id] = INVALID[f.type]
            spoiled += 1
    return bad
