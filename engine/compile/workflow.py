"""Compile a workflow (inline or from a pattern in `workflows/`) and check it as a graph.

The compiled workflow wraps one `transitions.Machine` per service version, with auto transitions
off, shared by every case: a case is only a state name in a database column. Firing an action
looks the transition up in the machine's event table — no model is attached per case, so a step
costs microseconds and no memory per case in flight. The machine is built on first use: every
start compiles every service, but most services never fire an action in a given process, and
building the machines was a tenth of a cold start.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from engine.compile.expressions import Compiled
from engine.compile.model import I18n
from engine.problems import Span

BACK = "@back"
_MACHINE_LOCK = threading.Lock()  # so that a workflow never builds two machines, whichever thread asks


@dataclass(frozen=True, slots=True)
class State:
    id: str
    label: I18n
    role: str | None
    sla_days: int | None
    final: bool
    outcome: str | None
    span: Span
    effects: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    label: I18n
    sources: tuple[str, ...]
    target: str  # a state id, or BACK
    by: str  # a role id, "applicant" or "system"
    guard: Compiled | None
    requires_comment: bool
    requires_fields: tuple[str, ...]
    effects: tuple[Mapping[str, Any], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Step:
    """The result of firing an action: the new state, or why it was refused."""

    ok: bool
    state: str | None = None
    transition: Transition | None = None
    reason: str | None = None  # not_allowed | guard_false | comment_required | unknown_action | final


@dataclass(frozen=True)
class Workflow:
    initial: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    pattern: str | None
    params: Mapping[str, str]
    migrate: Mapping[str, str]
    back_targets: Mapping[str, frozenset[str]] = field(compare=False, repr=False)
    _by_state: Mapping[str, tuple[Transition, ...]] = field(compare=False, repr=False)

    @staticmethod
    def build(
        initial: str,
        states: Mapping[str, State],
        transitions: tuple[Transition, ...],
        pattern: str | None = None,
        params: Mapping[str, str] | None = None,
        migrate: Mapping[str, str] | None = None,
    ) -> Workflow:
        back_targets = _back_targets(transitions)
        by_state: dict[str, list[Transition]] = {name: [] for name in states}
        for t in transitions:
            for source in t.sources:
                by_state.setdefault(source, []).append(t)
        return Workflow(
            initial,
            dict(states),
            transitions,
            pattern,
            dict(params or {}),
            dict(migrate or {}),
            back_targets,
            {k: tuple(v) for k, v in by_state.items()},
        )

    @property
    def machine(self) -> Machine:
        """The one `transitions` machine of this workflow, shared by all its cases; built on first use."""
        built: Machine | None = self.__dict__.get("_machine")
        if built is None:
            with _MACHINE_LOCK:
                built = self.__dict__.get("_machine")
                if built is None:
                    built = self._build_machine()
                    object.__setattr__(self, "_machine", built)
        return built

    def _build_machine(self) -> Machine:
        machine = Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for t in self.transitions:
            for source in t.sources:
                for target in self.targets(t, source):
                    machine.add_transition(t.action, source, target)
        return machine

    def outgoing(self, state: str) -> tuple[Transition, ...]:
        return self._by_state.get(state, ())

    def available(self, state: str, roles: frozenset[str] | set[str], answers: Mapping[str, Any]) -> list[Transition]:
        """The actions these roles may take from `state` now: the ones a case page offers."""
        return [t for t in self.outgoing(state) if t.by in roles and (t.guard is None or t.guard.truth(answers))]

    def fire(
        self,
        state: str,
        action: str,
        roles: frozenset[str] | set[str],
        answers: Mapping[str, Any],
        comment: str | None = None,
        back: str | None = None,
    ) -> Step:
        """Check role, guard and requirements, then take the transition through the shared machine."""
        candidates = [t for t in self.outgoing(state) if t.action == action]
        if not candidates:
            return Step(False, reason="unknown_action")
        allowed = [t for t in candidates if t.by in roles]
        if not allowed:
            return Step(False, reason="not_allowed")
        transition = allowed[0]
        if transition.guard is not None and not transition.guard.truth(answers):
            return Step(False, transition=transition, reason="guard_false")
        if transition.requires_comment and not (comment and comment.strip()):
            return Step(False, transition=transition, reason="comment_required")
        event = self.machine.events.get(action)
        options = event.transitions.get(state, []) if event is not None else []
        if transition.target == BACK:
            target = back if back in self.back_targets.get(state, ()) else None
            if target is None:  # no record of where the case came from: the first origin is the safe choice
                target = sorted(self.back_targets.get(state, ()))[0] if self.back_targets.get(state) else None
        else:
            target = transition.target
        if target is None or not any(option.dest == target for option in options):
            return Step(False, transition=transition, reason="not_allowed")
        return Step(True, target, transition)

    def acting_roles(self) -> frozenset[str]:
        roles = {t.by for t in self.transitions} | {s.role for s in self.states.values() if s.role}
        return frozenset(roles)

    def finals(self) -> list[str]:
        return [name for name, state in self.states.items() if state.final]

    def first_officer_role(self) -> str | None:
        """The first role (not applicant or system) that acts on a new case; routing must staff it."""
        seen = {self.initial}
        frontier = [self.initial]
        while frontier:
            name = frontier.pop(0)
            state = self.states[name]
            if state.role not in (None, "applicant", "system"):
                return state.role
            for t in self.outgoing(name):
                if t.by not in ("applicant", "system"):
                    return t.by
                for target in self.targets(t, name):
                    if target in self.states and target not in seen:
                        seen.add(target)
                        frontier.append(target)
        return None

    def successors(self, state: str) -> set[str]:
        return {target for t in self.outgoing(state) for target in self.targets(t, state)}

    def targets(self, transition: Transition, source: str) -> list[str]:
        """Where `transition` leads from `source`: its target, or for '@back' each state a case may have come from."""
        return _targets(self.back_targets, transition, source)


def _targets(back_targets: Mapping[str, frozenset[str]], transition: Transition, source: str) -> list[str]:
    # Sorted, so that diagrams and the first-officer search do not depend on set order.
    return sorted(back_targets.get(source, ())) if transition.target == BACK else [transition.target]


def _back_targets(transitions: tuple[Transition, ...]) -> dict[str, frozenset[str]]:
    """For each state, the states whose transitions lead into it: where '@back' may return."""
    into: dict[str, set[str]] = {}
    for t in transitions:
        if t.target == BACK:
            continue
        for source in t.sources:
            if source != t.target:
                into.setdefault(t.target, set()).add(source)
    return {state: frozenset(sources) for state, sources in into.items()}


PATTERN_PARAM = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")  # a pattern's `${role}` parameter


def substitute(value: Any, params: Mapping[str, str], missing: set[str]) -> Any:
    """Fill `${name}` placeholders of a pattern with a service's parameters, recursively."""
    if isinstance(value, str):
        if "${" not in value:
            return value  # most of a pattern's text has no placeholder: no regex, no closure

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in params:
                missing.add(name)
                return match.group(0)
            return params[name]

        return PATTERN_PARAM.sub(replace, value)
    # Text without a placeholder stays as it is, and is taken without a call: a pattern has
    # thousands of such items, and every service using it copies them.
    if isinstance(value, list):
        return [
            item if item.__class__ is str and "${" not in item else substitute(item, params, missing)
            for item in value
        ]
    if isinstance(value, dict):
        return {
            key: item if item.__class__ is str and "${" not in item else substitute(item, params, missing)
            for key, item in value.items()
        }
    return value


def placeholders(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, str):
        found.update(PATTERN_PARAM.findall(value))
    elif isinstance(value, list):
        for item in value:
            found |= placeholders(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= placeholders(item)
    return found
