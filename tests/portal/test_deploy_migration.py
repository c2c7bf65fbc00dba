"""On deploy, cases in a state the new version dropped move where its `migrate` map says, with an audit record."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.run import audit
from engine.run.db import applications
from tests.portal.conftest import BACKENDS, PortalApp, build_app
from tests.portal.helpers import api_submit


def rename_submitted_state(project: Path, with_migration: bool) -> None:
    """A new version calls the first state 'in_review'; optionally it maps the old name there."""
    pattern = project / "workflows" / "simple-review.yaml"
    pattern.write_text(pattern.read_text(encoding="utf-8").replace("submitted", "in_review"), encoding="utf-8")
    if with_migration:
        service = project / "service_defs" / "central" / "gasr" / "test-certificate.yaml"
        service.write_text(service.read_text(encoding="utf-8").replace(
            "workflow: {pattern: simple-review, params: {officer: registrar}}",
            "workflow: {pattern: simple-review, params: {officer: registrar}, migrate: {submitted: in_review}}"),
            encoding="utf-8")


def case_row(app: object, tracking: str) -> dict[str, object]:
    with app.portal.engine.connect() as conn:  # type: ignore[attr-defined]
        return dict(conn.execute(sa.select(applications).where(applications.c.tracking == tracking)).mappings().one())


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_mapped_state_moves_on_deploy_and_is_audited(project: Path, db_url: str) -> None:
    first = build_app(project, db_url)
    citizen = first.client()
    citizen.sign_in()
    case = api_submit(citizen, district="khan_uul")
    assert case_row(first, case["tracking"])["state"] == "submitted"
    first.portal.engine.dispose()

    rename_submitted_state(project, with_migration=True)
    deployed = build_app(project, db_url)
    row = case_row(deployed, case["tracking"])
    new_version = deployed.portal.book.get("test-certificate").version  # type: ignore[union-attr]
    assert row["state"] == "in_review" and row["definition_version"] == new_version
    with deployed.portal.engine.connect() as conn:
        history = audit.history(conn, int(row["id"]))  # type: ignore[arg-type]
        assert audit.verify(conn)[1] == []
    last = history[-1]
    assert (last["action"], last["from_state"], last["to_state"]) == ("migrate", "submitted", "in_review")
    deployed.portal.engine.dispose()

    again = build_app(project, db_url)  # a second start moves nothing twice
    with again.portal.engine.connect() as conn:
        assert len(audit.history(conn, int(row["id"]))) == len(history)  # type: ignore[arg-type]
    again.portal.engine.dispose()


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_without_a_map_the_case_keeps_its_pinned_version(project: Path, db_url: str) -> None:
    first = build_app(project, db_url)
    citizen = first.client()
    citizen.sign_in()
    case = api_submit(citizen, district="khan_uul")
    old_version = case_row(first, case["tracking"])["definition_version"]
    first.portal.engine.dispose()

    rename_submitted_state(project, with_migration=False)
    deployed = build_app(project, db_url)
    row = case_row(deployed, case["tracking"])
    assert row["state"] == "submitted" and row["definition_version"] == old_version
    deployed.portal.engine.dispose()


def test_a_decided_case_is_closed_and_leaves_the_queue(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    done = api_submit(citizen, district="khan_uul")["tracking"]
    waiting = api_submit(citizen, district="khan_uul")["tracking"]
    staff = portal_app.client()
    staff.staff_sign_in("gasr-central", portal_app.demo_password)
    assert done in staff.get("/staff?all=1").text
    decided = staff.submit(f"/staff/cases/{done}/action", {"action": "approve", "version": "1"})
    assert decided.status_code == 200
    assert case_row(portal_app, done)["closed"] is True and case_row(portal_app, waiting)["closed"] is False
    queue = staff.get("/staff?all=1").text
    assert done not in queue and waiting in queue
