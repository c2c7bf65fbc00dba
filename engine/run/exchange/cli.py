"""`tsonkh registry seed` (fill the embedded local registry now) and `tsonkh registry lookup OP KEY`
(ask the configured exchange, local or HTTP, one question — to check a deployment's connection)."""

from __future__ import annotations

import argparse
import json
import sys

from engine.run.exchange.keys import CITIZEN, key_of


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    registry = sub.add_parser("registry", help="the state data exchange (ХУР): local registry and adapter checks")
    commands = registry.add_subparsers(dest="registry_command", required=True)
    seed = commands.add_parser("seed", help="seed the embedded local registry with the demo population")
    seed.set_defaults(handler=cmd_seed)
    lookup = commands.add_parser("lookup", help="ask one operation about one key through the configured adapter")
    lookup.add_argument("operation", help="an operation id from _shared/registries.yaml, e.g. WS100401")
    lookup.add_argument("key", help="the key: a register number, plate, company register …")
    lookup.set_defaults(handler=cmd_lookup)


def _setup() -> tuple[object, object]:
    from engine.run.settings import load_settings
    from engine.run.web.app import load_services, prepare_database

    settings = load_settings()
    catalog = load_services(settings.catalog_paths, out=sys.stderr)
    return catalog, prepare_database(settings, catalog, out=sys.stderr)


def seed_local_registry(engine: object, registries: object) -> int:
    """Seed on first start of the portal; a no-op when the local registry already has its people."""
    from engine.run.exchange.local import seed
    from engine.run.exchange.population import Places

    with engine.begin() as conn:  # type: ignore[attr-defined]
        return seed(conn, Places.from_registries(registries))


def cmd_seed(args: argparse.Namespace) -> int:
    catalog, engine = _setup()
    written = seed_local_registry(engine, catalog.registries)  # type: ignore[attr-defined]
    print(f"tsonkh: local registry {'seeded with ' + str(written) + ' records' if written else 'already seeded'}")
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    from engine.run.exchange.adapter import RegistryKey
    from engine.run.exchange.http import ExchangeSettings, HttpRegistry
    from engine.run.exchange.local import LocalRegistry
    from engine.run.exchange.population import Places

    catalog, engine = _setup()
    operations = catalog.registries.operations  # type: ignore[attr-defined]
    operation = operations.get(args.operation)
    if operation is None:
        print(f"tsonkh: no operation {args.operation} in the shared registry", file=sys.stderr)
        return 2
    settings = ExchangeSettings.from_env()
    adapter = (
        HttpRegistry(settings.url, settings.token, settings.timeout)
        if settings.url
        else LocalRegistry(engine, Places.from_registries(catalog.registries))  # type: ignore[arg-type,attr-defined]
    )
    kind = key_of(operation).key
    result = adapter.fetch(operation, RegistryKey(kind, args.key, args.key if kind == CITIZEN else None))
    print(json.dumps({"operation": result.operation, "status": result.status, "source": result.source,
                      "detail": result.detail, "data": dict(result.data)}, ensure_ascii=False, indent=1))
    return 0 if result.ok else 1
