"""The compile cache and hot reload (engine/compile/cache.py, Catalog.reload): same catalog as a cold start."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import Catalog, load_catalog
from engine.compile.cache import CompileCache
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "project"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")  # display names are relative to the working folder
    return tmp_path / "project"


def _service_file(project: Path) -> Path:
    return next(p for p in (project / "service_defs").rglob("*.yaml") if "_shared" not in p.parts)


def _same(a: Catalog, b: Catalog) -> None:
    assert a.problems == b.problems
    assert sorted(a.services) == sorted(b.services)
    for sid, service in a.services.items():
        assert b.services[sid].version == service.version
        assert [f.id for f in b.services[sid].fields] == [f.id for f in service.fields]


def test_warm_start_gives_the_cold_catalog(project: Path, tmp_path: Path) -> None:
    cold = load_catalog(["service_defs"])
    first = load_catalog(["service_defs"], cache=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("catalog-*.pickle")), "the manifest was written"
    warm = load_catalog(["service_defs"], cache=tmp_path / "cache")
    _same(cold, first)
    _same(cold, warm)
    sid = next(iter(cold.services))
    assert warm.services[sid].validate({}).errors == cold.services[sid].validate({}).errors


def test_an_edited_file_misses_the_manifest(project: Path, tmp_path: Path) -> None:
    load_catalog(["service_defs"], cache=tmp_path / "cache")
    path = _service_file(project)
    path.write_text(path.read_text(encoding="utf-8").replace("sla_days:", "sla_dayz:", 1), encoding="utf-8")
    cached = load_catalog(["service_defs"], cache=tmp_path / "cache")
    assert cached.problems == load_catalog(["service_defs"]).problems
    assert cached.errors, "the broken file is reported, not served from the cache"


def test_reload_of_one_service_equals_a_full_load(project: Path) -> None:
    catalog = load_catalog(["service_defs"])
    path = _service_file(project)
    text = path.read_text(encoding="utf-8")
    assert "sla_days:" in text
    edited = text.replace("sla_days:", "sla_days: 7\nx_unknown_key: 1\nold_sla_days:", 1)
    path.write_text(edited, encoding="utf-8")
    reloaded = catalog.reload(path)
    _same(load_catalog(["service_defs"]), reloaded)
    assert any(p.file == str(path.relative_to(project)) for p in (e.span for e in reloaded.problems) if p)
    path.write_text(text, encoding="utf-8")
    _same(catalog, reloaded.reload(path))


def test_warm_services_point_at_the_same_places_as_cold_ones(project: Path, tmp_path: Path) -> None:
    """Warm documents come from the cache without their node trees: spans are found by composing the text again."""
    cold = load_catalog(["service_defs"])
    load_catalog(["service_defs"], cache=tmp_path / "cache")
    warm = load_catalog(["service_defs"], cache=tmp_path / "cache")
    for sid, service in cold.services.items():
        other = warm.services[sid]
        assert [f.span for f in other.fields] == [f.span for f in service.fields]
        assert [s.span for s in other.workflow.states.values()] == [s.span for s in service.workflow.states.values()]
        assert [t.span for t in other.workflow.transitions] == [t.span for t in service.workflow.transitions]
        assert [s.span for s in other.sections] == [s.span for s in service.sections]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_a_file_key_misses_on_any_byte_change(raw: bytes, data: st.DataObject) -> None:
    store = CompileCache(Path("unused"))
    index = data.draw(st.integers(0, len(raw) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    edited = raw[:index] + bytes([byte]) + raw[index + 1 :]
    assert store.file_key("a.yaml", edited) != store.file_key("a.yaml", raw)
    assert store.file_key("b.yaml", raw) != store.file_key("a.yaml", raw), "the display name is part of the key"
    assert store.file_key("a.yaml", raw + b"\n") != store.file_key("a.yaml", raw)
