"""The registry adapters: the local registry's demo population and answers, and the HTTP adapter's
contract against a stub exchange on the loopback interface (ok, not found, errors, timeout)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from engine.catalog import load_catalog
from engine.compile import mongolia
from engine.compile.model import I18n, RegistryOperation
from engine.run.db import make_engine
from engine.run.exchange import population
from engine.run.exchange.adapter import ERROR, NOT_FOUND, OK, TIMEOUT, RegistryKey
from engine.run.exchange.http import ExchangeSettings, HttpRegistry
from engine.run.exchange.local import LocalRegistry, seed
from engine.run.exchange.tables import registry_records
from engine.run.migrate import upgrade

VEHICLE = RegistryOperation(
    "WS100401", I18n("Тээвэр", "Vehicle"), "xyp", ("plate_number", "make", "owner_register"), "read", "plate_number",
    "vehicle",
)
PERSON = RegistryOperation("WS100101", I18n("Иргэн", "Citizen"), "xyp", ("register_number", "surname", "birth_date"))
PARCEL = RegistryOperation(
    "WS100218", I18n("Газар", "Land"), "xyp", ("parcel_id", "holder_register", "valid_until"), "read", "parcel_id",
    "parcel",
)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def places() -> population.Places:
    catalog = load_catalog([REPO / "service_defs" / "_shared"], root=REPO)
    return population.Places.from_registries(catalog.registries)


@pytest.fixture
def local(tmp_path: Path, places: population.Places) -> Iterator[LocalRegistry]:
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    upgrade(engine)
    yield LocalRegistry(engine, places)
    engine.dispose()


def test_demo_population_is_valid_and_deterministic(places: population.Places) -> None:
    records = list(population.population(places))
    assert records == list(population.population(places))  # the same people on every machine
    people = [r for r in records if r.kind == "person"]
    assert len(people) == population.PEOPLE and len({p.key for p in people}) == len(people)
    ub_districts = {v for v, _ in places.districts}
    regions = {v for v, _ in places.regions}
    for p in people:
        assert mongolia.REGISTER.fullmatch(p.key) and mongolia.register_birth_date(p.key) is not None
        assert p.data["birth_date"] == mongolia.register_birth_date(p.key).isoformat()  # type: ignore[union-attr]
        assert p.data["sex"] == mongolia.register_sex(p.key)
        address = p.data["address"]
        assert address["region"] in regions
        if address["region"] == "ulaanbaatar":
            assert address["soum_district"] in ub_districts
            assert address["bag_khoroo"] in places.khoroos[address["soum_district"]]
    companies = [r for r in records if r.kind == "company"]
    assert len(companies) == population.COMPANIES
    assert all(mongolia.COMPANY_REGISTER.fullmatch(c.key) for c in companies)
    vehicles = [r for r in records if r.kind == "vehicle"]
    assert len(vehicles) == population.VEHICLES and all(mongolia.PLATE.fullmatch(v.key) for v in vehicles)
    assert all(mongolia.VIN.fullmatch(v.data["vin"]) for v in vehicles)
    assert all(mongolia.PROPERTY_NUMBER.fullmatch(r.key) for r in records if r.kind == "property")
    assert all(mongolia.PARCEL_ID.fullmatch(r.key) for r in records if r.kind == "parcel")
    # Every entity belongs to somebody in the population.
    keys = {p.key for p in people}
    assert all(r.owner in keys for r in records if r.kind != "person")


def test_local_registry_answers_declared_attributes(local: LocalRegistry, places: population.Places) -> None:
    with local.engine.begin() as conn:
        written = seed(conn, places)
        assert written > 700 and seed(conn, places) == 0  # seeded once
        row = conn.execute(
            sa.select(registry_records.c.record_key, registry_records.c.data)
            .where(registry_records.c.kind == "vehicle")
        ).first()
    assert row is not None
    plate, data = row
    result = local.fetch(VEHICLE, RegistryKey("plate_number", plate.replace(" ", "").lower()))
    assert result.status == OK and result.source == "local"
    assert dict(result.data) == {"plate_number": plate, "make": data["make"], "owner_register": data["owner_register"]}
    assert local.fetch(VEHICLE, RegistryKey("plate_number", "0000 ЯЯЯ")).status == NOT_FOUND
    # A person is asked by register number; a parcel operation with no parcel asked is about the citizen's own.
    owner = local.fetch(PERSON, RegistryKey("citizen", data["owner_register"]))
    assert owner.ok and owner.data["register_number"] == data["owner_register"]
    assert set(owner.data) == {"register_number", "surname", "birth_date"}


def test_local_registry_enrols_a_newcomer(local: LocalRegistry) -> None:
    newcomer = "УБ99032112"
    result = local.fetch(PERSON, RegistryKey("citizen", newcomer))
    assert result.ok and result.data["birth_date"] == "1999-03-21"
    again = local.fetch(PERSON, RegistryKey("citizen", newcomer))
    assert again.data == result.data  # enrolled once, then read back
    land = local.fetch(PARCEL, RegistryKey("citizen", newcomer))
    assert land.ok and land.data["holder_register"] == newcomer
    assert local.suggest("plate_number", newcomer) is not None
    assert local.fetch(PERSON, RegistryKey("citizen", "not a register")).status == NOT_FOUND


# --- the HTTP adapter against a loopback stub ---------------------------------------------------------------
class Stub(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length).decode("utf-8"))
        Stub.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        value = body["key"]["value"]
        if value == "slow":
            time.sleep(1.0)
        if value == "missing":
            self._send(404, {"error": "not_found"})
        elif value == "broken":
            self._send(500, {"error": "boom"})
        elif value == "garbage":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{not json")
        else:
            self._send(200, {"data": {"plate_number": value, "make": "Toyota", "secret": "dropped"}})

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the adapter gave up waiting (the timeout case)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/xyp"
    server.shutdown()
    server.server_close()


def test_http_adapter_contract(stub: str) -> None:
    adapter = HttpRegistry(stub, token="s3cret", timeout=0.3)
    result = adapter.fetch(VEHICLE, RegistryKey("plate_number", "1234 УБА", citizen="УБ99032112"))
    assert result.status == OK and result.source == "http"
    assert dict(result.data) == {"plate_number": "1234 УБА", "make": "Toyota"}  # undeclared "secret" dropped
    request = Stub.seen[-1]
    assert request["path"] == "/xyp/operations/WS100401" and request["auth"] == "Bearer s3cret"
    assert request["body"] == {
        "operation": "WS100401",
        "key": {"kind": "plate_number", "value": "1234 УБА"},
        "citizen": "УБ99032112",
    }
    assert adapter.fetch(VEHICLE, RegistryKey("plate_number", "missing")).status == NOT_FOUND
    broken = adapter.fetch(VEHICLE, RegistryKey("plate_number", "broken"))
    assert broken.status == ERROR and broken.detail == "HTTP 500"
    assert adapter.fetch(VEHICLE, RegistryKey("plate_number", "garbage")).status == ERROR
    started = time.monotonic()
    slow = adapter.fetch(VEHICLE, RegistryKey("plate_number", "slow"))
    assert slow.status == TIMEOUT and time.monotonic() - started < 0.9


def test_http_adapter_unreachable_is_an_error() -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = HttpRegistry(f"http://127.0.0.1:{port}", timeout=0.5).fetch(VEHICLE, RegistryKey("plate_number", "x"))
    assert result.status == ERROR


def test_exchange_settings_from_environment() -> None:
    settings = ExchangeSettings.from_env({"TSONKH_XYP_URL": "https://xyp.example/api", "TSONKH_XYP_TIMEOUT": "2.5"})
    assert settings.url == "https://xyp.example/api" and settings.timeout == 2.5 and settings.token is None
    assert ExchangeSettings.from_env({}).url is None


@pytest.mark.xdist_group("catalog")  # the worker that loads the real catalog once
def test_a_newcomer_finds_data_for_the_whole_catalog(tmp_path: Path) -> None:
    """Every operation the real catalog uses answers a newcomer, and nearly every prefill fits its field."""
    import datetime as dt

    from engine.run.exchange.flow import call_all, prefill_value, uses
    from tests.portal.test_catalog_services import real_catalog

    catalog = real_catalog()
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    upgrade(engine)
    registry = LocalRegistry(engine, population.Places.from_registries(catalog.registries))
    newcomer = "УБ85061814"
    filled, misfits, services = 0, [], 0
    for service_id, service in sorted(catalog.services.items()):
        wanted = uses(service, catalog.registries.operations)
        if not wanted:
            continue
        services += 1
        keys = {u.id: registry.suggest(u.key_kind, newcomer) or "" for u in wanted if u.key_field is not None}
        results = call_all(registry, wanted, {u.id for u in wanted}, newcomer, keys)
        for use in wanted:
            assert results[use.id].ok, (service_id, use.id, results[use.id].status)
            for f, attribute in use.fields:
                if prefill_value(f, results[use.id].data.get(attribute), dt.date.today()) is None:
                    misfits.append((service_id, f.id))
                else:
                    filled += 1
    engine.dispose()
    assert services >= 40
    assert filled >= 19 * len(misfits), misfits  # at least 95% of prefilled fields get a value that fits
