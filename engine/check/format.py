"""The definition language itself: the shape of service files, shared registries and workflow patterns.

`docs/format-quickref.md` describes the same in words; `tsonkh schema` prints it as JSON Schema.
"""

from __future__ import annotations

from engine.check.shapes import (
    Bilingual,
    BilingualList,
    Boolean,
    Either,
    Integer,
    Key,
    ListOf,
    MapOf,
    Number,
    Obj,
    Shape,
    Tagged,
    Text,
    has_key,
    is_int,
    is_text,
)

KEBAB = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"
SNAKE = r"[a-z][a-z0-9_]*"
KEBAB_DOC = "a kebab-case id (lower-case letters, digits and single dashes, e.g. land-possession)"
SNAKE_DOC = "a snake_case id (lower-case letters, digits and underscores, e.g. birth_date)"

FIELD_TYPES = (
    "text",
    "textarea",
    "integer",
    "decimal",
    "money",
    "date",
    "datetime",
    "boolean",
    "choice",
    "multichoice",
    "email",
    "phone",
    "register",
    "company_register",
    "person_or_company",
    "address",
    "plate_number",
    "property_number",
    "parcel_id",
    "vin",
    "passport_number",
    "postal_code",
    "url",
    "geo_point",
    "repeat",
)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "dwg": "image/vnd.dwg",
    "zip": "application/zip",
    "geojson": "application/geo+json",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
}
OUTCOMES = ("granted", "rejected", "withdrawn", "completed", "expired")

snake_id = Text(pattern=SNAKE, pattern_doc=SNAKE_DOC, doc=SNAKE_DOC)
kebab_id = Text(pattern=KEBAB, pattern_doc=KEBAB_DOC, doc=KEBAB_DOC)
expression = Text(doc="an expression, e.g. reason == 'damaged'", min_length=1)
date_bound = Text(
    pattern=r"today([+-]\d+[dmy])?|\d{4}-\d{2}-\d{2}",
    pattern_doc="today, today+30d, today-18y or a date like 2020-01-01",
    doc="today, today+30d, today-18y, or YYYY-MM-DD",
)
number = Number(doc="a number")

option = Obj(
    keys={
        "value": Key(
            Text(
                pattern=r"[a-z0-9][a-z0-9_\-]*", pattern_doc="a lower-case code such as 'lost'", doc="the stored code"
            ),
            True,
        ),
        "label": Key(Bilingual(), True),
        "parent": Key(Text(doc="value in the parent list (cascading)")),
        "hint": Key(Bilingual()),
    }
)
options = Either(
    options=(
        (is_text, Text(doc="the id of a shared option list")),
        (lambda v: isinstance(v, list), ListOf(option, min_items=1)),
    ),
    expected="an option list id or a list of options",
)

COMMON_FIELD_KEYS: dict[str, Key] = {
    "id": Key(snake_id, True),
    "label": Key(Bilingual(), True),
    "hint": Key(Bilingual()),
    "required": Key(Boolean(doc="true unless said otherwise")),
    "required_if": Key(expression),
    "show_if": Key(expression),
    "prefill": Key(
        Text(
            pattern=r"(profile|registry)\.[A-Za-z0-9_.]+",
            pattern_doc="profile.<attribute> or registry.<operation>.<attribute>",
        )
    ),
    "readonly": Key(Boolean()),
    "allow_correction": Key(Boolean(doc="a prefilled value the citizen may correct")),
}
# `default` may be any scalar (or a list for multichoice); the compiler checks it fits the type.
scalar = Either(
    options=(
        (is_text, Text()),
        (lambda v: isinstance(v, bool), Boolean()),
        (lambda v: isinstance(v, (int, float)), Number()),
    ),
    expected="a single value",
)
COMMON_FIELD_KEYS["default"] = Key(
    Either(
        options=((lambda v: not isinstance(v, (dict, list)), scalar), (lambda v: isinstance(v, list), ListOf(Text()))),
        expected="a value of the field's type",
    )
)

