"""Figure 3: the form page of the largest services, errors shown, against two baseline templates.

Ours: the portal's own `render_section` (answers → FieldViews → form.html with its widget
includes and the page chrome), context building included. Baselines, rendering the same fields
from the same FieldViews: one generic Jinja2 template that loops over the fields (bench/templates),
and a per-service template with every field unrolled into literal markup (labels, ids, options
written out; only values and errors left to fill) — the practical limit of template rendering.
The baselines' markup is a simplified version of the widgets' (no page chrome, no live-preview
data), so their HTML is smaller than ours: the ratio is conservative for the portal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape
from starlette.requests import Request

from bench.harness import Section, measure, row
from bench.inputs import corrupt, json_submissions, largest
from engine.catalog import load_catalog
from engine.compile.service import Service
from engine.run.db import make_engine
from engine.run.files import FolderStore
from engine.run.settings import load_settings
from engine.run.web.app import Portal
from engine.run.web.citizen import address_options, render_section, visibility
from engine.run.web.forms import FieldView, FormBuilder

TEMPLATES = Path(__file__).with_name("templates")


def _request(lang: str) -> Request:
    scope = {
        "type": "http", "method": "GET", "path": "/apply/1/0", "raw_path": b"/apply/1/0", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")], "scheme": "http", "server": ("127.0.0.1", 80), "root_path": "",
        "session": {"lang": lang, "csrf": "x" * 43, "citizen": {"id": 1, "label": "Bench"}},
    }
    return Request(scope)


def _views(portal: Portal, service: Service, index: int, answers: dict[str, Any], errors: list[Any]) -> list[FieldView]:
    section = service.sections[index]
    values = service.validate(answers).values
    by_path: dict[str, list[Any]] = {}
    for e in errors:
        by_path.setdefault(e.path, []).append(e)
    builder = FormBuilder("mn", answers, by_path, visibility(service, values), address_options(portal),
                          {f.id: f.label for f in service.fields})
    return builder.build(section.fields, answers)


def _unrolled_source(views: list[FieldView]) -> str:
    """Literal markup per field; only the answer and the error messages stay variables."""
    out = []
    for n, fv in enumerate(views):
        label = escape(fv.label)
        hint = f'<div id="{fv.id}-hint" class="hint">{escape(fv.hint)}</div>' if fv.hint else ""
        out.append(f'<div class="field{{% if f[{n}].errors %}} field-error{{% endif %}}" data-field="{fv.name}">')
        out.append(f'<label class="label" for="{fv.id}">{label}</label>{hint}')
        out.append(f'{{% if f[{n}].errors %}}<p id="{fv.id}-error" class="error-message">'
                   f'{{% for e in f[{n}].errors %}}{{{{ e }}}}{{% endfor %}}</p>{{% endif %}}')
        if fv.options:
            for o in fv.options:
                value = escape(o["value"])
                out.append(f'<label><input type="radio" name="{fv.name}" value="{value}"'
                           f'{{% if f[{n}].value == "{value}" %}} checked{{% endif %}}> {escape(o["label"])}</label>')
        elif fv.parts or fv.rows:
            out.append(f'{{% for p in f[{n}].parts %}}<input name="{{{{ p.name }}}}" value="{{{{ p.value or "" }}}}">'
                       f'{{% endfor %}}{{% for r in f[{n}].rows %}}{{% for p in r %}}<input name="{{{{ p.name }}}}" '
                       f'value="{{{{ p.value or "" }}}}">{{% endfor %}}{{% endfor %}}')
        else:
            out.append(f'<input class="input" id="{fv.id}" name="{fv.name}" type="{fv.input_type}" '
                       f'value="{{{{ f[{n}].value if f[{n}].value is not none else "" }}}}">')
        out.append("</div>")
    return "<form method=\"post\">\n" + "\n".join(out) + "\n</form>\n"


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("3", "Form page render (errors shown)")
    catalog = load_catalog(["service_defs"])
    settings = load_settings({"TSONKH_DATA_DIR": str(scratch / "render-data")})
    engine = make_engine(f"sqlite:///{scratch / 'render.db'}")
    portal = Portal(settings, catalog, engine, FolderStore(scratch / "render-uploads"))
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    generic = env.get_template("generic.html")
    repeat = 5 if quick else 15
    for service in largest(list(catalog.services.values()), 1 if quick else 3):
        index = max(range(len(service.sections)), key=lambda i: len(service.sections[i].fields))
        answers = corrupt(service, json_submissions(service, 3)[0])
        ids = {f.id for f in service.sections[index].fields}
        errors = [e for e in service.validate(answers).errors if e.path.split(".")[0].split("[")[0] in ids]
        request = _request("mn")
        draft = {"id": 1, "answers": answers, "application_id": None}

        def ours(service: Service = service, index: int = index, answers: dict = answers, errors: list = errors,
                 request: Request = request, draft: dict = draft) -> Any:
            return render_section(request, portal, 1, draft, service, index, answers, errors, None, None)

        views = _views(portal, service, index, answers, errors)
        unrolled = env.from_string(_unrolled_source(views))
        name = f"{service.id} section {index + 1} ({len(views)} fields, {len(errors)} errors)"
        page = ours().body
        base = f"{name}: per-service unrolled template"
        section.rows += [
            row("3", base, measure(lambda v=views, u=unrolled: u.render(f=v), repeat=repeat),
                note=f"{len(unrolled.render(f=views)):,} bytes of HTML"),
            row("3", f"{name}: one generic loop template", measure(lambda v=views: generic.render(fields=v),
                                                                   repeat=repeat),
                baseline=base, note=f"{len(generic.render(fields=views)):,} bytes"),
            row("3", f"{name}: portal render_section (context + form.html)", measure(ours, repeat=repeat),
                baseline=base, target="≤ 1.25×", note=f"{len(page):,} bytes; ≥ 80% of the unrolled throughput"),
            row("3", f"{name}: portal, FieldViews only (context building)",
                measure(lambda s=service, i=index, a=answers, e=errors: _views(portal, s, i, a, e), repeat=repeat),
                baseline=base),
        ]
    engine.dispose()
    return section
