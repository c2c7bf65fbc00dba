"""Render definition problems for people (gcc/ruff style, with the source line and a caret) or CI (JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from engine.problems import Problem


def render_text(problems: Sequence[Problem], line_of: Callable[[str, int], str]) -> str:
    out = []
    for p in problems:
        if p.span is None:
            out.append(f"{p.code} {p.message}" + (f"\n  hint: {p.hint}" if p.hint else ""))
            continue
        label = "warning: " if p.severity == "warning" else ""
        out.append(f"{p.span.file}:{p.span.line}:{p.span.col}: {p.code} {label}{p.message}")
        source = line_of(p.span.file, p.span.line)
        if source.strip():
            width = p.span.end_col - p.span.col if p.span.end_line == p.span.line else len(source) - p.span.col + 1
            width = max(1, min(width, len(source) - p.span.col + 1, 60))
            out.append("    " + source.rstrip())
            out.append("    " + " " * (p.span.col - 1) + "^" * width)
        if p.hint:
            out.append(f"  hint: {p.hint}")
    return "\n".join(out)


def render_json(problems: Sequence[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)


def summary(problems: Sequence[Problem], services: int, files: int) -> str:
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if not problems:
        return f"{files} file(s) checked, {services} service(s) compiled: no problems"
    return f"{files} file(s) checked, {services} service(s) compiled: {errors} error(s), {warnings} warning(s)"
