"""The `transitions` machine of a workflow is built on first use (engine/compile/workflow.py) and is
the machine an eager build gave: same events, sources and targets, and `fire` answers the same
before and after it exists."""

from __future__ import annotations

import threading
from functools import cache

from transitions import Machine

from engine.catalog import Catalog, load_catalog
from engine.compile.workflow import Workflow
from tests.conftest import REPO


@cache
def _catalog() -> Catalog:
    return load_catalog([REPO / "service_defs"], root=REPO)


def _eager_machine(wf: Workflow) -> Machine:
    """How Workflow.build made its machine before it was deferred."""
    machine = Machine(model=None, states=list(wf.states), initial=wf.initial, auto_transitions=False,
                      send_event=True, ignore_invalid_triggers=False)
    for t in wf.transitions:
        for source in t.sources:
            for target in wf.targets(t, source):
                machine.add_transition(t.action, source, target)
    return machine


def _table(machine: Machine) -> set[tuple[str, str, str]]:
    return {(name, source, t.dest) for name, event in machine.events.items()
            for source, ts in event.transitions.items() for t in ts}


def _all_fires(wf: Workflow) -> list[object]:
    roles = {t.by for t in wf.transitions}
    out: list[object] = []
    for state in wf.states:
        for action in sorted({t.action for t in wf.transitions} | {"no_such_action"}):
            for role in sorted(roles):
                for back in (None, *sorted(wf.states)):
                    out.append(wf.fire(state, action, {role}, {}, comment="why", back=back))
    return out


def test_the_lazy_machine_is_the_eager_one_for_every_catalog_workflow() -> None:
    for service in _catalog().services.values():
        wf = service.workflow
        eager = _eager_machine(wf)
        assert "_machine" not in wf.__dict__ or wf.machine is wf.__dict__["_machine"]
        assert _table(wf.machine) == _table(eager), service.id
        assert wf.machine.auto_transitions is False and wf.machine.initial == eager.initial
        assert list(wf.machine.states) == list(eager.states)


def test_fire_answers_the_same_before_and_after_the_machine_is_built() -> None:
    for service in list(_catalog().services.values())[:40]:
        wf = service.workflow
        fresh = Workflow.build(wf.initial, wf.states, wf.transitions, wf.pattern, wf.params, wf.migrate)
        assert "_machine" not in fresh.__dict__, "compiling does not build the machine"
        guarded = [t for t in wf.transitions if t.guard is not None]
        if guarded:
            continue  # guards read answers; the role/target logic is what the machine decides
        assert _all_fires(fresh) == _all_fires(wf)


def test_one_machine_per_workflow_whatever_thread_asks() -> None:
    wf = next(iter(_catalog().services.values())).workflow
    fresh = Workflow.build(wf.initial, wf.states, wf.transitions, wf.pattern, wf.params, wf.migrate)
    seen: list[Machine] = []
    threads = [threading.Thread(target=lambda: seen.append(fresh.machine)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in seen}) == 1
