"""The pipeline's orchestrator: find files → load YAML → check shapes → compile registries,
patterns and services → a `Catalog` of compiled services plus every problem found on the way.

It reads like a table of contents on purpose (Jinja's `Environment.compile` is the model).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from engine.check.format import REGISTRY_FILE, SERVICE, WORKFLOW_PATTERN
from engine.check.shapes import check_shape
from engine.compile.cache import CompileCache, Manifest
from engine.compile.registries import Located, Registries, compile_registries, merge_registry_docs
from engine.compile.service import Service, ServiceCompiler
from engine.load.yaml_source import Document, load_document
from engine.problems import Problem, did_you_mean, problem

_V = TypeVar("_V")
SHARED_DIR = "_shared"
REQUESTED = "<requested paths>"
PATTERNS_DIR = "workflows"


@dataclass(frozen=True)
class Catalog:
    services: Mapping[str, Service]
    registries: Registries
    patterns: Mapping[str, Located]
    problems: tuple[Problem, ...]
    documents: Mapping[str, Document] = field(repr=False)
    root: Path | None = None
    # Which file's check produced which problems (not always the file a problem points at: a service
    # may be told about a registry line). `reload` replaces exactly one file's share.
    origin: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def reload(self, path: str | Path) -> Catalog:
        """The catalog after one file changed on disk, without re-reading or recompiling the others.

        An edited service is recompiled alone against this catalog's registries and patterns. A
        registry or pattern file, a new file, or a service whose id changed affects other services,
        so it is recompiled with all of them — still from the documents already in memory.
        """
        with gc_paused():
            return self._reload(Path(path))

    def _reload(self, file: Path) -> Catalog:
        name = _display(file)
        doc = load_document(file, name)
        old = self.documents.get(name)
        old_id = old.data.get("id") if old is not None and isinstance(old.data, dict) else None
        new_id = doc.data.get("id") if isinstance(doc.data, dict) else None
        owner = self.services.get(old_id) if isinstance(old_id, str) else None
        alone = (
            old is not None
            and _kind(Path(name)) == "service"
            and owner is not None
            and owner.source == name
            and new_id == old_id
        )
        if not alone or not isinstance(old_id, str):
            return compile_documents({**self.documents, name: doc}, self.origin.get(REQUESTED, ()))
        others = {sid: s for sid, s in self.services.items() if sid != old_id}
        own = [*doc.problems]
        compiled = None
        if doc.data is not None:
            shape_problems = check_shape(SERVICE, doc)
            own += shape_problems
            if not any(p.severity == "error" for p in shape_problems):
                compiled, compile_problems = _compile_service(doc, others, self.registries, self.patterns)
                own += compile_problems
        doc.release_nodes()
        services = dict(self.services)
        if compiled is None:
            del services[old_id]
        else:
            services[old_id] = compiled
        origin = {**self.origin, name: tuple(own)}
        kept = [p for source, problems in origin.items() for p in problems]
        documents = {**self.documents, name: doc}
        return replace(self, services=services, problems=_tidy(kept), documents=documents, origin=origin)

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


def _named_files(base: Path, cwd: Path) -> dict[str, Path]:
    """The YAML files under `base` by display name — as `_display` names them, but resolving the
    folder once and a file only when it is a symlink itself (resolving every file, component by
    component, was a third of a warm start)."""
    real = base.resolve()
    named: dict[str, Path] = {}
    for f in _yaml_files(real):
        target = f.resolve() if f.is_symlink() else f
        try:
            named[str(target.relative_to(cwd))] = f
        except ValueError:
            named[str(base / f.relative_to(real)) if f != real else str(base)] = f
    return named


def _display(path: Path, cwd: Path | None = None) -> str:
    try:
        return str(path.resolve().relative_to(cwd or Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_catalog(
    paths: Iterable[str | Path] = (), root: str | Path | None = None, cache: str | Path | None = None
) -> Catalog:
    """The catalog of `paths` plus the project's registries and patterns.

    With a `cache` folder, unchanged files are not re-read, and when no file changed at all the
    catalog comes from one manifest with its services compiled on first use (see compile/cache.py).
    """
    files, missing = _find_files(paths, root)
    with gc_paused():
        if cache is None:
            return compile_documents(_load_all(files), missing)
        return _load_cached(CompileCache(cache), files, missing)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a catalog is built.

    Loading and compiling allocate hundreds of thousands of small objects that all stay alive;
    each automatic collection meanwhile walks every one of them again, which was a third of a cold
    start. They hold no reference cycles, so nothing is lost by collecting only afterwards. The
    previous state is restored, so a caller that had collection off keeps it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _find_files(paths: Iterable[str | Path], root: str | Path | None) -> tuple[dict[str, Path], list[Problem]]:
    requested = [Path(p) for p in paths]
    cwd = Path.cwd().resolve()  # once: resolving it per file was a tenth of a warm start
    root_path = Path(root) if root is not None else find_root(requested[0] if requested else Path.cwd())
    files: dict[str, Path] = {}
    if root_path is not None:
        for base in (root_path / "service_defs" / SHARED_DIR, root_path / PATTERNS_DIR):
            if base.is_dir():
                files.update(_named_files(base, cwd))
    missing: list[Problem] = []
    for p in requested:
        if not p.exists():
            missing.append(problem("YAML007", f"no such file or folder: {p}", None))
            continue
        files.update(_named_files(p, cwd))
    return files, missing


def _load_all(files: Mapping[str, Path]) -> dict[str, Document]:
    return {name: load_document(path, name) for name, path in files.items()}


def compile_documents(documents: Mapping[str, Document], extra: Iterable[Problem] = ()) -> Catalog:
    # Problems by the file whose check produced them; "" holds the shared stages', REQUESTED the paths'.
    origin: dict[str, list[Problem]] = {REQUESTED: list(extra), "": []}
    registry_docs: list[Document] = []
    pattern_docs: list[Document] = []
    service_docs: list[Document] = []
    for name, doc in documents.items():
        own = origin.setdefault(name, [])
        own += doc.problems
        if doc.data is None:
            continue
        kind = _kind(Path(name))
        shape = {"registry": REGISTRY_FILE, "pattern": WORKFLOW_PATTERN, "service": SERVICE}[kind]
        if kind == "service" and isinstance(doc.data, dict) and "states" in doc.data and "sections" not in doc.data:
            shape, kind = WORKFLOW_PATTERN, "pattern"  # a pattern outside workflows/, e.g. in a test folder
        shape_problems = check_shape(shape, doc)
        own += shape_problems
        if any(p.severity == "error" for p in shape_problems):
            continue
        {"registry": registry_docs, "pattern": pattern_docs, "service": service_docs}[kind].append(doc)

    shared = origin[""]
    merged, merge_problems = merge_registry_docs(registry_docs)
    shared += merge_problems
    registries, registry_problems = compile_registries(merged)
    shared += registry_problems

    patterns: dict[str, Located] = {}
    for doc in pattern_docs:
        pid = doc.data["id"]
        stem = Path(doc.path).stem
        if pid != stem:
            origin[doc.path].append(
                problem(
                    "ID001",
                    f"pattern id '{pid}' does not match the file name '{stem}'",
                    doc.span(("id",)),
                    f"rename the file to {pid}.yaml or set id: {stem}",
                )
            )
        if pid in patterns:
            origin[doc.path].append(
                problem("ID002", f"workflow pattern '{pid}' is defined twice", doc.span(("id",)))
            )
            continue
        patterns[pid] = Located(doc, (), doc.data)

    services: dict[str, Service] = {}
    for doc in service_docs:
        compiled, own_problems = _compile_service(doc, services, registries, patterns)
        origin[doc.path] += own_problems
        if compiled is not None and compiled.id not in services:
            services[compiled.id] = compiled
    shared += _check_patterns_alone(patterns, registries)
    for doc in documents.values():
        doc.release_nodes()
    frozen = {name: tuple(problems) for name, problems in origin.items()}
    problems = _tidy([p for own in frozen.values() for p in own])
    return Catalog(services, registries, patterns, problems, documents, origin=frozen)


def _compile_service(
    doc: Document, services: Mapping[str, Service], registries: Registries, patterns: Mapping[str, Located]
) -> tuple[Service | None, list[Problem]]:
    """One service document's identity checks and compilation, against everything already compiled."""
    problems = _identity_problems(doc, services)
    compiler = ServiceCompiler(doc, registries, patterns)
    compiled = compiler.compile()
    return compiled, problems + compiler.problems


