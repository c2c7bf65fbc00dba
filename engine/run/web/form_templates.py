"""Form pages compiled per (definition version, section, language): the widgets unrolled into one template.

The reference page (form.html, which includes one widget template per field, from FieldViews built on
every request) spends most of its time on things that never change between requests: labels, hints,
ids, names, option lists, the show_if JSON, the page chrome's texts. Here they are written, once, as
literal markup into the source of one flat Jinja template per section and language; only the answers,
the error messages, visibility, registry marks and the request's own values (CSRF, paths) are left to
fill. The template is built on first use and cached on the portal (bounded; immutable once built).

Author text enters the generated source only through `lit`: HTML-escaped exactly as the widget
templates' autoescape would, with every `{` written as the expression `{{ '{' }}` so that no
delimiter (`{{`, `{%`, `{#`) can ever be formed from a definition. Values that the template compares
against (option values, parents) are not written into the source at all: they sit in a constant tuple
`K` passed to the template and are referred to by index.

The markup mirrors renderers/templates/{base,form,_errors}.html, exchange/_offer.html and widgets/*.html
byte for byte (tests/render proves it for every catalog section in both languages). When a deployer
overrides any of those templates, or a section holds a shape this compiler does not unroll (a repeat or
an address inside a repeat), `compile_page` returns None and the portal renders the reference page.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, Template
from markupsafe import escape

from engine.compile.model import Field, I18n, Option, RegistryOperation
from engine.compile.service import Service
from engine.compile.validator import ADDRESS_LABELS
from engine.run.exchange import flow
from engine.run.web.forms import DEFAULT_WIDGET, MAX_ROWS, SELECT_WIDGET, FieldView, FormBuilder, input_name
from engine.run.web.i18n import text

# The templates whose markup is unrolled here: an override of any of them turns the fast path off.
MIRRORED = (
    "base.html",
    "form.html",
    "_errors.html",
    "exchange/_offer.html",
    "widgets/_macros.html",
    "widgets/address.html",
    "widgets/boolean.html",
    "widgets/checkboxes.html",
    "widgets/input.html",
    "widgets/radios.html",
    "widgets/repeat.html",
    "widgets/select.html",
    "widgets/textarea.html",
)
# A compiled page holds ≈120 KB and takes ≈30–60 ms to build (Jinja's parse, codegen and compile()).
# The catalog has ≈1,000 (section, language) pages; the busiest half stay, the rest are rebuilt on use.
MAX_PAGES = 512
ROW = "9081726354"  # stands for a repeat row's index while ids and names are computed (digits: kept by html_id)


class Unsupported(Exception):
    """A section shape the compiler does not unroll; the reference page renders it."""


# --- what the compiled template is given per request ---------------------------------------------------
class Answers(dict[str, Any]):
    """Answers as the template reads them: a missing answer is None, as `values.get(id)` gives."""

    def __missing__(self, key: str) -> None:
        return None


class Messages(dict[str, list[str]]):
    """Error messages by answer path: a path without errors has none."""

    def __missing__(self, key: str) -> tuple[()]:
        return ()


class Parts(dict[str, Any]):
    """An address answer's parts: a missing part is "", as `value.get(part, "")` gives."""

    def __missing__(self, key: str) -> str:
        return ""


class Mark(NamedTuple):
    """Where a prefilled answer came from (exchange.mark_fields says the same to the reference page)."""

    op: Any
    label: str
    locked: bool


