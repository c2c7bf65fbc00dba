"""Compile a service's fields (shared groups expanded, types declared before any expression is
read) and its cross-field rules."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.compile.expressions import BOOL, LIST, NUMBER, OBJECT, Compiled, Environment, Type
from engine.compile.fields import date_bound, scalar_parser
from engine.compile.model import Field, I18n, Option, Rule
from engine.compile.stage import Src, Stage
from engine.compile.validator import ADDRESS_PARTS
from engine.problems import did_you_mean

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

# What a field's parser reads from its definition.
_PARAMS = (
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


class FieldStage(Stage):
    """Compiles `sections[].fields` and `rules`; `declare_types` fills `types` for the later stages."""

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
        show_if = required_if = None
        show_if_text, required_if_text = raw.get("show_if"), raw.get("required_if")
        if isinstance(show_if_text, str) or isinstance(required_if_text, str):  # most fields have neither
            env = Environment(self.types, item_types)
            show_if_src = self.group_conditions.get(raw["id"]) if item_types is None else None
            show_if = self.expression(show_if_text, show_if_src or src.at("show_if"), env, BOOL)
            required_if = self.expression(required_if_text, src.at("required_if"), env, BOOL)
        if raw.get("required") is True and "required_if" in raw:
            self.report(
                "FIELD012",
                "the field is required and also has required_if",
                src.at("required"),
                "write `required: false` beside required_if, or drop required_if",
            )
        params: dict[str, Any] = dict(zip(_PARAMS, map(raw.get, _PARAMS), strict=True))  # each, None when absent
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
        self.check_bounds(raw, src, params)
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
            self.check_prefill(prefill, src)
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
        return Field(
            id=raw["id"],
            type=kind,
            label=I18n.of(raw["label"]),
            span=src.deferred_span(),
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

    def check_bounds(self, raw: dict[str, Any], src: Src, params: dict[str, Any]) -> None:
        """Reports bounds that cannot hold; a broken one is dropped from `params` so the parser ignores it."""
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
        if raw["type"] in ("date", "datetime"):
            for bound in ("min", "max"):
                value = raw.get(bound)
                if isinstance(value, str):
                    try:
                        date_bound(value)
                    except ValueError:
                        self.report("FIELD009", f"'{value}' is not a real date", src.at(bound))
                        params[bound] = None
        elif raw["type"] in ("integer", "decimal", "money"):
            for bound in ("min", "max"):
                if raw.get(bound) is not None and not isinstance(raw.get(bound), (int, float)):
                    self.report("SHAPE003", f"{bound} must be a number", src.at(bound))
                    params[bound] = None

    def check_prefill(self, prefill: str, src: Src) -> None:
        """`registry.<operation>.<attribute>` must name a known operation and an attribute it returns."""
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
                out.append(Rule(raw["id"], check, target, I18n.of(raw["message"]), rsrc.deferred_span()))
        return tuple(out)
