"""Render a semantic diff for people: terminal text, a pull-request comment in Markdown, or JSON.

Every phrase exists in Mongolian (the default) and English; the JSON carries both.
"""

from __future__ import annotations

import json
from typing import Any

from engine.compile.model import I18n
from engine.review.facts import show
from engine.review.mermaid import state_diagram
from engine.review.semantic_diff import IMPACTS, Change, DiffResult

IMPACT_LABELS = {
    "breaking-cases": I18n("ЯВЦАД БУЙ ХЭРГИЙГ ЭВДЭНЭ", "BREAKS CASES"),
    "breaking-drafts": I18n("НООРГИЙГ ЭВДЭНЭ", "BREAKS DRAFTS"),
    "behaviour": I18n("ҮЙЛДЭЛ", "BEHAVIOUR"),
    "wording": I18n("ҮГ ХЭЛЛЭГ", "WORDING"),
}
IMPACT_SUMMARY = {
    "breaking-cases": I18n("явцад буй хэрэгт эвдэрнэ", "breaking for cases in flight"),
    "breaking-drafts": I18n("ноорогт эвдэрнэ", "breaking for drafts"),
    "behaviour": I18n("үйлдэл", "behaviour"),
    "wording": I18n("зөвхөн үг хэллэг", "wording only"),
}
SUBJECTS = {
    "service": I18n("үйлчилгээ", "service"),
    "section": I18n("хэсэг", "section"),
    "field": I18n("талбар", "field"),
    "rule": I18n("дүрэм", "rule"),
    "document": I18n("баримт бичиг", "document"),
    "fee": I18n("хураамж", "fee line"),
    "workflow": I18n("ажлын урсгал", "workflow"),
    "state": I18n("төлөв", "state"),
    "transition": I18n("шилжилт", "transition"),
    "routing": I18n("чиглүүлэлт", "routing"),
}
ATTRS = {
    "type": I18n("төрөл", "type"),
    "label": I18n("нэр", "label"),
    "hint": I18n("зөвлөмж", "hint"),
    "required": I18n("заавал эсэх", "required"),
    "required_if": I18n("заавал болох нөхцөл", "required when"),
    "show_if": I18n("харагдах нөхцөл", "shown when"),
    "default": I18n("анхны утга", "default"),
    "prefill": I18n("урьдчилан бөглөх эх сурвалж", "prefill"),
    "readonly": I18n("зөвхөн унших", "read-only"),
    "allow_correction": I18n("засахыг зөвшөөрөх", "correction allowed"),
    "option_list": I18n("сонголтын жагсаалт", "option list"),
    "depends_on": I18n("хамаарах талбар", "depends on"),
    "widget": I18n("харагдах хэлбэр", "widget"),
    "min": I18n("доод хязгаар", "minimum"),
    "max": I18n("дээд хязгаар", "maximum"),
    "min_length": I18n("доод урт", "minimum length"),
    "max_length": I18n("дээд урт", "maximum length"),
    "pattern": I18n("хэв загвар", "pattern"),
    "pattern_message": I18n("хэв загварын мэдэгдэл", "pattern message"),
    "placeholder": I18n("жишээ бичвэр", "placeholder"),
    "places": I18n("бутархайн орон", "decimal places"),
    "mobile": I18n("зөвхөн гар утас", "mobile only"),
    "min_age": I18n("доод нас", "minimum age"),
    "max_age": I18n("дээд нас", "maximum age"),
    "must_be_true": I18n("заавал зөвшөөрөх", "must be accepted"),
    "area": I18n("хамрах нутаг", "area"),
    "min_items": I18n("хамгийн цөөн мөр", "minimum items"),
    "max_items": I18n("хамгийн олон мөр", "maximum items"),
    "item_label": I18n("мөрийн нэр", "item label"),
    "group": I18n("талбарын бүлэг", "field group"),
    "section": I18n("хэсэг", "section"),
    "title": I18n("гарчиг", "title"),
    "summary": I18n("товч тайлбар", "summary"),
    "agency": I18n("байгууллага", "agency"),
    "scope": I18n("түвшин", "scope"),
    "category": I18n("ангилал", "category"),
    "keywords": I18n("түлхүүр үг", "keywords"),
    "legal_basis": I18n("эрх зүйн үндэслэл", "legal basis"),
    "sla_days": I18n("шийдвэрлэх хугацаа (ажлын өдөр)", "processing time (working days)"),
    "eligibility": I18n("хамрагдах нөхцөл", "eligibility"),
    "intro": I18n("оршил", "introduction"),
    "check": I18n("шалгах нөхцөл", "check"),
    "field": I18n("алдаа харуулах талбар", "field shown the error"),
    "message": I18n("алдааны мэдэгдэл", "message"),
    "accept": I18n("файлын төрөл", "accepted file types"),
    "max_size_mb": I18n("дээд хэмжээ (МБ)", "maximum size (MB)"),
    "max_count": I18n("файлын дээд тоо", "maximum number of files"),
    "registry": I18n("ХУР-аас татах", "fetched from registry (ХУР)"),
    "amount": I18n("дүн", "amount"),
    "when": I18n("нөхцөл", "when"),
    "initial": I18n("эхлэх төлөв", "initial state"),
    "params": I18n("параметрүүд", "parameters"),
    "migrate": I18n("төлөв шилжүүлэх заалт", "state migration map"),
    "role": I18n("гүйцэтгэгч", "role"),
    "final": I18n("эцсийн", "final"),
    "outcome": I18n("үр дүн", "outcome"),
    "effects": I18n("үр дагавар", "effects"),
    "description": I18n("тайлбар", "description"),
    "from": I18n("эхлэх төлөв", "from"),
    "to": I18n("очих төлөв", "to"),
    "by": I18n("гүйцэтгэгч", "by"),
    "guard": I18n("нөхцөл", "guard"),
    "requires_comment": I18n("тайлбар шаардах", "comment required"),
    "requires_fields": I18n("бөглөх талбарууд", "fields required"),
    "rules": I18n("дүрмүүд", "rules"),
    "fallback": I18n("нөөц алба", "fallback office"),
    "notes": I18n("тэмдэглэл", "notes"),
    "document": I18n("баримт бичиг", "documents"),
    "fee": I18n("хураамж", "fee lines"),
}
LANGS = {"mn": I18n("монгол", "Mongolian"), "en": I18n("англи", "English")}
_T = {
    "title": I18n("Утгын ялгаа: {old} → {new}", "Semantic diff: {old} → {new}"),
    "empty": I18n("Утгын өөрчлөлт алга.", "No semantic changes."),
    "totals": I18n("{services} үйлчилгээнд {n} өөрчлөлт: {parts}", "{n} change(s) in {services} service(s): {parts}"),
    "added": I18n("нэмэгдсэн", "added"),
    "removed": I18n("хасагдсан", "removed"),
    "stranded": I18n(
        "хасагдсан — энэ төлөвт буй хэргийг шилжүүлэх заалт (workflow.migrate) алга",
        "removed — no migration (workflow.migrate) for the cases in it",
    ),
    "migrated": I18n("хасагдсан; доторх хэрэг {to} төлөв рүү шилжинэ", "removed; its cases move to {to}"),
    "renamed": I18n("id өөрчлөгдсөн: {before} → {after}", "renamed: {before} → {after}"),
    "changed": I18n("{attr}: {before} → {after}", "{attr}: {before} → {after}"),
    "tightened": I18n("{attr} чангарсан: {before} → {after}", "{attr} tightened: {before} → {after}"),
    "loosened": I18n("{attr} суларсан: {before} → {after}", "{attr} loosened: {before} → {after}"),
    "accept_tightened": I18n("{before} төрлийн файл авахаа больсон", "no longer accepts {before}"),
    "accept_loosened": I18n("{after} төрлийн файл бас авна", "now also accepts {after}"),
    "now_required": I18n("заавал болсон", "now required"),
    "now_optional": I18n("заавал биш болсон", "now optional"),
    "now_final": I18n("эцсийн төлөв болсон", "became a final state"),
    "now_final_stranded": I18n(
        "эцсийн төлөв болсон — доторх хэрэг гацна, шилжүүлэх заалт алга",
        "became a final state — cases in it stop, and no migration moves them",
    ),
    "option_added": I18n("сонголт нэмэгдсэн: {after}", "option added: {after}"),
    "option_removed": I18n("сонголт хасагдсан: {before}", "option removed: {before}"),
    "reworded": I18n("{attr} ({language}): «{before}» → «{after}»", "{attr} ({language}): “{before}” → “{after}”"),
    "moved": I18n("{before} хэсгээс {after} хэсэг рүү шилжсэн", "moved from section {before} to {after}"),
    "reordered": I18n("{attr} дараалал: {before} → {after}", "order of {attr}: {before} → {after}"),
    "reroutes": I18n(
        "жишээ хариултын {n} хослол өөр алба руу очно, жишээ нь:",
        "{n} of the enumerated answer combinations now reach another office, e.g.:",
    ),
    "no_reroutes": I18n("жишээ хариултуудын чиглэл өөрчлөгдөөгүй", "no enumerated answers route differently"),
    "before": I18n("өмнө", "before"),
    "after": I18n("одоо", "after"),
    "impact": I18n("{drafts} ноорог, {cases} явцад буй хэрэг", "{drafts} draft(s), {cases} case(s) in flight"),
    "workflow": I18n("Ажлын урсгал: өмнө ба одоо", "Workflow before and after"),
    "fail": I18n(
        "{n} эвдрэх өөрчлөлтөд шилжүүлэлт алга (--fail-on {level})",
        "{n} breaking change(s) lack a migration (--fail-on {level})",
    ),
    "warning": I18n("анхааруулга", "warning"),
    "stranding": I18n(
        "{n} өөрчлөлт явцад буй хэргийг гацаана: хасагдсан төлвүүдийг workflow.migrate-д заана уу.",
        "{n} change(s) would strand cases in flight: map the removed states under workflow.migrate.",
    ),
    "version": I18n("хувилбар", "version"),
    "no_answer": I18n("хариулаагүй", "no answer"),
}


