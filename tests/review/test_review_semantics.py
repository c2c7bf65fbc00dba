"""Classification edge cases of the semantic diff, written inline on top of the pairs' base service."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.review.semantic_diff import diff_catalogs, diff_services
from tests.review.support import build_side

SERVICE = "service_defs/central/gasr/test-certificate.yaml"


def _compile(tmp: Path, side: str, *edits: tuple[str, str]) -> Service:
    root = build_side("wording", "old", tmp / side)
    path = root / SERVICE
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    catalog = load_catalog([root / "service_defs"], root=root)
    assert catalog.errors == [], [(p.code, p.message) for p in catalog.errors]
    return catalog.services["test-certificate"]


ADDRESS = (
    "      - {id: copies,",
    "      - {id: site, type: address, area: ulaanbaatar, label: {mn: Хаяг, en: Site}}\n      - {id: copies,",
)
ROUTE = ("""{when: "district == 'bayangol'", office: "gasr-{district}"}""", "")


def test_routing_on_an_address_part_enumerates_its_districts(tmp_path: Path) -> None:
    rule = """{when: "site.district == '%s'", office: "gasr-{site.district}"}"""
    old = _compile(tmp_path, "old", ADDRESS, (ROUTE[0], rule % "bayangol"))
    new = _compile(tmp_path, "new", ADDRESS, (ROUTE[0], rule % "khan_uul"))
    (change,) = diff_services(old, new)
    assert change.reroutes == 2
    assert {(e["answers"]["site.district"], e["before"], e["after"]) for e in change.examples} == {
        ("bayangol", "gasr-bayangol", "gasr-central"),
        ("khan_uul", "gasr-central", "gasr-khan-uul"),
    }


INLINE = """workflow:
  initial: submitted
  states:
    submitted: {label: {mn: Илгээсэн, en: Submitted}, role: registrar, sla_days: 2}
    correction: %s
    granted: {label: {mn: Олгосон, en: Granted}, final: true, outcome: granted}
    rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}
%s  transitions:
    - {action: approve, label: {mn: Зөвшөөрөх, en: Approve}, from: submitted, to: granted, by: registrar}
    - {action: return_for_correction, label: {mn: Буцаах, en: Return}, from: submitted, to: correction, by: registrar}
    - {action: reject, label: {mn: Татгалзах, en: Reject}, from: submitted, to: rejected, by: registrar}
%s"""
WF = "workflow: {pattern: simple-review, params: {officer: registrar}}\n"
OPEN = "{label: {mn: Засвар, en: Correction}, role: applicant}"
CLOSED = "{label: {mn: Засвар, en: Correction}, final: true, outcome: withdrawn}"
RESUBMIT = '    - {action: resubmit, label: {mn: Дахин, en: Resubmit}, from: correction, to: "@back", by: applicant}\n'


def test_a_state_made_final_strands_its_cases_unless_migrated(tmp_path: Path) -> None:
    old = _compile(tmp_path, "old", (WF, INLINE % (OPEN, "", RESUBMIT)))
    new = _compile(tmp_path, "new", (WF, INLINE % (CLOSED, "", "")))
    final = next(c for c in diff_services(old, new) if c.what == "now_final")
    assert final.impact == "breaking-cases"
    migrated = _compile(tmp_path, "migrated", (WF, INLINE % (CLOSED, "  migrate: {correction: submitted}\n", "")))
    final = next(c for c in diff_services(old, migrated) if c.what == "now_final")
    assert (final.impact, final.migrated_to) == ("behaviour", "submitted")


def test_fail_on_levels(tmp_path: Path) -> None:
    old = _compile(tmp_path, "old", (WF, INLINE % (OPEN, "", RESUBMIT)))
    new = _compile(tmp_path, "new", (WF, INLINE % (CLOSED, "", "")), ("min: 1, max: 5", "min: 1, max: 4"))
    result = diff_catalogs({"test-certificate": old}, {"test-certificate": new})
    assert {c.impact for c in result.unmigrated_breaking("breaking-cases")} == {"breaking-cases"}
    assert {c.impact for c in result.unmigrated_breaking("breaking")} == {"breaking-cases", "breaking-drafts"}
    assert len(result.unmigrated_breaking("any")) == len(result.changes)


def test_a_show_if_added_to_a_required_field_is_behaviour_removing_it_breaks_drafts(tmp_path: Path) -> None:
    plain = ("{id: copies, type: integer,", "{id: copies, type: integer,")
    hidden = ("{id: copies, type: integer,", """{id: copies, type: integer, show_if: "reason == 'lost'",""")
    always, sometimes = _compile(tmp_path, "a", plain), _compile(tmp_path, "b", hidden)
    assert [c.impact for c in diff_services(always, sometimes)] == ["behaviour"]
    assert [c.impact for c in diff_services(sometimes, always)] == ["breaking-drafts"]


def test_a_date_bound_moving_earlier_is_looser(tmp_path: Path) -> None:
    older = _compile(tmp_path, "a", ("max: today}", "max: today, min: today-18y}"))
    wider = _compile(tmp_path, "b", ("max: today}", "max: today, min: today-30y}"))
    (change,) = diff_services(older, wider)
    assert (change.what, change.impact) == ("loosened", "behaviour")
    (change,) = diff_services(wider, older)
    assert (change.what, change.impact) == ("tightened", "breaking-drafts")


def test_a_field_under_a_new_id_is_a_rename(tmp_path: Path) -> None:
    old = _compile(tmp_path, "a", ("      - {id: copies,", NOTE % "note" + "      - {id: copies,"))
    new = _compile(tmp_path, "b", ("      - {id: copies,", NOTE % "remark" + "      - {id: copies,"))
    (change,) = diff_services(old, new)
    assert (change.what, change.id, change.before, change.impact) == ("renamed", "remark", "note", "breaking-drafts")


NOTE = "      - {id: %s, type: text, label: {mn: Тэмдэглэл, en: Note}, required: false}\n"


def test_the_order_of_a_cascading_lists_parents_is_no_change(tmp_path: Path) -> None:
    """Khoroo 1 exists in every district: options are told apart by their parent, not by position."""
    services = []
    for side, counts in (("a", "{bayangol: 3, khan_uul: 2}"), ("b", "{khan_uul: 2, bayangol: 3}")):
        root = build_side("wording", "old", tmp_path / side)
        registries = root / "service_defs" / "_shared" / "registries.yaml"
        text = registries.read_text(encoding="utf-8")
        assert "counts: {bayangol: 3, khan_uul: 2}" in text
        registries.write_text(text.replace("counts: {bayangol: 3, khan_uul: 2}", f"counts: {counts}"), "utf-8")
        services.append(load_catalog([root / "service_defs"], root=root).services["test-certificate"])
    assert diff_services(*services) == []
    root = tmp_path / "c"
    fewer = build_side("wording", "old", root)
    registries = fewer / "service_defs" / "_shared" / "registries.yaml"
    text = registries.read_text(encoding="utf-8").replace("bayangol: 3, khan_uul: 2", "bayangol: 2, khan_uul: 2")
    registries.write_text(text, encoding="utf-8")
    smaller = load_catalog([fewer / "service_defs"], root=fewer).services["test-certificate"]
    (change,) = diff_services(services[0], smaller)
    assert (change.id, change.what, change.before, change.value_label.en) == (
        "khoroo", "option_removed", "3", "Khoroo 3 (bayangol)",
    )  # fmt: skip
