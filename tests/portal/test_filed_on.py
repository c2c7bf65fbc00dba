"""Relative date bounds are judged as of the filing day, so an application keeps its answers as time passes."""

from __future__ import annotations

import datetime as dt

from engine.run import cases
from tests.conftest import CheckYaml, service_yaml


def test_case_values_are_judged_as_of_the_filing_day(check_yaml: CheckYaml) -> None:
    catalog = check_yaml(service_yaml("""\
    sections:
      - id: main
        title: {mn: Үндсэн, en: Main}
        fields:
          - {id: settled_on, type: date, label: {mn: Тооцоо хийсэн, en: Settled on}, min: today-14d, max: today}
    """))
    service = catalog.services["sample"]
    app = {"answers": {"settled_on": "2026-03-01"}, "submitted_at": "2026-03-10T09:30:00+08:00"}
    assert cases.filed_on(app) == dt.date(2026, 3, 10)
    assert cases.case_values(service, app)["settled_on"] == dt.date(2026, 3, 1)
    # Judged as of a later day, the same answer would be out of bounds and dropped.
    assert "settled_on" not in service.validate(app["answers"], dt.date(2026, 4, 30)).values