def t(key: str, lang: str, **params: Any) -> str:
    return _T[key].get(lang).format(**params)


def _value(value: Any, lang: str) -> str:
    if isinstance(value, str) and value == "":
        return "“”"
    return show(value, lang)


def subject_text(change: Change, lang: str) -> str:
    word = SUBJECTS[change.subject].get(lang)
    named = f" «{change.label.get(lang)}»" if change.label is not None else ""
    if change.subject == "transition" and change.id:
        source, _, action = change.id.rpartition(".")
        where = f"({source} →)" if lang == "en" else f"({source} төлвөөс)"
        return f"{word} {action}{named} {where}"
    return f"{word} {change.id}{named}" if change.id else word


def describe(change: Change, lang: str = "mn") -> str:
    """One line: `field copies: maximum tightened: 5 → 3`."""
    attr = ATTRS.get(change.attr or "", I18n(change.attr or "", change.attr or "")).get(lang)
    if change.attr and change.attr.startswith("option "):
        attr = (
            (("сонголт " if lang == "mn" else "option ") + change.attr.split(" ", 1)[1])
            + " "
            + ATTRS["label"].get(lang)
        )
    before, after = _value(change.before, lang), _value(change.after, lang)
    what = change.what
    if what == "removed" and change.subject == "state" and change.impact == "breaking-cases":
        text = t("stranded", lang)
    elif what == "removed" and change.migrated_to:
        text = t("migrated", lang, to=change.migrated_to)
    elif what in ("added", "removed"):
        name = change.after if what == "added" else change.before
        shown = change.subject == "service" and name is not None  # other subjects carry their label already
        text = t(what, lang) + (f" ({_value(name, lang)})" if shown else "")
    elif what in ("option_added", "option_removed"):
        text = t(what, lang, before=before, after=after)
        if change.value_label is not None:
            text += f" «{change.value_label.get(lang)}»"
    elif what == "now_final":
        text = t("now_final_stranded" if change.impact == "breaking-cases" else "now_final", lang)
    elif change.subject == "routing" and change.attr == "rules":
        text = ATTRS["rules"].get(lang) + (" өөрчлөгдсөн" if lang == "mn" else " changed")
    elif what in ("tightened", "loosened") and change.attr == "accept":
        text = t(f"accept_{what}", lang, before=before, after=after)
    elif what == "reworded":
        text = t(what, lang, attr=attr, language=LANGS[change.lang or "mn"].get(lang), before=before, after=after)
    elif what == "reordered" or what in _T:
        text = t(what, lang, attr=attr, before=before, after=after)
    else:
        text = f"{what}: {before} → {after}"
    if change.migrated_to and what != "removed":
        text += " → " + change.migrated_to
    return f"{subject_text(change, lang)}: {text}"


