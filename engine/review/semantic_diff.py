"""Compare two versions of compiled services fact by fact and classify every change by who it hurts.

The four impacts, most severe first:
- `breaking-cases`: a case in flight needs a state that is gone (unless `workflow.migrate` maps it);
- `breaking-drafts`: a draft saved under the old version may fail the new validator or submission;
- `behaviour`: what the service does changes, but nothing saved before breaks;
- `wording`: only texts (mn or en), order or presentation change.
Nothing here reads YAML text: both sides are `Service` objects, reduced to facts (engine.review.facts).
"""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.compile.fields import date_bound
from engine.compile.model import I18n
from engine.compile.routing import template_names
from engine.compile.service import Service
from engine.review.facts import SUBJECT_ORDER, Facts, Subject, as_json, option_name, service_facts

BREAKING_CASES, BREAKING_DRAFTS, BEHAVIOUR, WORDING = "breaking-cases", "breaking-drafts", "behaviour", "wording"
IMPACTS = (BREAKING_CASES, BREAKING_DRAFTS, BEHAVIOUR, WORDING)
SEVERITY = {name: rank for rank, name in enumerate(IMPACTS)}

_TIGHTER_WHEN_HIGHER = {"min", "min_length", "min_items", "min_age"}
_TIGHTER_WHEN_LOWER = {"max", "max_length", "max_items", "max_age", "max_size_mb", "max_count", "places"}
_SWITCHES_THAT_TIGHTEN = {"mobile", "must_be_true"}
_PRESENTATION = {"widget", "option_list", "group", "pattern", "pattern_message", "placeholder"}
_MAX_EXAMPLES = 5
_MAX_ROUTE_COMBINATIONS = 20000


