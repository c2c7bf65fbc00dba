"""`tsonkh check` never prints a traceback, whatever the input: random bytes, random YAML, mutated definitions."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import load_catalog
from engine.cli import main
from tests.conftest import FIXTURE_PROJECT

_SETTINGS = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SAMPLE = (FIXTURE_PROJECT / "service_defs/central/gasr/test-certificate.yaml").read_text(encoding="utf-8")


def _project(tmp: Path) -> Path:
    target = tmp / "project"
    if not target.exists():
        shutil.copytree(FIXTURE_PROJECT, target)
    return target


def _check(project: Path, content: bytes) -> None:
    path = project / "service_defs/central/gasr/test-certificate.yaml"
    path.write_bytes(content)
    catalog = load_catalog([project / "service_defs"], root=project)
    for p in catalog.problems:
        assert p.code and p.message


@_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path: Path, content: bytes) -> None:
    _check(_project(tmp_path), content)


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=15),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "type", "label", "fields", "sections", "options", "workflow", "routing", "mn", "en",
                         "rules", "states", "from", "to", "by", "office", "when", "x"]), children, max_size=5),
    max_leaves=25,
)


@_SETTINGS
@given(_yaml_values)
def test_random_yaml(tmp_path: Path, value: object) -> None:
    _check(_project(tmp_path), yaml.safe_dump(value, allow_unicode=True).encode())


def _mutations(data: object, rng: random.Random) -> object:
    """Replace, drop or retype one node somewhere in a real definition."""
    if isinstance(data, dict) and data:
        key = rng.choice(list(data))
        action = rng.random()
        if action < 0.2:
            return {k: v for k, v in data.items() if k != key}
        if action < 0.4:
            return {**data, key: rng.choice([None, 1, "x", [], {}, True, "a == ", "${x}"])}
        return {**data, key: _mutations(data[key], rng)}
    if isinstance(data, list) and data:
        index = rng.randrange(len(data))
        copy = list(data)
        copy[index] = _mutations(copy[index], rng)
        return copy
    return rng.choice([None, 0, -1, "", "zz", "reason == 'x'", [1], {"mn": 1}])


@_SETTINGS
@given(st.integers(0, 10**9))
def test_mutated_real_definition(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = yaml.safe_load(SAMPLE)
    for _ in range(rng.randint(1, 3)):
        data = _mutations(data, rng)
    _check(_project(tmp_path), yaml.safe_dump(data, allow_unicode=True).encode())


def test_cli_exit_codes(tmp_path: Path, capsys: object) -> None:
    project = _project(tmp_path)
    assert main(["check", str(project / "service_defs")]) == 0
    (project / "service_defs/central/gasr/test-certificate.yaml").write_text("id: [", encoding="utf-8")
    assert main(["check", str(project / "service_defs")]) == 1
    assert main(["check", str(project / "nowhere")]) == 2
    assert main(["frobnicate"]) == 2