def _detail_lines(change: Change, lang: str) -> list[str]:
    """Routing changes show the old and new rules and answers that now go elsewhere."""
    out: list[str] = []
    if change.subject == "routing" and change.attr == "rules":
        out.append(f"{t('before', lang)}: " + "; ".join(change.before or ()))
        out.append(f"{t('after', lang)}: " + "; ".join(change.after or ()))
        if change.examples:
            out.append(t("reroutes", lang, n=change.reroutes))
            for example in change.examples:
                answers = ", ".join(
                    f"{name} = {t('no_answer', lang) if value is None else repr(value)}"
                    for name, value in example["answers"].items()
                )
                out.append(f"  {answers or '—'}: {example['before']} → {example['after']}")
        else:
            out.append(t("no_reroutes", lang))
    if change.drafts is not None or change.cases is not None:
        out.append(t("impact", lang, drafts=change.drafts or 0, cases=change.cases or 0))
    return out


def _totals(result: DiffResult, lang: str) -> str:
    counts = result.counts()
    parts = ", ".join(f"{counts[i]} {IMPACT_SUMMARY[i].get(lang)}" for i in IMPACTS if counts[i])
    services = len({c.service for c in result.changes})
    return t("totals", lang, n=len(result.changes), services=services, parts=parts)


def _service_title(result: DiffResult, sid: str, lang: str) -> str:
    pair = result.pairs.get(sid)
    service = (pair.new or pair.old) if pair else None
    return f"{sid} — {service.title.get(lang)}" if service else sid


