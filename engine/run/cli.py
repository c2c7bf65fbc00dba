"""`tsonkh serve` (the portal on uvicorn) and `tsonkh audit verify` (check the audit hash chain)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    serve = sub.add_parser("serve", help="run the portal and back office")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (share the database; use PostgreSQL)")
    serve.add_argument("--access-log", action="store_true", help="log every request (off: the audit log records acts)")
    serve.set_defaults(handler=cmd_serve)

    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify the audit log's hash chain")
    verify.set_defaults(handler=cmd_audit_verify)


def app_factory() -> Any:
    """For uvicorn's --factory mode: each worker process builds its own app."""
    from engine.run.web.app import create_app
    from engine.run.worker import attach

    app = create_app()
    attach(app)  # each process delivers too; skip-locked claims keep them apart (issue 8)
    return app


def cmd_serve(args: argparse.Namespace) -> int:
    import importlib.util

    import uvicorn

    from engine.run.settings import load_settings
    from engine.run.web.app import load_services, prepare_database

    settings = load_settings()
    # Migrate and create demo accounts once, in this process, before any worker starts.
    catalog = load_services(settings.catalog_paths)
    print(f"tsonkh: {len(catalog.services)} services ready; data in {settings.data_dir}")
    engine = prepare_database(settings, catalog)
    from engine.run.exchange.cli import seed_local_registry

    if seed_local_registry(engine, catalog.registries):  # the embedded ХУР registry, on first start (issue 6)
        print("tsonkh: the local state registry was seeded with a demo population")
    engine.dispose()
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    host = f"[{args.host}]" if ":" in args.host else args.host
    # Access lines are INFO; off by default (uvicorn would still build each one only to drop it).
    level = "info" if args.access_log else "warning"
    print(f"tsonkh: open http://{host}:{args.port}/  (staff: http://{host}:{args.port}/staff/login)", flush=True)
    served = {"host": args.host, "port": args.port, "loop": loop, "http": http, "log_level": level,
              "access_log": args.access_log, "proxy_headers": True}
    if args.workers > 1:
        uvicorn.run("engine.run.cli:app_factory", factory=True, workers=args.workers, **served)
    else:
        from engine.run.web.app import create_app

        quiet = open("/dev/null", "w") if sys.platform != "win32" else sys.stderr  # noqa: SIM115 - lives with the server
        app = create_app(settings, catalog, out=quiet)
        from engine.run.worker import attach

        attach(app)  # the embedded setup delivers notices and runs SLA timers in-process (issue 8)
        uvicorn.run(app, **served)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from engine.run import audit
    from engine.run.db import make_engine
    from engine.run.migrate import upgrade
    from engine.run.settings import load_settings

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with engine.connect() as conn:
        count, breaks = audit.verify(conn)
    for found in breaks:
        print(f"record {found.record_id}: {found.reason}")
    if breaks:
        print(f"audit chain BROKEN: {len(breaks)} problem(s) in {count} records")
        return 1
    print(f"audit chain intact: {count} records")
    return 0
