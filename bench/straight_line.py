"""A straight-line check for one service, written out field by field the way one would by hand.

The source is generated here only so that it follows the catalog as it changes; what runs is plain
straight-line Python — one `if` chain per field, no loops over field lists, no lookups — which is
the practical limit for an interpreter. It checks presence, type, bounds, options and patterns, and
(like the other baselines) leaves out conditions and cross-field rules.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.compile import mongolia
from engine.compile.model import Field
from engine.compile.service import Service
from engine.compile.submission_schema import _PATTERNS
from engine.compile.validator import ADDRESS_PARTS

_REGEX = {**_PATTERNS, "email": mongolia.EMAIL.pattern, "url": mongolia.URL.pattern}


def _lines(
    fields: tuple[Field, ...], source: str, path: str, out: list[str], names: dict[str, Any], depth: int
) -> None:
    pad = "    " * depth
    for f in fields:
        var = f"v{len(names)}_{depth}"
        key = f"{path}{f.id}"
        required = f.required and f.required_if is None and f.show_if is None
        out.append(f"{pad}{var} = {source}.get({f.id!r})")
        out.append(f"{pad}if {var} is None or {var} == '' or {var} == []:")
        out.append(f"{pad}    " + (f"errors.append(({key!r}, 'required'))" if required else "pass"))
        kind = f.type
        if kind in ("integer", "money", "decimal"):
            types = "int" if kind != "decimal" else "(int, float)"
            cond = f"type({var}) is bool or not isinstance({var}, {types})"
            if isinstance(f.min, int | float):
                cond += f" or {var} < {f.min!r}"
            if isinstance(f.max, int | float):
                cond += f" or {var} > {f.max!r}"
            out.append(f"{pad}elif {cond}:")
            out.append(f"{pad}    errors.append(({key!r}, 'number'))")
        elif kind in ("date", "datetime"):
            parse = "dt.datetime.fromisoformat" if kind == "datetime" else "dt.date.fromisoformat"
            out.append(f"{pad}else:")
            out.append(f"{pad}    try:")
            out.append(f"{pad}        {parse}({var})")
            out.append(f"{pad}    except (TypeError, ValueError):")
            out.append(f"{pad}        errors.append(({key!r}, 'date'))")
        elif kind == "boolean":
            out.append(f"{pad}elif {var} is not True" + ("" if f.must_be_true else f" and {var} is not False") + ":")
            out.append(f"{pad}    errors.append(({key!r}, 'boolean'))")
        elif kind in ("choice", "multichoice"):
            allowed = f"O{len(names)}"
            names[allowed] = frozenset(o.value for o in f.options)
            if kind == "choice":
                out.append(f"{pad}elif {var} not in {allowed}:")
            else:
                out.append(f"{pad}elif not isinstance({var}, list) or not {allowed}.issuperset({var}):")
            out.append(f"{pad}    errors.append(({key!r}, 'option'))")
        elif kind == "address":
            out.append(f"{pad}elif not isinstance({var}, dict):")
            out.append(f"{pad}    errors.append(({key!r}, 'address'))")
            out.append(f"{pad}else:")
            for part in ADDRESS_PARTS[f.area or "mongolia"]:
                out.append(f"{pad}    p = {var}.get({part!r})")
                out.append(f"{pad}    if not isinstance(p, str) or not p.strip() or len(p) > 200:")
                out.append(f"{pad}        errors.append(({key + '.' + part!r}, 'address'))")
        elif kind == "repeat":
            out.append(f"{pad}elif not isinstance({var}, list):")
            out.append(f"{pad}    errors.append(({key!r}, 'group'))")
            out.append(f"{pad}else:")
            out.append(f"{pad}    for item{depth} in {var}:")
            names[f"_seen{len(names)}"] = None
            _lines(f.fields, f"item{depth}", f"{key}[].", out, names, depth + 2)
        else:
            regex = f.pattern or _REGEX.get(kind)
            cond = f"not isinstance({var}, str)"
            if f.min_length is not None:
                cond += f" or len({var}) < {f.min_length}"
            if f.max_length is not None:
                cond += f" or len({var}) > {f.max_length}"
            if regex:
                name = f"R{len(names)}"
                names[name] = re.compile(regex)
                cond += f" or {name}.fullmatch({var}) is None"
            out.append(f"{pad}elif {cond}:")
            out.append(f"{pad}    errors.append(({key!r}, 'text'))")


def straight_line_check(service: Service) -> tuple[Any, str]:
    """(check(submission) → list of (path, code), its source)."""
    names: dict[str, Any] = {"dt": dt}
    body: list[str] = []
    _lines(service.fields, "d", "", body, names, 1)
    source = "def check(d):\n    errors = []\n" + "\n".join(body) + "\n    return errors\n"
    namespace = dict(names)
    exec(compile(source, f"<straight-line check of {service.id}>", "exec"), namespace)
    return namespace["check"], source
