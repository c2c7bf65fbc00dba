"""Figure 2: validating realistic submissions, valid and invalid (every error collected).

Baselines on the same inputs: fastjsonschema and jsonschema (with format checks) on the service's
exported JSON Schema, pydantic v2 models built from the same fields, and a straight-line check
in the style one would write by hand for one service (bench/straight_line.py). The baselines
check *less* than the validator — no show_if/required_if, no cross-field rules, no cascading
parents, no register-number dates — so the ratios are conservative.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pydantic

from bench.harness import Section, measure, row
from bench.inputs import corrupt, field_count, json_submissions, largest
from bench.pydantic_models import model_for
from bench.straight_line import straight_line_check
from engine.catalog import load_catalog
from engine.compile.submission_schema import submission_schema
from tests.strategies import TODAY


def _per_item(fn: Any, items: list[Any], repeat: int) -> list[float]:
    def loop() -> None:
        for item in items:
            fn(item)

    return [s / len(items) for s in measure(loop, repeat=repeat)]


def _fjs_all(check: Any) -> Any:
    def run(doc: Any) -> Any:
        try:
            return check(doc)
        except fastjsonschema.JsonSchemaException as err:  # stops at the first error: that is its design
            return err
    return run


def _pydantic(model: type[pydantic.BaseModel]) -> Any:
    def run(doc: Any) -> Any:
        try:
            return model.model_validate(doc)
        except pydantic.ValidationError as err:
            return err.errors()
    return run


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("2", "Validation of realistic submissions")
    catalog = load_catalog(["service_defs"])
    sample = largest(list(catalog.services.values()), 1 if quick else 3)
    count = 20 if quick else 100
    repeat = 5 if quick else 15
    for index, service in enumerate(sample):
        valid = json_submissions(service, count)
        invalid = [corrupt(service, doc) for doc in valid]
        schema = submission_schema(service)
        fjs = _fjs_all(fastjsonschema.compile(schema))
        js = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        model = model_for(service)
        pyd = _pydantic(model)
        ours = lambda doc, s=service: s.validate(doc, TODAY)  # noqa: E731
        fig = f"{service.id} ({field_count(service.fields)} fields)"
        rejected = {
            "fastjsonschema": sum(1 for d in valid if isinstance(fjs(d), Exception)),
            "jsonschema": sum(1 for d in valid if next(js.iter_errors(d), None) is not None),
            "pydantic": sum(1 for d in valid if isinstance(pyd(d), list)),
        }
        errors_ours = sum(len(service.validate(d, TODAY).errors) for d in invalid) / max(len(invalid), 1)
        errors_pyd = sum(len(e) for e in (pyd(d) for d in invalid) if isinstance(e, list)) / max(len(invalid), 1)
        rows = [
            row("2", f"{fig}: fastjsonschema, valid", _per_item(fjs, valid, repeat)),
            row("2", f"{fig}: Tsonkh validator, valid", _per_item(ours, valid, repeat),
                baseline=f"{fig}: fastjsonschema, valid", target="≤ 0.67×",
                note="≥ 1.5× fastjsonschema's throughput = ≤ 0.67× its time"),
            row("2", f"{fig}: jsonschema, valid", _per_item(js.is_valid, valid, repeat),
                baseline=f"{fig}: Tsonkh validator, valid"),
            row("2", f"{fig}: pydantic v2, valid", _per_item(pyd, valid, repeat),
                baseline=f"{fig}: Tsonkh validator, valid"),
            row("2", f"{fig}: pydantic v2, invalid (all errors)", _per_item(pyd, invalid, repeat)),
            row("2", f"{fig}: Tsonkh validator, invalid (all errors)", _per_item(ours, invalid, repeat),
                baseline=f"{fig}: pydantic v2, invalid (all errors)", target="≤ 0.7×",
                note=f"{errors_ours:.1f} errors per submission (pydantic: {errors_pyd:.1f})"),
            row("2", f"{fig}: fastjsonschema, invalid (first error only)", _per_item(fjs, invalid, repeat),
                baseline=f"{fig}: Tsonkh validator, invalid (all errors)"),
            row("2", f"{fig}: jsonschema, invalid (all errors)",
                _per_item(lambda d, v=js: list(v.iter_errors(d)), invalid, repeat),
                baseline=f"{fig}: Tsonkh validator, invalid (all errors)"),
        ]
        if index == 0:
            check, source = straight_line_check(service)
            bad_straight = sum(1 for d in valid if check(d))
            rows.insert(0, row("2", f"{fig}: straight-line check, valid", _per_item(check, valid, repeat),
                               note=f"{len(source.splitlines())} lines; rejects {bad_straight} of {len(valid)}"))
            rows[2].extra["second"] = True
            rows.append(row("2", f"{fig}: Tsonkh validator, valid ", _per_item(ours, valid, repeat),
                            baseline=f"{fig}: straight-line check, valid", target="≤ 1.2×",
                            note="the same row as above, against the straight-line check"))
            (scratch / "straight_line.py").write_text(source, encoding="utf-8")
        section.rows += rows
        section.text.append(
            f"{service.id}: {len(valid)} valid submissions (seed fixed), each also corrupted in 3 fields. "
            f"Valid submissions rejected by the baselines (what the exported schema or model cannot express, "
            f"e.g. formats): {rejected}."
        )
    return section
