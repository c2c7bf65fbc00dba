"""Every definition in the repository compiles; the examples teach every feature, truthfully.

- Each YAML file under `examples/` and `service_defs/` (found when the tests are collected, so
  the growing catalog is covered as it is written) loads and compiles with no error problem;
  the examples also have no warnings, and each service file compiles to a service.
- The editor schemas in `docs/schema/` are exactly what `tsonkh schema` prints now, and every
  example, registry and workflow pattern validates against them with `jsonschema`.
- Together the three examples use every key and every field type of the language, and they
  behave as `docs/authoring.md` says (fees, routing, the correction loop, cascading choices).
- Every snippet in `docs/authoring.md` marked `# from examples/…` is copied exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.catalog import Catalog, load_catalog
from engine.check.format import FIELD_VARIANTS, SERVICE
from engine.check.shapes import Either, ListOf, MapOf, Obj, Shape, Tagged
from engine.cli import main
from engine.load.yaml_source import load_document

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCHEMAS = ROOT / "docs" / "schema"
GUIDE = ROOT / "docs" / "authoring.md"


def yaml_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*.yaml"))


EXAMPLE_FILES = yaml_files(EXAMPLES)
CATALOG_FILES = yaml_files(ROOT / "service_defs")
PATTERN_FILES = yaml_files(ROOT / "workflows")
REGISTRY_FILES = [p for p in CATALOG_FILES if "_shared" in p.parts]
SERVICE_FILES = [p for p in CATALOG_FILES if "_shared" not in p.parts]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def catalog() -> Catalog:
    """Everything checked together, once per test process, as `tsonkh check examples service_defs` does."""
    return load_catalog([EXAMPLES, ROOT / "service_defs"], root=ROOT)


def problems_of(path: Path) -> list[str]:
    found = []
    for p in catalog().problems:
        if p.span is not None and Path(p.span.file).resolve() == path.resolve():
            found.append(f"{p.span.line}:{p.span.col}: {p.code} {p.severity}: {p.message}")
    return found


@pytest.mark.parametrize("path", EXAMPLE_FILES + CATALOG_FILES, ids=rel)
def test_definition_compiles_without_errors(path: Path) -> None:
    problems = problems_of(path)
    errors = [p for p in problems if " error: " in p]
    assert errors == [], f"{rel(path)}:\n" + "\n".join(errors)
    if path in EXAMPLE_FILES:
        assert problems == [], "the examples must pass `tsonkh check --strict`"
    if "_shared" not in path.parts:
        compiled = {Path(s.source).resolve() for s in catalog().services.values()}
        assert path.resolve() in compiled


def test_there_are_three_examples_one_municipal() -> None:
    assert len(EXAMPLE_FILES) >= 3
    scopes = {load_document(p).data["scope"] for p in EXAMPLE_FILES}
    assert scopes == {"central", "municipal"}


@pytest.mark.parametrize("path", EXAMPLE_FILES + SERVICE_FILES, ids=rel)
def test_service_names_its_schema_on_the_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match is not None, first
    assert (path.parent / match.group(1)).resolve() == SCHEMAS / "service.schema.json"


# --- the editor schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["service", "workflow", "registry"])
def test_committed_schema_is_what_tsonkh_schema_prints(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    printed = capsys.readouterr().out
    committed = (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert json.loads(printed) == json.loads(committed), (
        f"regenerate: .venv/bin/tsonkh schema {kind} > docs/schema/{kind}.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(committed))


def test_the_service_schema_describes_repeat_fields_recursively() -> None:
    # A repeat's fields are fields: the schema refers to one definition instead of nesting forever.
    schema = json.loads((SCHEMAS / "service.schema.json").read_text(encoding="utf-8"))
    assert "$defs" in schema
    assert '"$ref": "#/$defs/' in json.dumps(schema)


@cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "path, kind",
    [(p, "service") for p in EXAMPLE_FILES]
    + [(p, "registry") for p in REGISTRY_FILES]
    + [(p, "workflow") for p in PATTERN_FILES],
    ids=lambda v: rel(v) if isinstance(v, Path) else v,
)
def test_definition_validates_against_the_editor_schema(path: Path, kind: str) -> None:
    data = load_document(path).data
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator(kind).iter_errors(data)]
    assert errors == []


def test_the_schema_refuses_what_the_checker_refuses() -> None:
    data = load_document(EXAMPLE_FILES[0]).data
    broken = {**data, "sla_dayz": 3}
    assert not validator("service").is_valid(broken)
    field = {"id": "x", "type": "integr", "label": {"mn": "a", "en": "b"}}
    broken = {**data, "sections": [{"id": "s", "title": {"mn": "a", "en": "b"}, "fields": [field]}]}
    assert not validator("service").is_valid(broken)


def test_vscode_maps_each_kind_of_file_to_its_schema() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    mapping = settings["yaml.schemas"]
    assert set(mapping["./docs/schema/service.schema.json"]) == {
        "service_defs/central/**/*.yaml",
        "service_defs/municipal/**/*.yaml",
        "examples/**/*.yaml",
    }
    assert mapping["./docs/schema/workflow.schema.json"] == ["workflows/*.yaml"]
    assert mapping["./docs/schema/registry.schema.json"] == ["service_defs/_shared/*.yaml"]
    assert all((ROOT / path).is_file() for path in mapping)


# --- the examples use every feature -----------------------------------------------------------------


def keys_of(shape: Shape, out: set[str], open_shapes: tuple[int, ...] = ()) -> set[str]:
    """Every key name the language knows below `shape`."""
    if id(shape) in open_shapes:
        return out
    inside = (*open_shapes, id(shape))
    if isinstance(shape, Obj):
        groups = [shape.keys]
    elif isinstance(shape, Tagged):
        groups = [shape.common, *shape.variants.values()]
    else:
        groups = []
    for keys in groups:
        for name, key in keys.items():
            out.add(name)
            keys_of(key.shape, out, inside)
    if isinstance(shape, ListOf):
        keys_of(shape.item, out, inside)
    elif isinstance(shape, MapOf):
        keys_of(shape.value, out, inside)
    elif isinstance(shape, Either):
        for _, option in shape.options:
            keys_of(option, out, inside)
    return out


def walk(value: Any) -> list[Any]:
    found = [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        found += walk(item)
    return found


@cache
def example_data() -> dict[str, dict[str, Any]]:
    return {load_document(p).data["id"]: load_document(p).data for p in EXAMPLE_FILES}


def all_nodes() -> list[Any]:
    return [node for data in example_data().values() for node in walk(data)]


def test_examples_use_every_key_of_the_language() -> None:
    used = {key for node in all_nodes() if isinstance(node, dict) for key in node}
    assert keys_of(SERVICE, set()) - {"mn", "en"} - used == set()


def test_examples_use_every_field_type_and_both_address_areas() -> None:
    fields = [n for n in all_nodes() if isinstance(n, dict) and isinstance(n.get("type"), str) and "label" in n]
    assert set(FIELD_VARIANTS) - {f["type"] for f in fields} == set()
    assert {f.get("area") for f in fields if f["type"] == "address"} == {"ulaanbaatar", "mongolia"}
    repeats = [f for f in fields if f["type"] == "repeat"]
    assert any("min_items" in f and "max_items" in f for f in repeats)
    assert any(f.get("options") == "ub_khoroos" and "depends_on" in f for f in fields), "khoroo by district"
    assert {f["prefill"].split(".")[0] for f in fields if "prefill" in f} == {"profile", "registry"}
    uses = [n for n in all_nodes() if isinstance(n, dict) and "use" in n]
    assert any("show_if" in u for u in uses), "a shared group inserted on a condition"


def test_examples_use_every_kind_of_document_fee_workflow_and_routing() -> None:
    services = example_data().values()
    documents = [d for s in services for d in s.get("documents", [])]
    assert any("type" in d for d in documents) and any("type" not in d for d in documents)
    assert any("registry" in d for d in documents) and any("required_if" in d for d in documents)
    fees = [line for s in services for line in s.get("fee", [])]
    assert any(isinstance(f["amount"], int) for f in fees)
    assert any(isinstance(f["amount"], str) and f["amount"].startswith("=") for f in fees)
    assert any("when" in f for f in fees)
    workflows = [s["workflow"] for s in services]
    assert any("pattern" in w and w.get("params") for w in workflows)
    inline = [w for w in workflows if "states" in w]
    assert inline and any(t["to"] == "@back" for w in inline for t in w["transitions"])
    transitions = [t for w in inline for t in w["transitions"]]
    assert any("guard" in t for t in transitions) and any(t.get("effects") for t in transitions)
    assert any(t.get("requires", {}).get("comment") for t in transitions)
    assert any(t.get("requires", {}).get("fields") for t in transitions)
    routing = [s["routing"] for s in services]
    assert any("{" in rule["office"] for r in routing for rule in r["rules"])
    assert all("fallback" in r for r in routing)
    assert all({"legal_basis", "keywords", "eligibility"} <= set(s) for s in services)


# --- the examples behave as the guide says -----------------------------------------------------------


def test_protected_area_fee_is_computed_from_the_groups() -> None:
    service = catalog().services["protected-area-entry-permit"]
    answers = {
        "visitors": [{"full_name": "Бат", "citizenship": "mongolian"}] * 3,
        "vehicles": [{"plate": "1234 УБА", "kind": "passenger_car", "passengers": 3}],
        "entry_date": dt.date(2026, 7, 1),
        "exit_date": dt.date(2026, 7, 3),
        "camping": True,
        "tents": 2,
        "guide_needed": True,
    }
    lines = {line.id: amount for line, amount in service.fees(answers)}
    assert lines == {"entry_fee": 27000, "vehicle_fee": 5000, "camping_fee": 8000, "guide_fee": 50000}
    assert service.fee_total(answers) == 90000  # the sum docs/authoring.md quotes
    on_foot = {**answers, "vehicles": [], "camping": False, "guide_needed": None}
    assert {line.id for line, _ in service.fees(on_foot)} == {"entry_fee"}


def test_protected_area_rules_and_item_conditions() -> None:
    service = catalog().services["protected-area-entry-permit"]
    answers = {
        "entry_date": "2026-07-01",
        "exit_date": "2026-07-30",
        "visitors": [{"full_name": "John", "citizenship": "foreign", "birth_date": "1990-01-01"}],
        "vehicles": [{"plate": "1234 УБА", "kind": "bus", "passengers": 20}],
    }
    paths = {e.path: e.code for e in service.validate(answers, today=dt.date(2026, 6, 1)).errors}
    assert "exit_date" in paths  # more than 14 days
    assert "vehicles" in paths  # 20 passengers for 1 visitor
    assert any(p.startswith("visitors") and "passport" in p for p in paths)  # asked of the foreign visitor
    assert not any(p.startswith("visitors") and "register" in p for p in paths)  # not asked of them
    documents = {d.id for d in service.required_documents(answers)}
    assert "passports" in documents


def test_death_certificate_routes_by_the_address_parts() -> None:
    service = catalog().services["death-certificate-reissue"]
    assert service.route({"death_place": {"region": "ulaanbaatar", "soum_district": "khan_uul"}}) == "gasr-khan-uul"
    assert service.route({"death_place": {"region": "arkhangai", "soum_district": "tsetserleg"}}) == "gasr-arkhangai"
    assert service.route({}) == "gasr-central"


def test_death_certificate_correction_loop_returns_to_the_same_step() -> None:
    flow = catalog().services["death-certificate-reissue"].workflow
    registrar, applicant = {"civil_registrar"}, {"applicant"}
    assert flow.fire("submitted", "accept", registrar, {}).state == "printing"
    assert flow.fire("printing", "return_for_correction", registrar, {}).reason == "comment_required"
    returned = flow.fire("printing", "return_for_correction", registrar, {}, comment="Хаяг буруу")
    assert returned.state == "correction"
    assert flow.fire("correction", "resubmit", applicant, {}, back="printing").state == "printing"
    assert flow.fire("correction", "resubmit", applicant, {}, back="submitted").state == "submitted"
    by_post = {"delivery_method": "post"}
    offered = {t.action for t in flow.available("printing", registrar | {"system"}, by_post)}
    assert offered == {"return_for_correction", "send_by_post", "reject"}


def test_terrace_permit_routes_to_the_district_and_cascades_khoroos() -> None:
    service = catalog().services["ub-summer-terrace-permit"]
    assert service.route({"terrace_district": "khan_uul", "terrace_on": "sidewalk"}) == "ub-governor-khan-uul"
    assert service.route({"terrace_district": "khan_uul", "terrace_on": "public_square"}) == "ub-governor-central"
    today = dt.date(2026, 5, 1)
    errors = service.validate({"terrace_district": "khan_uul", "terrace_khoroo": "30"}, today=today).errors
    assert [e.code for e in errors if e.path == "terrace_khoroo"] == ["option_not_allowed"]
    errors = service.validate({"terrace_district": "bayangol", "terrace_khoroo": "30"}, today=today).errors
    assert [e.code for e in errors if e.path == "terrace_khoroo"] == []
    narrow = {"terrace_on": "sidewalk", "sidewalk_width_m": "2.5"}
    assert "sidewalk_width_m" in {e.path for e in service.validate(narrow, today=today).errors}
    assert "sidewalk_width_m" in {e.path for e in service.validate({"terrace_on": "sidewalk"}, today=today).errors}
    on_land = {"terrace_on": "private_land"}
    assert "sidewalk_width_m" not in {e.path for e in service.validate(on_land, today=today).errors}


# --- the guide quotes the examples exactly ----------------------------------------------------------

SNIPPET = re.compile(r"```yaml\n# from (examples/\S+\.yaml)\n(.*?)```", re.DOTALL)
SKIP = "# …"


def guide_snippets() -> list[tuple[str, str]]:
    return SNIPPET.findall(GUIDE.read_text(encoding="utf-8"))


def test_the_guide_quotes_every_example() -> None:
    quoted = {path for path, _ in guide_snippets()}
    assert quoted == {rel(p) for p in EXAMPLE_FILES}


@pytest.mark.parametrize("index", range(len(guide_snippets())))
def test_guide_snippet_is_copied_exactly(index: int) -> None:
    path, body = guide_snippets()[index]
    source = [line.strip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]
    chunks: list[list[str]] = [[]]
    for line in body.splitlines():
        if line.strip() == SKIP:
            chunks.append([])
        else:
            chunks[-1].append(line.strip())
    start = 0
    for chunk in filter(None, chunks):
        found = next(
            (i for i in range(start, len(source) - len(chunk) + 1) if source[i : i + len(chunk)] == chunk), None
        )
        assert found is not None, f"not found in {path} (after line {start}):\n" + "\n".join(chunk)
        start = found + len(chunk)


def test_the_guides_first_service_compiles_cleanly(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"<!-- first-service: (service_defs/\S+\.yaml) .*?-->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert match is not None
    assert match.group(2).startswith("# yaml-language-server: $schema=../../../docs/schema/service.schema.json\n")
    target = tmp_path / match.group(1)
    target.parent.mkdir(parents=True)
    target.write_text(match.group(2), encoding="utf-8")
    result = load_catalog([target], root=ROOT)  # the repository's real registries and patterns
    assert [f"{p.code} {p.message}" for p in result.problems] == []
    assert target.stem in result.services
