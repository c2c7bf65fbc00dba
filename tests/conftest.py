"""Shared test helpers: a throw-away copy of the fixture project, and one call that checks inline YAML."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from engine.catalog import Catalog, load_catalog

# In CI, property tests draw the same examples every run (derandomize), so a submission's verdict
# does not depend on luck; locally they explore new examples each run, which is how bugs surface.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "project"
REPO = Path(__file__).parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/project: registries, one pattern and one service."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, target)
    return target


CheckYaml = Callable[..., Catalog]


@pytest.fixture
def check_yaml(project: Path) -> CheckYaml:
    """Write `text` as a service (or another file) into the project copy and load the catalog.

    The assertion helper of pyxform's test case, in our terms: a test states the YAML inline and
    asserts on the compiled service or on the exact problems.
    """

    def run(text: str, name: str = "service_defs/central/gasr/sample.yaml") -> Catalog:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_catalog([project / "service_defs", project / "workflows"], root=project)

    return run


SERVICE_HEAD = """\
id: sample
title: {mn: Жишээ, en: Sample}
summary: {mn: Жишээ үйлчилгээ, en: A sample service}
agency: gasr
scope: central
category: civil-registration
sla_days: 3
workflow: {pattern: simple-review, params: {officer: registrar}}
routing:
  rules:
    - {office: gasr-central}
"""


def service_yaml(body: str) -> str:
    """A minimal valid service head plus the given body (sections, rules, documents …)."""
    return SERVICE_HEAD + textwrap.dedent(body)


def codes(catalog: Catalog) -> list[str]:
    return [p.code for p in catalog.problems]
