"""The canonical facts of one compiled service: what the diff compares and the textconv driver prints.

A service becomes an ordered mapping of *subjects* (the service itself, each section, field, rule,
document, fee line, state, transition and the routing table), each a mapping of attributes with
plain, comparable values. Expressions are reduced to `ast.unparse` of their source, so spacing and
quoting never differ; key order and comments of the YAML never reach here at all.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.check.format import CONTENT_TYPES
from engine.compile.expressions import Compiled
from engine.compile.model import Field, I18n, Option
from engine.compile.service import Service

Subject = tuple[str, str]  # (kind, id): ("field", "children.name"), ("state", "submitted"), ("service", "")
Facts = dict[Subject, dict[str, Any]]

SUBJECT_ORDER = ("service", "section", "field", "rule", "document", "fee", "workflow", "state", "transition", "routing")
_MIME_NAMES = {mime: name for name, mime in CONTENT_TYPES.items()}


def expression_text(value: Compiled | str | None) -> str | None:
    """One spelling per expression: `reason=="lost"` and `reason == 'lost'` both give the latter."""
    if value is None:
        return None
    source = value.source if isinstance(value, Compiled) else value
    source = source[1:].strip() if source.startswith("=") else source.strip()
    try:
        return ast.unparse(ast.parse(source, mode="eval"))
    except (SyntaxError, ValueError, RecursionError):
        return source


def _plain(value: Any) -> Any:
    """Values fit for comparison, JSON and a one-line rendering."""
    if isinstance(value, Compiled):
        return expression_text(value)
    if isinstance(value, I18n):
        return value
    if isinstance(value, (frozenset, set)):
        return tuple(sorted(_plain(v) for v in value))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


_FIELD_ATTRS = (
    "type",
    "label",
    "hint",
    "required",
    "required_if",
    "show_if",
    "default",
    "prefill",
    "readonly",
    "allow_correction",
    "option_list",
    "depends_on",
    "widget",
    "min",
    "max",
    "min_length",
    "max_length",
    "pattern",
    "pattern_message",
    "placeholder",
    "places",
    "mobile",
    "min_age",
    "max_age",
    "must_be_true",
    "area",
    "min_items",
    "max_items",
    "item_label",
    "group",
)


def _field_facts(f: Field, section: str, position: int, parent: str | None, out: Facts) -> None:
    path = f"{parent}.{f.id}" if parent else f.id
    attrs: dict[str, Any] = {name: _plain(getattr(f, name)) for name in _FIELD_ATTRS}
    # Keyed by (parent, value): a cascading list repeats values under each parent (khoroo 1 of every
    # district), and the order of its parents in the YAML is no part of its meaning.
    attrs["options"] = {(o.parent or "", o.value): o.label for o in sorted(f.options, key=_option_key)}
    attrs["section"] = section
    attrs["position"] = position
    out[("field", path)] = attrs
    for index, sub in enumerate(f.fields):
        _field_facts(sub, section, index, path, out)


def _option_key(option: Option) -> tuple[str, str]:
    return (option.parent or "", option.value)


def option_name(key: tuple[str, str]) -> str:
    """`lost`, or `bayangol/3` for the third khoroo of Bayangol."""
    parent, value = key
    return f"{parent}/{value}" if parent else value


def service_facts(service: Service) -> Facts:
    """Every fact of a compiled service, in a stable order (the order of SUBJECT_ORDER, then source)."""
    raw = service.definition
    out: Facts = {}
    out[("service", "")] = {
        "title": service.title,
        "summary": service.summary,
        "agency": service.agency,
        "scope": service.scope,
        "category": service.category,
        "keywords": _plain(service.keywords),
        "legal_basis": tuple((b.title, b.url) for b in service.legal_basis),
        "sla_days": service.sla_days,
        "eligibility": service.eligibility,
    }
    for index, section in enumerate(service.sections):
        out[("section", section.id)] = {"title": section.title, "intro": section.intro, "position": index}
    for section in service.sections:
        for index, f in enumerate(section.fields):
            _field_facts(f, section.id, index, None, out)
    for rule in service.rules:
        out[("rule", rule.id)] = {"check": _plain(rule.check), "field": rule.field, "message": rule.message}
    for index, doc in enumerate(service.documents):
        out[("document", doc.id)] = {
            "title": doc.title,
            "hint": doc.hint,
            "type": doc.type,
            "required": doc.required,
            "required_if": _plain(doc.required_if),
            "accept": tuple(sorted(_MIME_NAMES.get(m, m) for m in doc.accept)),  # a set: order means nothing
            "max_size_mb": doc.max_size_mb,
            "max_count": doc.max_count,
            "registry": doc.registry,
            "position": index,
        }
    for index, line in enumerate(service.fee_lines):
        amount = line.amount if isinstance(line.amount, int) else "= " + str(expression_text(line.amount))
        out[("fee", line.id)] = {"label": line.label, "amount": amount, "when": _plain(line.when), "position": index}
    wf = service.workflow
    out[("workflow", "")] = {
        "initial": wf.initial,
        "pattern": wf.pattern,
        "params": dict(sorted(wf.params.items())),
        "migrate": dict(sorted(wf.migrate.items())),
    }
    raw_states = raw.get("workflow", {}).get("states", {}) or {}
    for name, state in wf.states.items():
        description = (raw_states.get(name) or {}).get("description")
        out[("state", name)] = {
            "label": state.label,
            "description": I18n.of(description) if description is not None else None,
            "role": state.role,
            "sla_days": state.sla_days,
            "final": state.final,
            "outcome": state.outcome,
            "effects": _plain(state.effects),
        }
    for t in wf.transitions:
        for source in t.sources:
            out[("transition", f"{source}.{t.action}")] = {
                "label": t.label,
                "from": source,
                "to": t.target,
                "by": t.by,
                "guard": _plain(t.guard),
                "requires_comment": t.requires_comment,
                "requires_fields": t.requires_fields,
                "effects": _plain(t.effects),
            }
    raw_rules = (raw.get("routing", {}) or {}).get("rules", []) or []
    out[("routing", "")] = {
        "rules": tuple((expression_text(when), template) for when, template, _ in service.router.rules),
        "fallback": service.router.fallback,
        # Notes explain a rule to readers: keyed by the rule they annotate, so adding a rule moves none.
        "notes": {
            f"{expression_text(r.get('when')) or ''} → {r['office']}": I18n.of(r["note"])
            for r in raw_rules
            if "note" in r
        },
    }
    return out


def show(value: Any, lang: str = "en") -> str:
    """A fact value as one line of text."""
    if value is None:
        return "—"
    if isinstance(value, I18n):
        return value.get(lang)
    if isinstance(value, bool):
        return ("тийм" if value else "үгүй") if lang == "mn" else ("yes" if value else "no")
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v, lang) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v, lang)}" for k, v in value.items()) + "}"
    return str(value)


def as_json(value: Any) -> Any:
    if isinstance(value, I18n):
        return value.as_dict()
    if isinstance(value, tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    return value