numeric_bounds = {"min": Key(number), "max": Key(number)}
text_bounds = {"min_length": Key(Integer(min=0)), "max_length": Key(Integer(min=1))}

FIELD_VARIANTS: dict[str, dict[str, Key]] = {
    "text": {
        **text_bounds,
        "pattern": Key(Text()),
        "pattern_message": Key(Bilingual()),
        "placeholder": Key(Bilingual()),
    },
    "textarea": dict(text_bounds),
    "integer": dict(numeric_bounds),
    "decimal": {**numeric_bounds, "places": Key(Integer(min=0, max=6))},
    "money": dict(numeric_bounds),
    "date": {"min": Key(date_bound), "max": Key(date_bound)},
    "datetime": {"min": Key(date_bound), "max": Key(date_bound)},
    "boolean": {"must_be_true": Key(Boolean(doc="a declaration the citizen must accept"))},
    "choice": {
        "options": Key(options, True),
        "depends_on": Key(snake_id),
        "widget": Key(Text(enum=("radio", "select"))),
    },
    "multichoice": {"options": Key(options, True), "min_items": Key(Integer(min=0)), "max_items": Key(Integer(min=1))},
    "email": {},
    "phone": {"mobile": Key(Boolean())},
    "register": {"min_age": Key(Integer(min=0, max=150)), "max_age": Key(Integer(min=0, max=150))},
    "company_register": {},
    "person_or_company": {},
    "address": {"area": Key(Text(enum=("ulaanbaatar", "mongolia")))},
    "plate_number": {},
    "property_number": {},
    "parcel_id": {},
    "vin": {},
    "passport_number": {},
    "postal_code": {},
    "url": {},
    "geo_point": {},
    "repeat": {},  # its `fields`, `min_items`, `max_items`, `item_label` are added below
}

field_shape = Either(
    options=(
        (
            has_key("use"),
            Obj(
                keys={"use": Key(snake_id, True), "show_if": Key(expression)},
                doc="insert a shared field group, optionally only when show_if holds",
            ),
        ),
        (lambda v: True, Tagged(tag="type", common=COMMON_FIELD_KEYS, variants=FIELD_VARIANTS)),
    ),
    expected="a field",
)
FIELD_VARIANTS["repeat"].update(
    {
        "fields": Key(ListOf(field_shape, min_items=1), True),
        "min_items": Key(Integer(min=0)),
        "max_items": Key(Integer(min=1)),
        "item_label": Key(Bilingual()),
    }
)

section = Obj(
    keys={
        "id": Key(snake_id, True),
        "title": Key(Bilingual(), True),
        "intro": Key(Bilingual()),
        "fields": Key(ListOf(field_shape, min_items=1), True),
    }
)

fee_line = Obj(
    keys={
        "id": Key(snake_id, True),
        "label": Key(Bilingual(), True),
        "amount": Key(
            Either(
                options=((is_int, Integer(min=0)), (is_text, expression)),
                expected="a whole number of tögrög or an expression starting with '='",
            ),
            True,
        ),
        "when": Key(expression),
    }
)

document_keys: dict[str, Key] = {
    "title": Key(Bilingual()),
    "hint": Key(Bilingual()),
    "accept": Key(ListOf(Text(enum=tuple(CONTENT_TYPES), enum_code="DOC002"), min_items=1)),
    "max_size_mb": Key(Integer(min=1, max=100)),
    "max_count": Key(Integer(min=1, max=50)),
    "registry": Key(Text(doc="a registry operation id, e.g. WS100101")),
}
document = Obj(
    keys={
        "id": Key(snake_id, True),
        "type": Key(snake_id),
        "required": Key(Boolean()),
        "required_if": Key(expression),
        **document_keys,
    }
)

