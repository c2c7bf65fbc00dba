"""The JSON Schema of a service's submission, built from its compiled fields.

It states the typed (JSON API) form of the answers with the same bounds the server validator
applies. What JSON Schema cannot say — conditions, cascading choices, cross-field rules — is
carried as `x-show-if`, `x-required-if`, `x-depends-on` and `x-rules` beside it, and the server
validator stays the authority.
"""

from __future__ import annotations

from typing import Any

from engine.compile import mongolia
from engine.compile.model import Field
from engine.compile.service import Service
from engine.compile.validator import ADDRESS_PARTS

_PATTERNS = {
    "phone": mongolia.PHONE.pattern,
    "register": mongolia.REGISTER.pattern,
    "company_register": mongolia.COMPANY_REGISTER.pattern,
    "plate_number": mongolia.PLATE.pattern,
    "property_number": mongolia.PROPERTY_NUMBER.pattern,
    "parcel_id": mongolia.PARCEL_ID.pattern,
    "vin": mongolia.VIN.pattern,
    "passport_number": mongolia.PASSPORT.pattern,
    "postal_code": mongolia.POSTAL.pattern,
}
_FORMATS = {"date": "date", "datetime": "date-time", "email": "email", "url": "uri"}


def field_schema(f: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": f.label.en, "x-title-mn": f.label.mn}
    if f.hint:
        schema["description"] = f.hint.en
    kind = f.type
    if kind in ("integer", "money"):
        schema["type"] = "integer"
    elif kind == "decimal":
        schema["type"] = "number"
    elif kind == "boolean":
        schema["type"] = "boolean"
        if f.must_be_true:
            schema["const"] = True
    elif kind == "choice":
        schema["type"] = "string"
        schema["enum"] = [o.value for o in f.options]
        if f.depends_on:
            schema["x-depends-on"] = f.depends_on
            schema["x-parents"] = {o.value: o.parent for o in f.options}
    elif kind == "multichoice":
        schema.update(type="array", uniqueItems=True, items={"type": "string", "enum": [o.value for o in f.options]})
    elif kind == "address":
        parts = ADDRESS_PARTS[f.area or "mongolia"]
        schema.update(
            type="object",
            properties={p: {"type": "string", "maxLength": 200} for p in parts},
            required=list(parts) if f.required else [],
        )
    elif kind == "repeat":
        item = object_schema(f.fields)
        schema.update(type="array", items=item)
        minimum = f.min_items if f.min_items is not None else (1 if f.required and f.required_if is None else 0)
        if minimum:
            schema["minItems"] = minimum
    else:
        schema["type"] = "string"
        if kind in _PATTERNS:
            schema["pattern"] = f"^(?:{_PATTERNS[kind]})$"
        if kind in _FORMATS:
            schema["format"] = _FORMATS[kind]
        if f.pattern:
            schema["pattern"] = f"^(?:{f.pattern})$"
    if kind in ("text", "textarea"):
        if f.min_length is not None:
            schema["minLength"] = f.min_length
        if f.max_length is not None:
            schema["maxLength"] = f.max_length
    if kind in ("integer", "money", "decimal"):
        if isinstance(f.min, (int, float)):
            schema["minimum"] = f.min
        if isinstance(f.max, (int, float)):
            schema["maximum"] = f.max
    if kind in ("date", "datetime"):
        if f.min is not None:
            schema["x-min"] = str(f.min)
        if f.max is not None:
            schema["x-max"] = str(f.max)
    if kind in ("multichoice", "repeat"):
        if f.min_items is not None:
            schema["minItems"] = f.min_items
        if f.max_items is not None:
            schema["maxItems"] = f.max_items
    if f.show_if is not None:
        schema["x-show-if"] = f.show_if.source
    if f.required_if is not None:
        schema["x-required-if"] = f.required_if.source
    return schema


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.id: field_schema(f) for f in fields},
        # Required means: required, unconditionally shown. Conditional ones are in x-required-if.
        "required": [f.id for f in fields if f.required and f.required_if is None and f.show_if is None],
    }


def submission_schema(service: Service) -> dict[str, Any]:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/services/{service.id}/schema.json",
        "title": service.title.en,
        "x-title-mn": service.title.mn,
        "x-version": service.version,
        **object_schema(service.fields),
    }
    if service.rules:
        schema["x-rules"] = [
            {"id": r.id, "check": r.check.source, "field": r.field, "message": r.message.as_dict()}
            for r in service.rules
        ]
    return schema
