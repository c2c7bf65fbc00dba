"""Workflow graph checks: every state reachable, every non-final state with a way out and a path to an end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.load.yaml_source import Document, PathKey
from engine.problems import Problem, problem

if TYPE_CHECKING:
    from engine.compile.workflow import Workflow


def check_workflow_graph(workflow: Workflow, doc: Document, path: PathKey) -> list[Problem]:
    problems: list[Problem] = []
    states = workflow.states
    reachable = {workflow.initial}
    frontier = [workflow.initial]
    while frontier:
        for target in workflow.successors(frontier.pop()):
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    # Reverse reachability from the final states.
    finals = {name for name, state in states.items() if state.final}
    can_finish = set(finals)
    changed = True
    while changed:
        changed = False
        for name in states:
            if name not in can_finish and workflow.successors(name) & can_finish:
                can_finish.add(name)
                changed = True
    if not finals:
        problems.append(
            problem(
                "FLOW006",
                "the workflow has no final state",
                doc.span((*path, "states")),
                "mark the end states with final: true and an outcome",
            )
        )
    for t in workflow.transitions:
        if t.target == "@back":
            for source in t.sources:
                if not workflow.back_targets.get(source):
                    problems.append(
                        problem("FLOW010", f"'@back' from '{source}', but no transition leads into it", t.span)
                    )
    pairs: dict[tuple[str, str, str], int] = {}
    for t in workflow.transitions:
        for source in t.sources:
            key = (source, t.action, t.by)
            if key in pairs:
                problems.append(
                    problem(
                        "FLOW008",
                        f"action '{t.action}' leaves '{source}' twice for the same role",
                        t.span,
                        "give the second transition its own action name",
                    )
                )
            pairs[key] = 1
    for name, state in states.items():
        at = (*path, "states", name)  # looked up only for a problem: most states have none
        if name not in reachable:
            problems.append(
                problem(
                    "FLOW004",
                    f"state '{name}' cannot be reached from '{workflow.initial}'",
                    doc.span(at, key=True),
                    "add a transition into it, or remove it",
                )
            )
        if not state.final and not workflow.outgoing(name):
            problems.append(
                problem(
                    "FLOW005",
                    f"state '{name}' is not final and has no way out",
                    doc.span(at, key=True),
                    "add a transition from it, or mark it final: true",
                )
            )
        elif not state.final and name not in can_finish and finals:
            problems.append(problem("FLOW006", f"state '{name}' has no path to a final state", doc.span(at, key=True)))
    return problems
