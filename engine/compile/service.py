"""Compile one service definition (already shape-checked) into an immutable `Service`.

Each step resolves references against the shared registries and reports what it cannot resolve
as a positioned problem; nothing here raises on bad input. The order is the pipeline's: fields,
expressions, documents, workflow, routing, fees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.check.format import CONTENT_TYPES
from engine.check.graphs import check_workflow_graph
from engine.compile.expressions import (
    BOOL,
    LIST,
    NUMBER,
    OBJECT,
    Compiled,
    Environment,
    ExprError,
    Type,
    compile_expression,
)
from engine.compile.fields import date_bound, scalar_parser
from engine.compile.model import (
    DocumentRequirement,
    FeeLine,
    Field,
    I18n,
    LegalBasis,
    Option,
    Rule,
    Section,
    Validation,
)
from engine.compile.registries import BUILTIN_ROLES, Located, Registries
from engine.compile.validator import ADDRESS_PARTS, Validator
from engine.compile.workflow import BACK, State, Transition, Workflow, placeholders, substitute
from engine.load.yaml_source import Document, PathKey
from engine.problems import Problem, Span, did_you_mean, problem

_FIELD_KINDS = {
    "integer": NUMBER,
    "decimal": NUMBER,
    "money": NUMBER,
    "date": "date",
    "datetime": "date",
    "boolean": BOOL,
    "multichoice": LIST,
    "repeat": LIST,
    "address": OBJECT,
}
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\}")
_MAX_ROUTE_COMBINATIONS = 20000
_PATTERN_PARAM = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Src:
    """Where a raw value was written: a document and a path inside it."""

    doc: Document
    path: PathKey
    used_at: Src | None = None  # a shared group's field: the service's `use:` that brought it in

    def at(self, *more: str | int) -> Src:
        return Src(self.doc, (*self.path, *more), self.used_at)

    def span(self, key: bool = False) -> Span:
        return self.doc.span(self.path, key=key)


@dataclass(frozen=True)
class Router:
    rules: tuple[tuple[Compiled | None, str, Span], ...]
    fallback: str | None

    def route(self, answers: Mapping[str, Any]) -> str | None:
        for when, template, _ in self.rules:
            if when is None or when.truth(answers):
                office = fill_template(template, answers)
                if office is not None:
                    return office
        return self.fallback


@dataclass(frozen=True)
class Service:
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


def content_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class ServiceCompiler:
    def __init__(self, doc: Document, registries: Registries, patterns: Mapping[str, Located]) -> None:
        self.doc = doc
        self.reg = registries
        self.patterns = patterns
        self.problems: list[Problem] = []
        self.types: dict[str, Type] = {}
        self.fields_by_id: dict[str, Field] = {}
        self.group_conditions: dict[str, Src] = {}  # field id → where its group's show_if was written

    def report(self, code: str, message: str, src: Src, hint: str | None = None, key: bool = False) -> None:
        self.problems.append(problem(code, message, src.span(key), hint))

    # --- fields ----------------------------------------------------------------------------
    def expand(self, raw_fields: list[Any], src: Src) -> list[tuple[dict[str, Any], Src, str | None]]:
        """Replace `use: group` entries by the group's fields, each keeping its own source."""
        out: list[tuple[dict[str, Any], Src, str | None]] = []
        for index, raw in enumerate(raw_fields):
            item_src = src.at(index)
            if "use" in raw:
                group = self.reg.field_groups.get(raw["use"])
                if group is None:
                    self.report(
                        "FIELD002",
                        f"unknown field group '{raw['use']}'",
                        item_src.at("use"),
                        did_you_mean(raw["use"], self.reg.field_groups) or None,
                    )
                    continue
                group_src = Src(group.doc, group.path, item_src.at("use"))
                condition = raw.get("show_if")
                for g_index, g_raw in enumerate(group.value.get("fields", [])):
                    if "use" in g_raw:
                        continue
                    if isinstance(condition, str) and isinstance(g_raw.get("id"), str):
                        # The group's condition joins each field's own; problems in it point at the use site.
                        own = g_raw.get("show_if")
                        g_raw = {**g_raw, "show_if": f"({condition}) and ({own})" if own else condition}
                        self.group_conditions[g_raw["id"]] = item_src.at("show_if")
                    out.append((g_raw, group_src.at("fields", g_index), raw["use"]))
                continue
            out.append((raw, item_src, None))
        return out

    def declare_types(self, raw_fields: list[tuple[dict[str, Any], Src, str | None]], into: dict[str, Type]) -> None:
        """A first pass so that expressions may name any field of the service, before or after."""
        for raw, src, group in raw_fields:
            fid = raw["id"]
            if fid in into:
                # A clash brought in by `use:` is the service's to fix: point at its `use:` line.
                self.report(
                    "FIELD001",
                    f"field id '{fid}' is used twice" + (f" (it comes with the group '{group}')" if group else ""),
                    src.used_at if src.used_at is not None else src.at("id"),
                    "give each field its own id (fields of a shared group count too)",
                )
                continue
            into[fid] = self.field_type(raw, src)

    def field_type(self, raw: dict[str, Any], src: Src) -> Type:
        kind = raw["type"]
        label = raw["id"]
        if kind in ("choice", "multichoice"):
            options = frozenset(o.value for o in self.options_of(raw, src, report=False))
            text = Type("text", options=options, label=label)
            return Type(LIST, text, label=label) if kind == "multichoice" else text
        if kind == "repeat":
            item_types: dict[str, Type] = {}
            for sub in raw.get("fields", []):
                if isinstance(sub, dict) and "type" in sub and "id" in sub:
                    item_types[sub["id"]] = self.field_type(sub, src)
            return Type(LIST, Type(OBJECT, parts=item_types), label=label)
        if kind == "address":
            parts = {}
            for part in ADDRESS_PARTS[raw.get("area", "mongolia")]:
                part_options: frozenset[str] | None = None
                if part in ("district",):
                    part_options = (
                        self.reg.option_lists["ub_districts"].values()
                        if "ub_districts" in self.reg.option_lists
                        else None
                    )
                if part == "region" and "regions" in self.reg.option_lists:
                    part_options = self.reg.option_lists["regions"].values()
                parts[part] = Type("text", options=part_options, label=f"{label}.{part}")
            return Type(OBJECT, parts=parts, label=label)
        return Type(_FIELD_KINDS.get(kind, "text"), label=label)

    def options_of(self, raw: dict[str, Any], src: Src, report: bool = True) -> tuple[Option, ...]:
        spec = raw.get("options")
        if isinstance(spec, str):
            found = self.reg.option_lists.get(spec)
            if found is None:
                if report:
                    self.report(
                        "FIELD003",
                        f"unknown option list '{spec}'",
                        src.at("options"),
                        did_you_mean(spec, self.reg.option_lists) or "declare it in _shared/option_lists.yaml",
                    )
                return ()
            return found.options
        if isinstance(spec, list):
            options = tuple(Option(str(o["value"]), I18n.of(o["label"]), o.get("parent")) for o in spec)
            if report:
                seen: set[str] = set()
                for index, o in enumerate(options):
                    if o.value in seen:
                        self.report("FIELD010", f"option value '{o.value}' appears twice", src.at("options", index))
                    seen.add(o.value)
            return options
        return ()

    def compile_fields(
        self,
        raw_fields: list[tuple[dict[str, Any], Src, str | None]],
        item_types: dict[str, Type] | None,
        seen_choices: set[str],
    ) -> tuple[Field, ...]:
        out = []
        for raw, src, group in raw_fields:
            compiled = self.compile_field(raw, src, group, item_types, seen_choices)
            if compiled is not None:
                out.append(compiled)
                if compiled.type == "choice":
                    seen_choices.add(compiled.id)
        return tuple(out)

    def compile_field(
        self,
        raw: dict[str, Any],
        src: Src,
        group: str | None,
        item_types: dict[str, Type] | None,
        seen_choices: set[str],
    ) -> Field | None:
        kind = raw["type"]
        env = Environment(self.types, item_types)
        show_if_src = self.group_conditions.get(raw["id"]) if item_types is None else None
        show_if = self.expression(raw.get("show_if"), show_if_src or src.at("show_if"), env, BOOL)
        required_if = self.expression(raw.get("required_if"), src.at("required_if"), env, BOOL)
        if raw.get("required") is True and "required_if" in raw:
            self.report(
                "FIELD012",
                "the field is required and also has required_if",
                src.at("required"),
                "write `required: false` beside required_if, or drop required_if",
            )
        params: dict[str, Any] = {
            k: raw.get(k)
            for k in (
                "min_length",
                "max_length",
                "pattern",
                "min",
                "max",
                "places",
                "must_be_true",
                "mobile",
                "min_age",
                "max_age",
                "min_items",
                "max_items",
            )
        }
        options: tuple[Option, ...] = ()
        sub_fields: tuple[Field, ...] = ()
        item_rules: tuple[Rule, ...] = ()
        if kind in ("choice", "multichoice"):
            options = self.options_of(raw, src)
            params["values"] = frozenset(o.value for o in options)
            depends_on = raw.get("depends_on")
            if depends_on is not None:
                scope_choices = seen_choices | ({k for k, t in (item_types or {}).items()})
                if depends_on not in scope_choices:
                    self.report(
                        "FIELD007",
                        f"depends_on '{depends_on}' is not a choice field before this one",
                        src.at("depends_on"),
                        did_you_mean(depends_on, seen_choices) or None,
                    )
                else:
                    self.check_cascade(raw, src, options, depends_on, show_if)
        if raw.get("pattern") is not None:
            try:
                re.compile(raw["pattern"])
            except re.error as err:
                self.report("FIELD008", f"invalid pattern: {err}", src.at("pattern"))
                params["pattern"] = None
        for low, high in (
            ("min", "max"),
            ("min_length", "max_length"),
            ("min_items", "max_items"),
            ("min_age", "max_age"),
        ):
            a, b = raw.get(low), raw.get(high)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
                self.report("FIELD006", f"{low} ({a}) is greater than {high} ({b})", src.at(low))
        if kind in ("date", "datetime"):
            for bound in ("min", "max"):
                value = raw.get(bound)
                if isinstance(value, str):
                    try:
                        date_bound(value)
                    except ValueError:
                        self.report("FIELD009", f"'{value}' is not a real date", src.at(bound))
                        params[bound] = None
        elif kind in ("integer", "decimal", "money"):
            for bound in ("min", "max"):
                if raw.get(bound) is not None and not isinstance(raw.get(bound), (int, float)):
                    self.report("SHAPE003", f"{bound} must be a number", src.at(bound))
                    params[bound] = None
        if kind == "repeat":
            inner = self.expand(raw["fields"], src.at("fields"))
            item_types_here: dict[str, Type] = {}
            self.declare_types(inner, item_types_here)
            sub_fields = self.compile_fields(inner, item_types_here, set())
            item_rules = self.compile_rules(
                raw.get("rules", []), src.at("rules"), Environment(self.types, item_types_here), sub_fields
            )
        if kind == "address":
            for needed in ("ub_districts", "ub_khoroos") if raw.get("area") == "ulaanbaatar" else ("regions",):
                if needed not in self.reg.option_lists:
                    self.report("FIELD003", f"address fields need the shared option list '{needed}'", src.at("type"))
        prefill = raw.get("prefill")
        if isinstance(prefill, str) and prefill.startswith("registry."):
            operation = prefill.split(".")[1]
            if operation not in self.reg.operations:
                self.report(
                    "FIELD011",
                    f"unknown registry operation '{operation}'",
                    src.at("prefill"),
                    did_you_mean(operation, self.reg.operations) or None,
                )
            else:
                attribute = prefill.split(".", 2)[2] if prefill.count(".") >= 2 else ""
                returns = self.reg.operations[operation].returns
                if returns and attribute.split(".")[0] not in returns:
                    self.report(
                        "FIELD011",
                        f"{operation} does not return '{attribute}'",
                        src.at("prefill"),
                        did_you_mean(attribute, returns) or None,
                    )
        parser = (
            (lambda raw_value, today: (raw_value, None))
            if kind in ("repeat", "address")
            else scalar_parser(kind, params)
        )
        default = raw.get("default")
        if default is not None and kind not in ("repeat", "address"):
            _, error = parser(default, dt.date.today())
            if error is not None:
                self.report("FIELD009", f"the default {default!r} does not fit this {kind} field", src.at("default"))
        field_obj = Field(
            id=raw["id"],
            type=kind,
            label=I18n.of(raw["label"]),
            span=src.span(),
            hint=I18n.of(raw["hint"]) if "hint" in raw else None,
            required=raw.get("required", True) if "required_if" not in raw else False,
            required_if=required_if,
            show_if=show_if,
            default=default,
            prefill=prefill,
            readonly=bool(raw.get("readonly", False)),
            allow_correction=bool(raw.get("allow_correction", False)),
            options=options,
            option_list=raw["options"] if isinstance(raw.get("options"), str) else None,
            depends_on=raw.get("depends_on"),
            widget=raw.get("widget"),
            min=raw.get("min"),
            max=raw.get("max"),
            min_length=raw.get("min_length"),
            max_length=raw.get("max_length"),
            pattern=params.get("pattern"),
            pattern_message=I18n.of(raw["pattern_message"]) if "pattern_message" in raw else None,
            placeholder=I18n.of(raw["placeholder"]) if "placeholder" in raw else None,
            places=raw.get("places"),
            mobile=bool(raw.get("mobile", False)),
            min_age=raw.get("min_age"),
            max_age=raw.get("max_age"),
            must_be_true=bool(raw.get("must_be_true", False)),
            area=raw.get("area"),
            min_items=raw.get("min_items"),
            max_items=raw.get("max_items"),
            item_label=I18n.of(raw["item_label"]) if "item_label" in raw else None,
            fields=sub_fields,
            rules=item_rules,
            group=group,
            parse=parser,
        )
        return field_obj

    def check_cascade(
        self, raw: dict[str, Any], src: Src, options: tuple[Option, ...], parent_id: str, show_if: Compiled | None
    ) -> None:
        """Every answer to the parent that shows the field must leave it an option, or no one can finish the form."""
        parent = self.types.get(parent_id)
        if parent is None or parent.options is None or raw.get("required") is False:
            return  # an optional field may stay empty where no option fits
        children = {o.parent for o in options}
        for value in sorted(parent.options):
            if value not in children and (show_if is None or show_if.truth({parent_id: value})):
                self.report(
                    "FIELD013",
                    f"when {parent_id} is '{value}', {raw['id']} has no option left",
                    src.at("options"),
                    "add options with that parent, or make the field show_if only where it has options",
                )
                return

    # --- expressions -----------------------------------------------------------------------
    def expression(self, text: Any, src: Src, env: Environment, expect: str | None) -> Compiled | None:
        if text is None:
            return None
        if not isinstance(text, str):
            return None
        result = compile_expression(text, env, expect)
        if isinstance(result, ExprError):
            span = src.span()
            line = self.doc_line(src, span)
            start = span.col - 1
            quote = 1 if line[start : start + 1] in ("'", '"') else 0
            lead = 1 + len(text) - len(text.lstrip("= ")) if text.startswith("=") else len(text) - len(text.lstrip())
            col = span.col + quote + lead + result.offset if span.line == span.end_line else span.col
            where = Span(span.file, span.line, col, span.line, col + 1)
            self.problems.append(problem(result.code, result.message, where, result.hint))
            return None
        return result

    def doc_line(self, src: Src, span: Span) -> str:
        return src.doc.line(span.line)

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
                    src.span(),
                )
            )
        fields_flat = tuple(f for s in sections for f in s.fields)
        seen_ids: set[str] = set()
        fields_unique = []
        for f in fields_flat:
            if f.id not in seen_ids:
                seen_ids.add(f.id)
                fields_unique.append(f)
        fields_flat = tuple(fields_unique)
        self.fields_by_id = {f.id: f for f in fields_flat}
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
            field_index={f.id: f for f in fields_flat},
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

    def compile_rules(
        self, raw_rules: list[dict[str, Any]], src: Src, env: Environment, fields: tuple[Field, ...]
    ) -> tuple[Rule, ...]:
        out = []
        known = {f.id for f in fields}
        for index, raw in enumerate(raw_rules):
            rsrc = src.at(index)
            check = self.expression(raw["check"], rsrc.at("check"), env, BOOL)
            target = raw.get("field") or (sorted(check.names)[0] if check is not None and check.names else "")
            base, _, part = target.split("[")[0].partition(".")
            if base not in known:
                self.report(
                    "EXPR002",
                    f"rule field '{target}' is not a field of this service",
                    rsrc.at("field"),
                    did_you_mean(target, known) or None,
                )
            elif part:
                # `vehicles.passenger`: the message would be shown at a field that does not exist.
                t = self.types.get(base)
                parts = (t.item.parts if t and t.kind == LIST and t.item else t.parts if t else None) or {}
                if part not in parts:
                    self.report(
                        "EXPR002",
                        f"rule field '{target}': '{base}' has no field '{part}'",
                        rsrc.at("field"),
                        did_you_mean(part, parts) or None,
                    )
            if check is not None:
                out.append(Rule(raw["id"], check, target, I18n.of(raw["message"]), rsrc.span()))
        return tuple(out)

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
                    span=dsrc.span(),
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
                out.append(FeeLine(raw["id"], I18n.of(raw["label"]), compiled, when, fsrc.span()))
        return tuple(out)

    # --- workflow ----------------------------------------------------------------------------
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
        match = _PATTERN_PARAM.fullmatch(written) if isinstance(written, str) else None
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
                ssrc.span(),
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
                if source not in states:
                    where = tsrc.at("from", s_index) if isinstance(raw_t["from"], list) else tsrc.at("from")
                    self.report("FLOW003", f"unknown state '{source}'", where, did_you_mean(source, states) or None)
                    ok = False
                elif states[source].final:
                    where = tsrc.at("from", s_index) if isinstance(raw_t["from"], list) else tsrc.at("from")
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
                        tsrc.span(),
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

    # --- routing -----------------------------------------------------------------------------
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
            for name in _PLACEHOLDER.findall(template):
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
            rules.append((when, template, rsrc.span()))
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
            names |= {n for n in _PLACEHOLDER.findall(template)}
        dims: list[tuple[str, list[Any]]] = []
        for name in sorted(names):
            base, _, part = name.partition(".")
            t = self.types.get(base)
            if t is None:
                continue
            if part and t.parts is not None and part in t.parts and t.parts[part].options is not None:
                part_values: list[Any] = sorted(t.parts[part].options or ())
                f = self.find_field(base)
                if f is None or not f.required or f.show_if is not None:
                    part_values.append(None)
                dims.append((name, part_values))
            elif not part and t.kind == "text" and t.options is not None:
                values: list[Any] = sorted(t.options)
                f = self.find_field(base)
                if f is None or not f.required or f.show_if is not None:
                    values.append(None)
                dims.append((name, values))
        return dims

    def find_field(self, fid: str) -> Field | None:
        return self.fields_by_id.get(fid)

    def check_coverage(self, router: Router, src: Src, workflow: Workflow | None) -> None:
        dims = self.routing_dimensions(router)
        total = 1
        for _, values in dims:
            total *= max(len(values), 1)
        if total > _MAX_ROUTE_COMBINATIONS:
            return
        first_role = workflow.first_officer_role() if workflow is not None else None
        reported_role: set[str] = set()
        for combo in itertools.product(*[values for _, values in dims]):
            answers: dict[str, Any] = {}
            for (name, _), value in zip(dims, combo, strict=True):
                base, _, part = name.partition(".")
                if part:
                    answers.setdefault(base, {})[part] = value
                else:
                    answers[base] = value
            office = router.route(answers)
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
