"""The exchange in a citizen's application: which operations a service uses, the consent per
operation, the calls, prefilled answers (with their provenance) and registry extracts for documents.

Calls run outside any database transaction (a registry may be slow); their consents and results are
then recorded in one transaction. A failed call never blocks the application: its fields stay open
for the citizen to fill, and the case shows the officer what must be checked by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile.model import DocumentRequirement, Field, I18n, RegistryOperation
from engine.compile.service import Service
from engine.run.cases import case_values
from engine.run.db import applications, now
from engine.run.exchange.adapter import NO_CONSENT, OK, RegistryAdapter, RegistryKey, RegistryResult
from engine.run.exchange.keys import CITIZEN, key_of
from engine.run.exchange.tables import registry_calls, registry_consents

PROVENANCE = "_registry"  # the key in a draft's answers that says which values came from a registry


@dataclass
class Use:
    """One operation a service calls: the fields it prefills and the documents it provides."""

    operation: RegistryOperation
    fields: list[tuple[Field, str]] = field(default_factory=list)  # (field, returned attribute)
    documents: list[DocumentRequirement] = field(default_factory=list)
    key_kind: str = CITIZEN
    key_field: Field | None = None  # the form field whose answer is the key, when not the citizen

    @property
    def id(self) -> str:
        return self.operation.id


def uses(service: Service, operations: Mapping[str, RegistryOperation]) -> list[Use]:
    """The registry operations a service uses, in the order the form first needs them."""
    found: dict[str, Use] = {}
    for f in service.fields:
        if f.prefill and f.prefill.startswith("registry."):
            parts = f.prefill.split(".")
            if len(parts) == 3 and parts[1] in operations:
                found.setdefault(parts[1], Use(operations[parts[1]])).fields.append((f, parts[2]))
    for d in service.documents:
        if d.registry and d.registry in operations:
            found.setdefault(d.registry, Use(operations[d.registry])).documents.append(d)
    for use in found.values():
        spec = key_of(use.operation)
        key_field = next((f for f in service.fields if f.type == spec.key), None)
        if spec.key != CITIZEN and key_field is not None:
            use.key_kind, use.key_field = spec.key, key_field
        # Without a field to ask it by, an entity operation is asked about the citizen's own records.
    return list(found.values())


def call_all(
    adapter: RegistryAdapter, wanted: Iterable[Use], granted: set[str], citizen_register: str, keys: Mapping[str, str]
) -> dict[str, RegistryResult]:
    """One call per consented operation; an operation without consent is not called at all."""
    results: dict[str, RegistryResult] = {}
    for use in wanted:
        if use.id not in granted:
            results[use.id] = RegistryResult(use.id, NO_CONSENT, source=adapter.name)
            continue
        value = citizen_register if use.key_kind == CITIZEN else (keys.get(use.id) or "").strip()
        if not value:
            results[use.id] = RegistryResult(use.id, "no_key", source=adapter.name, detail="no key given")
            continue
        key = RegistryKey(use.key_kind, value, citizen_register)
        try:
            results[use.id] = adapter.fetch(use.operation, key)
        except Exception as err:  # an adapter bug is an outage to the citizen, never a crash
            results[use.id] = RegistryResult(use.id, "error", source=adapter.name, detail=repr(err)[:200])
    return results


def prefill_value(f: Field, value: Any, today: dt.date) -> Any:
    """A registry value as a form answer for `f`, or None when it does not fit the field."""
    if value is None:
        return None
    if f.type == "address":
        return dict(value) if isinstance(value, Mapping) else None
    if f.type == "multichoice":
        allowed = {o.value for o in f.options}
        chosen = [str(v) for v in value] if isinstance(value, list) else []
        return chosen if chosen and all(v in allowed for v in chosen) else None
    if f.type == "boolean":
        return "yes" if value is True else ("no" if value is False else None)
    raw = value if isinstance(value, str) else (str(value) if not isinstance(value, (list, dict)) else None)
    if raw is None:
        return None
    parsed, error = f.parse(raw, today)
    if error is not None or parsed is None:
        return None
    if f.type in ("choice", "multichoice") and f.options and raw not in {o.value for o in f.options}:
        return None
    return raw


def record(
    conn: Connection,
    citizen_id: int,
    draft_id: int,
    wanted: list[Use],
    granted: set[str],
    keys: Mapping[str, str],
    results: Mapping[str, RegistryResult],
    answers: Mapping[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    """Store consents and calls; returns the draft's answers with registry values and their provenance."""
    stamp = now()
    out = dict(answers)
    provenance: dict[str, Any] = dict(out.get(PROVENANCE) or {})
    filled_fields: dict[str, Any] = dict(provenance.get("fields") or {})
    for use in wanted:
        consent = conn.execute(
            registry_consents.insert().values(
                citizen_id=citizen_id, draft_id=draft_id, operation=use.id, granted=use.id in granted, at=stamp
            )
        )
        consent_id = int(consent.inserted_primary_key[0])  # type: ignore[index]
        result = results[use.id]
        if use.key_field is not None and keys.get(use.id):
            out[use.key_field.id] = keys[use.id].strip()
        filled: list[str] = []
        if result.ok:
            for f, attribute in use.fields:
                value = prefill_value(f, result.data.get(attribute), today)
                if value is None:
                    continue
                out[f.id] = value
                filled.append(f.id)
                filled_fields[f.id] = {
                    "op": use.id,
                    "value": value,
                    "at": stamp,
                    "source": result.source,
                    "locked": not f.allow_correction,
                }
        conn.execute(
            registry_calls.insert().values(
                citizen_id=citizen_id,
                draft_id=draft_id,
                consent_id=consent_id,
                operation=use.id,
                purpose="document" if use.documents else "prefill",
                document_id=",".join(d.id for d in use.documents) or None,
                key_kind=use.key_kind,
                source=result.source,
                status=result.status,
                detail=result.detail,
                result=dict(result.data) if result.ok and use.documents else None,
                filled=filled,
                at=stamp,
                duration_ms=result.duration_ms,
            )
        )
    provenance["fields"] = filled_fields
    out[PROVENANCE] = provenance
    return out