def chosen(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def or_blank(value: Any) -> Any:
    """`fv.value if fv.value is not none else ''`, with one lookup of the answer instead of two."""
    return "" if value is None else value


def rows_of(value: Any) -> list[Answers]:
    return [Answers(item) for item in value] if isinstance(value, list) else []


def parts_of(value: Any) -> Parts:
    return Parts(value) if isinstance(value, Mapping) else Parts()


def registry_marks(
    answers: Mapping[str, Any], operations: Mapping[str, RegistryOperation], lang: str
) -> dict[str, Mark]:
    from engine.run.web.exchange import source_label

    marks: dict[str, Mark] = {}
    for field_id, info in flow.provenance_of(answers).items():
        if isinstance(info, Mapping):
            operation = operations.get(str(info.get("op", "")))
            marks[field_id] = Mark(info.get("op"), text(source_label(operation), lang), bool(info.get("locked")))
    return marks


# --- the compiled page -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledPage:
    template: Template
    shows: tuple[Field, ...]  # the section's fields with a show_if: their visibility is filled per request
    offers: bool  # the first page of a service that fetches from registries shows the offer (until answered)
    anchors: Mapping[str, str]  # error path → the id its summary link points at, for the service's top fields
    consts: tuple[Any, ...]

    def render(self, context: dict[str, Any]) -> str:
        """The page for one request's values (`context` is taken over, not copied).

        Template.render would copy the context and merge the environment's globals into it; this
        template uses none of them (its helpers are filters, bound when it was compiled).
        """
        context["K"] = self.consts
        return "".join(self.template.root_render_func(self.template.new_context(context, shared=True)))


def lit(value: Any) -> str:
    """Author (or portal) text as template source: escaped like autoescape, and never template code."""
    return str(escape(value)).replace("{", "{{ '{' }}")


class _Source:
    """Builds one page's template source; `const` keeps the values expressions compare with."""

    def __init__(self, lang: str, field_labels: Mapping[str, I18n], address_options: Mapping[str, tuple[Option, ...]]):
        self.lang = lang
        self.out: list[str] = []
        self.consts: list[Any] = []
        self.builder = FormBuilder(lang, {}, {}, {}, address_options, field_labels)
        self.address_options = address_options
        self.serial = 0

    def t(self, key: str, **params: Any) -> str:
        return lit(text(key, self.lang, **params))

    def const(self, value: Any) -> str:
        self.consts.append(value)
        return f"K[{len(self.consts) - 1}]"

    def var(self, stem: str) -> str:
        self.serial += 1
        return f"{stem}{self.serial}"

    def emit(self, *chunks: str) -> None:
        self.out.extend(chunks)


class _Dyn(NamedTuple):
    """The template expressions of one field's per-request state."""

    value: str  # the answer
    errors: str  # its error messages
    visible: str | None  # None: always visible
    mark: str | None  # None: never marked from a registry (only top-level fields are)
    row: str | None  # the enclosing repeat row's index variable, or None


def _ident(static: str, row: str | None) -> str:
    """An id or name computed with the ROW stand-in, as source: literal, with the row index filled in."""
    if row is None:
        return lit(static)
    return ("{{ " + row + " }}").join(lit(piece) for piece in static.split(ROW))


def _error_key(path: str, row: str | None) -> str:
    """The errors lookup for a path (a row's paths are joined per request)."""
    if row is None:
        return f"E[{_quote(path)}]"
    head, _, tail = path.partition(ROW)
    return f"E[{_quote(head)} ~ {row} ~ {_quote(tail)}]"


def _quote(identifier: str) -> str:
    # Only ids, paths and names built from snake_case field ids reach here, never author text.
    if not all(c.isalnum() or c in "_.[]-" for c in identifier):
        raise Unsupported(identifier)
    return "'" + identifier + "'"


# --- the widgets (mirroring widgets/*.html and widgets/_macros.html) -----------------------------------
def _wrapper_attrs(fv: FieldView, d: _Dyn) -> str:
    out = f'data-field="{_ident(fv.name, d.row)}"'
    if fv.show_if:
        out += f' data-show-if="{lit(fv.show_if)}"'
    if d.visible is not None:
        out += "{% if not " + d.visible + " %} hidden{% endif %}"
    return out


def _shown_marker(fv: FieldView, d: _Dyn) -> str:
    if not fv.show_if:
        return ""
    disabled = "{% if not " + d.visible + " %} disabled{% endif %}" if d.visible is not None else ""
    return f'<input type="hidden" name="_shown" value="{lit(fv.field.id)}" data-shown-marker{disabled}>'


def _optional(s: _Source, fv: FieldView) -> str:
    return "" if fv.required else f' <span class="optional">{s.t("optional")}</span>'


def _hint_and_errors(s: _Source, fv: FieldView, d: _Dyn, ident: str) -> str:
    out = ""
    if d.mark is not None:
        m = d.mark
        out += (
            "{% if " + m + ' %}<div class="hint registry-source" data-registry="{{ ' + m + '.op }}"><strong>{{ '
            + m + ".label }}</strong> (ХУР {{ " + m + ".op }}){% if not " + m + ".locked %} — "
            + s.t("registry_correctable") + "{% endif %}</div>{% endif %}"
        )
    if fv.hint:
        out += f'<div id="{ident}-hint" class="hint">{lit(fv.hint)}</div>'
    out += (
        "{% if " + d.errors + ' %}<p id="' + ident + '-error" class="error-message">{% for e in ' + d.errors
        + ' %}<span class="visually-hidden">' + s.t("error_prefix")
        + "</span> {{ e }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>{% endif %}"
    )
    return out


def _described(fv: FieldView, d: _Dyn, ident: str) -> str:
    if fv.hint:
        out = f' aria-describedby="{ident}-hint' + "{% if " + d.errors + " %} " + ident + '-error{% endif %}"'
    else:
        out = "{% if " + d.errors + ' %} aria-describedby="' + ident + '-error"{% endif %}'
    return out + "{% if " + d.errors + ' %} aria-invalid="true"{% endif %}'


def _field_error(d: _Dyn) -> str:
    return "{% if " + d.errors + " %} field-error{% endif %}"


def _input(s: _Source, fv: FieldView, d: _Dyn) -> None:
    ident = _ident(fv.id, d.row)
    short = " input-short" if fv.input_type in ("date", "tel") or fv.inputmode else ""
    attrs = ""
    if fv.inputmode:
        attrs += f' inputmode="{lit(fv.inputmode)}"'
    if fv.autocomplete:
        attrs += f' autocomplete="{lit(fv.autocomplete)}"'
    if fv.field.max_length and fv.field.type == "text":
        attrs += f' maxlength="{lit(fv.field.max_length * 2)}"'
    readonly = []
    if d.mark is not None:
        readonly.append(f"({d.mark} and {d.mark}.locked)")
    if fv.field.readonly:
        readonly.append(d.value)
    if readonly:
        attrs += "{% if " + " or ".join(readonly) + " %} readonly{% endif %}"
    s.emit(
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <label class="label" for="{ident}">{lit(fv.label)}{_optional(s, fv)}</label>\n',
        f"  {_hint_and_errors(s, fv, d, ident)}\n",
        f'  <input class="input{short}' + "{% if " + d.errors + " %} input-error{% endif %}"
        + f'" id="{ident}" name="{_ident(fv.name, d.row)}" type="{lit(fv.input_type)}" value="'
        + "{{ " + d.value + "|or_blank }}" + f'"{attrs}{_described(fv, d, ident)}>\n',
        "</div>",
    )


def _textarea(s: _Source, fv: FieldView, d: _Dyn) -> None:
    ident = _ident(fv.id, d.row)
    s.emit(
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <label class="label" for="{ident}">{lit(fv.label)}{_optional(s, fv)}</label>\n',
        f"  {_hint_and_errors(s, fv, d, ident)}\n",
        '  <textarea class="textarea' + "{% if " + d.errors + " %} input-error{% endif %}" + f'" id="{ident}" '
        f'name="{_ident(fv.name, d.row)}" rows="5"{_described(fv, d, ident)}>'
        + "{{ " + d.value + " if " + d.value + " is not none else '' }}</textarea>\n",
        "</div>",
    )


def _boolean(s: _Source, fv: FieldView, d: _Dyn) -> None:
    ident = _ident(fv.id, d.row)
    name = _ident(fv.name, d.row)
    yes, no = s.var("yes"), s.var("no")
    s.emit(
        "{% set " + yes + " = " + d.value + " in ('yes', 'true', 'on', '1', true) %}"
        "{% set " + no + " = " + d.value + " in ('no', 'false', '0', false) %}",
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n  ',
    )
    if fv.field.must_be_true:
        s.emit(
            f"  {_hint_and_errors(s, fv, d, ident)}\n",
            '  <div class="checkbox">\n',
            f'    <input type="checkbox" id="{ident}" name="{name}" value="yes"' + "{% if " + yes
            + " %} checked{% endif %}" + f"{_described(fv, d, ident)}>\n",
            f'    <label for="{ident}">{lit(fv.label)}</label>\n  </div>\n  ',
        )
    else:
        s.emit(
            f'  <fieldset class="fieldset"{_described(fv, d, ident)}>\n',
            f'    <legend class="legend">{lit(fv.label)}{_optional(s, fv)}</legend>\n',
            f"    {_hint_and_errors(s, fv, d, ident)}\n",
            '    <div class="radios radios-inline">\n',
            f'      <div class="radio"><input type="radio" id="{ident}" name="{name}" value="yes"' + "{% if " + yes
            + f' %}} checked{{% endif %}}><label for="{ident}">{s.t("yes")}</label></div>\n',
            f'      <div class="radio"><input type="radio" id="{ident}-no" name="{name}" value="no"' + "{% if " + no
            + f' %}} checked{{% endif %}}><label for="{ident}-no">{s.t("no")}</label></div>\n',
            "    </div>\n  </fieldset>\n  ",
        )
    s.emit("</div>")


def _option_groups(
    s: _Source, fv: FieldView, options: Sequence[Option], parent: str | None, body: Any
) -> None:
    """Options fixed at compile time, or one literal group per parent value when they depend on another answer."""
    if parent is None:
        body(options)
        return
    groups: dict[str, list[Option]] = {}
    for o in options:
        if o.parent is not None:
            groups.setdefault(o.parent, []).append(o)
    if not groups:
        return
    s.emit("{% if not " + parent + " %}")
    for value, members in groups.items():
        if value:  # an option whose parent is "" is never shown: a falsy parent shows none
            s.emit("{% elif " + parent + " == " + s.const(value) + " %}")
            body(members)
    s.emit("{% endif %}")


def _choices(s: _Source, fv: FieldView, d: _Dyn, kind: str) -> None:
    """radios.html and checkboxes.html: the same shape, input type and wrapper class aside."""
    ident = _ident(fv.id, d.row)
    name = _ident(fv.name, d.row)
    box = "radio" if kind == "radio" else "checkbox"
    picked = s.var("c")
    s.emit(
        "{% set " + picked + " = " + d.value + "|chosen %}",
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <fieldset class="fieldset"{_described(fv, d, ident)}>\n',
        f'    <legend class="legend">{lit(fv.label)}{_optional(s, fv)}</legend>\n',
        f"    {_hint_and_errors(s, fv, d, ident)}\n",
        f'    <div class="{box}es">\n      ' if box == "checkbox" else '    <div class="radios">\n      ',
    )

    def body(options: Sequence[Option]) -> None:
        for n, o in enumerate(options):
            oid = ident if n == 0 else f"{ident}-{n}"
            s.emit(
                f'      <div class="{box}">\n',
                f'        <input type="{box}" id="{oid}" name="{name}" value="{lit(o.value)}"'
                + "{% if " + s.const(o.value) + " in " + picked + " %} checked{% endif %}>\n",
                f'        <label for="{oid}">{lit(o.label.get(s.lang))}</label>\n      </div>\n      ',
            )

    _option_groups(s, fv, fv.field.options, _parent(fv, d), body)
    s.emit("    </div>\n  </fieldset>\n</div>")


def _parent(fv: FieldView, d: _Dyn) -> str | None:
    """The expression of the answer a field's options depend on (top level: the answers; in a row: the row)."""
    if not fv.field.depends_on:
        return None
    return ("a" if d.row is None else "row") + "[" + _quote(fv.field.depends_on) + "]"


def _select(
    s: _Source,
    fv: FieldView,
    d: _Dyn,
    options: Sequence[Option],
    parent: str | None,
    depends: tuple[str, str, str] | None,
    equal: bool = False,
) -> None:
    """select.html. `depends`: (input name, parent's label, every option as JSON) of a dependent list;
    `equal`: an address part, whose option is selected when equal to the answer (not "in" it)."""
    ident = _ident(fv.id, d.row)
    name = _ident(fv.name, d.row)
    picked = d.value if equal else s.var("c")
    if not equal:
        s.emit("{% set " + picked + " = " + d.value + "|chosen %}")
    test = " == " if equal else " in "
    placeholder = s.t("select_placeholder")
    dep_attrs = ""
    if depends is not None:
        dep_attrs = (
            f' data-depends-on="{_ident(depends[0], d.row)}" data-options="{lit(depends[2])}"'
            f' data-placeholder="{placeholder}"'
        )
    s.emit(
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <label class="label" for="{ident}">{lit(fv.label)}{_optional(s, fv)}</label>\n',
        f"  {_hint_and_errors(s, fv, d, ident)}\n  ",
    )
    wait = f'<div id="{ident}-wait" class="hint" data-wait-hint>{s.t("choose_first", parent=depends[1])}</div>' if (
        depends is not None) else ""
    if depends is not None and parent is not None:
        # The wait hint shows while no option is on offer: no parent answer, or one without options.
        offered = sorted({o.parent for o in options if o.parent})
        keys = s.const(tuple(offered))  # a tuple: `in` compares, as the reference's filter does (no hashing)
        s.emit("{% if not (" + parent + " and " + parent + " in " + keys + ") %}" + wait + "{% endif %}")
    elif depends is not None and not options:
        s.emit(wait)
    s.emit(
        '  <select class="select' + "{% if " + d.errors + " %} input-error{% endif %}" + f'" id="{ident}" '
        f'name="{name}"{dep_attrs}{_described(fv, d, ident)}>\n',
        f'    <option value="">{placeholder}</option>\n    ',
    )

    def body(group: Sequence[Option]) -> None:
        for o in group:
            s.emit(
                f'<option value="{lit(o.value)}"' + "{% if " + (
                    picked + test + s.const(o.value) if equal else s.const(o.value) + test + picked)
                + f' %}} selected{{% endif %}}>{lit(o.label.get(s.lang))}</option>'
            )

    _option_groups(s, fv, options, parent, body)
    s.emit("  </select>\n  ")
    if depends is not None:
        s.emit(
            f'<button type="submit" class="button secondary small js-hidden" name="_refresh" value="{name}">'
            f'{s.t("update_options")}</button>'
        )
    s.emit("</div>")


def _choice_select(s: _Source, fv: FieldView, d: _Dyn) -> None:
    depends = None
    parent = _parent(fv, d)
    if fv.field.depends_on:
        assert fv.depends_on is not None and fv.depends_label is not None and fv.all_options is not None
        depends = (fv.depends_on, fv.depends_label, fv.all_options)
    _select(s, fv, d, fv.field.options, parent, depends)


def _address(s: _Source, fv: FieldView, d: _Dyn) -> None:
    if d.row is not None:
        raise Unsupported("address in a repeat")
    ident = _ident(fv.id, None)
    parts = s.var("ad")
    s.emit(
        "{% set " + parts + " = " + d.value + "|parts %}",
        f'<div class="field{_field_error(d)}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <fieldset class="fieldset"{_described(fv, d, ident)}>\n',
        f'    <legend class="legend">{lit(fv.label)}{_optional(s, fv)}</legend>\n',
        f"    {_hint_and_errors(s, fv, d, ident)}\n    ",
    )
    f = fv.field
    lists = s.address_options
    for pv in s.builder.address_parts(f, {}, fv.path):
        part = pv.path.rsplit(".", 1)[1]
        pd = _Dyn(f"{parts}[{_quote(part)}]", s.var("pe"), None, None, None)
        s.emit("{% set " + pd.errors + " = " + _error_key(pv.path, None) + " %}")
        if part in ("district", "region"):
            _select(s, pv, pd, lists.get("ub_districts" if part == "district" else "regions", ()), None, None, True)
        elif part == "soum_district":
            s.emit("{% if " + parts + "['region'] == 'ulaanbaatar' %}")
            _select(s, pv, pd, lists.get("ub_districts", ()), None, None, True)
            s.emit("{% else %}")
            _input(s, pv, pd)
            s.emit("{% endif %}")
        elif part == "khoroo":
            khoroos = lists.get("ub_khoroos", ())
            if any(not o.parent for o in khoroos):  # the reference filters by equality, even with no district
                raise Unsupported("a khoroo without its district")
            everything = json.dumps(
                [{"v": o.value, "l": o.label.get(s.lang), "p": o.parent} for o in khoroos], ensure_ascii=False
            )
            depends = (input_name(f"{fv.path}.district"), ADDRESS_LABELS["district"].get(s.lang), everything)
            _select(s, pv, pd, khoroos, f"{parts}['district']", depends, True)
        else:
            _input(s, pv, pd)
    s.emit("  </fieldset>\n</div>")


def _repeat(s: _Source, fv: FieldView, d: _Dyn) -> None:
    if d.row is not None:
        raise Unsupported("repeat in a repeat")
    f = fv.field
    ident = _ident(fv.id, None)
    rows, n = s.var("rows"), "n"
    row_label = lit((f.item_label or f.label).get(s.lang))
    s.emit(
        "{% set " + rows + " = " + d.value + "|rows %}",
        f'<div class="field repeat{_field_error(d)}" id="{ident}" {_wrapper_attrs(fv, d)}>\n  {_shown_marker(fv, d)}\n',
        f'  <fieldset class="fieldset"{_described(fv, d, ident)}>\n',
        f'    <legend class="legend">{lit(fv.label)}{_optional(s, fv)}</legend>\n',
        f"    {_hint_and_errors(s, fv, d, ident)}\n",
        f'    <input type="hidden" name="{lit(fv.name)}.__rows" value="' + "{{ " + rows + "|length }}" + '">\n    ',
        "{% for row in " + rows + " %}    {% set n = loop.index0 %}",
        f'    <fieldset class="fieldset repeat-item" id="{ident}-' + "{{ n }}" + '" tabindex="-1">\n',
        f'      <legend class="legend legend-small">{row_label} ' + "{{ loop.index }}</legend>\n      ",
    )
    for sub in f.fields:
        sv = s.builder.view(sub, {}, f"{fv.path}[{ROW}].")
        sd = _Dyn(f"row[{_quote(sub.id)}]", s.var("se"), None, None, n)
        s.emit("{% set " + sd.errors + " = " + _error_key(sv.path, n) + " %}")
        _widget(s, sv, sd)
    s.emit(
        f'      <button type="submit" class="button secondary small" name="_remove" value="{lit(f.id)}.'
        + "{{ n }}" + f'">{s.t("remove")}<span class="visually-hidden"> {row_label} ' + "{{ loop.index }}"
        + "</span></button>\n    </fieldset>\n    {% endfor %}",
        "    {% if " + rows + f"|length < {int(f.max_items or MAX_ROWS)}" + " %}"
        f'<button type="submit" class="button secondary" name="_add" value="{lit(f.id)}">{s.t("add_another")}'
        f'<span class="visually-hidden"> — {row_label}</span></button>' + "{% endif %}  </fieldset>\n</div>",
    )


def _widget(s: _Source, fv: FieldView, d: _Dyn) -> None:
    widget = fv.widget
    if widget == DEFAULT_WIDGET:
        _input(s, fv, d)
    elif widget == SELECT_WIDGET:
        _choice_select(s, fv, d)
    elif widget == "widgets/textarea.html":
        _textarea(s, fv, d)
    elif widget == "widgets/boolean.html":
        _boolean(s, fv, d)
    elif widget == "widgets/radios.html":
        _choices(s, fv, d, "radio")
    elif widget == "widgets/checkboxes.html":
        _choices(s, fv, d, "checkbox")
    elif widget == "widgets/address.html":
        _address(s, fv, d)
    elif widget == "widgets/repeat.html":
        _repeat(s, fv, d)
    else:
        raise Unsupported(widget)


# --- the page (mirroring base.html, form.html, _errors.html, exchange/_offer.html) ------------------------
def page_source(
    service: Service,
    index: int,
    lang: str,
    steps: int,
    uses: Sequence[flow.Use],
    address_options: Mapping[str, tuple[Option, ...]],
) -> tuple[str, tuple[Any, ...]]:
    """The template source of one section's page and the constants it refers to by index."""
    s = _Source(lang, {f.id: f.label for f in service.fields}, address_options)
    section = service.sections[index]
    other = "en" if lang == "mn" else "mn"
    portal = s.t("portal")
    title = lit(section.title.get(lang))
    csrf_input = '<input type="hidden" name="csrf" value="{{ csrf }}">'
    s.emit(
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        "<title>{% if summary %}" + s.t("error_prefix") + " {% endif %}"
        + f"{title} — {lit(service.title.get(lang))} — {portal}</title>\n",
        '<link rel="stylesheet" href="/static/portal.css">\n<script src="/static/portal.js" defer></script>\n'
        f'</head>\n<body>\n<a class="skip-link" href="#main">{s.t("skip")}</a>\n<header class="site-header">\n'
        '  <div class="wrap header-row">\n'
        "    <a class=\"brand\" href=\"{{ '/staff' if officer and not citizen else '/' }}\">" + portal + "</a>\n"
        f'    <nav class="header-nav" aria-label="{portal}">\n'
        f'      <a href="/lang/{other}?next=' + "{{ path|urlencode }}" + f'" lang="{other}">{s.t("switch_lang")}</a>\n'
        "      {% if officer %}"
        f'        <a href="/staff">{s.t("queue")}</a>\n'
        f'        <a href="/staff/inbox">{lit("Notices" if lang == "en" else "Мэдэгдэл")}</a>'
        "{% if 'head_of_office' in officer.roles or 'admin' in officer.roles %} "
        f'<a href="/staff/outbox">{lit("Outgoing" if lang == "en" else "Илгээлт")}</a>' + "{% endif %}"
        f'        <form method="post" action="/staff/logout" class="inline-form">{csrf_input}'
        f'<button type="submit" class="link-button">{s.t("logout")}</button></form>\n'
        "      {% elif citizen %}"
        f'        <a href="/my">{s.t("my_applications")}</a>\n'
        f'        <form method="post" action="/logout" class="inline-form">{csrf_input}'
        f'<button type="submit" class="link-button">{s.t("logout")}</button></form>\n'
        "      {% else %}"
        f'        <a href="/login">{s.t("login")}</a>\n'
        "      {% endif %}"
        '    </nav>\n  </div>\n</header>\n<div class="wrap">\n<main id="main" tabindex="-1">\n',
        '<a class="back-link" href="' + "{{ back }}" + f'">{s.t("back")}</a>\n',
        "{% if summary %}"
        '<div class="error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1" '
        f'data-error-summary>\n  <h2 class="error-summary-title" id="error-summary-title">{s.t("error_title")}</h2>\n'
        '  <ul class="error-summary-list">\n    '
        '{% for e in summary %}<li><a href="{{ e[0] }}">{{ e[1] }}</a></li>{% endfor %}'
        "  </ul>\n</div>\n{% endif %}",
        '{% if notice %}<div class="notice" role="status">{{ notice }}</div>{% endif %}',
        '{% if correction %}<div class="notice">' + s.t("correcting") + "</div>{% endif %}",
        f'<p class="caption">{lit(service.title.get(lang))} — {s.t("step", n=index + 1, total=steps)}</p>\n',
        f"<h1>{title}</h1>\n",
    )
    if uses:
        items = "".join(
            f'<li>{lit(u.operation.title.get(lang))} <span class="hint">(ХУР {lit(u.id)})</span></li>' for u in uses
        )
        s.emit(
            '{% if offer %}<div class="notice registry-offer" data-registry-offer>\n'
            f'  <h2 class="heading-m">{s.t("registry_title")}</h2>\n  <p>{s.t("registry_intro")}</p>\n'
            f"  <ul>{items}</ul>\n"
            '  <a class="button" href="/apply/{{ draft_id }}/registry">' + s.t("registry_review") + "</a>\n"
            "</div>{% endif %}"
        )
    if section.intro:
        s.emit(f"<p>{lit(section.intro.get(lang))}</p>")
    s.emit(
        '<form method="post" action="{{ action }}" novalidate data-live-form'
        '{% if focus %} data-focus="{{ focus }}"{% endif %}>\n',
        f"  {csrf_input}\n  ",
        "{% with %}",  # a scope: the fields' `set`s stay local variables, not exported context variables
    )
    for f in section.fields:
        fv = s.builder.view(f, {}, "")
        mark = s.var("r")
        d = _Dyn(f"a[{_quote(f.id)}]", s.var("ex"), f"V[{_quote(f.id)}]" if f.show_if is not None else None,
                 mark, None)
        s.emit(
            "{% set " + d.errors + " = E[" + _quote(f.id) + "] if E else () %}"
            "{% set " + mark + " = R[" + _quote(f.id) + "] if R else none %}"
        )
        _widget(s, fv, d)
    s.emit(
        "{% endwith %}"
        '  <div class="button-group">\n'
        f'    <button type="submit" class="button" name="_continue" value="1">{s.t("continue")}</button>\n'
        f'    <button type="submit" class="button secondary" name="_save" value="1">{s.t("save_later")}</button>\n'
        "  </div>\n</form>\n</main>\n</div>\n"
        f'<footer class="site-footer"><div class="wrap"><a href="/staff/login">{s.t("staff_login")}</a> · '
        f'<a href="/openapi.json">API</a> · <a href="/statistics">{s.t("stats_title")}</a></div></footer>\n'
        "</body>\n</html>"
    )
    return "".join(s.out), tuple(s.consts)


def environment() -> Environment:
    """The environment compiled pages run in: autoescape on (as the portal's), the few helpers as filters."""
    env = Environment(autoescape=True, auto_reload=False)
    env.filters.update({"chosen": chosen, "rows": rows_of, "parts": parts_of, "or_blank": or_blank})
    return env


def overridden(template_dirs: Sequence[Path]) -> bool:
    """Whether a deployer replaces any template this module mirrors (then the reference page renders)."""
    return any((Path(d) / name).is_file() for d in template_dirs for name in MIRRORED)


class FormPages:
    """The compiled pages of one portal: built on first use, at most MAX_PAGES kept (least recently used out)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.env = environment()
        self.pages: OrderedDict[tuple[Any, ...], CompiledPage | None] = OrderedDict()
        self.registries: Any = None

    def get(self, service: Service, index: int, lang: str, registries: Any, steps: int) -> CompiledPage | None:
        """The compiled page of a section, or None when the reference page must render it."""
        if not self.enabled:
            return None
        if registries is not self.registries:  # a new catalog: option lists and operations may differ
            self.pages.clear()
            self.registries = registries
        key = (service.version, service.id, index, lang)
        try:
            page = self.pages[key]
        except KeyError:
            page = self.compile(service, index, lang, steps, registries)
            self.pages[key] = page
            if len(self.pages) > MAX_PAGES:
                self.pages.popitem(last=False)
            return page
        self.pages.move_to_end(key)
        return page

    def compile(self, service: Service, index: int, lang: str, steps: int, registries: Any) -> CompiledPage | None:
        import engine.run.web.exchange  # noqa: F401  (its texts: the reference page imports it before rendering)

        uses = flow.uses(service, registries.operations) if index == 0 else []
        try:
            source, consts = page_source(service, index, lang, steps, uses, address_options_of(registries))
        except Unsupported:
            return None
        from engine.run.web.citizen import error_anchor

        template = self.env.from_string(source)
        shows = tuple(f for f in service.sections[index].fields if f.show_if is not None)
        anchors = {f.id: error_anchor(f.id, service) for f in service.fields}
        return CompiledPage(template, shows, bool(uses), anchors, consts)


def address_options_of(registries: Any) -> dict[str, tuple[Option, ...]]:
    """The option lists an address widget offers (UB districts and khoroos, aimags)."""
    lists = registries.option_lists
    return {name: lists[name].options for name in ("ub_districts", "ub_khoroos", "regions") if name in lists}
