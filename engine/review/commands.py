"""The `tsonkh diff` and `tsonkh docs` sub-commands: argument parsing and exit codes only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "diff",
        help="semantic diff of service definitions (files, folders or git revisions)",
        description=(
            "Compare the compiled services of two sides. Each side is a file, a folder or a git revision: "
            "`tsonkh diff main HEAD`, `tsonkh diff main..feature`, `tsonkh diff HEAD~1` (against the working tree)."
        ),
    )
    parser.add_argument("sides", nargs="*", help="OLD NEW, OLD..NEW, OLD...NEW, or one revision")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--lang", choices=("mn", "en"), default="mn")
    parser.add_argument(
        "--fail-on",
        choices=("breaking", "breaking-cases", "breaking-drafts", "behaviour", "any"),
        default=None,
        help="exit 1 when changes of this impact (or worse) remain after migrations",
    )
    parser.add_argument("--database", metavar="URL", help="count the drafts and cases in flight each change affects")
    parser.add_argument("--service", action="append", metavar="ID", help="only these services (repeatable)")
    parser.add_argument("--textconv", metavar="FILE", help="print the semantic rendering of one file (git driver)")
    parser.set_defaults(handler=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    if args.textconv:
        from engine.review.textconv import textconv

        sys.stdout.write(textconv(args.textconv))
        return EXIT_OK
    from engine.review.git_sides import SideError, narrowed, resolve_sides
    from engine.review.render_diff import render_json, render_markdown, render_text, t
    from engine.review.semantic_diff import diff_catalogs

    if not args.sides:
        print("tsonkh diff: give OLD NEW, OLD..NEW, or a revision", file=sys.stderr)
        return EXIT_USAGE
    try:
        old, new = resolve_sides(list(args.sides))
    except SideError as err:
        print(f"tsonkh diff: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        before, after = narrowed(old, new)
        result = diff_catalogs(before, after, old.uncompiled, new.uncompiled)
        result.old_label, result.new_label = old.label, new.label
        if args.service:
            wanted = set(args.service)
            result.changes = [c for c in result.changes if c.service in wanted or c.before in wanted]
        for side in (old, new):
            for sid in sorted(side.uncompiled):
                result.warnings.append(
                    f"{side.label}: {sid} does not compile (run tsonkh check); not compared"
                    if args.lang == "en"
                    else f"{side.label}: {sid} хөрвүүлэгдэхгүй байна (tsonkh check ажиллуулна уу); харьцуулаагүй"
                )
        if args.database:
            from engine.review.impact import ImpactError, count_impact

            try:
                result = count_impact(result, args.database)
            except ImpactError as err:
                print(f"tsonkh diff: {err}", file=sys.stderr)
                return EXIT_USAGE
        if args.format == "json":
            print(render_json(result))
        elif args.format == "markdown":
            print(render_markdown(result, args.lang), end="")
        else:
            print(render_text(result, args.lang))
        if args.fail_on:
            failing = result.unmigrated_breaking(args.fail_on)
            if failing:
                print(t("fail", args.lang, n=len(failing), level=args.fail_on), file=sys.stderr)
                return EXIT_FAIL
        return EXIT_OK
    finally:
        old.close()
        new.close()


def register_docs(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("docs", help="write the bilingual static documentation site of the catalog")
    parser.add_argument("out", help="output folder, e.g. site/")
    parser.add_argument("paths", nargs="*", default=["service_defs"], help="files or folders (default service_defs)")
    parser.add_argument("--no-svg", action="store_true", help="skip Graphviz SVG even when dot is installed")
    parser.set_defaults(handler=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    from engine.catalog import load_catalog
    from engine.review.docs_site import write_site

    for p in args.paths:
        if not Path(p).exists():
            print(f"tsonkh docs: no such file or folder: {p}", file=sys.stderr)
            return EXIT_USAGE
    catalog = load_catalog(args.paths)
    if catalog.errors:
        print(
            f"tsonkh docs: {len(catalog.errors)} error(s) in the definitions; "
            "services that do not compile are left out (run tsonkh check)",
            file=sys.stderr,
        )
    written = write_site(catalog, Path(args.out), svg=not args.no_svg)
    print(f"{written.pages} page(s), {written.services} service(s) → {args.out}")
    return EXIT_OK