def render_text(result: DiffResult, lang: str = "mn") -> str:
    out = [t("title", lang, old=result.old_label, new=result.new_label)]
    out += [f"{t('warning', lang)}: {w}" for w in result.warnings]
    if not result.changes:
        out.append(t("empty", lang))
        return "\n".join(out)
    out.append(_totals(result, lang))
    width = max(len(label.get(lang)) for label in IMPACT_LABELS.values())
    current = None
    previous: Change | None = None
    for change in result.changes:
        if change.service != current:
            current = change.service
            out.append("")
            out.append(_service_title(result, current, lang))
            old_v, new_v = _versions(result, current)
            if old_v or new_v:
                out.append(f"  {t('version', lang)} {old_v or '—'} → {new_v or '—'}")
        if change.impact == "wording" and (
            previous is None or previous.service != change.service or previous.impact != "wording"
        ):
            out.append(f"  — {IMPACT_SUMMARY['wording'].get(lang)} —")
        previous = change
        out.append(f"  {IMPACT_LABELS[change.impact].get(lang):<{width}}  {describe(change, lang)}")
        out += [" " * (width + 6) + line for line in _detail_lines(change, lang)]
    return "\n".join(out)


def _versions(result: DiffResult, sid: str) -> tuple[str | None, str | None]:
    pair = result.pairs.get(sid)
    if pair is None:
        return None, None
    return (pair.old.version if pair.old else None), (pair.new.version if pair.new else None)


def render_markdown(result: DiffResult, lang: str = "mn") -> str:
    out = [f"### {t('title', lang, old=f'`{result.old_label}`', new=f'`{result.new_label}`')}", ""]
    out += [f"> ⚠ {w}" for w in result.warnings]
    if not result.changes:
        out.append(t("empty", lang))
        return "\n".join(out) + "\n"
    counts = result.counts()
    out.append(" · ".join(f"**{counts[i]}** {IMPACT_SUMMARY[i].get(lang)}" for i in IMPACTS))
    if counts["breaking-cases"]:
        out += ["", f"> 🛑 {t('stranding', lang, n=counts['breaking-cases'])}"]
    icons = {"breaking-cases": "🛑", "breaking-drafts": "⚠️", "behaviour": "🔧", "wording": "✏️"}
    by_service: dict[str, list[Change]] = {}
    for change in result.changes:
        by_service.setdefault(change.service, []).append(change)
    for sid, changes in by_service.items():
        out += ["", f"#### {_md(_service_title(result, sid, lang))}", ""]
        wording_started = False
        for change in changes:
            if change.impact == "wording" and not wording_started:
                wording_started = True
                out += ["", f"*{IMPACT_SUMMARY['wording'].get(lang)}:*", ""]
            label = IMPACT_LABELS[change.impact].get(lang)
            out.append(f"- {icons[change.impact]} **{label}** {_md(describe(change, lang))}")
            out += [f"  - {_md(line)}" for line in _detail_lines(change, lang)]
        pair = result.pairs.get(sid)
        if pair and pair.old and pair.new and any(c.subject in ("state", "transition", "workflow") for c in changes):
            out += _workflow_diagrams(pair.old, pair.new, changes, lang)
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*").replace("_", "\\_")


def _workflow_diagrams(old: Any, new: Any, changes: list[Change], lang: str) -> list[str]:
    removed = {c.id for c in changes if c.subject == "state" and c.what == "removed"}
    added = {c.id for c in changes if c.subject == "state" and c.what == "added"}
    changed = {c.id for c in changes if c.subject == "state" and c.what not in ("added", "removed")}
    changed |= {c.id.rpartition(".")[0] for c in changes if c.subject == "transition"}
    changed -= added | removed
    out = ["", f"<details><summary>{t('workflow', lang)}</summary>", ""]
    out += [f"**{t('before', lang)}**", "", "```mermaid", state_diagram(old.workflow, lang, (), removed, changed)]
    out += ["```", "", f"**{t('after', lang)}**", "", "```mermaid"]
    out += [state_diagram(new.workflow, lang, added, (), changed), "```", "", "</details>"]
    return out


def render_json(result: DiffResult) -> str:
    payload = {
        "old": result.old_label,
        "new": result.new_label,
        "counts": result.counts(),
        "warnings": result.warnings,
        "services": {
            sid: {"old_version": v[0], "new_version": v[1]}
            for sid in sorted({c.service for c in result.changes})
            for v in [_versions(result, sid)]
        },
        "changes": [
            {**c.as_dict(), "text": {"mn": describe(c, "mn"), "en": describe(c, "en")}} for c in result.changes
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)
