"""The embedded setup: `tsonkh serve` runs a worker beside the portal, started and stopped with the app."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

from engine.run import effects, outbox
from engine.run.worker import attach
from tests.delivery.stubs import receiver
from tests.portal.conftest import build_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_the_portal_delivers_in_process(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_app(project, f"sqlite:///{tmp_path / 'embedded.db'}")
    try:
        with receiver() as stub:
            endpoints = tmp_path / "endpoints.yaml"
            endpoints.write_text(f"gasr: {{url: '{stub.url}', secret: s}}\n")
            monkeypatch.setenv("TSONKH_AGENCY_ENDPOINTS", str(endpoints))
            monkeypatch.setenv("TSONKH_WORKER_INTERVAL", "0.05")
            attach(built.app)
            with built.portal.engine.begin() as conn:
                outbox.enqueue(conn, "webhook", "gasr", {"tracking": "TS-X"}, "case:TS-X:decided")
            with TestClient(built.app):  # runs the app's lifespan, as uvicorn does
                deadline = time.monotonic() + 10
                while not stub.receipts and time.monotonic() < deadline:
                    time.sleep(0.02)
            assert [r.json["tracking"] for r in stub.receipts] == ["TS-X"]
            with built.portal.engine.connect() as conn:
                assert outbox.counts(conn) == {"delivered": 1}
    finally:
        effects.configure(None)
        built.portal.engine.dispose()
