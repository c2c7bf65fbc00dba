"""Generated forms: posted fields → answers, and compiled fields → what each widget template shows.

Input names mirror answer paths: `reason`, `site.district` (address part), `children.0.name`
(repeat row 0). A repeat also posts `children.__rows`, its row count, so that "add another" and
"remove" work as plain submit buttons without JavaScript.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.compile.fields import is_empty
from engine.compile.model import Field, I18n, Option, SubmissionError
from engine.compile.validator import ADDRESS_LABELS, ADDRESS_PARTS

MAX_ROWS = 50

# One template per widget; deployers override any of them by putting a folder first on the path.
WIDGETS: dict[str, str] = {
    "textarea": "widgets/textarea.html",
    "boolean": "widgets/boolean.html",
    "choice": "widgets/radios.html",
    "multichoice": "widgets/checkboxes.html",
    "address": "widgets/address.html",
    "repeat": "widgets/repeat.html",
}
DEFAULT_WIDGET = "widgets/input.html"
SELECT_WIDGET = "widgets/select.html"
# HTML input attributes per field type: (type, inputmode, autocomplete)
INPUTS: dict[str, tuple[str, str | None, str | None]] = {
    "integer": ("text", "numeric", None),
    "money": ("text", "numeric", None),
    "decimal": ("text", "decimal", None),
    "date": ("date", None, None),
    "datetime": ("datetime-local", None, None),
    "email": ("email", None, "email"),
    "phone": ("tel", "tel", "tel"),
    "url": ("url", None, "url"),
    "postal_code": ("text", "numeric", "postal-code"),
}


def html_id(path: str) -> str:
    """The element id for an answer path: `children[0].name` → `f-children-0-name`."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-")