rule = Obj(
    keys={
        "id": Key(snake_id, True),
        "check": Key(expression, True),
        "field": Key(Text(doc="the field (or repeat.sub_field) where the message shows")),
        "message": Key(Bilingual(), True),
    }
)
# A repeat's own rules are checked for each item, with the item's fields in scope.
FIELD_VARIANTS["repeat"]["rules"] = Key(ListOf(rule))

effect = Obj(
    keys={
        "notify": Key(Text(enum=("applicant", "office", "agency"))),
        "issue": Key(Text(doc="the kind of document issued (a template in renderers/documents)")),
        "revoke": Key(Text(doc="the kind of document this step revokes (issued earlier to the same case)")),
        "message": Key(Bilingual()),
    }
)
state = Obj(
    keys={
        "label": Key(Bilingual(), True),
        "role": Key(Text(doc="the role that acts, applicant or system")),
        "sla_days": Key(Integer(min=0, max=365)),
        "final": Key(Boolean()),
        "outcome": Key(Text(enum=OUTCOMES)),
        "description": Key(Bilingual()),
        "effects": Key(ListOf(effect)),
    }
)
transition = Obj(
    keys={
        "action": Key(snake_id, True),
        "label": Key(Bilingual(), True),
        "from": Key(ListOf(snake_id, min_items=1, allow_single=True), True),
        "to": Key(Text(pattern=SNAKE + "|@back", pattern_doc="a state id or @back"), True),
        "by": Key(Text(doc="a role id, applicant or system"), True),
        "guard": Key(expression),
        "requires": Key(Obj(keys={"comment": Key(Boolean()), "fields": Key(ListOf(snake_id))})),
        "effects": Key(ListOf(effect)),
    }
)
workflow_body: dict[str, Key] = {
    "initial": Key(snake_id, True),
    "states": Key(MapOf(state, key_pattern=SNAKE, key_doc=SNAKE_DOC), True),
    "transitions": Key(ListOf(transition, min_items=1), True),
}
workflow_ref = Either(
    options=(
        (
            has_key("pattern"),
            Obj(
                keys={
                    "pattern": Key(kebab_id, True),
                    "params": Key(MapOf(Text(), key_pattern=SNAKE)),
                    "migrate": Key(MapOf(snake_id, key_pattern=SNAKE)),
                }
            ),
        ),
        (lambda v: True, Obj(keys={**workflow_body, "migrate": Key(MapOf(snake_id, key_pattern=SNAKE))})),
    ),
    expected="a workflow",
)
routing = Obj(
    keys={
        "rules": Key(
            ListOf(
                Obj(
                    keys={
                        "when": Key(expression),
                        "office": Key(Text(doc="an office id, may contain {field}"), True),
                        "note": Key(Bilingual()),
                    }
                ),
                min_items=1,
            ),
            True,
        ),
        "fallback": Key(Text()),
    }
)

SERVICE: Shape = Obj(
    doc="A Tsonkh public-service definition",
    keys={
        "id": Key(kebab_id, True),
        "title": Key(Bilingual(), True),
        "summary": Key(Bilingual(), True),
        "agency": Key(kebab_id, True),
        "scope": Key(Text(enum=("central", "municipal")), True),
        "category": Key(kebab_id, True),
        "keywords": Key(BilingualList()),
        "legal_basis": Key(ListOf(Obj(keys={"title": Key(Bilingual(), True), "url": Key(Text())}))),
        "fee": Key(ListOf(fee_line)),
        "sla_days": Key(Integer(min=0, max=365), True),
        "eligibility": Key(Bilingual()),
        "sections": Key(ListOf(section, min_items=1), True),
        "rules": Key(ListOf(rule)),
        "documents": Key(ListOf(document)),
        "workflow": Key(workflow_ref, True),
        "routing": Key(routing, True),
    },
)

