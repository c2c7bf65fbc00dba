"""`tsonkh registry seed` and `tsonkh registry lookup` on the fixture project's database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.exchange.conftest import exchange_project


def test_seed_then_lookup(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    exchange_project(project)
    monkeypatch.setenv("TSONKH_DATA_DIR", str(project / "data"))
    monkeypatch.setenv("TSONKH_CATALOG", str(project / "service_defs"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TSONKH_XYP_URL", raising=False)
    assert main(["registry", "seed"]) == 0
    assert "seeded with 880 records" in capsys.readouterr().out
    assert main(["registry", "seed"]) == 0
    assert "already seeded" in capsys.readouterr().out
    assert main(["registry", "lookup", "WS100101", "УБ99032112"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "ok" and answer["data"]["birth_date"] == "1999-03-21"
    assert main(["registry", "lookup", "WS100401", "0000 ЯЯЯ"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "not_found"
    assert main(["registry", "lookup", "WS999999", "x"]) == 2
