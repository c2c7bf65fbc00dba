"""Compile one service definition (already shape-checked) into an immutable `Service`.

Each stage resolves references against the shared registries and reports what it cannot resolve
as a positioned problem; nothing here raises on bad input. The order is the pipeline's: fields
(engine/compile/field_stage.py), rules, documents, fees, workflow (workflow_stage.py) and routing
(routing.py); this module holds the service's identity, documents and fees, and puts them together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.check.format import CONTENT_TYPES
from engine.compile.expressions import BOOL, NUMBER, Compiled, Environment
from engine.compile.field_stage import FieldStage
from engine.compile.model import (
    DocumentRequirement,
    FeeLine,
    Field,
    I18n,
    LegalBasis,
    Rule,
    Section,
    Validation,
)
from engine.compile.routing import Router, RoutingStage, fill_template
from engine.compile.stage import Src
from engine.compile.validator import Validator
from engine.compile.workflow import Workflow
from engine.compile.workflow_stage import WorkflowStage
from engine.problems import did_you_mean

__all__ = ["Router", "Service", "ServiceCompiler", "content_hash", "fill_template"]


@dataclass(frozen=True)
class Service:
    """One compiled service: what the portal shows, validates, charges and routes; immutable once built."""

    id: str
    title: I18n
    summary: I18n
    agency: str
    scope: str
    category: str
    keywords: Mapping[str, tuple[str, ...]]
    legal_basis: tuple[LegalBasis, ...]
    sla_days: int
    eligibility: I18n | None
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...]
    documents: tuple[DocumentRequirement, ...]
    fee_lines: tuple[FeeLine, ...]
    workflow: Workflow
    router: Router
    source: str
    version: str  # content hash of the resolved definition: cases are pinned to it
    definition: Mapping[str, Any] = field(compare=False, repr=False)  # resolved data, for diff and docs
    validator: Validator = field(compare=False, repr=False)
    field_index: Mapping[str, Field] = field(compare=False, repr=False)

    def validate(self, answers: Mapping[str, Any], today: dt.date | None = None) -> Validation:
        return self.validator.validate(answers, today)

    def route(self, answers: Mapping[str, Any]) -> str | None:
        return self.router.route(answers)

    def fees(self, answers: Mapping[str, Any]) -> list[tuple[FeeLine, int]]:
        out = []
        for line in self.fee_lines:
            if line.when is not None and not line.when.truth(answers):
                continue
            amount = line.amount if isinstance(line.amount, int) else line.amount(answers)
            if isinstance(amount, (int, float)) and amount > 0:
                out.append((line, round(amount)))
        return out

    def fee_total(self, answers: Mapping[str, Any]) -> int:
        return sum(amount for _, amount in self.fees(answers))

    def required_documents(self, answers: Mapping[str, Any]) -> list[DocumentRequirement]:
        return [
            d for d in self.documents if (d.required_if.truth(answers) if d.required_if is not None else d.required)
        ]


def content_hash(data: Any) -> str:
    """A short, stable digest of resolved data: equal definitions give equal versions, key order aside."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class ServiceCompiler(FieldStage, WorkflowStage, RoutingStage):
    """Compiles one service document; `problems` holds what it found, `compile()` the result or None."""

    # --- the whole service -------------------------------------------------------------------
    def compile(self) -> Service | None:
        data = self.doc.data
        root = Src(self.doc, ())
        self.check_identity(data, root)
        sections_raw = []
        all_raw: list[tuple[dict[str, Any], Src, str | None]] = []
        for index, section in enumerate(data["sections"]):
            expanded = self.expand(section["fields"], root.at("sections", index, "fields"))
            sections_raw.append((section, root.at("sections", index), expanded))
            all_raw.extend(expanded)
        self.declare_types(all_raw, self.types)
        seen_choices: set[str] = set()
        sections = []
        for section, src, expanded in sections_raw:
            fields = self.compile_fields(expanded, None, seen_choices)
            sections.append(
                Section(
                    section["id"],
                    I18n.of(section["title"]),
                    I18n.of(section["intro"]) if "intro" in section else None,
                    fields,
                    src.deferred_span(),
                )
            )
        for f in (f for s in sections for f in s.fields):
            self.fields_by_id.setdefault(f.id, f)  # a repeated id is FIELD001 already; the first one counts
        fields_flat = tuple(self.fields_by_id.values())
        env = Environment(self.types)
        rules = self.compile_rules(data.get("rules", []), root.at("rules"), env, fields_flat)
        documents = self.compile_documents(data.get("documents", []), root.at("documents"), env)
        fee_lines = self.compile_fees(data.get("fee", []), root.at("fee"), env)
        workflow, resolved_workflow = self.compile_workflow(data["workflow"], root.at("workflow"), env)
        router = self.compile_routing(data["routing"], root.at("routing"), env, workflow)
        if any(p.severity == "error" for p in self.problems) or workflow is None or router is None:
            return None
        resolved = dict(data)
        resolved["sections"] = [
            {**section, "fields": [raw for raw, _, _ in expanded]} for section, _, expanded in sections_raw
        ]
        resolved["workflow"] = resolved_workflow
        address_options = {
            name: self.reg.option_lists[name].options
            for name in ("ub_districts", "ub_khoroos", "regions")
            if name in self.reg.option_lists
        }
        return Service(
            id=data["id"],
            title=I18n.of(data["title"]),
            summary=I18n.of(data["summary"]),
            agency=data["agency"],
            scope=data["scope"],
            category=data["category"],
            keywords={lang: tuple(words) for lang, words in data.get("keywords", {}).items()},
            legal_basis=tuple(LegalBasis(I18n.of(b["title"]), b.get("url")) for b in data.get("legal_basis", [])),
            sla_days=data["sla_days"],
            eligibility=I18n.of(data["eligibility"]) if "eligibility" in data else None,
            sections=tuple(sections),
            fields=fields_flat,
            rules=rules,
            documents=documents,
            fee_lines=fee_lines,
            workflow=workflow,
            router=router,
            source=self.doc.path,
            version=content_hash(resolved),
            definition=resolved,
            validator=Validator(fields_flat, rules, address_options),
            field_index=self.fields_by_id,
        )

    def check_identity(self, data: dict[str, Any], root: Src) -> None:
        if data["agency"] not in self.reg.agencies:
            self.report(
                "REF001",
                f"unknown agency '{data['agency']}'",
                root.at("agency"),
                did_you_mean(data["agency"], self.reg.agencies) or "declare it in _shared/agencies.yaml",
            )
        elif self.reg.agencies[data["agency"]].scope != data["scope"]:
            self.report(
                "ID003",
                f"agency '{data['agency']}' is {self.reg.agencies[data['agency']].scope}, "
                f"but the service says scope: {data['scope']}",
                root.at("scope"),
            )
        if data["category"] not in self.reg.categories:
            self.report(
                "REF002",
                f"unknown category '{data['category']}'",
                root.at("category"),
                did_you_mean(data["category"], self.reg.categories) or "declare it in _shared/categories.yaml",
            )

    def compile_documents(
        self, raw_docs: list[dict[str, Any]], src: Src, env: Environment
    ) -> tuple[DocumentRequirement, ...]:
        out = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_docs):
            dsrc = src.at(index)
            if raw["id"] in seen:
                self.report("DOC004", f"document id '{raw['id']}' is used twice", dsrc.at("id"))
            seen.add(raw["id"])
            base = None
            if "type" in raw:
                base = self.reg.document_types.get(raw["type"])
                if base is None:
                    self.report(
                        "DOC001",
                        f"unknown document type '{raw['type']}'",
                        dsrc.at("type"),
                        did_you_mean(raw["type"], self.reg.document_types) or None,
                    )
                    continue
            elif "title" not in raw:
                self.report("SHAPE001", "a document needs a `type` from the shared list or its own `title`", dsrc)
                continue
            registry = raw.get("registry", base.registry if base else None)
            if registry is not None and registry not in self.reg.operations:
                self.report(
                    "DOC003",
                    f"unknown registry operation '{registry}'",
                    dsrc.at("registry"),
                    did_you_mean(registry, self.reg.operations) or None,
                )
            required_if = self.expression(raw.get("required_if"), dsrc.at("required_if"), env, BOOL)
            accept = (
                tuple(CONTENT_TYPES[a] for a in raw["accept"])
                if "accept" in raw
                else (base.accept if base else (CONTENT_TYPES["pdf"], CONTENT_TYPES["jpeg"], CONTENT_TYPES["png"]))
            )
            out.append(
                DocumentRequirement(
                    id=raw["id"],
                    title=I18n.of(raw["title"]) if "title" in raw else base.title,  # type: ignore[union-attr]
                    hint=I18n.of(raw["hint"]) if "hint" in raw else None,
                    required=raw.get("required", True) if "required_if" not in raw else False,
                    required_if=required_if,
                    accept=accept,
                    max_size_mb=raw.get("max_size_mb", base.max_size_mb if base else 5),
                    max_count=raw.get("max_count", base.max_count if base else 1),
                    registry=registry,
                    type=raw.get("type"),
                    span=dsrc.deferred_span(),
                )
            )
        return tuple(out)

    def compile_fees(self, raw_fees: list[dict[str, Any]], src: Src, env: Environment) -> tuple[FeeLine, ...]:
        out = []
        for index, raw in enumerate(raw_fees):
            fsrc = src.at(index)
            amount = raw["amount"]
            compiled: int | Compiled | None
            if isinstance(amount, str):
                if not amount.startswith("="):
                    self.report(
                        "FEE001",
                        f"'{amount}' is neither a number nor an expression",
                        fsrc.at("amount"),
                        "write a whole number (10000) or an expression starting with '=' (= 3600 * days)",
                    )
                    continue
                compiled = self.expression(amount, fsrc.at("amount"), env, NUMBER)
            else:
                compiled = amount
            when = self.expression(raw.get("when"), fsrc.at("when"), env, BOOL)
            if compiled is not None:
                out.append(FeeLine(raw["id"], I18n.of(raw["label"]), compiled, when, fsrc.deferred_span()))
        return tuple(out)
