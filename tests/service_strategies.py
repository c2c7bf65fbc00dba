"""Hypothesis strategies that generate valid service definitions over the fixture project's registries."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SIMPLE_TYPES = [
    "text", "textarea", "integer", "decimal", "money", "date", "datetime", "boolean", "email", "phone", "register",
    "company_register", "person_or_company", "plate_number", "property_number", "parcel_id", "vin",
    "passport_number", "postal_code", "url", "geo_point",
]


def label(name: str) -> dict[str, str]:
    return {"mn": f"{name} (мн)", "en": name}


@st.composite
def field_def(draw: st.DrawFn, fid: str, earlier_choices: list[tuple[str, list[str]]], nested: bool = False
              ) -> dict[str, Any]:
    kinds = [*SIMPLE_TYPES, "choice", "multichoice", "address"] + ([] if nested else ["repeat"])
    kind = draw(st.sampled_from(kinds))
    out: dict[str, Any] = {"id": fid, "type": kind, "label": label(fid)}
    if kind in ("text", "textarea"):
        low = draw(st.integers(0, 3))
        out.update(min_length=low, max_length=draw(st.integers(max(low, 1) + 5, 80)))
    elif kind in ("integer", "money"):
        low = draw(st.integers(0, 100))
        out.update(min=low, max=low + draw(st.integers(1, 10_000)))
    elif kind == "decimal":
        out.update(min=0, max=draw(st.integers(1, 1000)), places=draw(st.integers(1, 3)))
    elif kind == "date":
        bounds = [{}, {"max": "today"}, {"min": "today"}, {"min": "today-18y", "max": "today"}]
        out.update(draw(st.sampled_from(bounds)))
    elif kind == "register":
        out.update(draw(st.sampled_from([{}, {"min_age": 18}, {"max_age": 17}])))
    elif kind in ("choice", "multichoice"):
        count = draw(st.integers(2, 4))
        out["options"] = [{"value": f"opt_{i}", "label": label(f"Option {i}")} for i in range(count)]
        if kind == "multichoice":
            out["min_items"] = 1
    elif kind == "address":
        out["area"] = draw(st.sampled_from(["ulaanbaatar", "mongolia"]))
    elif kind == "repeat":
        out["min_items"] = draw(st.integers(0, 2))
        out["max_items"] = out["min_items"] + draw(st.integers(1, 3))
        count = draw(st.integers(1, 3))
        out["fields"] = [draw(field_def(f"{fid}_{i}", [], nested=True)) for i in range(count)]
    if earlier_choices and draw(st.booleans()):
        other, values = draw(st.sampled_from(earlier_choices))
        condition = f"{other} == '{draw(st.sampled_from(values))}'"
        out[draw(st.sampled_from(["show_if", "required_if"]))] = condition
        if "required_if" in out:
            out["required"] = False
    elif draw(st.integers(0, 4)) == 0:
        out["required"] = False
    return out


@st.composite
def service_def(draw: st.DrawFn) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [{"use": "applicant"}]
    choices: list[tuple[str, list[str]]] = []
    for index in range(draw(st.integers(1, 8))):
        f = draw(field_def(f"field_{index}", choices))
        fields.append(f)
        if f["type"] == "choice" and "show_if" not in f:
            choices.append((f["id"], [o["value"] for o in f["options"]]))
    fields.append({"id": "district", "type": "choice", "options": "ub_districts", "label": label("District")})
    fields.append({"id": "khoroo", "type": "choice", "options": "ub_khoroos", "depends_on": "district",
                   "label": label("Khoroo")})
    return {
        "id": "generated",
        "title": label("Generated"),
        "summary": label("A generated service"),
        "agency": "gasr",
        "scope": "central",
        "category": "civil-registration",
        "sla_days": draw(st.integers(1, 30)),
        "fee": [{"id": "duty", "label": label("Duty"), "amount": draw(st.integers(0, 100_000))}],
        "sections": [{"id": "main", "title": label("Main"), "fields": fields}],
        "documents": [{"id": "id_card", "type": "id_card"}],
        "workflow": {"pattern": "simple-review", "params": {"officer": "registrar"}},
        "routing": {"rules": [{"when": "district == 'bayangol'", "office": "gasr-{district}"},
                              {"office": "gasr-central"}]},
    }
