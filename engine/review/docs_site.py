"""`tsonkh docs OUT/`: the published, bilingual static site of the catalog (Mongolian at the root,
English under en/). Python prepares every value in plain words; the Jinja2 templates in
renderers/docs/ only lay them out, with autoescaping on, so a definition can never inject HTML.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from engine.catalog import Catalog
from engine.compile.model import Field, I18n
from engine.compile.registries import Registries
from engine.compile.service import Service
from engine.compile.workflow import BACK
from engine.review.facts import expression_text
from engine.review.mermaid import dot_source, state_diagram
from engine.review.plain_words import in_words

TEMPLATES = Path(__file__).resolve().parents[2] / "renderers" / "docs"
LANGS = ("mn", "en")

FIELD_TYPES = {
    "text": I18n("текст", "text"),
    "textarea": I18n("урт текст", "long text"),
    "integer": I18n("бүхэл тоо", "whole number"),
    "decimal": I18n("бутархай тоо", "number"),
    "money": I18n("мөнгөн дүн (₮)", "amount (MNT)"),
    "date": I18n("огноо", "date"),
    "datetime": I18n("огноо, цаг", "date and time"),
    "boolean": I18n("тийм/үгүй", "yes/no"),
    "choice": I18n("нэг сонголт", "one choice"),
    "multichoice": I18n("олон сонголт", "several choices"),
    "email": I18n("имэйл", "email"),
    "phone": I18n("утасны дугаар", "phone number"),
    "register": I18n("регистрийн дугаар", "register number"),
    "company_register": I18n("хуулийн этгээдийн регистр", "company register number"),
    "person_or_company": I18n("иргэн эсвэл хуулийн этгээдийн регистр", "person or company register"),
    "address": I18n("хаяг", "address"),
    "plate_number": I18n("улсын дугаар", "plate number"),
    "property_number": I18n("үл хөдлөхийн дугаар", "property number"),
    "parcel_id": I18n("нэгж талбарын дугаар", "land parcel id"),
    "vin": I18n("арлын дугаар (VIN)", "VIN"),
    "passport_number": I18n("гадаад паспортын дугаар", "passport number"),
    "postal_code": I18n("шуудангийн код", "postal code"),
    "url": I18n("вэб хаяг", "web address"),
    "geo_point": I18n("газрын байршил", "map location"),
    "repeat": I18n("давтагдах бүлэг", "repeated group"),
}
UI = {
    "catalog": I18n("Төрийн үйлчилгээний каталог", "Catalogue of public services"),
    "by_agency": I18n("Байгууллагаар", "By agency"),
    "by_category": I18n("Ангиллаар", "By category"),
    "services": I18n("үйлчилгээ", "services"),
    "other_lang": I18n("English", "Монгол"),
    "summary": I18n("Товч", "Summary"),
    "agency": I18n("Байгууллага", "Agency"),
    "category": I18n("Ангилал", "Category"),
    "eligibility": I18n("Хэн хамрагдах", "Who is eligible"),
    "processing": I18n("Шийдвэрлэх хугацаа", "Processing time"),
    "working_days": I18n("{n} ажлын өдөр", "{n} working days"),
    "fee": I18n("Төлбөр, хураамж", "Fees"),
    "free": I18n("Үнэгүй", "Free of charge"),
    "when": I18n("хэрэв", "when"),
    "legal_basis": I18n("Эрх зүйн үндэслэл", "Legal basis"),
    "form": I18n("Бөглөх маягт", "The application form"),
    "field": I18n("Асуулт", "Question"),
    "type": I18n("Төрөл", "Type"),
    "required": I18n("Заавал", "Required"),
    "rules_col": I18n("Нөхцөл, хязгаар", "Conditions and limits"),
    "yes": I18n("тийм", "yes"),
    "no": I18n("үгүй", "no"),
    "required_when": I18n("дараах үед: {x}", "when {x}"),
    "shown_when": I18n("Зөвхөн {x} үед асууна", "Asked only when {x}"),
    "checks": I18n("Шалгалтууд", "Checks"),
    "must_hold": I18n("Биелэх ёстой нөхцөл:", "Must hold:"),
    "documents": I18n("Бүрдүүлэх баримт бичиг", "Documents"),
    "no_documents": I18n("Баримт бичиг шаардахгүй", "No documents needed"),
    "from_registry": I18n("ХУР системээс автоматаар татна", "fetched automatically from the state registry (ХУР)"),
    "files": I18n("{types}; {size} МБ хүртэл, {count} файл хүртэл", "{types}; up to {size} MB, up to {count} file(s)"),
    "routing": I18n("Хаана шийдвэрлэх", "Where it is handled"),
    "condition": I18n("Нөхцөл", "Condition"),
    "office": I18n("Алба", "Office"),
    "always": I18n("бусад бүх тохиолдолд", "in every other case"),
    "fallback": I18n("аль ч дүрэм тохирохгүй бол", "when no rule matches"),
    "office_of": I18n("{field}-ийн алба ({template})", "the office for the chosen {field} ({template})"),
    "workflow": I18n("Шийдвэрлэх үе шат", "How the application is decided"),
    "state": I18n("Үе шат", "Stage"),
    "who": I18n("Хэн", "Who"),
    "days": I18n("Хугацаа", "Time"),
    "steps": I18n("Алхмууд", "Steps"),
    "action": I18n("Үйлдэл", "Action"),
    "from": I18n("Хаанаас", "From"),
    "to": I18n("Хаашаа", "To"),
    "back": I18n("ирсэн үе шат руугаа буцна", "back to where it came from"),
    "final": I18n("эцсийн шийдвэр", "final decision"),
    "applicant": I18n("өргөдөл гаргагч", "the applicant"),
    "system": I18n("систем", "the system"),
    "guard": I18n("зөвхөн {x} үед", "only when {x}"),
    "comment": I18n("тайлбар заавал", "a comment is required"),
    "min": I18n("хамгийн багадаа {v}", "at least {v}"),
    "max": I18n("хамгийн ихдээ {v}", "at most {v}"),
    "min_length": I18n("{v}-ээс доошгүй тэмдэгт", "at least {v} characters"),
    "max_length": I18n("{v} хүртэл тэмдэгт", "up to {v} characters"),
    "min_items": I18n("{v}-ээс доошгүй", "at least {v} item(s)"),
    "max_items": I18n("{v} хүртэл", "up to {v} item(s)"),
    "min_age": I18n("{v}-с дээш настай", "aged at least {v}"),
    "max_age": I18n("{v}-с доош настай", "aged at most {v}"),
    "pattern": I18n("хэлбэр: {v}", "format: {v}"),
    "must_be_true": I18n("заавал зөвшөөрөх", "must be accepted"),
    "options": I18n("Сонголт: {v}", "Choices: {v}"),
    "prefill": I18n("мэдээллийн сангаас урьдчилан бөглөнө", "filled in from the state registers"),
    "item_fields": I18n("Мөр бүрд", "For each item"),
    "diagram": I18n("Ажлын урсгалын зураг", "Workflow diagram"),
    "version": I18n("Хувилбар", "Version"),
    "source": I18n("Эх файл", "Source file"),
}


def _u(key: str, lang: str, **params: Any) -> str:
    return UI[key].get(lang).format(**params) if params else UI[key].get(lang)


def _condition(source: Any, fields: Mapping[str, Field], lang: str) -> dict[str, str | None]:
    """A condition in words where possible, always with the exact expression beside it."""
    code = expression_text(source)
    return {"words": in_words(code, fields, lang) if code else None, "code": code}


def _constraints(f: Field, lang: str) -> list[str]:
    out = []
    for attr in ("min", "max", "min_length", "max_length", "min_items", "max_items", "min_age", "max_age"):
        value = getattr(f, attr)
        if value == "today":
            value = "өнөөдөр" if lang == "mn" else "today"
        if value is not None:
            out.append(_u(attr, lang, v=value))
    if f.pattern:
        out.append(_u("pattern", lang, v=f.pattern_message.get(lang) if f.pattern_message else f.pattern))
    if f.must_be_true:
        out.append(_u("must_be_true", lang))
    if f.options and len(f.options) <= 12 and f.depends_on is None:
        out.append(_u("options", lang, v=", ".join(o.label.get(lang) for o in f.options)))
    if f.prefill:
        out.append(_u("prefill", lang))
    return out


def _field_row(f: Field, fields: Mapping[str, Field], lang: str, parent: str = "") -> dict[str, Any]:
    required = _u("yes", lang) if f.required else _u("no", lang)
    required_if = _condition(f.required_if, fields, lang) if f.required_if is not None else None
    return {
        "id": parent + f.id,
        "label": f.label.get(lang),
        "hint": f.hint.get(lang) if f.hint else None,
        "type": FIELD_TYPES.get(f.type, I18n(f.type, f.type)).get(lang),
        "required": required,
        "required_if": required_if,
        "show_if": _condition(f.show_if, fields, lang) if f.show_if is not None else None,
        "constraints": _constraints(f, lang),
        "item_label": f.item_label.get(lang) if f.item_label else None,
        "fields": [_field_row(sub, {**fields, **{s.id: s for s in f.fields}}, lang, f"{f.id}.") for sub in f.fields],
    }


def _role_name(role: str | None, registries: Registries, lang: str) -> str:
    if role is None:
        return ""
    if role in ("applicant", "system"):
        return _u(role, lang)
    found = registries.roles.get(role)
    return found.label.get(lang) if found else role


def _office_name(template: str, registries: Registries, fields: Mapping[str, Field], lang: str) -> str:
    office = registries.offices.get(template)
    if office is not None:
        return office.name.get(lang)
    if "{" in template:
        name = template[template.index("{") + 1 : template.index("}")]
        base = name.split(".")[0]
        label = fields[base].label.get(lang) if base in fields else name
        return _u("office_of", lang, field=label, template=template)
    return template


def service_model(service: Service, registries: Registries, lang: str) -> dict[str, Any]:
    """Everything a service page shows, in one language, as plain values."""
    fields = service.field_index
    wf = service.workflow
    agency = registries.agencies.get(service.agency)
    category = registries.categories.get(service.category)
    fees = []
    for line in service.fee_lines:
        amount = f"{line.amount:,} ₮".replace(",", " ") if isinstance(line.amount, int) else None
        fees.append(
            {
                "label": line.label.get(lang),
                "amount": amount,
                "formula": None if amount else expression_text(line.amount),  # type: ignore[arg-type]
                "when": _condition(line.when, fields, lang) if line.when is not None else None,
            }
        )
    documents = []
    for d in service.documents:
        types = ", ".join(sorted({m.split("/")[-1].split(".")[-1] for m in d.accept}))
        documents.append(
            {
                "title": d.title.get(lang),
                "hint": d.hint.get(lang) if d.hint else None,
                "required": _u("yes", lang) if d.required else _u("no", lang),
                "required_if": _condition(d.required_if, fields, lang) if d.required_if is not None else None,
                "registry": _u("from_registry", lang) if d.registry else None,
                "files": _u("files", lang, types=types, size=d.max_size_mb, count=d.max_count),
            }
        )
    routing: list[dict[str, Any]] = [
        {
            "condition": _condition(when, fields, lang) if when is not None else None,
            "office": _office_name(template, registries, fields, lang),
        }
        for when, template, _ in service.router.rules
    ]
    if service.router.fallback:
        routing.append(
            {
                "condition": None,
                "fallback": True,
                "office": _office_name(service.router.fallback, registries, fields, lang),
            }
        )
    states = [
        {
            "id": name,
            "label": s.label.get(lang),
            "who": _u("final", lang) if s.final else _role_name(s.role, registries, lang),
            "days": _u("working_days", lang, n=s.sla_days) if s.sla_days else "",
        }
        for name, s in wf.states.items()
    ]
    steps = []
    for t in wf.transitions:
        notes = []
        if t.guard is not None:
            cond = _condition(t.guard, fields, lang)
            notes.append(_u("guard", lang, x=cond["words"] or cond["code"]))
        if t.requires_comment:
            notes.append(_u("comment", lang))
        steps.append(
            {
                "label": t.label.get(lang),
                "from": ", ".join(wf.states[s].label.get(lang) for s in t.sources if s in wf.states),
                "to": _u("back", lang) if t.target == BACK else wf.states[t.target].label.get(lang),
                "by": _role_name(t.by, registries, lang),
                "notes": notes,
            }
        )
    return {
        "id": service.id,
        "title": service.title.get(lang),
        "summary": service.summary.get(lang),
        "agency": agency.name.get(lang) if agency else service.agency,
        "agency_id": service.agency,
        "category": category.get(lang) if category else service.category,
        "category_id": service.category,
        "eligibility": service.eligibility.get(lang) if service.eligibility else None,
        "processing": _u("working_days", lang, n=service.sla_days),
        "fees": fees,
        "legal_basis": [
            {"title": b.title.get(lang), "url": b.url if b.url and b.url.startswith(("https://", "http://")) else None}
            for b in service.legal_basis
        ],
        "sections": [
            {
                "title": s.title.get(lang),
                "intro": s.intro.get(lang) if s.intro else None,
                "fields": [_field_row(f, fields, lang) for f in s.fields],
            }
            for s in service.sections
        ],
        "rules": [
            {"message": r.message.get(lang), "condition": _condition(r.check, fields, lang)} for r in service.rules
        ],
        "documents": documents,
        "routing": routing,
        "states": states,
        "steps": steps,
        "mermaid": state_diagram(wf, lang),
        "version": service.version,
        "source": service.source,
    }


@dataclass(frozen=True)
class Written:
    pages: int
    services: int


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _svg(service: Service, lang: str) -> str | None:
    """Graphviz SVG of the workflow when `dot` is installed; the site works without it."""
    try:
        done = subprocess.run(
            ["dot", "-Tsvg"], input=dot_source(service.workflow, lang), capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and "<svg" in done.stdout else None


def write_site(catalog: Catalog, out: Path, svg: bool = True) -> Written:
    env = _environment()
    services = sorted(catalog.services.values(), key=lambda s: (s.title.mn, s.id))
    reg = catalog.registries
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATES / "style.css", out / "style.css")
    use_svg = svg and shutil.which("dot") is not None
    pages = 0
    svgs: dict[tuple[str, str], str | None] = {}
    if use_svg:
        (out / "svg").mkdir(exist_ok=True)
        jobs = [(s, lang) for s in services for lang in LANGS]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for (s, lang), picture in zip(jobs, pool.map(lambda job: _svg(*job), jobs), strict=True):
                if picture is not None:
                    (out / "svg" / f"{s.id}.{lang}.svg").write_text(picture, encoding="utf-8")
                    svgs[(s.id, lang)] = f"svg/{s.id}.{lang}.svg"
    for lang in LANGS:
        base = out if lang == "mn" else out / "en"
        (base / "services").mkdir(parents=True, exist_ok=True)
        up = "" if lang == "mn" else "../"

        def t(key: str, _lang: str = lang, **params: Any) -> str:
            return _u(key, _lang, **params)

        common = {"lang": lang, "t": t}
        by_agency: dict[str, dict[str, Any]] = {}
        by_category: dict[str, dict[str, Any]] = {}
        for s in services:
            agency = reg.agencies.get(s.agency)
            category = reg.categories.get(s.category)
            entry = {"id": s.id, "title": s.title.get(lang), "summary": s.summary.get(lang)}
            by_agency.setdefault(
                s.agency, {"id": s.agency, "name": agency.name.get(lang) if agency else s.agency, "services": []}
            )["services"].append(entry)
            by_category.setdefault(
                s.category, {"id": s.category, "name": category.get(lang) if category else s.category, "services": []}
            )["services"].append(entry)
        groups_a = sorted(by_agency.values(), key=lambda g: g["name"])
        groups_c = sorted(by_category.values(), key=lambda g: g["name"])
        index = env.get_template("index.html")
        for name, heading, groups in (("index", "by_agency", groups_a), ("categories", "by_category", groups_c)):
            other = ("en/" if lang == "mn" else "../") + f"{name}.html"
            html = index.render(**common, root=up, other=other, heading=t(heading), groups=groups, count=len(services))
            (base / f"{name}.html").write_text(html, encoding="utf-8")
            pages += 1
        page = env.get_template("service.html")
        for s in services:
            model = service_model(s, reg, lang)
            picture = svgs.get((s.id, lang))
            html = page.render(
                **common,
                root=up + "../",
                other=("../en/services/" if lang == "mn" else "../../services/") + f"{s.id}.html",
                s=model,
                svg=(up + "../" + picture) if picture else None,
            )
            (base / "services" / f"{s.id}.html").write_text(html, encoding="utf-8")
            pages += 1
    return Written(pages, len(services))
