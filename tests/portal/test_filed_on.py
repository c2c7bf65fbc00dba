"""Relative date bounds are judged as of the filing day, so an application keeps its answers as time passes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

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


def test_the_filing_day_is_the_servers_local_day_like_the_submissions_validation(monkeypatch: Any) -> None:
    """Stamps are UTC; the submission was validated as of dt.date.today(), the local day. In Ulaanbaatar
    (UTC+8) a case filed at 04:30 local time has a UTC stamp of the day before."""
    stamp = {"submitted_at": "2026-03-09T20:30:00.000000Z"}
    try:
        for zone, day in (("ULAT-8", dt.date(2026, 3, 10)), ("UTC0", dt.date(2026, 3, 9)),
                          ("XST+5", dt.date(2026, 3, 9))):
            monkeypatch.setenv("TZ", zone)  # POSIX rules (the sign is west of Greenwich): no tz database needed
            time.tzset()
            assert cases.filed_on(stamp) == day, zone
            assert cases.filed_on({"submitted_at": dt.datetime(2026, 3, 9, 20, 30, tzinfo=dt.UTC)}) == day, zone
    finally:
        monkeypatch.undo()  # the process's own TZ back, then read again
        time.tzset()
