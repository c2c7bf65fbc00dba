"""The pipeline's orchestrator: find files → load YAML → check shapes → compile registries,
patterns and services → a `Catalog` of compiled services plus every problem found on the way.

It reads like a table of contents on purpose (Jinja's `Environment.compile` is the model).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.check.format import REGISTRY_FILE, SERVICE, WORKFLOW_PATTERN
from engine.check.shapes import check_shape
from engine.compile.registries import Located, Registries, compile_registries, merge_registry_docs
from engine.compile.service import Service, ServiceCompiler
from engine.load.yaml_source import Document, load_document
from engine.problems import Problem, did_you_mean, problem

SHARED_DIR = "_shared"
PATTERNS_DIR = "workflows"


@dataclass(frozen=True)
class Catalog:
    services: Mapping[str, Service]
    registries: Registries
    patterns: Mapping[str, Located]
    problems: tuple[Problem, ...]
    documents: Mapping[str, Document] = field(repr=False)
    root: Path | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def line_of(self, file: str, line: int) -> str:
        doc = self.documents.get(file)
        return doc.line(line) if doc is not None else ""


def find_root(start: Path) -> Path | None:
    """The project folder: the nearest one above `start` holding service_defs/_shared."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / "service_defs" / SHARED_DIR).is_dir():
            return folder
    return None


def _yaml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return found


def _kind(path: Path) -> str:
    parts = path.parts
    if SHARED_DIR in parts:
        return "registry"
    if PATTERNS_DIR in parts[:-1] and parts[-2] == PATTERNS_DIR:
        return "pattern"
    return "service"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_catalog(paths: Iterable[str | Path] = (), root: str | Path | None = None) -> Catalog:
    requested = [Path(p) for p in paths]
    root_path = Path(root) if root is not None else find_root(requested[0] if requested else Path.cwd())
    files: dict[str, Path] = {}
    if root_path is not None:
        for base in (root_path / "service_defs" / SHARED_DIR, root_path / PATTERNS_DIR):
            if base.is_dir():
                for f in _yaml_files(base):
                    files[_display(f)] = f
    missing: list[Problem] = []
    for p in requested:
        if not p.exists():
            missing.append(problem("YAML007", f"no such file or folder: {p}", None))
            continue
        for f in _yaml_files(p):
            files[_display(f)] = f
    documents = _load_all(files)
    return compile_documents(documents, missing)


def _load_all(files: Mapping[str, Path]) -> dict[str, Document]:
    return {name: load_document(path, name) for name, path in files.items()}


def compile_documents(documents: Mapping[str, Document], extra: Iterable[Problem] = ()) -> Catalog:
    problems: list[Problem] = list(extra)
    registry_docs: list[Document] = []
    pattern_docs: list[Document] = []
    service_docs: list[Document] = []
    for name, doc in documents.items():
        problems += doc.problems
        if doc.data is None:
            continue
        kind = _kind(Path(name))
        shape = {"registry": REGISTRY_FILE, "pattern": WORKFLOW_PATTERN, "service": SERVICE}[kind]
        if kind == "service" and isinstance(doc.data, dict) and "states" in doc.data and "sections" not in doc.data:
            shape, kind = WORKFLOW_PATTERN, "pattern"  # a pattern outside workflows/, e.g. in a test folder
        shape_problems = check_shape(shape, doc)
        problems += shape_problems
        if any(p.severity == "error" for p in shape_problems):
            continue
        {"registry": registry_docs, "pattern": pattern_docs, "service": service_docs}[kind].append(doc)

    merged, merge_problems = merge_registry_docs(registry_docs)
    problems += merge_problems
    registries, registry_problems = compile_registries(merged)
    problems += registry_problems

    patterns: dict[str, Located] = {}
    for doc in pattern_docs:
        pid = doc.data["id"]
        stem = Path(doc.path).stem
        if pid != stem:
            problems.append(
                problem(
                    "ID001",
                    f"pattern id '{pid}' does not match the file name '{stem}'",
                    doc.span(("id",)),
                    f"rename the file to {pid}.yaml or set id: {stem}",
                )
            )
        if pid in patterns:
            problems.append(problem("ID002", f"workflow pattern '{pid}' is defined twice", doc.span(("id",))))
            continue
        patterns[pid] = Located(doc, (), doc.data)

    services: dict[str, Service] = {}
    for doc in service_docs:
        problems += _identity_problems(doc, services)
        compiler = ServiceCompiler(doc, registries, patterns)
        compiled = compiler.compile()
        problems += compiler.problems
        if compiled is not None and compiled.id not in services:
            services[compiled.id] = compiled
    problems += _check_patterns_alone(patterns, registries)
    # A YAML 1.1 boolean where text was required is already a SHAPE003 error: say it once.
    shape_spans = {p.span for p in problems if p.code == "SHAPE003"}
    problems = [p for p in problems if not (p.code in ("YAML003", "YAML004") and p.span in shape_spans)]
    unique = sorted(set(problems), key=Problem.sort_key)
    return Catalog(services, registries, patterns, tuple(unique), documents)


def _identity_problems(doc: Document, services: Mapping[str, Service]) -> list[Problem]:
    out = []
    data = doc.data
    path = Path(doc.path)
    if data["id"] != path.stem:
        out.append(
            problem(
                "ID001",
                f"service id '{data['id']}' does not match the file name '{path.stem}'",
                doc.span(("id",)),
                f"rename the file to {data['id']}.yaml or set id: {path.stem}",
            )
        )
    if data["id"] in services:
        out.append(
            problem(
                "ID002",
                f"service id '{data['id']}' is already used by {services[data['id']].source}",
                doc.span(("id",)),
            )
        )
    parts = path.parts
    if "service_defs" in parts:
        below = parts[parts.index("service_defs") + 1 :]
        if len(below) >= 3 and below[0] in ("central", "municipal"):
            if below[0] != data["scope"]:
                out.append(
                    problem(
                        "ID003",
                        f"the file is under {below[0]}/ but says scope: {data['scope']}",
                        doc.span(("scope",)),
                        f"move it to service_defs/{data['scope']}/ or fix scope",
                    )
                )
            if below[1] != data["agency"]:
                out.append(
                    problem(
                        "ID003",
                        f"the file is under {below[0]}/{below[1]}/ but says agency: {data['agency']}",
                        doc.span(("agency",)),
                        f"move it to service_defs/{data['scope']}/{data['agency']}/",
                    )
                )
    return out


def _check_patterns_alone(patterns: Mapping[str, Located], registries: Registries) -> list[Problem]:
    """Patterns are checked where services use them; here only what needs no service: role names."""
    out = []
    for located in patterns.values():
        for index, t in enumerate(located.value.get("transitions", [])):
            by = t.get("by", "")
            if "${" in by or by in ("applicant", "system") or by in registries.roles:
                continue
            out.append(
                problem(
                    "REF003",
                    f"unknown role '{by}'",
                    located.doc.span(("transitions", index, "by")),
                    did_you_mean(by, registries.roles) or "use a ${parameter} or a role id",
                )
            )
    return out
