"""The office queue in pages: walking every page by its "next" key lists exactly the unpaged queue
(the reference copy of the old query), in order, without duplicates or gaps, for every filter
combination, with ties on the due date and rows only Python can leave out; the pages render with
links that keep the filters; a page key never widens what an officer may see."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import random
import re
from typing import Any

import pytest
import sqlalchemy as sa

from engine.run import cases
from engine.run.db import applications
from tests.portal.conftest import BACKENDS, PortalApp
from tests.portal.helpers import api_submit
from tests.portal.test_case_storage import catalog_portal, open_cases, reference_queue  # noqa: F401
from tests.portal.test_guarantees import officer as signed_in_officer
from tests.strategies import TODAY

pytestmark = pytest.mark.xdist_group("catalog")

OFFICES = ("office-a", "office-b")
# Few dates, so many ties (broken by id), among them the two days the queue is seen on.
DUES = ("2026-06-01", TODAY.isoformat(), "2026-07-01", (TODAY + dt.timedelta(days=40)).isoformat(), "2026-11-27")


def crowd(portal: PortalApp, count: int) -> list[str]:
    """`count` open-looking cases over two offices, copied from real submitted ones with random states
    (final ones among them left unclosed, as an old version's final state would be), assignees and
    due dates; returns the services they use."""
    engine = portal.portal.engine
    templates = open_cases(portal, 6)
    rnd = random.Random(5)
    with engine.begin() as conn:
        for n in range(count):
            service, app = templates[n % len(templates)]
            state = rnd.choice([*service.workflow.states, "no-such-state"])
            row = {c.name: app[c.name] for c in applications.c if c.name not in ("id",)}
            row.update(tracking=f"TS-CROWD-{n:05d}", draft_id=10_000_000 + n, office=rnd.choice(OFFICES),
                       state=state, assignee_id=rnd.choice([None, 1]), due_date=rnd.choice(DUES),
                       state_due_date=rnd.choice([None, *DUES]), closed=rnd.random() < 0.1)
            conn.execute(applications.insert().values(**row))
    return sorted({service.id for service, _ in templates})


def walk(conn: sa.Connection, portal: PortalApp, officer: cases.Actor, filters: cases.QueueFilter,
         today: dt.date, size: int) -> list[dict[str, Any]]:
    """Every page, first to last, following the next keys; each page but the last is full."""
    out: list[dict[str, Any]] = []
    key = None
    for _ in range(10_000):
        page = cases.queue(conn, portal.portal.book, officer, filters, today, key, size)
        assert len(page.rows) <= size
        out.extend(page.rows)
        if page.next_key is None:
            return out
        assert len(page.rows) == size  # a page is short only at the end
        key = page.next_key
    raise AssertionError("the pages never ended")


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A page names the assignees of its own rows; the reference names them only when any row has one.
    return [{**r, "assignee_name": r.get("assignee_name")} for r in rows]


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_walking_every_page_lists_the_unpaged_queue(catalog_portal: PortalApp) -> None:  # noqa: F811
    services = crowd(catalog_portal, 160)
    engine = catalog_portal.portal.engine
    with engine.connect() as conn:
        states = sorted({s for (s,) in conn.execute(sa.select(applications.c.state).distinct())})
        roles = frozenset(r for s in catalog_portal.portal.book.catalog.services.values()
                          for r in s.workflow.acting_roles())
        seen = 0
        for office, officer_roles in itertools.product(OFFICES, (roles, frozenset({"registrar"}))):
            officer = cases.Actor("staff", 1, "Officer", officer_roles, office)
            combos = itertools.product((None, services[0]), (None, states[0]), ("any", "me", "unassigned"),
                                       (False, True), (False, True))
            for service_id, state, assigned, overdue, waiting in combos:
                filters = cases.QueueFilter(service_id, state, assigned, overdue, waiting)
                for today in (TODAY, TODAY + dt.timedelta(days=40)):
                    expected = comparable(reference_queue(conn, catalog_portal.portal.book, officer, filters, today))
                    for size in (7,) if filters != cases.QueueFilter(waiting_on_me=False) else (1, 2, 7, 50):
                        walked = comparable(walk(conn, catalog_portal, officer, filters, today, size))
                        assert walked == expected, (office, filters, today, size)
                    assert all(r["office"] == office for r in expected)
                    seen += len(expected)
        assert seen > 1000  # the walks were not all of empty queues
        everyone = cases.Actor("staff", 1, "Officer", roles, OFFICES[0])
        whole = walk(conn, catalog_portal, everyone, cases.QueueFilter(waiting_on_me=False), TODAY, 500)
        assert len({r["due_date"] for r in whole}) < len(whole)  # ties on the due date were walked


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_page_key_from_another_office_shows_only_the_officers_own_cases(catalog_portal: PortalApp) -> None:  # noqa: F811
    crowd(catalog_portal, 60)
    book = catalog_portal.portal.book
    roles = frozenset(r for s in book.catalog.services.values() for r in s.workflow.acting_roles())
    with catalog_portal.portal.engine.connect() as conn:
        foreign = conn.execute(sa.select(applications.c.due_date, applications.c.id)
                               .where(applications.c.office == OFFICES[0])).all()
        officer = cases.Actor("staff", 1, "Officer", roles, OFFICES[1])
        for due, ident in [*foreign, ("0000-01-01", 0)]:
            page = cases.queue(conn, book, officer, cases.QueueFilter(waiting_on_me=False), TODAY,
                               cases.QueueKey(due, ident), 500)
            assert all(r["office"] == OFFICES[1] for r in page.rows)


@pytest.mark.parametrize("text", ["", "x", "2026-11-20", "2026-11-20.", "2026-11-20.x", "2026-13-01.5",
                                  "2026-11-20.-1", "2026-11-20.99999999999999999999", "20261120.5", "' OR 1=1 --.5"])
def test_a_malformed_page_key_means_the_first_page(text: str) -> None:
    assert cases.QueueKey.parse(text) is None


def test_a_page_key_reads_back_as_written() -> None:
    key = cases.QueueKey("2026-11-20", 12345)
    assert cases.QueueKey.parse(key.text()) == key


_TRACKING = re.compile(r'<a href="/staff/cases/([^"]+)">')
_NEXT = re.compile(r'href="([^"]+)" rel="next"')
_FIRST = re.compile(r'href="([^"]+)" rel="first"')


def pages(client: Any, url: str) -> list[str]:
    """The queue pages' HTML, following the Next page links as a browser without JavaScript would."""
    out = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        out.append(response.text)
        found = _NEXT.search(response.text)
        url = html.unescape(found.group(1)) if found else ""
    return out


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_queue_pages_link_to_each_other_and_keep_the_filters(
    portal_app: PortalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cases, "QUEUE_PAGE_SIZE", 2)
    citizen = portal_app.client()
    citizen.sign_in()
    submitted = [api_submit(citizen, district="khan_uul")["tracking"] for _ in range(5)]  # one due date: all ties
    elsewhere = api_submit(citizen, district="bayangol")["tracking"]
    staff = signed_in_officer(portal_app, "gasr-central")
    walked = pages(staff, "/staff?all=1&assigned=unassigned")
    assert len(walked) == 3
    listed = [t for page in walked for t in _TRACKING.findall(page)]
    assert sorted(listed) == sorted(submitted) and len(set(listed)) == len(listed)
    assert elsewhere not in listed  # another office's case
    first, *later = walked
    assert 'aria-label="Дарааллын хуудсууд"' in first and "Дараагийн хуудас" in first
    assert "Энэ хуудсанд 2 хэрэг харуулав" in first and 'rel="first"' not in first
    for page in later:
        assert html.unescape(_FIRST.search(page).group(1)) == "/staff?assigned=unassigned&all=1"  # type: ignore[union-attr]
    for page in walked[:-1]:
        link = html.unescape(_NEXT.search(page).group(1))  # type: ignore[union-attr]
        assert link.startswith("/staff?assigned=unassigned&all=1&after=")
        assert 'name="all" value="1" checked' in page and '<option value="unassigned" selected>' in page
    assert 'rel="next"' not in walked[-1] and "дараагийн хуудас алга" in walked[-1]
    assert [t for page in pages(staff, "/staff?all=1") for t in _TRACKING.findall(page)] == listed
    staff.get("/lang/en?next=/staff")
    english = staff.get("/staff?all=1").text
    assert 'aria-label="Queue pages"' in english and "Next page" in english and "2 cases shown on this page" in english
    forged = staff.get("/staff?all=1&after=not-a-key").text  # a malformed key is the first page
    assert _TRACKING.findall(forged) == listed[:2]


_SERVICE_OPTIONS = re.compile(r'<select[^>]*name="service"[^>]*>(.*?)</select>', re.S)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_service_filter_offers_the_agencys_services_not_only_those_on_the_page(
    portal_app: PortalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 50 cases a page, choices taken from the rows shown would hide the rest of the queue."""
    monkeypatch.setattr(cases, "QUEUE_PAGE_SIZE", 1)
    staff = signed_in_officer(portal_app, "gasr-central")
    office = portal_app.portal.book.catalog.registries.offices["gasr-central"]
    expected = {s.id for s in portal_app.portal.book.catalog.services.values() if s.agency == office.agency}
    assert expected
    page = staff.get("/staff?all=1").text  # an empty queue: no rows to take choices from
    select = _SERVICE_OPTIONS.search(page)
    assert select is not None
    offered = set(re.findall(r'<option value="([^"]+)"', select.group(1)))
    assert offered == expected
