"""The services the portal offers now, and every earlier version that cases in flight are pinned to.

A submitted case records its definition's content hash and the resolved definition itself; when
the YAML changes later, the case keeps being processed by the version it was submitted under,
recompiled from the stored definition if this process never saw it.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RootTransaction
from sqlalchemy.exc import IntegrityError

from engine.catalog import Catalog
from engine.compile.service import Service, ServiceCompiler
from engine.load.yaml_source import Document
from engine.run.db import definitions, now

_STORED_VERSION = sa.select(definitions.c.version).where(definitions.c.version == sa.bindparam("version"))


class ServiceBook:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._by_version: dict[str, Service] = {}
        # Per database, what this book knows of its stored versions (see remember).
        self._stored: weakref.WeakKeyDictionary[Engine, _StoredVersions] = weakref.WeakKeyDictionary()
        self.use(catalog)

    def use(self, catalog: Catalog) -> None:
        """Offer the services of `catalog` from now on; versions compiled before stay available."""
        self.catalog = catalog
        for service in catalog.services.values():
            self._by_version[service.version] = service

    @property
    def services(self) -> Mapping[str, Service]:
        return self.catalog.services

    def get(self, service_id: str) -> Service | None:
        return self.catalog.services.get(service_id)

    def remember(self, conn: Connection, service: Service) -> None:
        """Keep the resolved definition of a version that a case is about to be pinned to.

        One SELECT per version and database in this process until a transaction finds the row committed;
        after that, no statement (the SELECT was about a tenth of a submission's database work).
        """
        known = self._stored.get(conn.engine)
        if known is None:
            known = self._stored[conn.engine] = _StoredVersions()
        if service.version in known.committed:
            return
        found = conn.execute(_STORED_VERSION, {"version": service.version}).first()
        if found is not None:
            inserter = known.inserted_by.get(service.version)
            if inserter is None or inserter() is not conn.get_transaction():  # committed, not our own insert
                known.inserted_by.pop(service.version, None)
                if not _one_database_per_connection(conn.engine):
                    known.committed.add(service.version)
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    definitions.insert().values(
                        version=service.version,
                        service_id=service.id,
                        definition=_jsonable(service.definition),
                        created_at=now(),
                    )
                )
            root = conn.get_transaction()
            if root is not None:
                known.inserted_by[service.version] = weakref.ref(root)
        except IntegrityError:
            pass  # another request stored the same version first

    def pinned(self, conn: Connection, version: str) -> Service | None:
        """The service exactly as it was at `version`."""
        found = self._by_version.get(version)
        if found is not None:
            return found
        row = conn.execute(sa.select(definitions).where(definitions.c.version == version)).mappings().first()
        if row is None:
            return None
        service = self.recompile(row["definition"], version)
        if service is not None:
            self._by_version[version] = service
        return service

    def recompile(self, definition: Mapping[str, Any], version: str) -> Service | None:
        """Compile a stored definition against today's registries, with its workflow inline as it was."""
        data = copy.deepcopy(dict(definition))
        workflow = dict(data.get("workflow", {}))
        # The stored workflow is already resolved: states and transitions with parameters filled in.
        data["workflow"] = {k: workflow[k] for k in ("initial", "states", "transitions", "migrate") if k in workflow}
        doc = Document(f"<stored definition {version}>", "", data)
        compiler = ServiceCompiler(doc, self.catalog.registries, {})
        return compiler.compile()


@dataclass
class _StoredVersions:
    """One database's versions as this book knows them. Definitions are never deleted, so once a
    transaction has seen a row committed, no later submit needs to look for it again; a version this
    book inserted is not known committed until another transaction sees it (the inserting one may
    still roll back)."""

    committed: set[str] = field(default_factory=set)
    inserted_by: dict[str, weakref.ref[RootTransaction]] = field(default_factory=dict)


def _one_database_per_connection(engine: Engine) -> bool:
    """An in-memory SQLite engine: each pooled connection (one per thread) is a database of its own."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
