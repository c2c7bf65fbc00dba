"""Workflows: one shared machine per service, role and guard checks, '@back', and the graph checks."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile.workflow import Workflow
from tests.conftest import CheckYaml, codes, service_yaml

FIELDS = """\
sections:
  - id: main
    title: {mn: Үндсэн, en: Main}
    fields:
      - {id: amount, type: integer, label: {mn: Дүн, en: Amount}}
"""


def inline(workflow: str) -> str:
    head = service_yaml(FIELDS).replace("workflow: {pattern: simple-review, params: {officer: registrar}}\n", "")
    return head + workflow


GOOD = inline("""\
workflow:
  initial: review
  states:
    review: {label: {mn: Хянаж буй, en: In review}, role: registrar, sla_days: 2}
    approval: {label: {mn: Батлах, en: Approval}, role: head_of_office}
    correction: {label: {mn: Засвар, en: Correction}, role: applicant}
    granted: {label: {mn: Олгосон, en: Granted}, final: true, outcome: granted}
    rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}
  transitions:
    - {action: forward, label: {mn: Илгээх, en: Forward}, from: review, to: approval, by: registrar,
       guard: "amount > 100"}
    - {action: approve_small, label: {mn: Батлах, en: Approve}, from: review, to: granted, by: registrar,
       guard: "amount <= 100"}
    - {action: approve, label: {mn: Батлах, en: Approve}, from: approval, to: granted, by: head_of_office}
    - {action: return_for_correction, label: {mn: Буцаах, en: Return}, from: [review, approval], to: correction,
       by: registrar, requires: {comment: true}}
    - {action: resubmit, label: {mn: Дахин илгээх, en: Resubmit}, from: correction, to: "@back", by: applicant}
    - {action: reject, label: {mn: Татгалзах, en: Reject}, from: [review, approval], to: rejected,
       by: head_of_office, requires: {comment: true}}
""")


def compiled(check_yaml: CheckYaml, text: str = GOOD) -> Workflow:
    catalog = check_yaml(text)
    assert catalog.errors == [], [(p.code, p.message) for p in catalog.errors]
    return catalog.services["sample"].workflow


def test_actions_offered_follow_role_and_guard(check_yaml: CheckYaml) -> None:
    wf = compiled(check_yaml)
    assert [t.action for t in wf.available("review", {"registrar"}, {"amount": 500})] == [
        "forward", "return_for_correction"]
    assert [t.action for t in wf.available("review", {"registrar"}, {"amount": 50})] == [
        "approve_small", "return_for_correction"]
    assert [t.action for t in wf.available("review", {"head_of_office"}, {"amount": 50})] == ["reject"]


def test_fire_checks_role_guard_and_comment(check_yaml: CheckYaml) -> None:
    wf = compiled(check_yaml)
    assert wf.fire("review", "forward", {"applicant"}, {"amount": 500}).reason == "not_allowed"
    assert wf.fire("review", "forward", {"registrar"}, {"amount": 5}).reason == "guard_false"
    assert wf.fire("review", "return_for_correction", {"registrar"}, {}).reason == "comment_required"
    assert wf.fire("granted", "approve", {"head_of_office"}, {}).reason == "unknown_action"
    step = wf.fire("review", "forward", {"registrar"}, {"amount": 500})
    assert step.ok and step.state == "approval"


def test_back_returns_to_where_the_case_came_from(check_yaml: CheckYaml) -> None:
    wf = compiled(check_yaml)
    assert wf.back_targets["correction"] == {"review", "approval"}
    assert wf.fire("correction", "resubmit", {"applicant"}, {}, back="approval").state == "approval"
    assert wf.fire("correction", "resubmit", {"applicant"}, {}, back="review").state == "review"


def test_the_machine_is_shared_and_has_no_auto_transitions(check_yaml: CheckYaml) -> None:
    wf = compiled(check_yaml)
    assert wf.machine.auto_transitions is False
    assert not any(name.startswith("to_") for name in wf.machine.events)
    assert wf.first_officer_role() == "registrar"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["registrar", "head_of_office", "applicant"]),
                          st.integers(0, 1000)), max_size=30))
def test_random_walks_stay_in_declared_states(steps: list[tuple[str, int]]) -> None:
    wf = _WORKFLOW[0]
    state, back = wf.initial, None
    for role, amount in steps:
        answers: dict[str, Any] = {"amount": amount}
        offered = wf.available(state, {role}, answers)
        if not offered:
            continue
        transition = offered[amount % len(offered)]
        step = wf.fire(state, transition.action, {role}, answers, comment="why", back=back)
        assert step.ok, step
        assert step.state in wf.states
        if step.state == "correction":
            back = state
        state = step.state
        if wf.states[state].final:
            assert wf.outgoing(state) == ()
            break


_WORKFLOW: list[Workflow] = []


def setup_module() -> None:
    import shutil
    import tempfile
    from pathlib import Path

    from engine.catalog import load_catalog
    from tests.conftest import FIXTURE_PROJECT

    folder = Path(tempfile.mkdtemp()) / "project"
    shutil.copytree(FIXTURE_PROJECT, folder)
    (folder / "service_defs/central/gasr/sample.yaml").write_text(GOOD, encoding="utf-8")
    _WORKFLOW.append(load_catalog([folder / "service_defs"], root=folder).services["sample"].workflow)


def test_graph_problems_are_found(check_yaml: CheckYaml) -> None:
    broken = GOOD.replace(
        "    rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}\n",
        "    rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}\n"
        "    orphan: {label: {mn: Өнчин, en: Orphan}, role: registrar}\n"
        "    limbo: {label: {mn: Гацсан, en: Limbo}, role: registrar}\n",
    ).replace(
        "    - {action: approve, label",
        "    - {action: park, label: {mn: Түр, en: Park}, from: review, to: limbo, by: registrar}\n"
        "    - {action: spin, label: {mn: Эргэх, en: Spin}, from: limbo, to: limbo, by: registrar}\n"
        "    - {action: approve, label",
    )
    found = codes(check_yaml(broken))
    assert "FLOW004" in found  # orphan cannot be reached
    assert "FLOW005" in found  # orphan has no way out
    assert "FLOW006" in found  # limbo only loops on itself


def test_unknown_state_and_role(check_yaml: CheckYaml) -> None:
    broken = GOOD.replace("to: approval, by: registrar", "to: aproval, by: registar")
    assert {"FLOW003", "REF003"} <= set(codes(check_yaml(broken)))


def test_role_that_no_office_staffs(check_yaml: CheckYaml, project: Any) -> None:
    roles = project / "service_defs/_shared/registries.yaml"
    roles.write_text(roles.read_text(encoding="utf-8").replace(
        "  head_of_office: {label", "  auditor: {label: {mn: Аудитор, en: Auditor}}\n  head_of_office: {label"),
        encoding="utf-8")
    broken = GOOD.replace("approve, label: {mn: Батлах, en: Approve}, from: approval, to: granted, by: head_of_office",
                          "approve, label: {mn: Батлах, en: Approve}, from: approval, to: granted, by: auditor")
    assert "FLOW007" in codes(check_yaml(broken))