WORKFLOW_PATTERN: Shape = Obj(
    doc="A reusable workflow pattern",
    keys={
        "id": Key(kebab_id, True),
        "title": Key(Bilingual(), True),
        "description": Key(Bilingual()),
        "params": Key(
            MapOf(Obj(keys={"description": Key(Bilingual(), True), "default": Key(Text())}), key_pattern=SNAKE)
        ),
        **workflow_body,
    },
)

REGISTRY_KINDS: dict[str, Shape] = {
    "agencies": MapOf(
        Obj(
            keys={
                "name": Key(Bilingual(), True),
                "short": Key(Bilingual()),
                "scope": Key(Text(enum=("central", "municipal")), True),
                "website": Key(Text()),
            }
        ),
        key_pattern=KEBAB,
        key_doc=KEBAB_DOC,
    ),
    "categories": MapOf(
        Obj(keys={"label": Key(Bilingual(), True), "description": Key(Bilingual())}),
        key_pattern=KEBAB,
        key_doc=KEBAB_DOC,
    ),
    "roles": MapOf(
        Obj(keys={"label": Key(Bilingual(), True), "description": Key(Bilingual())}),
        key_pattern=SNAKE,
        key_doc=SNAKE_DOC,
    ),
    "offices": MapOf(
        Obj(
            keys={
                "name": Key(Bilingual(), True),
                "agency": Key(kebab_id, True),
                "district": Key(Text()),
                "aimag": Key(Text()),
                "address": Key(Bilingual()),
                "roles": Key(ListOf(snake_id, min_items=1), True),
            }
        ),
        key_pattern=KEBAB,
        key_doc=KEBAB_DOC,
    ),
    "option_lists": MapOf(
        Either(
            options=(
                (
                    has_key("numbered"),
                    Obj(
                        keys={
                            "label": Key(Bilingual()),
                            "numbered": Key(
                                Obj(
                                    keys={
                                        "parent_list": Key(snake_id, True),
                                        "counts": Key(MapOf(Integer(min=1, max=500)), True),
                                        "label": Key(Bilingual(), True),
                                    }
                                ),
                                True,
                            ),
                        }
                    ),
                ),
                (
                    lambda v: True,
                    Obj(
                        keys={
                            "label": Key(Bilingual()),
                            "parent_list": Key(snake_id),
                            "options": Key(ListOf(option, min_items=1), True),
                        }
                    ),
                ),
            ),
            expected="an option list",
        ),
        key_pattern=SNAKE,
        key_doc=SNAKE_DOC,
    ),
    "field_groups": MapOf(
        Obj(
            keys={
                "label": Key(Bilingual(), True),
                "description": Key(Bilingual()),
                "fields": Key(ListOf(field_shape, min_items=1), True),
            }
        ),
        key_pattern=SNAKE,
        key_doc=SNAKE_DOC,
    ),
    "document_types": MapOf(
        Obj(keys={**document_keys, "title": Key(Bilingual(), True)}), key_pattern=SNAKE, key_doc=SNAKE_DOC
    ),
    "registry_operations": MapOf(
        Obj(
            keys={
                "title": Key(Bilingual(), True),
                "system": Key(Text(), True),
                "returns": Key(ListOf(Text())),
                "description": Key(Bilingual()),
                "kind": Key(Text(enum=("read", "check", "write"))),
                # How the exchange asks this operation: by the citizen's own register number (the
                # default) or by an answer of the given field type, and which kind of record answers.
                "key": Key(
                    Obj(
                        keys={
                            "by": Key(Text(enum=("citizen", "company_register", "plate_number", "vin", "parcel_id",
                                                 "property_number")), True),
                            "record": Key(Text(enum=("person", "company", "vehicle", "parcel", "property")), True),
                        }
                    )
                ),
            }
        )
    ),
}
REGISTRY_FILE: Shape = Obj(
    doc="A shared registry file", keys={kind: Key(shape) for kind, shape in REGISTRY_KINDS.items()}
)
