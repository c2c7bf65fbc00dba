"""pydantic v2 models built from a service's compiled fields: the same types and bounds, as one would declare them.

What a model cannot say without custom code (show_if, required_if, cascading parents, cross-field
rules) is left out: a field shown on a condition is optional here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Optional

import pydantic

from engine.compile import mongolia
from engine.compile.model import Field
from engine.compile.service import Service
from engine.compile.submission_schema import _PATTERNS
from engine.compile.validator import ADDRESS_PARTS

_CONFIG = pydantic.ConfigDict(regex_engine="python-re", extra="ignore")
_PATTERNS_ALL = {**_PATTERNS, "email": mongolia.EMAIL.pattern, "url": mongolia.URL.pattern}


def _annotation(f: Field, name: str) -> Any:
    kind = f.type
    if kind in ("integer", "money"):
        return Annotated[int, pydantic.Field(ge=f.min if isinstance(f.min, int | float) else None,
                                             le=f.max if isinstance(f.max, int | float) else None)]
    if kind == "decimal":
        return Annotated[float, pydantic.Field(ge=f.min if isinstance(f.min, int | float) else None,
                                               le=f.max if isinstance(f.max, int | float) else None)]
    if kind == "date":
        return dt.date
    if kind == "datetime":
        return dt.datetime
    if kind == "boolean":
        return Literal[True] if f.must_be_true else bool
    if kind == "choice":
        return Literal[tuple(o.value for o in f.options)]  # type: ignore[misc]
    if kind == "multichoice":
        item = Literal[tuple(o.value for o in f.options)]  # type: ignore[misc]
        return Annotated[list[item], pydantic.Field(min_length=f.min_items, max_length=f.max_items)]  # type: ignore[valid-type]
    if kind == "address":
        parts = {p: (Optional[Annotated[str, pydantic.Field(max_length=200)]], None)  # noqa: UP045
                 for p in ADDRESS_PARTS[f.area or "mongolia"]}
        return pydantic.create_model(f"{name}_{f.id}", __config__=_CONFIG, **parts)  # type: ignore[call-overload]
    if kind == "repeat":
        item_model = _model(f.fields, f"{name}_{f.id}")
        return Annotated[list[item_model], pydantic.Field(min_length=f.min_items, max_length=f.max_items)]  # type: ignore[valid-type]
    pattern = f"^(?:{f.pattern})$" if f.pattern else (f"^(?:{_PATTERNS_ALL[kind]})$" if kind in _PATTERNS_ALL else None)
    return Annotated[str, pydantic.Field(min_length=f.min_length, max_length=f.max_length, pattern=pattern)]


def _model(fields: tuple[Field, ...], name: str) -> type[pydantic.BaseModel]:
    spec: dict[str, Any] = {}
    for f in fields:
        annotation = _annotation(f, name)
        if f.required and f.required_if is None and f.show_if is None:
            spec[f.id] = (annotation, ...)
        else:
            spec[f.id] = (Optional[annotation], None)  # noqa: UP045
    return pydantic.create_model(name, __config__=_CONFIG, **spec)  # type: ignore[call-overload, no-any-return]


def model_for(service: Service) -> type[pydantic.BaseModel]:
    return _model(service.fields, "M_" + service.id.replace("-", "_"))