def _tidy(problems: list[Problem]) -> tuple[Problem, ...]:
    # A YAML 1.1 boolean where text was required is already a SHAPE003 error: say it once.
    shape_spans = {p.span for p in problems if p.code == "SHAPE003"}
    kept = [p for p in problems if not (p.code in ("YAML003", "YAML004") and p.span in shape_spans)]
    return tuple(sorted(set(kept), key=Problem.sort_key))


# --- the cached path (engine/compile/cache.py explains what is stored and why) ---------------------------------------
def _load_cached(store: CompileCache, files: Mapping[str, Path], missing: list[Problem]) -> Catalog:
    keys: dict[str, str] = {}
    for name, path in files.items():
        try:
            keys[name] = store.file_key(name, path.read_bytes())
        except OSError:
            return compile_documents(_load_all(files), missing)  # an unreadable file: report it the usual way
    catalog_key = store.catalog_key(keys, missing)
    manifest = store.manifest(catalog_key)
    if manifest is not None:
        return _warm_catalog(store, manifest, files, keys)
    documents: dict[str, Document] = {}
    for name, path in files.items():
        doc = store.document(keys[name])
        if doc is None:
            doc = load_document(path, name)
            store.put_document(keys[name], doc)
        documents[name] = doc
    catalog = compile_documents(documents, missing)
    service_files = {sid: service.source for sid, service in catalog.services.items()}
    store.put_manifest(
        catalog_key, Manifest(catalog.registries, catalog.patterns, catalog.problems, service_files, catalog.origin)
    )
    return catalog


