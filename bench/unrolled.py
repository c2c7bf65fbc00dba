"""The figure 3 baseline: a per-service template with every field of one section written out as literal markup.

What a developer would write by hand for one service's page: the page chrome, labels, hints, ids, names
and options as literal text; only the answers, the error messages, visibility, checked options, CSRF and
the draft's URLs left as variables. Its context is the FieldViews, built before the clock starts, so it
measures template rendering alone — the practical limit the portal's compiled pages are held to.

It is written independently of engine/run/web/form_templates.py (which must also compute what it is given
here) and covers the widgets of the figure's sections (text inputs, radios, checkboxes, yes/no, textarea,
fixed selects) for drafts without registry provenance; the figure asserts its HTML equals the portal's.
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from engine.run.web.forms import FieldView


def _lit(value: Any) -> str:
    # Bench inputs only, but never let a label become template code all the same.
    return str(escape(value)).replace("{", "{{ '{' }}")


def _head(fv: FieldView, n: int) -> tuple[str, str]:
    """The wrapper's opening (with the live-preview data) and the hidden _shown marker."""
    attrs = f'data-field="{_lit(fv.name)}"'
    marker = ""
    if fv.show_if:
        attrs += f' data-show-if="{_lit(fv.show_if)}"{{% if not f[{n}].visible %}} hidden{{% endif %}}'
        marker = (f'<input type="hidden" name="_shown" value="{_lit(fv.field.id)}" data-shown-marker'
                  f'{{% if not f[{n}].visible %}} disabled{{% endif %}}>')
    return attrs, marker


def _texts(fv: FieldView, n: int, t: Any) -> tuple[str, str, str]:
    """The optional marker, the hint and error block, and aria-describedby/aria-invalid."""
    optional = "" if fv.required else f' <span class="optional">{_lit(t("optional"))}</span>'
    hint = f'<div id="{fv.id}-hint" class="hint">{_lit(fv.hint)}</div>' if fv.hint else ""
    errors = (f'{{% if f[{n}].errors %}}<p id="{fv.id}-error" class="error-message">{{% for e in f[{n}].errors %}}'
              f'<span class="visually-hidden">{_lit(t("error_prefix"))}</span> {{{{ e }}}}'
              f'{{% if not loop.last %}}<br>{{% endif %}}{{% endfor %}}</p>{{% endif %}}')
    if fv.hint:
        described = f' aria-describedby="{fv.id}-hint{{% if f[{n}].errors %}} {fv.id}-error{{% endif %}}"'
    else:
        described = f'{{% if f[{n}].errors %}} aria-describedby="{fv.id}-error"{{% endif %}}'
    described += f'{{% if f[{n}].errors %}} aria-invalid="true"{{% endif %}}'
    return optional, hint + errors, described


