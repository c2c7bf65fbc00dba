"""Compile a service's workflow: fill in a named pattern's parameters, resolve its states, roles
and transitions, then check the state graph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.check.graphs import check_workflow_graph
from engine.compile.expressions import BOOL, Environment
from engine.compile.model import I18n
from engine.compile.registries import BUILTIN_ROLES
from engine.compile.stage import Src, Stage
from engine.compile.workflow import BACK, PATTERN_PARAM, State, Transition, Workflow, placeholders, substitute
from engine.problems import did_you_mean


class WorkflowStage(Stage):
    """Compiles `workflow:` (a pattern with params, or states and transitions written inline)."""

    def compile_workflow(
        self, raw: dict[str, Any], src: Src, env: Environment
    ) -> tuple[Workflow | None, dict[str, Any]]:
        pattern_id = raw.get("pattern")
        params: dict[str, str] = dict(raw.get("params", {}))
        body_src = src
        if pattern_id is not None:
            located = self.patterns.get(pattern_id)
            if located is None:
                self.report(
                    "FLOW001",
                    f"unknown workflow pattern '{pattern_id}'",
                    src.at("pattern"),
                    did_you_mean(pattern_id, self.patterns) or "patterns live in workflows/<id>.yaml",
                )
                return None, dict(raw)
            pattern = located.value
            declared = pattern.get("params", {}) or {}
            for name, spec in declared.items():
                if name not in params and isinstance(spec, dict) and "default" in spec:
                    params[name] = spec["default"]
            for name in params:
                if name not in declared:
                    self.report(
                        "FLOW002",
                        f"pattern '{pattern_id}' has no parameter '{name}'",
                        src.at("params", name),
                        did_you_mean(name, declared) or None,
                        key=True,
                    )
            missing: set[str] = set()
            body = substitute({k: pattern[k] for k in ("initial", "states", "transitions")}, params, missing)
            for name in sorted(missing):
                self.report(
                    "FLOW002",
                    f"pattern '{pattern_id}' needs the parameter '{name}'",
                    src.at("pattern"),
                    f"add it under params: {{{name}: <role id>}}",
                )
            body_src = Src(located.doc, located.path)
        else:
            body = raw
            left = placeholders(raw)
            for name in sorted(left):
                self.report("FLOW002", f"'${{{name}}}' is only allowed in workflow patterns", src)
        resolved = {
            "pattern": pattern_id,
            "params": params,
            **{k: body[k] for k in ("initial", "states", "transitions")},
        }
        if "migrate" in raw:
            resolved["migrate"] = raw["migrate"]
        if any(p.severity == "error" and p.code == "FLOW002" for p in self.problems):
            return None, resolved
        workflow = self.build_workflow(body, body_src, env, pattern_id, params, raw.get("migrate", {}), src)
        return workflow, resolved

    def known_role(self, role: str, where: Src) -> None:
        if role in BUILTIN_ROLES:
            return
        if role not in self.reg.roles:
            self.report(
                "REF003",
                f"unknown role '{role}'",
                where,
                did_you_mean(role, [*self.reg.roles, *BUILTIN_ROLES]) or "declare it in _shared/roles.yaml",
            )
        elif role not in self.reg.staffed_roles():
            self.report(
                "FLOW007",
                f"no office staffs the role '{role}'",
                where,
                "add it to the roles of the offices that handle this service",
            )

    def role_src(self, src: Src, key: str, service_src: Src) -> Src:
        """Where to report a role: a pattern's `${param}` is filled in by the service, so a wrong
        role there is the service's to fix, at its `params`; a role written out stays where it is."""
        written: Any = src.doc.data
        for part in (*src.path, key):
            try:
                written = written[part]
            except (KeyError, IndexError, TypeError):
                return src.at(key)
        match = PATTERN_PARAM.fullmatch(written) if isinstance(written, str) else None
        if match is not None and src.doc is not service_src.doc:
            return service_src.at("params", match.group(1))
        return src.at(key)

    def build_workflow(
        self,
        body: dict[str, Any],
        src: Src,
        env: Environment,
        pattern_id: str | None,
        params: Mapping[str, str],
        migrate: Mapping[str, str],
        service_src: Src,
    ) -> Workflow | None:
        states: dict[str, State] = {}
        for name, raw_state in body["states"].items():
            ssrc = src.at("states", name)
            role = raw_state.get("role")
            final = bool(raw_state.get("final", False))
            if role is not None:
                self.known_role(role, self.role_src(ssrc, "role", service_src))
            elif not final:
                self.report(
                    "FLOW009",
                    f"state '{name}' is not final, so it needs the `role` that acts in it",
                    ssrc,
                    "add role: <role id>, applicant or system; or final: true",
                )
            states[name] = State(
                name,
                I18n.of(raw_state["label"]),
                role,
                raw_state.get("sla_days"),
                final,
                raw_state.get("outcome"),
                ssrc.deferred_span(),
                tuple(raw_state.get("effects", ())),
            )
        if body["initial"] not in states:
            self.report(
                "FLOW003",
                f"initial state '{body['initial']}' is not declared",
                src.at("initial"),
                did_you_mean(body["initial"], states) or None,
            )
            return None
        transitions = []
        for index, raw_t in enumerate(body["transitions"]):
            tsrc = src.at("transitions", index)
            sources = raw_t["from"] if isinstance(raw_t["from"], list) else [raw_t["from"]]
            ok = True
            for s_index, source in enumerate(sources):
                where = tsrc.at("from", s_index) if isinstance(raw_t["from"], list) else tsrc.at("from")
                if source not in states:
                    self.report("FLOW003", f"unknown state '{source}'", where, did_you_mean(source, states) or None)
                    ok = False
                elif states[source].final:
                    self.report(
                        "FLOW009",
                        f"state '{source}' is final, so no transition may leave it",
                        where,
                        "remove it from `from`, or drop final: true",
                    )
                    ok = False
            if raw_t["to"] != BACK and raw_t["to"] not in states:
                self.report(
                    "FLOW003",
                    f"unknown state '{raw_t['to']}'",
                    tsrc.at("to"),
                    did_you_mean(raw_t["to"], states) or None,
                )
                ok = False
            self.known_role(raw_t["by"], self.role_src(tsrc, "by", service_src))
            guard = self.expression(raw_t.get("guard"), tsrc.at("guard"), env, BOOL)
            requires = raw_t.get("requires", {}) or {}
            for f_index, fid in enumerate(requires.get("fields", [])):
                if fid not in self.types:
                    self.report(
                        "FLOW011",
                        f"requires.fields names unknown field '{fid}'",
                        tsrc.at("requires", "fields", f_index),
                        did_you_mean(fid, self.types) or None,
                    )
            if ok:
                transitions.append(
                    Transition(
                        raw_t["action"],
                        I18n.of(raw_t["label"]),
                        tuple(sources),
                        raw_t["to"],
                        raw_t["by"],
                        guard,
                        bool(requires.get("comment", False)),
                        tuple(requires.get("fields", [])),
                        tuple(raw_t.get("effects", ())),
                        tsrc.deferred_span(),
                    )
                )
        for old, new in migrate.items():
            if new not in states:
                self.report(
                    "FLOW012",
                    f"migration maps '{old}' to unknown state '{new}'",
                    service_src.at("migrate", old),
                    did_you_mean(new, states) or None,
                )
        if any(p.severity == "error" for p in self.problems):
            return None
        workflow = Workflow.build(body["initial"], states, tuple(transitions), pattern_id, params, migrate)
        self.problems.extend(check_workflow_graph(workflow, src.doc, src.path))
        return workflow