def _warm_catalog(
    store: CompileCache, manifest: Manifest, files: Mapping[str, Path], keys: Mapping[str, str]
) -> Catalog:
    def document(name: str) -> Document:
        return store.document(keys[name]) or load_document(files[name], name)

    documents = LazyMapping(list(files), document)

    def service(sid: str) -> Service:
        compiled = ServiceCompiler(documents[manifest.service_files[sid]], manifest.registries, manifest.patterns)
        found = compiled.compile()
        compiled.doc.release_nodes()
        if found is None:  # cannot happen for unchanged inputs; say so loudly rather than serve nothing
            raise RuntimeError(f"service {sid} compiled when cached but not now")
        return found

    services = LazyMapping(list(manifest.service_files), service)
    return Catalog(services, manifest.registries, manifest.patterns, manifest.problems, documents,
                   origin=manifest.origin)


class LazyMapping(Mapping[str, "_V"]):
    """A read-only mapping whose keys are known up front and whose values are built on first access.

    The portal lists every service at once (search, home page), which builds them all; a command
    that needs one service builds one. Building is locked so that two threads never build the
    same value twice.
    """

    def __init__(self, keys: list[str], build: Callable[[str], _V]) -> None:
        self._keys = {key: None for key in keys}
        self._build = build
        self._built: dict[str, _V] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> _V:
        found = self._built.get(key)
        if found is not None:
            return found
        if key not in self._keys:
            raise KeyError(key)
        with self._lock:
            if key not in self._built:
                self._built[key] = self._build(key)
            return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


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
