"""Open statistics on a synthetic history with known answers: percentiles, SLA share, returned share,
open queue, suppression of small counts, and the HTML, CSV and JSON forms on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace
from typing import Any

import pytest

from engine.run import statistics as stats
from engine.run.calendar import HolidayCalendar
from tests.portal.conftest import BACKENDS, PortalApp
from tests.portal.test_catalog_services import real_catalog
from tests.statistics.history import MONDAY, build_history


def trail(service: str, received: dt.date, closed: dt.date | None = None, returned: bool = False) -> stats.CaseTrail:
    return stats.CaseTrail(service, received, closed, returned)


def test_percentile_is_nearest_rank() -> None:
    assert stats.percentile(list(range(1, 11)), 90) == 9
    assert stats.percentile(list(range(1, 11)), 50) == 5
    assert stats.percentile([4, 1, 3, 2], 50) == 2
    assert stats.percentile([7], 90) == 7
    assert stats.percentile([], 90) is None


def test_known_answers_with_a_holiday() -> None:
    calendar = HolidayCalendar(dated=frozenset({dt.date(2026, 3, 4)}))  # a Wednesday off
    services: Any = {"a": SimpleNamespace(sla_days=3), "small": SimpleNamespace(sla_days=3),
                     "none": SimpleNamespace(sla_days=None)}
    received = dt.date(2026, 3, 2)  # a Monday
    # Closed on Tue, Thu, Fri, Mon, Tue, Wed, Thu, Fri, Mon, Tue → 1…10 working days (the Wednesday is off).
    closes = [dt.date(2026, 3, d) for d in (3, 5, 6, 9, 10, 11, 12, 13, 16, 17)]
    cases = [trail("a", received, c, returned=i < 3) for i, c in enumerate(closes)]
    cases += [trail("a", dt.date(2026, 2, 27)), trail("a", dt.date(2026, 3, 20), returned=True)]
    cases += [trail("small", received, dt.date(2026, 3, 3)), trail("small", received), trail("small", received)]
    cases.append(trail("retired", received))  # a service no longer in the catalog is not published
    found = stats.summarise(cases, services, calendar)
    a = found["a"]
    assert sorted(a.days) == list(range(1, 11))
    assert (a.received, a.decided, a.open, a.returned, a.within_sla) == (12, 10, 2, 4, 3)
    assert a.median_days == 5.5 and a.p90_days == 9
    months = ["2026-02", "2026-03"]
    public = a.public(months)
    assert public["share_decided"] == 0.833 and public["share_returned"] == 0.333
    assert public["share_within_sla"] == 0.3 and public["median_days"] == 5.5 and public["p90_days"] == 9
    assert public["open"] == "<5" and public["per_month"] == {"2026-02": "<5", "2026-03": 11}
    small = found["small"].public(months)
    assert small["received"] == "<5" and small["decided"] == "<5" and small["open"] == "<5"
    assert small["share_decided"] is None and small["median_days"] is None and small["p90_days"] is None
    none = found["none"].public(months)
    assert none["received"] == 0 and none["share_decided"] is None and none["per_month"] == {"2026-02": 0, "2026-03": 0}
    assert "retired" not in found


def test_ratings_are_published_from_five() -> None:
    s = stats.ServiceStatistics("a", 3, ratings=[5, 4, 4, 3])
    assert s.public([])["rating"] is None and s.public([])["ratings"] == "<5"
    s.ratings.append(5)
    assert s.public([])["rating"] == 4.2 and s.public([])["ratings"] == 5


@pytest.mark.xdist_group("catalog")  # the worker that loads the real catalog once
def test_every_catalog_service_has_a_row() -> None:
    catalog = real_catalog()
    services = catalog.services
    found = stats.summarise([], services, HolidayCalendar())
    rows = stats.catalog_rows(found, services, dt.date(2026, 11, 26))
    assert [r["service_id"] for r in rows] == sorted(services) and len(rows) == len(services) >= 100
    assert all(r["received"] == 0 and r["median_days"] is None for r in rows)
    text = stats.csv_text(rows, stats.COLUMNS)
    assert len(text.strip().splitlines()) == len(services) + 1


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_statistics_pages_from_the_audit_trail(portal_app: PortalApp, monkeypatch: pytest.MonkeyPatch) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    build_history(portal_app, citizen, monkeypatch)
    public = portal_app.client()  # no login: the statistics are public

    data = public.get("/services/test-certificate/statistics.json").json()
    assert data["received"] == 7 and data["decided"] == 6 and data["open"] == "<5"
    assert data["median_days"] == 3.5 and data["p90_days"] == 6  # decided after 1…6 working days
    assert data["share_within_sla"] == 0.5  # SLA 3 working days: three of six
    assert data["share_decided"] == 0.857 and data["share_returned"] == 0.143
    assert data["share_granted"] == 0.833  # five of the six decided were granted, one rejected
    month = MONDAY.strftime("%Y-%m")
    if month in data["per_month"]:  # the page shows the last 12 months
        assert data["per_month"][month] == 7

    catalog = public.get("/statistics.json").json()
    assert [s["service_id"] for s in catalog["services"]] == ["test-certificate"]
    assert catalog["services"][0]["p90_days"] == 6

    listing = public.get("/statistics.csv")
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(listing.text)))
    assert rows[0]["service_id"] == "test-certificate" and rows[0]["received"] == "7" and rows[0]["open"] == "<5"
    assert rows[0]["median_days"] == "3.5" and rows[0]["share_within_sla"] == "0.5"

    long = list(csv.DictReader(io.StringIO(public.get("/services/test-certificate/statistics.csv").text)))
    metrics = {(r["metric"], r["period"]): r["value"] for r in long}
    assert metrics[("p90_days", "all")] == "6" and metrics[("open", "all")] == "<5"

    page = public.get("/services/test-certificate/statistics")
    assert page.status_code == 200 and "<svg" in page.text and "3.5" in page.text and "&lt;5" in page.text
    listing_page = public.get("/statistics")
    assert listing_page.status_code == 200 and listing_page.text.count("<svg") == 1  # the one service with cases
    english = public.get("/lang/en?next=/statistics")
    assert "Open service statistics" in english.text and "Certificate" in english.text
    # No personal data: no register number, name or tracking number on any public form.
    for path in ("/statistics", "/statistics.json", "/services/test-certificate/statistics",
                 "/services/test-certificate/statistics.json", "/services/test-certificate/statistics.csv"):
        body = public.get(path).text
        assert "УБ99032112" not in body and "TS-" not in body and "99112233" not in body
    assert public.get("/services/no-such-service/statistics.json").status_code == 404
