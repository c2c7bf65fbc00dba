"""`python -m bench [--quick] [--only FIGURE ...] [--out PATH]`: run the figures and write the report.

A full run writes docs/benchmarks.md; `--quick` (small inputs, few samples) and `--only` print
the report instead unless `--out` is given, so a smoke run never overwrites the real figures.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.harness import Section
from bench.report import MARKER, NOTES, markdown

FIGURES = {
    "start": "bench.fig_start",
    "validate": "bench.fig_validate",
    "render": "bench.fig_render",
    "http": "bench.fig_http",
    "workflow": "bench.fig_workflow",
    "scale": "bench.fig_scale",
}
REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs and few samples: a smoke run")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), help="run only these figures")
    parser.add_argument("--out", type=Path, help="where to write the Markdown (default: docs/benchmarks.md)")
    parser.add_argument("--notes", action="store_true",
                        help="only put the current bench/notes.md above the tables already in docs/benchmarks.md")
    args = parser.parse_args(args_list)
    if args.notes:
        return renote(args.out or REPO / "docs" / "benchmarks.md")
    os.chdir(REPO)  # the catalog and its display names are relative to the project folder
    chosen = args.only or list(FIGURES)
    out = args.out or (None if args.quick or args.only else REPO / "docs" / "benchmarks.md")
    started = time.perf_counter()
    sections: list[Section] = []
    facts: dict[str, str] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="tsonkh-bench-") as scratch:
        for number, key in enumerate(FIGURES, 1):
            if key not in chosen:
                continue
            print(f"[bench] {number}. {key} …", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            module = importlib.import_module(FIGURES[key])
            try:
                section = module.run(quick=args.quick, scratch=Path(scratch), facts=facts)
            except Exception:  # one broken figure must not lose the others' numbers
                failed = True
                section = Section(str(number), key, text=["```\n" + traceback.format_exc() + "```"])
                traceback.print_exc()
            section.figure = str(number)
            sections.append(section)
            print(f"[bench] {key} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    text = markdown(sections, facts, args_list, time.perf_counter() - started)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"[bench] wrote {out}", file=sys.stderr)
    return 1 if failed else 0


def renote(path: Path) -> int:
    """Replace the hand-written part of an existing report, keeping its measurements untouched."""
    text = path.read_text(encoding="utf-8")
    if MARKER not in text:
        print(f"[bench] {path} has no generated part: run the suite first", file=sys.stderr)
        return 1
    path.write_text(NOTES.read_text(encoding="utf-8").rstrip() + "\n\n" + text[text.index(MARKER):], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
