"""Properties of the semantic diff over generated services: a service never differs from itself,
formatting never shows, and every single change of meaning shows."""

from __future__ import annotations

import atexit
import copy
import random
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.review.semantic_diff import diff_services
from tests.conftest import FIXTURE_PROJECT
from tests.service_strategies import service_def

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_WORK = Path(tempfile.mkdtemp(prefix="tsonkh-review-props-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
shutil.copytree(FIXTURE_PROJECT, _WORK / "project")
_TARGET = _WORK / "project" / "service_defs" / "central" / "gasr" / "generated.yaml"
_PATTERN = yaml.safe_load((FIXTURE_PROJECT / "workflows" / "simple-review.yaml").read_text(encoding="utf-8"))


def compile_text(text: str, project: str = "project") -> Service:
    target = _WORK / project / _TARGET.relative_to(_WORK / "project")
    target.write_text(text, encoding="utf-8")
    catalog = load_catalog([_WORK / project / "service_defs"], root=_WORK / project)
    assert catalog.errors == [], [(p.code, p.message) for p in catalog.errors]
    return catalog.services["generated"]


def compile_def(definition: dict[str, Any]) -> Service:
    return compile_text(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False))


@_SETTINGS
@given(definition=service_def())
def test_a_service_does_not_differ_from_itself(definition: dict[str, Any]) -> None:
    first = compile_def(definition)
    again = compile_def(copy.deepcopy(definition))
    assert diff_services(first, first) == []
    assert diff_services(first, again) == []


def _shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


_EXPRESSION_KEYS = {"show_if", "required_if", "when", "check", "guard"}


def _squeeze(text: str) -> str:
    return re.sub(r"\s*(==|!=|<=|>=)\s*", r"\1", text).replace("'", '"')


def _squeezed(value: Any) -> Any:
    """The same expressions with other spacing and quotes: `a == 'x'` → `a=="x"`."""
    if isinstance(value, dict):
        return {
            k: _squeeze(v) if k in _EXPRESSION_KEYS and isinstance(v, str) else _squeezed(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_squeezed(v) for v in value]
    return value


@_SETTINGS
@given(
    definition=service_def(),
    indent=st.integers(2, 6),
    flow=st.sampled_from([True, False, None]),
    seed=st.integers(0, 10_000),
    squeeze=st.booleans(),
    comments=st.booleans(),
)
def test_reformatting_is_an_empty_diff(
    definition: dict[str, Any], indent: int, flow: bool | None, seed: int, squeeze: bool, comments: bool
) -> None:
    before = compile_def(definition)
    data = _shuffled(definition, random.Random(seed))
    if squeeze:
        data = _squeezed(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, indent=indent, default_flow_style=flow, width=4096)
    if comments:
        text = "# a comment on top\n" + "\n".join(
            line + ("  # note" if index % 3 == 0 and line.rstrip().endswith((":", "]", "}")) else "")
            for index, line in enumerate(text.splitlines())
        ) + "\n"  # fmt: skip
    after = compile_text(text)
    assert diff_services(before, after) == []


_REGISTRIES = FIXTURE_PROJECT / "service_defs" / "_shared" / "registries.yaml"
shutil.copytree(FIXTURE_PROJECT, _WORK / "shuffled")


@_SETTINGS
@given(definition=service_def(), seed=st.integers(0, 10_000), indent=st.integers(2, 5))
def test_reformatting_the_shared_registries_is_an_empty_diff(
    definition: dict[str, Any], seed: int, indent: int
) -> None:
    registries = yaml.safe_load(_REGISTRIES.read_text(encoding="utf-8"))
    shuffled = yaml.safe_dump(
        _shuffled(registries, random.Random(seed)), allow_unicode=True, sort_keys=False, indent=indent
    )
    (_WORK / "shuffled" / _REGISTRIES.relative_to(FIXTURE_PROJECT)).write_text(shuffled, encoding="utf-8")
    text = yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)
    assert diff_services(compile_text(text), compile_text(text, "shuffled")) == []


# --- mutations: each one changes the meaning of any generated service -----------------------------

Mutation = Callable[[dict[str, Any]], None]


def _own_fields(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in d["sections"][0]["fields"] if "use" not in f]


def _relabel(d: dict[str, Any]) -> None:
    _own_fields(d)[0]["label"]["en"] += " (new)"


def _retitle(d: dict[str, Any]) -> None:
    d["title"]["mn"] += " шинэ"


def _add_option(d: dict[str, Any]) -> None:
    choice = next((f for f in _own_fields(d) if isinstance(f.get("options"), list)), None)
    if choice is None:
        _add_field(d)
        return
    choice["options"].append({"value": "added_option", "label": {"mn": "Нэмэлт", "en": "Added"}})


def _flip_required(d: dict[str, Any]) -> None:
    f = _own_fields(d)[0]
    if "required_if" in f:
        del f["required_if"]
        f.pop("required", None)
        return
    f["required"] = not f.get("required", True)


def _sla(d: dict[str, Any]) -> None:
    d["sla_days"] += 1


def _fee(d: dict[str, Any]) -> None:
    d["fee"][0]["amount"] += 500


def _add_field(d: dict[str, Any]) -> None:
    d["sections"][0]["fields"].insert(1, {"id": "extra", "type": "text", "label": {"mn": "Нэмэлт", "en": "Extra"}})


def _remove_field(d: dict[str, Any]) -> None:
    fields = d["sections"][0]["fields"]
    fields.remove(_own_fields(d)[-3])  # the last generated field: only fields before it are named by others


def _bound(d: dict[str, Any]) -> None:
    d["sections"][0]["fields"][-2]["label"]["mn"] += "!"  # district
    for f in _own_fields(d):
        for key in ("max_length", "max", "max_items"):
            if isinstance(f.get(key), int):
                f[key] += 1
                return


def _workflow(d: dict[str, Any]) -> None:
    body = yaml.safe_load(yaml.safe_dump(_PATTERN).replace("${officer}", "registrar"))
    body["states"]["submitted"]["sla_days"] = 9
    d["workflow"] = {k: body[k] for k in ("initial", "states", "transitions")}


def _guard(d: dict[str, Any]) -> None:
    body = yaml.safe_load(yaml.safe_dump(_PATTERN).replace("${officer}", "registrar"))
    body["transitions"][0]["guard"] = "district == 'khan_uul'"
    d["workflow"] = {k: body[k] for k in ("initial", "states", "transitions")}


def _routing(d: dict[str, Any]) -> None:
    d["routing"]["rules"][0]["when"] = "district == 'khan_uul'"


def _document(d: dict[str, Any]) -> None:
    d["documents"][0]["max_size_mb"] = 2


def _rule(d: dict[str, Any]) -> None:
    d["rules"] = [{"id": "some_rule", "check": "district != 'khan_uul'", "message": {"mn": "Үгүй", "en": "No"}}]


def _section(d: dict[str, Any]) -> None:
    d["sections"][0]["title"]["en"] = "Another title"


MUTATIONS: list[Mutation] = [
    _relabel, _retitle, _add_option, _flip_required, _sla, _fee, _add_field, _remove_field, _bound, _workflow,
    _guard, _routing, _document, _rule, _section,
]  # fmt: skip


@_SETTINGS
@given(definition=service_def(), mutation=st.sampled_from(MUTATIONS))
def test_every_change_of_meaning_shows(definition: dict[str, Any], mutation: Mutation) -> None:
    before = compile_def(definition)
    changed = copy.deepcopy(definition)
    mutation(changed)
    after = compile_def(changed)
    assert diff_services(before, after) != [], mutation.__name__


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=service_def())
def test_docs_and_textconv_render_any_valid_service(definition: dict[str, Any]) -> None:
    from engine.review.docs_site import service_model
    from engine.review.textconv import render_service

    service = compile_def(definition)
    catalog = load_catalog([_WORK / "project" / "service_defs"], root=_WORK / "project")
    for lang in ("mn", "en"):
        model = service_model(service, catalog.registries, lang)
        assert model["title"] == definition["title"][lang]
    assert render_service(service).startswith("# tsonkh semantic view of service generated")
