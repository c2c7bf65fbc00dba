"""Steps nobody clicks in the back office: automatic `system` states, payment events (the development
payment provider), and the applicant's own actions such as withdrawing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.run import audit
from tests.portal.conftest import PortalApp, build_app, main_text
from tests.portal.helpers import api_submit

PATTERN = """
id: paid-review
title: {mn: Төлбөртэй хянан шийдвэрлэх, en: Paid review}
params:
  officer: {description: {mn: Хянагч, en: Reviewer}}
initial: checking
states:
  checking: {label: {mn: Шалгаж байна, en: Checking}, role: system}
  submitted: {label: {mn: Хянаж байна, en: In review}, role: "${officer}", sla_days: 2}
  awaiting_payment: {label: {mn: Төлбөр хүлээж буй, en: Awaiting payment}, role: applicant}
  granted: {label: {mn: Олгосон, en: Granted}, final: true, outcome: granted}
  withdrawn: {label: {mn: Буцаан авсан, en: Withdrawn}, final: true, outcome: withdrawn}
  rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}
transitions:
  - {action: checked, label: {mn: Шалгагдсан, en: Checked}, from: checking, to: submitted, by: system}
  - {action: check_failed, label: {mn: Тохирсонгүй, en: Failed}, from: checking, to: rejected, by: system}
  - {action: approve, label: {mn: Зөвшөөрөх, en: Approve}, from: submitted, to: awaiting_payment, by: "${officer}"}
  - {action: paid, label: {mn: Төлсөн, en: Paid}, from: awaiting_payment, to: granted, by: system}
  - {action: withdraw, label: {mn: Буцаан авах, en: Withdraw}, from: awaiting_payment, to: withdrawn, by: applicant}
"""


@pytest.fixture
def paid_app(project: Path, db_url: str) -> PortalApp:
    (project / "workflows" / "paid-review.yaml").write_text(PATTERN)
    service = project / "service_defs" / "central" / "gasr" / "test-certificate.yaml"
    service.write_text(service.read_text().replace("pattern: simple-review", "pattern: paid-review"))
    return build_app(project, db_url)


def approve(app: PortalApp, tracking: str) -> None:
    officer = app.client()
    officer.staff_sign_in("gasr-central", app.demo_password)
    done = officer.submit(f"/staff/cases/{tracking}/action", {"action": "approve", "version": "2"})
    assert done.status_code == 200, main_text(done)


def test_system_state_advances_by_itself_and_payment_completes(paid_app: PortalApp) -> None:
    citizen = paid_app.client()
    citizen.sign_in()
    status = api_submit(citizen, district="khan_uul")
    assert status["state"] == "submitted" and status["version"] == 2  # 'checking' passed automatically
    assert [h["action"] for h in status["history"]] == ["submit", "checked"]
    assert status["history"][1]["role"] == "system"
    tracking = status["tracking"]
    approve(paid_app, tracking)
    page = citizen.get(f"/applications/{tracking}")
    assert "Төлөх (туршилтын төлбөр)" in page.text and "Засвар хийх" not in page.text
    assert 'value="withdraw"' in page.text  # the applicant's own action is offered
    paid = citizen.submit(f"/applications/{tracking}/pay")
    assert paid.status_code == 200 and "Олгосон" in main_text(paid)
    assert citizen.submit(f"/applications/{tracking}/pay").status_code == 200  # nothing to pay any more
    with paid_app.portal.engine.connect() as conn:
        assert [h["action"] for h in audit.history(conn, 1)] == ["submit", "checked", "approve", "paid"]
        assert audit.verify(conn)[1] == []


def test_applicant_withdraws_instead_of_paying(paid_app: PortalApp) -> None:
    citizen = paid_app.client()
    citizen.sign_in()
    tracking = api_submit(citizen, district="khan_uul")["tracking"]
    refused = citizen.submit(f"/applications/{tracking}/action", {"action": "withdraw", "version": "2"})
    assert refused.status_code == 422  # not yet: the case is with the officer
    approve(paid_app, tracking)
    stale = citizen.submit(f"/applications/{tracking}/action", {"action": "withdraw", "version": "2"})
    assert stale.status_code == 409
    done = citizen.submit(f"/applications/{tracking}/action", {"action": "withdraw", "version": "3"})
    assert done.status_code == 200 and "Буцаан авсан" in main_text(done)
    other = paid_app.client()
    other.sign_in("ИЮ88110355")
    assert other.submit(f"/applications/{tracking}/pay").status_code == 404