def input_name(path: str) -> str:
    """The input name for an answer path: `children[0].name` → `children.0.name`."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


# --- decoding a post ------------------------------------------------------------------------------------
def decode(fields: Sequence[Field], form: Any, prefix: str = "", drop_empty_rows: bool = True) -> dict[str, Any]:
    """The raw answers a form post gives for `fields` (strings, lists and dicts, as typed)."""
    out: dict[str, Any] = {}
    for f in fields:
        name = prefix + f.id
        if f.type == "repeat":
            try:
                rows = min(max(int(form.get(name + ".__rows", "0")), 0), MAX_ROWS)
            except ValueError:
                rows = 0
            items = [decode(f.fields, form, f"{name}.{i}.", drop_empty_rows) for i in range(rows)]
            if drop_empty_rows:
                items = [item for item in items if not all(is_empty(v) for v in item.values())]
            out[f.id] = items
        elif f.type == "address":
            parts = ADDRESS_PARTS[f.area or "mongolia"]
            out[f.id] = {part: str(form.get(f"{name}.{part}", "")) for part in parts}
        elif f.type == "multichoice":
            out[f.id] = [str(v) for v in form.getlist(name)]
        else:
            value = form.get(name)
            out[f.id] = "" if value is None else str(value)
    return out


def apply_row_buttons(fields: Sequence[Field], answers: dict[str, Any], form: Any) -> str | None:
    """Handle "add another" / "remove" buttons; returns the id of the element to return to."""
    add = form.get("_add")
    remove = form.get("_remove")
    for f in fields:
        if f.type != "repeat":
            continue
        rows = answers.setdefault(f.id, [])
        if add == f.id and len(rows) < (f.max_items or MAX_ROWS):
            rows.append({sub.id: "" for sub in f.fields})
            return html_id(f"{f.id}[{len(rows) - 1}]")
        if isinstance(remove, str) and remove.startswith(f.id + "."):
            try:
                index = int(remove[len(f.id) + 1 :])
            except ValueError:
                return None
            if 0 <= index < len(rows):
                rows.pop(index)
            return html_id(f.id)
    return None


# --- what a template shows ---------------------------------------------------------------------------
@dataclass
class FieldView:
    field: Field
    path: str
    name: str
    id: str
    label: str
    hint: str | None
    value: Any
    errors: list[str]
    widget: str
    visible: bool = True
    required: bool = True
    options: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    input_type: str = "text"
    inputmode: str | None = None
    autocomplete: str | None = None
    show_if: str | None = None  # JSON tree for the live preview
    parts: list[FieldView] = dataclasses.field(default_factory=list)  # address parts
    rows: list[list[FieldView]] = dataclasses.field(default_factory=list)  # repeat rows
    row_label: str = ""
    can_add: bool = True
    depends_on: str | None = None  # name of the input whose value filters these options
    depends_label: str | None = None
    all_options: str | None = None  # JSON of every option with its parent, for the live filter

    @property
    def described_by(self) -> str | None:
        ids = []
        if self.hint:
            ids.append(self.id + "-hint")
        if self.errors:
            ids.append(self.id + "-error")
        return " ".join(ids) or None


class FormBuilder:
    """Builds `FieldView`s for one section from the current answers and errors."""

    def __init__(
        self,
        lang: str,
        answers: Mapping[str, Any],
        errors: Mapping[str, list[SubmissionError]],
        visible: Mapping[str, bool],
        address_options: Mapping[str, tuple[Option, ...]],
        field_labels: Mapping[str, I18n],
    ) -> None:
        self.lang = lang
        self.answers = answers
        self.errors = errors
        self.visible = visible
        self.address_options = address_options
        self.field_labels = field_labels

    def messages(self, path: str) -> list[str]:
        return [e.message.get(self.lang) for e in self.errors.get(path, [])]

    def build(self, fields: Sequence[Field], values: Mapping[str, Any], prefix: str = "") -> list[FieldView]:
        return [self.view(f, values, prefix) for f in fields]

    def view(self, f: Field, values: Mapping[str, Any], prefix: str) -> FieldView:
        path = prefix + f.id
        value = values.get(f.id)
        widget = WIDGETS.get(f.type, DEFAULT_WIDGET)
        if f.type == "choice" and (f.widget == "select" or (f.widget != "radio" and len(f.options) > 6)):
            widget = SELECT_WIDGET
        if f.type == "choice" and f.depends_on:
            widget = SELECT_WIDGET
        kind, inputmode, autocomplete = INPUTS.get(f.type, ("text", None, None))
        top = not prefix
        v = FieldView(
            field=f,
            path=path,
            name=input_name(path),
            id=html_id(path),
            label=f.label.get(self.lang),
            hint=f.hint.get(self.lang) if f.hint else None,
            value=value,
            errors=self.messages(path),
            widget=widget,
            visible=self.visible.get(f.id, True) if top else True,
            required=f.required and f.required_if is None,
            input_type=kind,
            inputmode=inputmode,
            autocomplete=autocomplete,
            show_if=json.dumps(f.show_if.tree, ensure_ascii=False) if (f.show_if is not None and top) else None,
        )
        if f.type in ("choice", "multichoice"):
            options = list(f.options)
            if f.depends_on:
                parent = values.get(f.depends_on) if not top else self.answers.get(f.depends_on)
                options = [o for o in options if o.parent == parent] if parent else []
                v.depends_on = input_name(prefix + f.depends_on)
                label = self.field_labels.get(f.depends_on)
                v.depends_label = label.get(self.lang) if label else f.depends_on
                v.all_options = json.dumps(
                    [{"v": o.value, "l": o.label.get(self.lang), "p": o.parent} for o in f.options],
                    ensure_ascii=False,
                )
            chosen = value if isinstance(value, list) else [value]
            v.options = [
                {"value": o.value, "label": o.label.get(self.lang), "checked": o.value in chosen} for o in options
            ]
        elif f.type == "address":
            v.parts = self.address_parts(f, value if isinstance(value, Mapping) else {}, path)
        elif f.type == "repeat":
            items = value if isinstance(value, list) else []
            v.row_label = (f.item_label or f.label).get(self.lang)
            v.rows = [self.build(f.fields, item, f"{path}[{i}].") for i, item in enumerate(items)]
            v.can_add = len(items) < (f.max_items or MAX_ROWS)
        return v

    def address_parts(self, f: Field, value: Mapping[str, Any], path: str) -> list[FieldView]:
        out = []
        for part in ADDRESS_PARTS[f.area or "mongolia"]:
            part_path = f"{path}.{part}"
            options: list[Option] | None = None
            parent_name = None
            if part == "district" or (part == "soum_district" and value.get("region") == "ulaanbaatar"):
                options = list(self.address_options.get("ub_districts", ()))
            elif part == "khoroo":
                options = [o for o in self.address_options.get("ub_khoroos", ()) if o.parent == value.get("district")]
                parent_name = input_name(f"{path}.district")
            elif part == "region":
                options = list(self.address_options.get("regions", ()))
            current = value.get(part, "")
            pv = FieldView(
                field=f,
                path=part_path,
                name=input_name(part_path),
                id=html_id(part_path),
                label=ADDRESS_LABELS[part].get(self.lang),
                hint=None,
                value=current,
                errors=self.messages(part_path),
                widget=SELECT_WIDGET if options is not None else DEFAULT_WIDGET,
                required=f.required,
            )
            if options is not None:
                pv.options = [
                    {"value": o.value, "label": o.label.get(self.lang), "checked": o.value == current} for o in options
                ]
            if parent_name is not None:
                pv.depends_on = parent_name
                pv.depends_label = ADDRESS_LABELS["district"].get(self.lang)
                pv.all_options = json.dumps(
                    [
                        {"v": o.value, "l": o.label.get(self.lang), "p": o.parent}
                        for o in self.address_options.get("ub_khoroos", ())
                    ],
                    ensure_ascii=False,
                )
            out.append(pv)
        return out


def display_value(f: Field, value: Any, lang: str) -> str:
    """An answer as the check-your-answers page and the case page show it."""
    if is_empty(value):
        return ""
    if f.type == "choice":
        labels = f.option_labels()
        return labels[value].get(lang) if value in labels else str(value)
    if f.type == "multichoice":
        labels = f.option_labels()
        return ", ".join(labels[v].get(lang) if v in labels else str(v) for v in value)
    if f.type == "boolean":
        truthy = value is True or str(value).lower() in ("yes", "true", "1", "тийм")
        return ("Тийм" if lang == "mn" else "Yes") if truthy else ("Үгүй" if lang == "mn" else "No")
    if f.type == "address" and isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values() if v)
    if f.type == "money" and isinstance(value, int):
        return f"{value:,}₮".replace(",", " ")
    return str(value)
