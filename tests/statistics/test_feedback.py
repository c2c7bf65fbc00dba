"""Citizen feedback: one rating per closed case, only by its applicant; comments escaped and
length-limited; the agency's officers read them; the statistics publish the average from five."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.run.exchange.tables import feedback
from tests.portal.conftest import BACKENDS, OTHER_REGISTER, PortalApp, main_text
from tests.portal.helpers import api_submit
from tests.statistics.history import act

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def test_rating_once_by_the_applicant_after_the_decision(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    tracking = api_submit(citizen)["tracking"]
    page = citizen.get(f"/applications/{tracking}")
    assert "data-feedback" not in page.text  # not before the case is closed
    early = citizen.submit(f"/applications/{tracking}/feedback", {"rating": "5"})
    assert early.status_code == 409

    act(portal_app, tracking, "approve")
    page = citizen.get(f"/applications/{tracking}")
    assert "data-feedback" in page.text and 'name="rating"' in page.text

    stranger = portal_app.client()
    stranger.sign_in(OTHER_REGISTER)
    assert stranger.submit(f"/applications/{tracking}/feedback", {"rating": "1"}).status_code == 404
    anonymous = portal_app.client().post(f"/applications/{tracking}/feedback", data={"rating": "1"})
    assert "/login" in str(anonymous.url)  # sent to sign in; nothing recorded

    assert citizen.submit(f"/applications/{tracking}/feedback", {"rating": "9"}).status_code == 422
    comment = "<script>alert(1)</script> " + "ж" * 2000
    given = citizen.submit(f"/applications/{tracking}/feedback", {"rating": "4", "comment": comment})
    assert given.status_code == 200 and "&lt;script&gt;" in given.text and "<script>alert" not in given.text
    again = citizen.submit(f"/applications/{tracking}/feedback", {"rating": "1", "comment": "дахин"})
    assert again.status_code == 409
    with portal_app.portal.engine.begin() as conn:
        stored = [dict(r) for r in conn.execute(sa.select(feedback)).mappings()]
    assert len(stored) == 1 and stored[0]["rating"] == 4 and len(stored[0]["comment"]) == 1000

    officer = portal_app.client()
    officer.staff_sign_in("gasr-central", portal_app.demo_password)  # same agency, another office
    listing = main_text(officer.get("/staff/feedback"))
    assert "4/5" in listing and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>" not in listing
    assert OTHER_REGISTER not in listing and "УБ99032112" not in listing  # no applicant identity
    land = portal_app.client()
    land.staff_sign_in("ub-land-bayangol", portal_app.demo_password)  # another agency sees nothing
    assert "4/5" not in main_text(land.get("/staff/feedback"))


def test_statistics_show_the_rating_from_five(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    trackings = [api_submit(citizen)["tracking"] for _ in range(5)]
    for n, tracking in enumerate(trackings):
        act(portal_app, tracking, "approve")
        citizen.submit(f"/applications/{tracking}/feedback", {"rating": str([5, 4, 4, 3, 5][n])})
        data = portal_app.client().get("/services/test-certificate/statistics.json").json()
        if n < 4:
            assert data["rating"] is None and data["ratings"] == "<5"
    assert data["rating"] == 4.2 and data["ratings"] == 5