def keep_locked(answers: dict[str, Any]) -> None:
    """Put back registry values the citizen may not correct (a posted form cannot change them)."""
    provenance = answers.get(PROVENANCE)
    if not isinstance(provenance, Mapping):
        return
    for field_id, info in (provenance.get("fields") or {}).items():
        if isinstance(info, Mapping) and info.get("locked"):
            answers[field_id] = info.get("value")


def provenance_of(answers: Mapping[str, Any]) -> Mapping[str, Any]:
    provenance = answers.get(PROVENANCE)
    fields = provenance.get("fields") if isinstance(provenance, Mapping) else None
    return fields if isinstance(fields, Mapping) else {}


# --- what the case shows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseExchange:
    calls: list[Mapping[str, Any]]  # the newest call per operation
    extracts: list[dict[str, Any]]  # registry documents fetched: document, operation, source, time, data
    manual: list[dict[str, Any]]  # what the officer must check by hand, and why


def case_exchange(
    conn: Connection, app: Mapping[str, Any], service: Service, operations: Mapping[str, RegistryOperation]
) -> CaseExchange:
    draft_id = app.get("draft_id")
    if draft_id is None:
        draft_id = conn.execute(sa.select(applications.c.draft_id).where(applications.c.id == app["id"])).scalar()
    rows = conn.execute(
        sa.select(registry_calls).where(registry_calls.c.draft_id == draft_id).order_by(registry_calls.c.id)
    ).mappings()
    latest: dict[str, Mapping[str, Any]] = {}
    for found in rows:
        latest[found["operation"]] = dict(found)
    values = case_values(service, app)
    extracts: list[dict[str, Any]] = []
    manual: list[dict[str, Any]] = []
    for doc in service.required_documents(values) + [d for d in service.documents if not d.required]:
        if doc.registry is None:
            continue
        call = latest.get(doc.registry)
        op = operations.get(doc.registry)
        if call is not None and call["status"] == OK and call["result"] is not None:
            extracts.append({"document": doc, "operation": op, "call": call})
        elif doc in service.required_documents(values):
            manual.append({"what": doc.title, "operation": op, "status": call["status"] if call else "not_called"})
    for use in uses(service, operations):
        call = latest.get(use.id)
        if use.fields and (call is None or call["status"] != OK):
            labels = [f.label for f, _ in use.fields]
            manual.append({"what": labels[0] if len(labels) == 1 else I18n(
                "; ".join(x.mn for x in labels), "; ".join(x.en for x in labels)
            ), "operation": use.operation, "status": call["status"] if call else "not_called"})
    return CaseExchange(list(latest.values()), extracts, manual)
