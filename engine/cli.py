"""`tsonkh`: the command-line tool. Each sub-command is a thin shell over one stage of the engine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from engine.catalog import Catalog
    from engine.problems import Problem

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"tsonkh: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tsonkh", description="Tsonkh — service definitions for the single-window portal")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check service definitions and report every problem")
    check.add_argument("paths", nargs="+", help="files or folders")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument(
        "--against",
        metavar="REV",
        help="also refuse a version that strands in-flight cases of REV (a git revision or folder) without migration",
    )

    listing = sub.add_parser("list", help="list the compiled services")
    listing.add_argument("paths", nargs="*", default=["service_defs"])
    listing.add_argument("--lang", choices=("mn", "en"), default="mn")

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.add_argument("kind", nargs="?", choices=("service", "workflow", "registry"), default="service")

    _add_optional_commands(sub)
    return parser


def _add_optional_commands(sub: Any) -> None:
    """Commands owned by later stages register themselves here (serve, diff, docs, worker …)."""
    from engine import commands

    for register in commands.REGISTRY:
        register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        result: int = args.handler(args) if hasattr(args, "handler") else _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return result


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return cmd_check(args)
    if args.command == "list":
        return cmd_list(args)
    if args.command == "schema":
        return cmd_schema(args)
    return EXIT_USAGE


def cmd_check(args: argparse.Namespace) -> int:
    from engine.catalog import find_root, load_catalog
    from engine.report import render_json, render_text, summary

    for p in args.paths:
        if not Path(p).exists():
            print(f"tsonkh: no such file or folder: {p}", file=sys.stderr)
            return EXIT_USAGE
    catalog = load_catalog(args.paths)
    problems = list(catalog.problems)
    if args.against:
        stranding = _stranding_problems(catalog, args.against)
        if stranding is None:
            return EXIT_USAGE
        problems = sorted([*problems, *stranding], key=lambda p: p.sort_key())
    files = len(catalog.documents)
    if find_root(Path(args.paths[0])) is None:
        # Without the shared registries every agency, office and role looks unknown: say why once.
        print(
            f"tsonkh: note: no service_defs/_shared/ folder above {args.paths[0]}, so the shared registries "
            "and workflow patterns were not read; run the check inside the project",
            file=sys.stderr,
        )
    if args.format == "json":
        print(render_json(problems))
    else:
        if problems:
            print(render_text(problems, catalog.line_of))
        print(summary(problems, len(catalog.services), files))
    failing = [p for p in problems if p.severity == "error" or args.strict]
    return EXIT_PROBLEMS if failing else EXIT_OK


def _stranding_problems(catalog: Catalog, against: str) -> list[Problem] | None:
    """FLOW013 for every non-final state of the previous version that the new one drops without `migrate`."""
    from engine.problems import problem
    from engine.review.git_sides import SideError, load_side
    from engine.review.migration import plan_migration

    try:
        old_side = load_side(against, Path.cwd())
    except SideError as err:
        print(f"tsonkh: {err}", file=sys.stderr)
        return None
    try:
        found = []
        for sid, new in sorted(catalog.services.items()):
            old = old_side.catalog.services.get(sid)
            if old is None:
                continue
            doc = catalog.documents.get(new.source)
            span = doc.span(("workflow",)) if doc is not None else None
            for state in plan_migration(old, new).stranded:
                found.append(problem(
                    "FLOW013",
                    f"state '{state}' of {against} is gone, so cases in it would be stranded",
                    span,
                    f"add under workflow: migrate: {{{state}: <a state of this version>}}",
                ))
        return found
    finally:
        old_side.close()


def cmd_list(args: argparse.Namespace) -> int:
    from engine.catalog import load_catalog
    from engine.report import render_text

    catalog = load_catalog(args.paths)
    if catalog.errors:
        print(render_text(catalog.errors, catalog.line_of), file=sys.stderr)
    for service in sorted(catalog.services.values(), key=lambda s: (s.scope, s.agency, s.id)):
        print(f"{service.scope:9} {service.agency:28} {service.id:45} {service.title.get(args.lang)}")
    counts = {
        scope: sum(1 for s in catalog.services.values() if s.scope == scope) for scope in ("central", "municipal")
    }
    print(f"{len(catalog.services)} services: {counts['central']} central, {counts['municipal']} municipal")
    return EXIT_PROBLEMS if catalog.errors else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.check.format import REGISTRY_FILE, SERVICE, WORKFLOW_PATTERN
    from engine.check.shapes import to_json_schema

    shape = {"service": SERVICE, "workflow": WORKFLOW_PATTERN, "registry": REGISTRY_FILE}[args.kind]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **to_json_schema(shape)}
    print(json.dumps(schema, ensure_ascii=False, indent=2))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
