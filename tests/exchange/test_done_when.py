"""Issue 6's "done when", on the real catalog: a newcomer applying for a service that needs registry
data sees it filled in from the local registry, and once the case is decided the public statistics
count it (as "<5": a single case is a small count)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.run.db import drafts
from engine.run.exchange.flow import PROVENANCE, uses
from tests.portal.conftest import main_text, tracking_of
from tests.portal.test_catalog_services import catalog_app, process_to_final, processable
from tests.portal.walker import file_for, form_pairs

pytestmark = pytest.mark.xdist_group("catalog")  # shares the worker that loads the real catalog


def test_newcomer_sees_registry_data_and_the_decided_case_in_statistics(tmp_path: Path) -> None:
    app = catalog_app(tmp_path)
    if app is None:
        pytest.skip("the real catalog has no services that compile")
    operations = app.portal.book.catalog.registries.operations
    tried = []
    for service in sorted(app.portal.book.services.values(), key=lambda s: s.id):
        wanted = [u for u in uses(service, operations) if u.fields and u.key_field is None]
        if not wanted or len(service.sections) > 3:
            continue
        answers = processable(app, service)
        if answers is None:
            continue
        register = answers.get("applicant_register")
        citizen = app.client()
        citizen.sign_in(register if isinstance(register, str) else "УБ85061814")
        page = citizen.submit(f"/services/{service.id}/start")
        base = re.search(r"/apply/\d+", str(page.url)).group(0)  # type: ignore[union-attr]
        assert "data-registry-offer" in page.text
        consent = citizen.get(f"{base}/registry")
        keys = dict(re.findall(r'name="(key\.[A-Z0-9]+)"[^>]*value="([^"]*)"', consent.text))
        ops = re.findall(r'name="consent" value="([A-Z0-9]+)"', consent.text)
        page = citizen.submit(f"{base}/registry", {"_agree": "1", "consent": ops, **keys})
        with app.portal.engine.connect() as conn:
            draft = conn.execute(sa.select(drafts.c.answers).where(drafts.c.id == int(base.rsplit("/", 1)[1]))).scalar()
        fetched = {k: v["value"] for k, v in (draft or {}).get(PROVENANCE, {}).get("fields", {}).items()}
        if not fetched:
            tried.append(service.id)
            continue
        assert "Иргэний бүртгэлээс" in main_text(citizen.get(f"{base}/0")) or "Төрийн мэдээллийн сангаас" in (
            " ".join(main_text(citizen.get(f"{base}/{i}")) for i in range(len(service.sections)))
        )
        merged = {**answers, **fetched}
        if not service.validate(merged).ok or service.route(service.validate(merged).values) is None:
            tried.append(service.id)
            continue
        for index, section in enumerate(service.sections):
            shown = [("_shown", f.id) for f in section.fields if f.show_if is not None]
            data: dict[str, list[str]] = {}
            for name, value in [("csrf", citizen.csrf), *form_pairs(section.fields, merged), *shown]:
                data.setdefault(name, []).append(value)
            page = citizen.post(f"{base}/{index}", data=data)
            assert page.status_code == 200, (service.id, main_text(page)[:1500])
        for doc in service.required_documents(service.validate(merged).values):
            if doc.registry is None:
                upload = file_for(doc.accept)
                assert upload is not None
                citizen.submit(f"{base}/documents", {"document": doc.id}, files={"file": upload})
        citizen.get(f"{base}/check")
        receipt = citizen.submit(f"{base}/submit")
        assert "/receipt" in str(receipt.url), (service.id, main_text(receipt)[:1500])
        tracking = tracking_of(receipt)
        before = app.client().get(f"/services/{service.id}/statistics.json").json()
        assert before["received"] == "<5" and before["decided"] == 0
        final = process_to_final(app, service, tracking, citizen)
        after = app.client().get(f"/services/{service.id}/statistics.json").json()
        assert service.workflow.states[final].final
        assert after["received"] == "<5" and after["decided"] == "<5" and after["open"] == 0
        assert after["per_month"][dt.date.today().strftime("%Y-%m")] == "<5"
        listing = app.client().get("/statistics.json").json()["services"]
        assert len(listing) == len(app.portal.book.services)
        app.portal.engine.dispose()
        return
    app.portal.engine.dispose()
    pytest.fail(f"no catalog service could be applied for with registry data; tried {tried}")
