"""The portal's cache of compiled pages: bounded, keyed by definition version, emptied for a new catalog,
and off when a deployer overrides a template it mirrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.run.web import form_templates
from engine.run.web.citizen import steps
from engine.run.web.form_templates import FormPages
from tests.render.test_compiled_pages import CATALOG


def test_a_deployer_override_turns_the_compiled_pages_off(tmp_path: Path) -> None:
    from engine.run.web.form_templates import overridden

    (tmp_path / "widgets").mkdir()
    assert not overridden([tmp_path])
    (tmp_path / "home.html").write_text("mine")  # a page the compiler does not mirror
    assert not overridden([tmp_path])
    (tmp_path / "widgets" / "input.html").write_text("mine")
    assert overridden([tmp_path])


def test_pages_are_built_once_bounded_and_dropped_with_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form_templates, "MAX_PAGES", 2)
    pages = FormPages()
    service = CATALOG.services["residence-permit"]
    first = pages.get(service, 0, "mn", CATALOG.registries, steps(service))
    assert first is not None and pages.get(service, 0, "mn", CATALOG.registries, steps(service)) is first
    pages.get(service, 1, "mn", CATALOG.registries, steps(service))
    pages.get(service, 0, "mn", CATALOG.registries, steps(service))  # used again: the newest
    pages.get(service, 2, "mn", CATALOG.registries, steps(service))  # evicts section 1, not section 0
    assert len(pages.pages) == 2
    assert pages.get(service, 0, "mn", CATALOG.registries, steps(service)) is first

    class NewCatalog:  # registries of another catalog: option lists and operations may differ
        operations = CATALOG.registries.operations
        option_lists = CATALOG.registries.option_lists

    again = pages.get(service, 0, "mn", NewCatalog(), steps(service))
    assert again is not first and len(pages.pages) == 1


def test_no_compiled_pages_when_turned_off() -> None:
    service = CATALOG.services["residence-permit"]
    assert FormPages(enabled=False).get(service, 0, "mn", CATALOG.registries, steps(service)) is None


def test_every_key_the_page_chrome_uses_has_both_languages() -> None:
    """The footer's statistics link once showed its key: its text was only added when the statistics module loaded."""
    import re

    from engine.run.web.i18n import TEXTS

    chrome = (Path(__file__).resolve().parents[2] / "renderers" / "templates" / "base.html").read_text("utf-8")
    keys = set(re.findall(r"t\('([a-z_]+)'", chrome))
    assert "stats_title" in keys
    missing = sorted(k for k in keys if k not in TEXTS or not TEXTS[k].mn or not TEXTS[k].en)
    assert missing == []
