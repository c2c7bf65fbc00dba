"""Drive any compiled service through the portal without knowing it: plain valid answers for every
field type, those answers as a form post, a file of an accepted type, and the officer's shortest way
to a final state. Used on the fixture project and on the real catalog in service_defs/."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile

try:  # the regex parser moved in Python 3.11
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]
from collections.abc import Mapping
from typing import Any

from engine.compile.fields import date_bound
from engine.compile.model import Field, Option
from engine.compile.service import Service
from engine.compile.validator import ADDRESS_PARTS
from engine.compile.workflow import BACK, Workflow

FIXED = {
    "email": "tester@example.mn",
    "phone": "99112233",
    "company_register": "1234567",
    "person_or_company": "1234567",
    "plate_number": "1234 УБА",
    "property_number": "Ү-2206049413",
    "parcel_id": "123456789",
    "vin": "1HGCM82633A004352",
    "passport_number": "E1234567",
    "postal_code": "14200",
    "url": "https://example.mn",
    "geo_point": "47.918,106.917",
}
# Distinct valid register numbers, men and women alternating (the 9th character's parity), so that
# rules such as "the spouse is someone else" hold: adults born 1980–1992, children born 2016–2019.
ADULTS = [f"УБ{80 + i}{(i % 12) + 1:02d}{(i % 27) + 1:02d}{i % 10}{i % 2}" for i in range(13)]
CHILDREN = [f"ИЮ{16 + i % 4}{(i % 12) + 21:02d}{(i % 27) + 1:02d}{i % 10}{i % 2}" for i in range(13)]
FILES = {
    "application/pdf": ("document.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"),
    "image/png": ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
    "image/jpeg": ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 32),
    "image/tiff": ("scan.tif", b"II*\x00" + b"\x00" * 32),
    "application/geo+json": ("site.geojson", b'{"type": "FeatureCollection", "features": []}'),
    "image/vnd.dwg": ("plan.dwg", b"AC1032" + b"\x00" * 32),
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "test")
    return buffer.getvalue()


FILES["application/zip"] = ("files.zip", _zip())


@functools.cache
def matching(pattern: str) -> str | None:
    """A simple text that a field's pattern accepts, read off the regex's parse tree."""
    try:
        tree = sre_parse.parse(pattern)
    except re.error:
        return None
    text = _example(list(tree))
    return text if text is not None and re.fullmatch(pattern, text) else None


def _example(items: list[Any]) -> str | None:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_first_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            part = _example(list(sub))
            if part is None:
                return None
            out.append(part * max(low, 1 if low == 0 and not part else low))
        elif name == "SUBPATTERN":
            part = _example(list(arg[-1]))
            if part is None:
                return None
            out.append(part)
        elif name == "BRANCH":
            part = _example(list(arg[1][0]))
            if part is None:
                return None
            out.append(part)
        elif name in ("AT",):
            continue
        else:
            return None
    return "".join(out)


def _first_in(items: list[Any]) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    if negate:
        return "a" if all(not (str(op) == "LITERAL" and chr(a) == "a") for op, a in items) else "b"
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}.get(str(arg), "a")
    return "a"


def _bound(value: Any, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    fn = date_bound(str(value))
    return fn(today) if fn else None


def scalar(f: Field, today: dt.date, scope: Mapping[str, Any]) -> Any:
    kind = f.type
    if kind in ("text", "textarea") and f.pattern:
        return matching(f.pattern) or "Тест"
    if kind in ("text", "textarea"):
        text = "Тест хариулт"
        if f.min_length:
            text = (text + " ") * (f.min_length // len(text) + 1)
        if f.max_length:
            text = text[: f.max_length].strip() or "Т"
        return text
    if kind in ("integer", "money", "decimal"):
        low = f.min if isinstance(f.min, (int, float)) else None
        high = f.max if isinstance(f.max, (int, float)) else None
        value = low if low is not None else 1
        if low is not None and low < 1 and (high is None or high >= 1):
            value = 1
        if high is not None and value > high:
            value = high
        return str(int(value)) if kind != "decimal" else str(value)
    if kind in ("date", "datetime"):
        low, high = _bound(f.min, today), _bound(f.max, today)
        day = high if high is not None else (low if low is not None else today - dt.timedelta(days=400))
        if low is not None and high is None:
            day = low + dt.timedelta(days=1) if low >= today else low
        return day.isoformat() + ("T10:00" if kind == "datetime" else "")
    if kind == "boolean":
        return "yes"
    if kind == "register":
        pool = CHILDREN if f.max_age is not None and f.max_age < 18 else ADULTS
        taken = {v for v in scope.values() if isinstance(v, str)} | set(scope.get("__registers", []))
        choice = next(r for r in pool if r not in taken)
        scope.setdefault("__registers", []).append(choice)
        return choice
    if kind == "choice":
        options: list[Option] = list(f.options)
        if f.depends_on:
            options = [o for o in options if o.parent == scope.get(f.depends_on)]
        return options[0].value if options else ""
    if kind == "multichoice":
        count = max(f.min_items or 1, 1)
        return [o.value for o in f.options[:count]]
    return FIXED.get(kind, "Тест")


def address(f: Field, options: Mapping[str, tuple[Option, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in ADDRESS_PARTS[f.area or "mongolia"]:
        if part == "district" or (part == "soum_district" and out.get("region") == "ulaanbaatar"):
            out[part] = options["ub_districts"][0].value
        elif part == "khoroo":
            out[part] = next(o.value for o in options["ub_khoroos"] if o.parent == out["district"])
        elif part == "region":
            out[part] = options["regions"][0].value
        else:
            out[part] = "1-р хэсэг" if part != "street" else "Энхтайваны өргөн чөлөө 1"
    return out


def sample_answers(service: Service, options: Mapping[str, tuple[Option, ...]], today: dt.date) -> dict[str, Any]:
    """Raw answers (as a form would post them) for every field, shown or not: the server drops hidden ones."""

    used: list[str] = []  # register numbers handed out so far, shared by repeat items

    def fill(fields: tuple[Field, ...]) -> dict[str, Any]:
        scope: dict[str, Any] = {"__registers": used}
        for f in fields:
            if f.type == "repeat":
                count = max(f.min_items or 0, 1)
                scope[f.id] = [fill(f.fields) for _ in range(count)]
            elif f.type == "address":
                scope[f.id] = address(f, options)
            else:
                scope[f.id] = scalar(f, today, scope)
        scope.pop("__registers")
        return scope

    return fill(service.fields)


def form_pairs(fields: tuple[Field, ...], answers: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The answers as the (name, value) pairs of a form post: the inverse of the portal's decoder."""
    pairs: list[tuple[str, str]] = []
    for f in fields:
        name = prefix + f.id
        value = answers.get(f.id)
        if f.type == "repeat":
            items = value or []
            pairs.append((f"{name}.__rows", str(len(items))))
            for index, item in enumerate(items):
                pairs += form_pairs(f.fields, item, f"{name}.{index}.")
        elif f.type == "address":
            pairs += [(f"{name}.{part}", str(v)) for part, v in (value or {}).items()]
        elif f.type == "multichoice":
            pairs += [(name, str(v)) for v in value or []]
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


