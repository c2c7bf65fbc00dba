"""The submission validator: a citizen's answers in, clean values and every error out.

Built once per service from its compiled fields and rules. Order matters and is the author's:
a field's `show_if` sees the answers to the visible fields before it (and the raw parsed answers
after it), hidden answers are dropped and never validated, `required_if` decides requiredness,
and cross-field rules run last on the visible values only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from engine.compile.fields import is_empty
from engine.compile.messages import message
from engine.compile.model import Field, I18n, Option, ParseError, Rule, SubmissionError, Validation

ParseResult = tuple[Any, ParseError | None]
_COMPOSED = frozenset({"repeat", "address"})  # types the second pass builds from their parts

ADDRESS_PARTS = {
    "ulaanbaatar": ("district", "khoroo", "street"),
    "mongolia": ("region", "soum_district", "bag_khoroo", "street"),
}
ADDRESS_LABELS = {
    "district": I18n("Дүүрэг", "District"),
    "khoroo": I18n("Хороо", "Khoroo"),
    "street": I18n("Гудамж, байр, тоот", "Street, building, apartment"),
    "region": I18n("Аймаг, нийслэл", "Aimag or capital"),
    "soum_district": I18n("Сум, дүүрэг", "Soum or district"),
    "bag_khoroo": I18n("Баг, хороо", "Bag or khoroo"),
}


class Validator:
    def __init__(
        self, fields: tuple[Field, ...], rules: tuple[Rule, ...], address_options: Mapping[str, tuple[Option, ...]]
    ) -> None:
        self.fields = fields
        self.rules = rules
        self.address_options = address_options
        self._labels = {f.id: f.label for f in fields}
        self._generated: Callable[[Mapping[str, Any], dt.date | None], Validation] | None = None
        self.generated_source: str | None = None

    def __call__(self, answers: Mapping[str, Any], today: dt.date | None = None) -> Validation:
        return self.validate(answers, today)

    def validate(self, answers: Mapping[str, Any], today: dt.date | None = None) -> Validation:
        """The generated straight-line validator (written on first use: most services of a cold
        start are never validated); `interpret` is the reference it must agree with."""
        run = self._generated
        if run is None:
            run = self._generated = self._generate()
            self.validate = run  # type: ignore[method-assign, assignment]  # later calls skip this method's frame
        return run(answers, today)

    def _generate(self) -> Callable[[Mapping[str, Any], dt.date | None], Validation]:
        from engine.compile.validator_codegen import Unsupported, generate  # it builds on this module

        try:
            run, self.generated_source = generate(self.fields, self.rules, self.address_options)
        except Unsupported:
            return self.interpret
        return run

    def interpret(self, answers: Mapping[str, Any], today: dt.date | None = None) -> Validation:
        """The reference implementation: the compiled fields walked in two passes."""
        today = today or dt.date.today()
        if not isinstance(answers, Mapping):
            answers = {}
        errors: list[SubmissionError] = []
        parsed: dict[str, ParseResult] = {}
        scope = self._parse_all(self.fields, answers, today, parsed)
        values = self._decide(self.fields, scope, parsed, answers, today, errors, "", None)
        for rule in self.rules:
            if rule.check.evaluate((values, None)) is False:
                errors.append(SubmissionError(rule.field, "rule:" + rule.id, rule.message))
        return Validation(values, tuple(errors))

    def _parse_all(
        self,
        fields: tuple[Field, ...],
        answers: Mapping[str, Any],
        today: dt.date,
        parsed: dict[str, ParseResult],
    ) -> dict[str, Any]:
        """First pass: every field's typed value (None when empty or invalid), for conditions to read.

        Each parse result is kept in `parsed` for the second pass: parsers are pure, so parsing a
        field twice gave the same answer at twice the cost (it was half of a validation's time).
        """
        scope: dict[str, Any] = {}
        get = answers.get
        for f in fields:
            if f.type in _COMPOSED:
                scope[f.id] = None  # composed later; conditions on them read the second pass
                continue
            result = parsed[f.id] = f.parse(get(f.id), today)
            scope[f.id] = result[0]
        return scope

    def _decide(
        self,
        fields: tuple[Field, ...],
        scope: dict[str, Any],
        parsed: Mapping[str, ParseResult],
        answers: Mapping[str, Any],
        today: dt.date,
        errors: list[SubmissionError],
        prefix: str,
        top: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Second pass, in the author's order: visibility, requiredness, parse errors, composition."""
        values: dict[str, Any] = {}
        for f in fields:
            path = f"{prefix}{f.id}"
            # Conditions read top-level answers (and, inside a repeat item, the item's own first).
            context = (scope, None) if top is None else (top, scope)
            if f.show_if is not None and f.show_if.evaluate(context) is not True:
                scope[f.id] = None
                continue
            raw = answers.get(f.id)
            required = f.required if f.required_if is None else f.required_if.evaluate(context) is True
            value: Any
            if f.type == "repeat":
                value = self._repeat(f, raw, today, errors, path, scope if top is None else top, required)
            elif f.type == "address":
                value = self._address(f, raw, errors, path, required)
            else:
                value, error = parsed[f.id]
                if error is not None:
                    code, params = error
                    errors.append(SubmissionError(path, code, message(code, f.label, params), params))
                elif value is None and required:
                    errors.append(_required(f, path))
                elif value is not None and f.depends_on is not None:
                    parent_value = scope.get(f.depends_on)
                    if not any(o.value == value and o.parent == parent_value for o in f.options):
                        errors.append(
                            SubmissionError(
                                path,
                                "option_not_allowed",
                                message("option_not_allowed", f.label, {"parent": self._label(fields, f.depends_on)}),
                                {"parent": f.depends_on},
                            )
                        )
                        value = None
            scope[f.id] = value
            if value is not None:
                values[f.id] = value
        return values

    def _label(self, fields: tuple[Field, ...], fid: str) -> I18n:
        for f in fields:
            if f.id == fid:
                return f.label
        return self._labels.get(fid, I18n(fid, fid))

    def _repeat(
        self,
        f: Field,
        raw: Any,
        today: dt.date,
        errors: list[SubmissionError],
        path: str,
        top: dict[str, Any],
        required: bool,
    ) -> list[dict[str, Any]] | None:
        items = raw if isinstance(raw, list) else ([] if is_empty(raw) else None)
        if items is None or not all(isinstance(item, Mapping) for item in items):
            errors.append(SubmissionError(path, "type_group", message("type_group", f.label, {})))
            return None
        minimum = f.min_items if f.min_items is not None else (1 if required else 0)
        if len(items) < minimum:
            errors.append(
                SubmissionError(
                    path,
                    "too_few_items",
                    message("too_few_items", f.label, {"min_items": minimum}),
                    {"min_items": minimum},
                )
            )
        if f.max_items is not None and len(items) > f.max_items:
            errors.append(
                SubmissionError(
                    path,
                    "too_many_items",
                    message("too_many_items", f.label, {"max_items": f.max_items}),
                    {"max_items": f.max_items},
                )
            )
            items = items[: f.max_items]
        clean = []
        for index, item in enumerate(items):
            item_parsed: dict[str, ParseResult] = {}
            item_scope = self._parse_all(f.fields, item, today, item_parsed)
            item_values = self._decide(f.fields, item_scope, item_parsed, item, today, errors, f"{path}[{index}].", top)
            for rule in f.rules:
                if rule.check.evaluate((top, item_values)) is False:
                    errors.append(SubmissionError(f"{path}[{index}].{rule.field}", "rule:" + rule.id, rule.message))
            clean.append(item_values)
        return clean if clean else None

    def _address(
        self, f: Field, raw: Any, errors: list[SubmissionError], path: str, required: bool
    ) -> dict[str, str] | None:
        parts = ADDRESS_PARTS[f.area or "mongolia"]
        if is_empty(raw):
            if required:
                errors.append(_required(f, path))
            return None
        if not isinstance(raw, Mapping):
            errors.append(SubmissionError(path, "address", message("address", f.label, {})))
            return None
        value: dict[str, str] = {}
        for part in parts:
            text = raw.get(part)
            part_path = f"{path}.{part}"
            label = ADDRESS_LABELS[part]
            if not isinstance(text, str) or not text.strip():
                if required or any(isinstance(raw.get(p), str) and raw.get(p, "").strip() for p in parts):
                    errors.append(SubmissionError(part_path, "required", message("required", label, {})))
                continue
            text = text.strip()
            if len(text) > 200:
                errors.append(
                    SubmissionError(
                        part_path, "too_long", message("too_long", label, {"max_length": 200}), {"max_length": 200}
                    )
                )
                continue
            allowed = self._allowed_part(part, value)
            if allowed is not None and text not in allowed:
                errors.append(SubmissionError(part_path, "not_an_option", message("not_an_option", label, {})))
                continue
            value[part] = text
        return value or None

    def _allowed_part(self, part: str, so_far: Mapping[str, str]) -> set[str] | None:
        """The values a part may take given the parts before it (cascading), or None for free text."""
        if part == "district":
            return {o.value for o in self.address_options.get("ub_districts", ())}
        if part == "khoroo":
            return {o.value for o in self.address_options.get("ub_khoroos", ()) if o.parent == so_far.get("district")}
        if part == "region":
            return {o.value for o in self.address_options.get("regions", ())}
        if part == "soum_district" and so_far.get("region") == "ulaanbaatar":
            return {o.value for o in self.address_options.get("ub_districts", ())}
        return None


def _required(f: Field, path: str) -> SubmissionError:
    code = "required_choice" if f.type in ("choice", "multichoice", "boolean") else "required"
    return SubmissionError(path, "required", message(code, f.label, {}))