def field_source(fv: FieldView, n: int, t: Any) -> str:
    attrs, marker = _head(fv, n)
    optional, hint_errors, described = _texts(fv, n, t)
    err = f"{{% if f[{n}].errors %}} field-error{{% endif %}}"
    open_ = f'<div class="field{err}" {attrs}>\n  {marker}\n'
    widget = fv.widget.rsplit("/", 1)[1]
    value = f"{{{{ f[{n}].value if f[{n}].value is not none else '' }}}}"
    if widget == "input.html":
        short = " input-short" if fv.input_type in ("date", "tel") or fv.inputmode else ""
        extra = f' inputmode="{fv.inputmode}"' if fv.inputmode else ""
        extra += f' autocomplete="{fv.autocomplete}"' if fv.autocomplete else ""
        if fv.field.max_length and fv.field.type == "text":
            extra += f' maxlength="{fv.field.max_length * 2}"'
        if fv.field.readonly:
            extra += f"{{% if f[{n}].value %}} readonly{{% endif %}}"
        return (f'{open_}  <label class="label" for="{fv.id}">{_lit(fv.label)}{optional}</label>\n  {hint_errors}\n'
                f'  <input class="input{short}{{% if f[{n}].errors %}} input-error{{% endif %}}" id="{fv.id}" '
                f'name="{fv.name}" type="{fv.input_type}" value="{value}"{extra}{described}>\n</div>')
    if widget == "textarea.html":
        return (f'{open_}  <label class="label" for="{fv.id}">{_lit(fv.label)}{optional}</label>\n  {hint_errors}\n'
                f'  <textarea class="textarea{{% if f[{n}].errors %}} input-error{{% endif %}}" id="{fv.id}" '
                f'name="{fv.name}" rows="5"{described}>{value}</textarea>\n</div>')
    if widget in ("radios.html", "checkboxes.html"):
        kind = "radio" if widget == "radios.html" else "checkbox"
        ids = [fv.id if i == 0 else f"{fv.id}-{i}" for i in range(len(fv.options))]
        options = "".join(
            f'      <div class="{kind}">\n        <input type="{kind}" id="{ids[i]}" '
            f'name="{fv.name}" value="{_lit(o["value"])}"{{% if f[{n}].options[{i}].checked %}} checked{{% endif %}}>\n'
            f'        <label for="{ids[i]}">{_lit(o["label"])}</label>\n      </div>\n      '
            for i, o in enumerate(fv.options)
        )
        return (f'{open_}  <fieldset class="fieldset"{described}>\n'
                f'    <legend class="legend">{_lit(fv.label)}{optional}</legend>\n    {hint_errors}\n'
                f'    <div class="{kind}{"es" if kind == "checkbox" else "s"}">\n      {options}    </div>\n'
                '  </fieldset>\n</div>')
    if widget == "select.html" and not fv.depends_on:
        placeholder = _lit(t("select_placeholder"))
        options = "".join(f'<option value="{_lit(o["value"])}"{{% if f[{n}].options[{i}].checked %}} selected'
                          f'{{% endif %}}>{_lit(o["label"])}</option>' for i, o in enumerate(fv.options))
        return (f'{open_}  <label class="label" for="{fv.id}">{_lit(fv.label)}{optional}</label>\n  {hint_errors}\n  '
                f'  <select class="select{{% if f[{n}].errors %}} input-error{{% endif %}}" id="{fv.id}" '
                f'name="{fv.name}"{described}>\n    <option value="">{placeholder}</option>\n    {options}'
                f'  </select>\n  </div>')
    if widget == "boolean.html" and not fv.field.must_be_true:
        yes = f"f[{n}].value in ('yes', 'true', 'on', '1', true)"
        no = f"f[{n}].value in ('no', 'false', '0', false)"
        return (f'{open_}    <fieldset class="fieldset"{described}>\n'
                f'    <legend class="legend">{_lit(fv.label)}{optional}</legend>\n    {hint_errors}\n'
                f'    <div class="radios radios-inline">\n'
                f'      <div class="radio"><input type="radio" id="{fv.id}" name="{fv.name}" value="yes"'
                f'{{% if {yes} %}} checked{{% endif %}}><label for="{fv.id}">{_lit(t("yes"))}</label></div>\n'
                f'      <div class="radio"><input type="radio" id="{fv.id}-no" name="{fv.name}" value="no"'
                f'{{% if {no} %}} checked{{% endif %}}><label for="{fv.id}-no">{_lit(t("no"))}</label></div>\n'
                f'    </div>\n  </fieldset>\n  </div>')
    raise NotImplementedError(f"the unrolled baseline does not write {fv.widget} fields")


def page_source(chrome: str, views: list[FieldView], t: Any, title: str, service_title: str, caption: str,
                offer: str, intro: str | None) -> str:
    """The whole page: `chrome` is the rendered base.html with @@TITLE@@ and @@MAIN@@ where the blocks go."""
    main = (
        f'<a class="back-link" href="{{{{ back }}}}">{_lit(t("back"))}</a>\n'
        '{% if errors %}<div class="error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1" '
        f'data-error-summary>\n  <h2 class="error-summary-title" id="error-summary-title">{_lit(t("error_title"))}'
        '</h2>\n  <ul class="error-summary-list">\n    {% for e in errors %}<li><a href="{{ e.href }}">{{ e.text }}'
        '</a></li>{% endfor %}  </ul>\n</div>\n{% endif %}'
        '{% if notice %}<div class="notice" role="status">{{ notice }}</div>{% endif %}'
        f'<p class="caption">{_lit(caption)}</p>\n<h1>{_lit(title)}</h1>\n{{% if offer %}}{offer}{{% endif %}}'
        + (f"<p>{_lit(intro)}</p>" if intro else "")
        + '<form method="post" action="{{ action }}" novalidate data-live-form>\n'
        '  <input type="hidden" name="csrf" value="{{ csrf }}">\n  '
        + "".join(field_source(fv, n, t) for n, fv in enumerate(views))
        + f'  <div class="button-group">\n    <button type="submit" class="button" name="_continue" value="1">'
        f'{_lit(t("continue"))}</button>\n    <button type="submit" class="button secondary" name="_save" value="1">'
        f'{_lit(t("save_later"))}</button>\n  </div>\n</form>\n'
    )
    head = f"{{% if errors %}}{_lit(t('error_prefix'))} {{% endif %}}{_lit(title)} — {_lit(service_title)}"
    return chrome.replace("{", "{{ '{' }}").replace("@@TITLE@@", head).replace("@@MAIN@@", main)
