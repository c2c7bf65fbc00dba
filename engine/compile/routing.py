"""Routing: which office receives an application, compiled from a service's rules and checked so
that every possible answer reaches an office that staffs the role acting first."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.compile.expressions import BOOL, OBJECT, Compiled, Environment
from engine.compile.stage import Src, Stage
from engine.compile.workflow import Workflow
from engine.problems import Span, did_you_mean

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\}")
# Beyond this many answer combinations the coverage check is skipped rather than slow every compile.
_MAX_ROUTE_COMBINATIONS = 20000


def template_names(template: str) -> list[str]:
    """The answers an office template reads: `gasr-{district}` → ['district']."""
    return _PLACEHOLDER.findall(template)


def fill_template(template: str, answers: Mapping[str, Any]) -> str | None:
    """`gasr-{district}` → `gasr-khan-uul`; office ids are kebab-case, so '_' in values becomes '-'."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        value: Any = answers
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if not isinstance(value, str) or not value:
            missing = True
            return ""
        return value.replace("_", "-")

    office = _PLACEHOLDER.sub(replace, template)
    return None if missing else office


@dataclass(frozen=True)
class Router:
    """The first rule whose `when` holds and whose office template fills in gives the office; else the fallback."""

    rules: tuple[tuple[Compiled | None, str, Span], ...]
    fallback: str | None

    def route(self, answers: Mapping[str, Any]) -> str | None:
        for when, template, _ in self.rules:
            if when is None or when.truth(answers):
                office = fill_template(template, answers)
                if office is not None:
                    return office
        return self.fallback


class RoutingStage(Stage):
    """Compiles `routing:` and checks every combination of the answers it reads reaches a staffed office."""

    def compile_routing(
        self, raw: dict[str, Any], src: Src, env: Environment, workflow: Workflow | None
    ) -> Router | None:
        rules = []
        catch_all: int | None = None  # the first rule that always gives an office
        for index, raw_rule in enumerate(raw["rules"]):
            rsrc = src.at("rules", index)
            if catch_all is not None:
                self.report(
                    "ROUTE005",
                    f"this rule is never used: rule {catch_all + 1} above has no `when` and always matches",
                    rsrc,
                    "move the rule without `when` to the end, or give it a condition",
                )
            elif "when" not in raw_rule and not _PLACEHOLDER.search(raw_rule["office"]):
                catch_all = index
            when = self.expression(raw_rule.get("when"), rsrc.at("when"), env, BOOL)
            template = raw_rule["office"]
            for name in template_names(template):
                base, _, part = name.partition(".")
                t = self.types.get(base)
                if t is None:
                    self.report(
                        "ROUTE003",
                        f"the office template names unknown field '{base}'",
                        rsrc.at("office"),
                        did_you_mean(base, self.types) or None,
                    )
                elif part and (t.kind != OBJECT or t.parts is None or part not in t.parts):
                    # `{death_place.soum}` would never fill in, so the rule would silently never apply.
                    parts = list(t.parts or {}) if t.kind == OBJECT else []
                    self.report(
                        "ROUTE003",
                        f"the office template names '{part}', which is not a part of '{base}'",
                        rsrc.at("office"),
                        did_you_mean(part, parts) or (None if parts else f"'{base}' has no parts"),
                    )
            if not _PLACEHOLDER.search(template) and template not in self.reg.offices:
                self.report(
                    "ROUTE001",
                    f"unknown office '{template}'",
                    rsrc.at("office"),
                    did_you_mean(template, self.reg.offices) or None,
                )
            if "when" in raw_rule and when is None:
                continue
            rules.append((when, template, rsrc.deferred_span()))
        fallback = raw.get("fallback")
        if fallback is not None and fallback not in self.reg.offices:
            self.report(
                "ROUTE001",
                f"unknown fallback office '{fallback}'",
                src.at("fallback"),
                did_you_mean(fallback, self.reg.offices) or None,
            )
        if any(p.severity == "error" for p in self.problems):
            return None
        router = Router(tuple(rules), fallback)
        self.check_coverage(router, src, workflow)
        return router

    def routing_dimensions(self, router: Router) -> list[tuple[str, list[Any]]]:
        """The choice answers routing depends on, each with every value it can take (and 'no answer')."""
        names: set[str] = set()
        for when, template, _ in router.rules:
            if when is not None:
                names |= set(when.names)
            names |= set(template_names(template))
        dims: list[tuple[str, list[Any]]] = []
        for name in sorted(names):
            base, _, part = name.partition(".")
            t = self.types.get(base)
            if t is None:
                continue
            if part:
                options = t.parts[part].options if t.parts is not None and part in t.parts else None
            else:
                options = t.options if t.kind == "text" else None
            if options is None:
                continue
            values: list[Any] = sorted(options)
            f = self.fields_by_id.get(base)
            if f is None or not f.required or f.show_if is not None:
                values.append(None)
            dims.append((name, values))
        return dims

    def check_coverage(self, router: Router, src: Src, workflow: Workflow | None) -> None:
        dims = self.routing_dimensions(router)
        total = 1
        for _, values in dims:
            total *= max(len(values), 1)
        if total > _MAX_ROUTE_COMBINATIONS:
            return
        first_role = workflow.first_officer_role() if workflow is not None else None
        reported_role: set[str] = set()
        parts = [name.partition(".") for name, _ in dims]
        for combo in itertools.product(*[values for _, values in dims]):
            answers: dict[str, Any] = {}
            for (base, _, part), value in zip(parts, combo, strict=True):
                if part:
                    answers.setdefault(base, {})[part] = value
                else:
                    answers[base] = value
            office = router.route(answers)
            if office is not None and office in self.reg.offices and (
                first_role is None or first_role in self.reg.offices[office].roles or office in reported_role
            ):
                continue  # the usual case: nothing to report, so nothing to describe
            described = ", ".join(f"{name} = {value!r}" for (name, _), value in zip(dims, combo, strict=True))
            if office is None:
                self.report(
                    "ROUTE002",
                    f"no office receives the answers {described or '(any)'}",
                    src.at("rules"),
                    "add a rule without `when` at the end, or a `fallback:` office",
                )
                return
            if office not in self.reg.offices:
                self.report(
                    "ROUTE001",
                    f"the answers {described} route to '{office}', which is not an office",
                    src.at("rules"),
                    did_you_mean(office, self.reg.offices) or None,
                )
                return
            if (
                first_role is not None
                and first_role not in self.reg.offices[office].roles
                and office not in reported_role
            ):
                reported_role.add(office)
                self.report(
                    "ROUTE004",
                    f"office '{office}' does not staff '{first_role}', who acts first",
                    src.at("rules"),
                    f"add {first_role} to the roles of {office}, or route elsewhere",
                )