@dataclass(frozen=True)
class Change:
    """One thing that changed, in one service: subject, what happened to it, and how bad it is."""

    service: str
    subject: str  # service | section | field | rule | document | fee | workflow | state | transition | routing
    id: str  # the subject's id ("" for the service, workflow and routing themselves)
    what: str  # added | removed | renamed | changed | tightened | loosened | option_added | ... see render_diff
    impact: str
    attr: str | None = None
    lang: str | None = None  # for reworded texts: which language changed
    before: Any = None
    after: Any = None
    migrated_to: str | None = None  # a removed state that workflow.migrate maps
    examples: tuple[Mapping[str, Any], ...] = ()  # routing: answers that now go elsewhere
    reroutes: int = 0  # routing: how many enumerated answer combinations now go elsewhere
    label: I18n | None = None  # the subject's own label or title, so that people need not know ids
    value_label: I18n | None = None  # an added or removed option's label
    drafts: int | None = None  # filled in by engine.review.impact when a database is given
    cases: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "service": self.service,
            "subject": self.subject,
            "id": self.id,
            "what": self.what,
            "impact": self.impact,
        }
        for key in ("attr", "lang", "migrated_to"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("label", "value_label"):
            if getattr(self, key) is not None:
                out[key] = as_json(getattr(self, key))
        if self.before is not None or self.after is not None:
            out["before"], out["after"] = as_json(self.before), as_json(self.after)
        if self.examples:
            out["examples"] = [dict(e) for e in self.examples]
            out["reroutes"] = self.reroutes
        if self.drafts is not None:
            out["drafts"] = self.drafts
        if self.cases is not None:
            out["cases"] = self.cases
        return out


@dataclass(frozen=True)
class ServicePair:
    old: Service | None
    new: Service | None


@dataclass
class DiffResult:
    changes: list[Change]
    pairs: dict[str, ServicePair] = field(default_factory=dict)  # by the id shown in changes
    old_label: str = "old"
    new_label: str = "new"
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {impact: sum(1 for c in self.changes if c.impact == impact) for impact in IMPACTS}

    def unmigrated_breaking(self, level: str = "breaking") -> list[Change]:
        wanted = {
            "breaking": {BREAKING_CASES, BREAKING_DRAFTS},
            BREAKING_CASES: {BREAKING_CASES},
            BREAKING_DRAFTS: {BREAKING_CASES, BREAKING_DRAFTS},
            BEHAVIOUR: {BREAKING_CASES, BREAKING_DRAFTS, BEHAVIOUR},
            "any": set(IMPACTS),
        }[level]
        return [c for c in self.changes if c.impact in wanted]


# --- catalogs ------------------------------------------------------------------------------------


def diff_catalogs(
    old: Mapping[str, Service],
    new: Mapping[str, Service],
    uncompiled_old: Iterable[str] = (),
    uncompiled_new: Iterable[str] = (),
) -> DiffResult:
    """Match services by id, then by identical content (a rename), and diff each pair.

    A service present on a side but failing to compile there is neither added nor removed: the
    caller reports it as a warning rather than let a typo read as "service removed".
    """
    skip_old, skip_new = set(uncompiled_old), set(uncompiled_new)
    changes: list[Change] = []
    pairs: dict[str, ServicePair] = {}
    removed = [sid for sid in sorted(old) if sid not in new and sid not in skip_new]
    added = [sid for sid in sorted(new) if sid not in old and sid not in skip_old]
    # The id is not a fact, so two services with equal facts are one service renamed.
    facts_new = {sid: service_facts(new[sid]) for sid in added}
    for sid in removed:
        facts_old = service_facts(old[sid])
        twin = next((a for a in added if facts_new[a] == facts_old), None)
        if twin is not None:
            added.remove(twin)
            pairs[twin] = ServicePair(old[sid], new[twin])
            changes.append(Change(twin, "service", "", "renamed", BREAKING_DRAFTS, before=sid, after=twin))
            continue
        pairs[sid] = ServicePair(old[sid], None)
        changes.append(Change(sid, "service", "", "removed", BREAKING_DRAFTS, before=old[sid].title))
    for sid in added:
        pairs[sid] = ServicePair(None, new[sid])
        changes.append(Change(sid, "service", "", "added", BEHAVIOUR, after=new[sid].title))
    for sid in sorted(set(old) & set(new)):
        pairs[sid] = ServicePair(old[sid], new[sid])
        changes.extend(diff_services(old[sid], new[sid]))
    # Per service: the most severe first, wording last and kept apart, as reviewers read them.
    changes.sort(key=lambda c: (c.service, SEVERITY[c.impact], _subject_rank(c.subject)))
    return DiffResult(changes, pairs)


def _subject_rank(subject: str) -> int:
    return SUBJECT_ORDER.index(subject) if subject in SUBJECT_ORDER else len(SUBJECT_ORDER)


# --- one service ---------------------------------------------------------------------------------


def diff_services(old: Service, new: Service) -> list[Change]:
    """Every change between two versions of one service; empty when they mean the same."""
    a, b = service_facts(old), service_facts(new)
    sid = new.id
    out: list[Change] = []
    migrate = dict(new.workflow.migrate)
    renamed = _renamed_subjects(a, b)
    for key in _ordered_keys(a, b):
        kind, ident = key
        if key in renamed:
            out.append(
                Change(sid, kind, renamed[key][1], "renamed", BREAKING_DRAFTS, before=ident, after=renamed[key][1])
            )
            continue
        if key in renamed.values():
            continue
        if key not in b:
            out.extend(_removed(sid, key, a, b, migrate))
        elif key not in a:
            out.extend(_added(sid, key, a, b))
        else:
            for attr in a[key]:
                if attr == "position":
                    continue
                before, after = a[key][attr], b[key].get(attr)
                if before != after:
                    out.extend(_attr_changes(sid, kind, ident, attr, before, after, b[key], migrate, old, new))
    out.extend(_order_changes(sid, a, b))
    out = [replace(c, label=_label_of(c, a, b)) if c.label is None else c for c in out]
    out.sort(key=lambda c: (SEVERITY[c.impact], _subject_rank(c.subject)))
    return out


def _label_of(change: Change, a: Facts, b: Facts) -> I18n | None:
    if change.subject in ("service", "workflow", "routing"):
        return None
    attrs = b.get((change.subject, change.id)) or a.get((change.subject, change.id)) or {}
    found = attrs.get("label") or attrs.get("title") or attrs.get("message")
    return found if isinstance(found, I18n) else None


def _renamed_subjects(a: Facts, b: Facts) -> dict[Subject, Subject]:
    """A field or document that left under one id and came back, unchanged, under another: a rename.
    Answers and uploads saved under the old id no longer reach it, so drafts break."""

    def essence(attrs: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in attrs.items() if k != "position"}

    out: dict[Subject, Subject] = {}
    for kind in ("field", "document"):
        gone = [k for k in a if k[0] == kind and k not in b and not _parent_gone(k, b)]
        came = [k for k in b if k[0] == kind and k not in a and not _parent_gone(k, a)]
        for old_key in gone:
            twins = [new_key for new_key in came if essence(b[new_key]) == essence(a[old_key])]
            if len(twins) == 1 and twins[0] not in out.values():
                out[old_key] = twins[0]
    return out


def _ordered_keys(a: Facts, b: Facts) -> list[Subject]:
    keys = list(a)
    keys += [k for k in b if k not in a]
    return sorted(keys, key=lambda k: _subject_rank(k[0]))


def _parent_gone(key: Subject, facts: Facts) -> bool:
    """A sub-field of a repeat that is itself added or removed is reported with its parent."""
    kind, ident = key
    if kind != "field" or "." not in ident:
        return False
    return ("field", ident.rsplit(".", 1)[0]) not in facts


def _removed(sid: str, key: Subject, a: Facts, b: Facts, migrate: Mapping[str, str]) -> list[Change]:
    kind, ident = key
    if _parent_gone(key, b):
        return []
    before = a[key]
    title = before.get("label") or before.get("title")
    if kind == "state":
        if before["final"]:
            return [Change(sid, kind, ident, "removed", BEHAVIOUR, before=title)]
        if ident in migrate:
            return [Change(sid, kind, ident, "removed", BEHAVIOUR, before=title, migrated_to=migrate[ident])]
        return [Change(sid, kind, ident, "removed", BREAKING_CASES, before=title)]
    impact = WORDING if kind == "section" else BEHAVIOUR
    return [Change(sid, kind, ident, "removed", impact, before=title)]


def _added(sid: str, key: Subject, a: Facts, b: Facts) -> list[Change]:
    kind, ident = key
    if _parent_gone(key, a):
        return []
    after = b[key]
    title = after.get("label") or after.get("title")
    impact = BEHAVIOUR
    asked = bool(after.get("required")) or after.get("required_if") is not None
    if (kind == "field" and asked) or (kind == "document" and asked and not after["registry"]) or kind == "rule":
        impact = BREAKING_DRAFTS
    elif kind == "section":
        impact = WORDING
    return [Change(sid, kind, ident, "added", impact, after=title)]


def _attr_changes(
    sid: str,
    kind: str,
    ident: str,
    attr: str,
    before: Any,
    after: Any,
    new_attrs: Mapping[str, Any],
    migrate: Mapping[str, str],
    old: Service,
    new: Service,
) -> list[Change]:
    def change(what: str, impact: str, **extra: Any) -> Change:
        return Change(sid, kind, ident, what, impact, attr=attr, before=before, after=after, **extra)

    if isinstance(before, I18n) or isinstance(after, I18n):
        return _reworded(sid, kind, ident, attr, before, after)
    if attr == "options":
        return _option_changes(sid, ident, before, after)
    if kind == "routing":
        if attr == "rules":
            return [_routing_change(sid, old, new)]
        if attr == "notes":
            return [change("changed", WORDING)]
        return [change("changed", BEHAVIOUR)]
    if kind == "service":
        if attr in ("keywords", "legal_basis"):
            return [change("changed", WORDING)]
        return [change("changed", BEHAVIOUR)]
    if kind == "workflow":
        return [change("changed", WORDING if attr in ("pattern", "params") else BEHAVIOUR)]
    if kind == "state":
        if attr == "final" and after and not before:
            impact = BEHAVIOUR if ident in migrate else BREAKING_CASES
            return [change("now_final", impact, migrated_to=migrate.get(ident))]
        return [change("changed", BEHAVIOUR)]
    if kind in ("transition", "fee"):
        return [change("changed", BEHAVIOUR)]
    if kind == "rule":
        if attr == "check":
            return [change("changed", BREAKING_DRAFTS)]
        return [change("changed", WORDING)]
    if attr == "section":
        return [change("moved", WORDING)]
    if attr in _PRESENTATION and attr != "pattern":
        return [change("changed", WORDING)]
    if attr == "required":
        if kind == "document" and new_attrs.get("registry"):
            return [change("now_required" if after else "now_optional", BEHAVIOUR)]
        return [change("now_required", BREAKING_DRAFTS) if after else change("now_optional", BEHAVIOUR)]
    if attr == "required_if":
        return [change("changed", BREAKING_DRAFTS if after is not None else BEHAVIOUR)]
    if attr == "show_if":
        required = new_attrs.get("required") or new_attrs.get("required_if") is not None
        shown_more = after is None or before is not None
        return [change("changed", BREAKING_DRAFTS if required and shown_more else BEHAVIOUR)]
    if attr in ("pattern", "type", "area"):
        if attr == "pattern" and after is None:
            return [change("loosened", BEHAVIOUR)]
        return [change("tightened" if attr == "pattern" else "changed", BREAKING_DRAFTS)]
    if attr == "depends_on":
        return [change("changed", BREAKING_DRAFTS if after is not None else BEHAVIOUR)]
    if attr in _SWITCHES_THAT_TIGHTEN:
        return [change("tightened", BREAKING_DRAFTS) if after else change("loosened", BEHAVIOUR)]
    if attr in _TIGHTER_WHEN_HIGHER or attr in _TIGHTER_WHEN_LOWER:
        tighter = _is_tighter(attr, before, after)
        return [change("tightened", BREAKING_DRAFTS) if tighter else change("loosened", BEHAVIOUR)]
    if attr == "accept":
        out = []
        gone = tuple(t for t in before if t not in after)
        came = tuple(t for t in after if t not in before)
        if gone:
            out.append(Change(sid, kind, ident, "tightened", BREAKING_DRAFTS, attr=attr, before=gone))
        if came:
            out.append(Change(sid, kind, ident, "loosened", BEHAVIOUR, attr=attr, after=came))
        return out or [change("changed", WORDING)]
    if attr == "registry" and kind == "document":
        needs_upload = after is None and (new_attrs.get("required") or new_attrs.get("required_if") is not None)
        return [change("changed", BREAKING_DRAFTS if needs_upload else BEHAVIOUR)]
    return [change("changed", BEHAVIOUR)]


def _bound_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            bound = date_bound(value)
        except ValueError:
            return None
        return bound(dt.date.today()) if bound is not None else None
    return value


def _is_tighter(attr: str, before: Any, after: Any) -> bool:
    if before is None:
        return True
    if after is None:
        return False
    b, a = _bound_value(before), _bound_value(after)
    if b is None or a is None:
        return True
    try:
        return bool(a > b) if attr in _TIGHTER_WHEN_HIGHER else bool(a < b)
    except TypeError:
        return True


def _reworded(sid: str, kind: str, ident: str, attr: str, before: Any, after: Any) -> list[Change]:
    if not isinstance(before, I18n) or not isinstance(after, I18n):
        return [Change(sid, kind, ident, "changed", WORDING, attr=attr, before=before, after=after)]
    out = []
    for lang in ("mn", "en"):
        if getattr(before, lang) != getattr(after, lang):
            out.append(
                Change(
                    sid, kind, ident, "reworded", WORDING, attr=attr, lang=lang,
                    before=getattr(before, lang), after=getattr(after, lang),
                )
            )  # fmt: skip
    return out


def _option_changes(
    sid: str, ident: str, before: Mapping[tuple[str, str], I18n], after: Mapping[tuple[str, str], I18n]
) -> list[Change]:
    """Options are matched by (parent, value); `before`/`after` of a change carry the bare value, the
    one a draft's answer holds, and the parent shows in the option's name."""
    out = []
    for key, label in before.items():
        if key not in after:
            out.append(
                Change(
                    sid, "field", ident, "option_removed", BREAKING_DRAFTS, attr="options", before=key[1],
                    value_label=_with_parent(label, key),
                )
            )  # fmt: skip
    for key, label in after.items():
        if key not in before:
            out.append(
                Change(
                    sid, "field", ident, "option_added", BEHAVIOUR, attr="options", after=key[1],
                    value_label=_with_parent(label, key),
                )
            )  # fmt: skip
    for key in sorted(before.keys() & after.keys()):
        out.extend(_reworded(sid, "field", ident, f"option {option_name(key)}", before[key], after[key]))
    out.sort(key=lambda c: (str(c.before or c.after or ""), c.what))
    return out


def _with_parent(label: I18n, key: tuple[str, str]) -> I18n:
    return I18n(f"{label.mn} ({key[0]})", f"{label.en} ({key[0]})") if key[0] else label


def _order_changes(sid: str, a: Facts, b: Facts) -> list[Change]:
    """Reordering is reported once per container, comparing only the items both sides have."""
    out = []

    def sequence(facts: Facts, kind: str, container: str | None, common: set[str]) -> list[str]:
        items = [
            (attrs["position"], ident)
            for (k, ident), attrs in facts.items()
            if k == kind and ident in common and (container is None or _container(kind, ident, attrs) == container)
        ]
        return [ident for _, ident in sorted(items)]

    for kind in ("section", "field", "document", "fee"):
        common = {i for (k, i) in a if k == kind} & {i for (k, i) in b if k == kind}
        containers = {None} if kind != "field" else {_container(kind, i, a[(kind, i)]) for i in common}
        for container in sorted(containers, key=str):
            if kind == "field":
                moved = {i for i in common if a[(kind, i)]["section"] != b[(kind, i)]["section"]}
                same = common - moved
            else:
                same = common
            before, after = sequence(a, kind, container, same), sequence(b, kind, container, same)
            if before != after:
                out.append(
                    Change(sid, kind if kind != "field" else "section", container or "", "reordered", WORDING,
                           attr=kind, before=tuple(before), after=tuple(after))
                )  # fmt: skip
    return out


def _container(kind: str, ident: str, attrs: Mapping[str, Any]) -> str:
    if kind != "field":
        return ""
    return ident.rsplit(".", 1)[0] if "." in ident else str(attrs["section"])


# --- routing -------------------------------------------------------------------------------------


def _routing_change(sid: str, old: Service, new: Service) -> Change:
    before = tuple(_rule_text(w, t) for w, t in _rules(old))
    after = tuple(_rule_text(w, t) for w, t in _rules(new))
    examples, total = rerouted_examples(old, new)
    return Change(
        sid, "routing", "", "changed", BEHAVIOUR, attr="rules", before=before, after=after,
        examples=tuple(examples), reroutes=total,
    )  # fmt: skip


def _rules(service: Service) -> list[tuple[str | None, str]]:
    from engine.review.facts import expression_text

    return [(expression_text(when), template) for when, template, _ in service.router.rules]


def _rule_text(when: str | None, template: str) -> str:
    return f"{when} → {template}" if when else f"→ {template}"


def routing_dimensions(services: Iterable[Service]) -> list[tuple[str, list[Any]]]:
    """The answers routing reads, each with the values worth trying: every option of a choice (and
    'no answer' when it may be empty), yes/no, and numbers or texts either side of the constants
    the conditions compare with. Mirrors RoutingStage.routing_dimensions (compile/routing.py) over both versions."""
    values: dict[str, list[Any]] = {}

    def add(name: str, value: Any) -> None:
        bucket = values.setdefault(name, [])
        if value not in bucket:
            bucket.append(value)

    services = list(services)
    for service in services:
        for when, template, _ in service.router.rules:
            names: set[str] = set(template_names(template))
            if when is not None:
                names |= set(when.names)
                for name, constant in _compared_constants(when.source):
                    if isinstance(constant, (int, float)) and not isinstance(constant, bool):
                        for v in (constant - 1, constant, constant + 1):
                            add(name, v)
                    elif isinstance(constant, str):
                        add(name, constant)
            for name in names:
                values.setdefault(name, [])
                base, _, part = name.partition(".")
                f = service.field_index.get(base)
                if f is None:
                    continue
                if part:
                    lists = {"district": "ub_districts", "region": "regions", "khoroo": "ub_khoroos"}
                    for option in service.validator.address_options.get(lists.get(part, ""), ()):
                        add(name, option.value)
                elif f.type == "choice":
                    for option in f.options:
                        add(name, option.value)
                elif f.type == "boolean":
                    add(name, True)
                    add(name, False)
                if not f.required or f.show_if is not None or part:
                    add(name, None)
    dotted = {name.partition(".")[0] for name in values if "." in name}
    dims = []
    for name in sorted(values):
        if name in dotted:  # `site` is enumerated through `site.district`, not as a whole
            continue
        vals = values[name]
        if None not in vals:
            vals.append(None)
        dims.append((name, sorted(vals, key=lambda v: (v is None, str(type(v)), str(v)))))
    return dims


def _compared_constants(source: str) -> list[tuple[str, Any]]:
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        names = [ast.unparse(o) for o in operands if isinstance(o, (ast.Name, ast.Attribute))]
        constants: list[Any] = []
        for o in operands:
            if isinstance(o, ast.Constant):
                constants.append(o.value)
            elif isinstance(o, (ast.List, ast.Tuple)):
                constants += [e.value for e in o.elts if isinstance(e, ast.Constant)]
        found += [(n, c) for n in names for c in constants]
    return found


def rerouted_examples(old: Service, new: Service) -> tuple[list[dict[str, Any]], int]:
    """Answers that the old rules send to one office and the new rules to another."""
    dims = routing_dimensions([old, new])
    examples: list[dict[str, Any]] = []
    total = 0
    combos = itertools.islice(itertools.product(*[vals for _, vals in dims]), _MAX_ROUTE_COMBINATIONS)
    for combo in combos:
        answers: dict[str, Any] = {}
        for (name, _), value in zip(dims, combo, strict=True):
            base, _, part = name.partition(".")
            if part:
                if not isinstance(answers.get(base), dict):
                    answers[base] = {}
                answers[base][part] = value
            else:
                answers[base] = value
        try:
            before, after = old.route(answers), new.route(answers)
        except Exception:  # a condition over a value type the router never sees: not an example
            continue
        if before != after:
            total += 1
            if len(examples) < _MAX_EXAMPLES:
                shown = {n: v for (n, _), v in zip(dims, combo, strict=True)}
                examples.append({"answers": shown, "before": before, "after": after})
    return examples, total
