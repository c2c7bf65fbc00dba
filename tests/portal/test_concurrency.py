"""Real parallel requests against a live uvicorn server: of two officers acting on one case at once
exactly one wins, and a double-clicked submit makes one application."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from engine.run import audit, auth
from engine.run.db import applications
from tests.portal.conftest import POSTGRES, LiveServer, PortalApp
from tests.portal.helpers import api_submit, live_citizen, live_staff

LIVE_BACKENDS = [pytest.param("sqlite", marks=pytest.mark.xdist_group("live_server"), id="sqlite"), POSTGRES]


def race(*calls: Any) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("db_url", LIVE_BACKENDS, indirect=True)
def test_two_officers_racing_on_one_case_exactly_one_wins(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    trackings = [api_submit(citizen, district="khan_uul")["tracking"] for _ in range(3)]
    with portal_app.portal.engine.begin() as conn:
        auth.create_staff(conn, "second-registrar", "pass-word-2", "Second", "gasr-central", {"registrar"})
    with LiveServer(portal_app.app) as server:
        first, first_csrf = live_staff(server.url, "gasr-central", portal_app.demo_password)
        second, second_csrf = live_staff(server.url, "second-registrar", "pass-word-2")
        for tracking in trackings:
            page = first.get(f"/staff/cases/{tracking}")
            version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
            url = f"/staff/cases/{tracking}/action"
            approve = {"csrf": first_csrf, "action": "approve", "version": version}
            send_back = {"csrf": second_csrf, "action": "return_for_correction", "version": version, "comment": "x"}
            results = race(
                lambda url=url, data=approve: first.post(url, data=data),
                lambda url=url, data=send_back: second.post(url, data=data),
            )
            codes = sorted(r.status_code for r in results)
            assert codes == [200, 409], [r.text[-400:] for r in results]
            loser = next(r for r in results if r.status_code == 409)
            assert "өөр хүн дөнгөж өөрчилсөн" in loser.text  # a clear message, in Mongolian by default
        first.close()
        second.close()
    with portal_app.portal.engine.connect() as conn:
        rows = conn.execute(sa.select(applications.c.id, applications.c.state, applications.c.row_version)).all()
        for app_id, state, row_version in rows:
            assert row_version == 2 and state in ("granted", "correction")
            history = [h["action"] for h in audit.history(conn, app_id)]
            assert history[0] == "submit" and len(history) == 2  # nothing applied twice
        assert audit.verify(conn)[1] == []


@pytest.mark.parametrize("db_url", LIVE_BACKENDS, indirect=True)
def test_double_clicked_submit_makes_one_application(portal_app: PortalApp) -> None:
    with LiveServer(portal_app.app) as server:
        client, token = live_citizen(server.url)
        start = client.post("/services/test-certificate/start", data={"csrf": token})
        base = re.search(r"/apply/\d+", str(start.url)).group(0)  # type: ignore[union-attr]
        answers = {
            "csrf": token,
            "applicant_register": "УБ99032112",
            "applicant_phone": "99112233",
            "reason": "lost",
            "copies": "1",
            "district": "khan_uul",
            "khoroo": "1",
            "children.__rows": "0",
        }
        assert "/documents" in str(client.post(f"{base}/0", data=answers).url)
        results = race(*[lambda: client.post(f"{base}/submit", data={"csrf": token}) for _ in range(3)])
        client.close()
    assert all(r.status_code == 200 and "/receipt" in str(r.url) for r in results), [r.status_code for r in results]
    assert len({str(r.url) for r in results}) == 1
    with portal_app.portal.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar() == 1
