"""The embedded default registry: answers exchange operations from the application database.

Seeded once with the demo population (population.py). A register number it has never seen is
enrolled on first lookup with a person derived from its digits (birth date, sex) and a vehicle,
parcel and property of their own, so anyone signing in on a demo machine finds their data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.compile import mongolia
from engine.compile.model import RegistryOperation
from engine.run.db import now
from engine.run.exchange import population
from engine.run.exchange.adapter import NOT_FOUND, OK, RegistryKey, RegistryResult, declared
from engine.run.exchange.keys import CITIZEN, key_of
from engine.run.exchange.tables import registry_records


def is_seeded(conn: Connection) -> bool:
    return conn.execute(sa.select(registry_records.c.id).limit(1)).first() is not None


def seed(conn: Connection, places: population.Places) -> int:
    """Fill an empty local registry with the demo population; returns the rows written (0 if already)."""
    if is_seeded(conn):
        return 0
    return _insert(conn, population.population(places))


def _insert(conn: Connection, records: Iterable[population.Record]) -> int:
    stamp = now()
    rows = [
        {"kind": r.kind, "record_key": r.key, "owner": r.owner, "data": dict(r.data), "created_at": stamp}
        for r in records
    ]
    try:
        with conn.begin_nested():
            conn.execute(registry_records.insert(), rows)
    except IntegrityError:
        return 0  # another process seeded or enrolled the same records first
    return len(rows)


def normalise(kind: str, value: str) -> str:
    value = (value or "").strip()
    if kind in (CITIZEN, "register"):
        return mongolia.normalise_register(value)
    if kind == "plate_number":
        return mongolia.normalise_plate(value)
    if kind == "property_number":
        value = value.upper().replace("Y", "Ү").replace("U", "Ү")
        return value if "-" in value else f"{value[:1]}-{value[1:]}"
    return value.upper() if kind == "vin" else value


class LocalRegistry:
    """`RegistryAdapter` over the `registry_records` table."""

    name = "local"

    def __init__(self, engine: Engine, places: population.Places, enrol_unknown: bool = True) -> None:
        self.engine = engine
        self.places = places
        self.enrol_unknown = enrol_unknown

    def ensure_seeded(self) -> None:
        with self.engine.begin() as conn:
            seed(conn, self.places)

    def fetch(self, operation: RegistryOperation, key: RegistryKey) -> RegistryResult:
        started = time.monotonic()
        self.ensure_seeded()
        spec = key_of(operation)
        record = self._find(spec.record, key)
        elapsed = int((time.monotonic() - started) * 1000)
        if record is None:
            return RegistryResult(operation.id, NOT_FOUND, source=self.name, duration_ms=elapsed)
        values = {name: record.get(name) for name in operation.returns}
        for name, value in values.items():
            if value is None and name not in record:
                values[name] = population.synthesise(name, record, operation.id)
        return RegistryResult(operation.id, OK, declared(operation, values), source=self.name, duration_ms=elapsed)

    def _find(self, kind: str, key: RegistryKey) -> Mapping[str, Any] | None:
        value = normalise(key.kind, key.value)
        with self.engine.begin() as conn:
            if key.kind == CITIZEN and kind == "person":
                row = self._row(conn, "person", value)
                if row is None and self.enrol_unknown:
                    self.enrol(conn, value)
                    row = self._row(conn, "person", value)
                return row
            if key.kind == CITIZEN:  # an entity operation asked about the citizen: their first one
                found = self._first_owned(conn, kind, value, registry_records.c.data)
                return dict(found) if found else None
            return self._row(conn, "vin" if key.kind == "vin" else kind, value)

    @staticmethod
    def _row(conn: Connection, kind: str, key: str) -> Mapping[str, Any] | None:
        found = conn.execute(
            sa.select(registry_records.c.data).where(
                registry_records.c.kind == kind, registry_records.c.record_key == key
            )
        ).scalar()
        return dict(found) if found else None

    def enrol(self, conn: Connection, register: str) -> bool:
        """Add a person (and a vehicle, parcel, property) for a well-formed register number never seen."""
        if not mongolia.REGISTER.fullmatch(register) or mongolia.register_birth_date(register) is None:
            return False
        rng = random.Random(hashlib.sha256(register.encode()).digest())
        person = population.person(rng, self.places, register)
        records = [person]
        born = mongolia.register_birth_date(register) or dt.date(1990, 1, 1)
        if born.year <= dt.date.today().year - 18:
            records += list(population.companies(rng, [person], self.places, count=1))
            records += list(population.vehicles(rng, [person], count=1))
            records += list(population.parcels(rng, [person], self.places, count=1))
            records += list(population.properties(rng, [person], self.places, count=1))
        # One by one: a demo plate or parcel number that happens to exist already must not lose the person.
        return sum(_insert(conn, [r]) for r in records) > 0

    def suggest(self, key_kind: str, citizen_register: str) -> str | None:
        """The key of the citizen's own first record of a kind (their car's plate …), to offer in the form."""
        kind = {"company_register": "company", "plate_number": "vehicle", "vin": "vin", "parcel_id": "parcel",
                "property_number": "property"}.get(key_kind)
        if kind is None:
            return None
        self.ensure_seeded()
        value = normalise(CITIZEN, citizen_register)
        with self.engine.begin() as conn:
            found = self._first_owned(conn, kind, value, registry_records.c.record_key)
        return str(found) if found else None

    def _first_owned(self, conn: Connection, kind: str, owner: str, column: Any) -> Any:
        """`column` of the citizen's first record of `kind`, enrolling a citizen never seen before."""
        if self.enrol_unknown and self._row(conn, "person", owner) is None:
            self.enrol(conn, owner)
        return conn.execute(
            sa.select(column)
            .where(registry_records.c.kind == kind, registry_records.c.owner == owner)
            .order_by(registry_records.c.id)
            .limit(1)
        ).scalar()