def file_for(accept: tuple[str, ...]) -> tuple[str, bytes, str] | None:
    for kind in accept:
        if kind in FILES:
            name, data = FILES[kind]
            return name, data, kind
    return None


def path_to_final(
    workflow: Workflow, state: str, roles: frozenset[str], back: str | None, values: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The shortest way from `state` to a final state as (who, action) steps, who being `officer`,
    `applicant` or `system` (automatic in a system state; a payment event in an applicant's state).
    Guards are evaluated on the case's answers, and a system step is the first one available, as
    the portal's embedded policy takes it."""
    frontier: list[tuple[str, str | None, list[tuple[str, str]]]] = [(state, back, [])]
    seen = {state}
    while frontier:
        current, came_from, steps = frontier.pop(0)
        if workflow.states[current].final:
            return steps
        role = workflow.states[current].role
        available = [t for t in workflow.outgoing(current) if t.guard is None or t.guard.truth(values)]
        system = [t for t in available if t.by == "system"][:1] if role in ("system", "applicant") else []
        if role == "system":
            edges = [("system", t) for t in system]
        else:
            edges = [("officer", t) for t in available if t.by in roles]
            edges += [("applicant", t) for t in available if t.by == "applicant"]
            edges += [("system", t) for t in system]
        for who, t in edges:
            target = came_from if t.target == BACK else t.target
            if target is not None and target not in seen:
                seen.add(target)
                frontier.append((target, current, [*steps, (who, t.action)]))
    return []
