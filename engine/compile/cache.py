"""The on-disk compile cache: what a warm start may skip, keyed by content hash.

Two kinds of entry, both immutable (a changed input is a new key, so nothing is ever invalidated
in place, and concurrent writers cannot corrupt each other: each writes a temporary file and
renames it into place):

- per file, the loaded `Document` (values, source map, reading problems), keyed by the hash of the
  engine's own source, the file's display name and its bytes — re-reading an unchanged file is waste;
- per catalog, a `Manifest` keyed by the hash of every file's key: the compiled registries and
  patterns (plain frozen data), every problem of the full check, and which file holds which
  service.

Compiled services are deliberately *not* stored: their parsers and expressions are closures built
at compile time (never `eval`), which pickle cannot store. A warm catalog compiles a service from
its cached document against the cached registries on first use — the same inputs as a cold start,
hence the same service and the same content hash.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.compile.registries import Located, Registries
from engine.load.yaml_source import Document
from engine.problems import Problem

_ENGINE = Path(__file__).resolve().parents[1]
_STAGES = ("load", "check", "compile")


@cache
def engine_fingerprint() -> str:
    """A hash of the stages' source: a changed engine must never read entries an older one wrote."""
    digest = hashlib.sha256()
    files = sorted(p for stage in _STAGES for p in (_ENGINE / stage).glob("*.py"))
    for path in [*files, _ENGINE / "catalog.py", _ENGINE / "problems.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """Everything about a catalog except the compiled services themselves."""

    registries: Registries
    patterns: Mapping[str, Located]
    problems: tuple[Problem, ...]
    service_files: Mapping[str, str]  # service id → display name of its file
    origin: Mapping[str, tuple[Problem, ...]]  # display name → problems that file's check produced


class CompileCache:
    """A folder of pickled entries. Only this process's user should be able to write it (pickle)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def file_key(self, name: str, raw: bytes) -> str:
        digest = hashlib.sha256(engine_fingerprint().encode())
        digest.update(name.encode() + b"\0")
        digest.update(raw)
        return digest.hexdigest()

    @staticmethod
    def catalog_key(file_keys: Mapping[str, str], missing: Iterable[Problem]) -> str:
        digest = hashlib.sha256()
        for name in sorted(file_keys):
            digest.update(f"{name}\0{file_keys[name]}\n".encode())
        for p in missing:
            digest.update(repr(p).encode())
        return digest.hexdigest()

    def document(self, key: str) -> Document | None:
        found = self._read(f"doc-{key}")
        return found if isinstance(found, Document) else None

    def put_document(self, key: str, doc: Document) -> None:
        self._write(f"doc-{key}", doc)

    def manifest(self, key: str) -> Manifest | None:
        found = self._read(f"catalog-{key}")
        return found if isinstance(found, Manifest) else None

    def put_manifest(self, key: str, manifest: Manifest) -> None:
        self._write(f"catalog-{key}", manifest)

    def _read(self, name: str) -> object | None:
        try:
            with open(self.folder / f"{name}.pickle", "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None  # absent or written by an incompatible engine: simply a miss

    def _write(self, name: str, value: object) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, self.folder / f"{name}.pickle")
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass  # a cache that cannot be written only costs time
