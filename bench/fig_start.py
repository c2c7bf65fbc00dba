"""Figure 1: cold start, warm start from the compile cache, and hot reload of one edited file.

Baseline: only `yaml.load(..., Loader=CSafeLoader)` of the very same files (bytes read in both).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import yaml

from bench.harness import Section, row, timed
from engine.catalog import _find_files, load_catalog
from engine.load.yaml_source import load_document

CATALOG = ["service_defs"]


def _parse_all(files: list[Path]) -> None:
    for path in files:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def run(quick: bool, scratch: Path, facts: dict[str, str]) -> Section:
    section = Section("1", "Start: cold, warm (compile cache), hot reload")
    found, _ = _find_files(CATALOG, None)
    files = list(found.values())
    repeat = 1 if quick else 7
    baseline = "CSafeLoader parse, all files"
    rows = section.rows
    rows.append(timed("1", baseline, lambda: _parse_all(files), "ms", repeat))
    rows.append(timed("1", "our loader only (values + source map), all files",
                      lambda: [load_document(p, n) for n, p in found.items()], "ms", repeat, baseline=baseline))
    cold = load_catalog(CATALOG)
    rows.append(timed("1", "cold start: load + check + compile all", lambda: load_catalog(CATALOG), "ms", repeat,
                      baseline=baseline, target="≤ 2×"))
    cache = scratch / "compile-cache"
    load_catalog(CATALOG, cache=cache)  # fills the cache
    rows.append(timed("1", "warm start from the compile cache", lambda: load_catalog(CATALOG, cache=cache), "ms",
                      repeat, baseline=baseline, target="≤ 0.1×",
                      note="services compiled on first use; problems, registries, patterns from the manifest"))
    rows.append(timed("1", "warm start, then every service built (what the portal's search index does)",
                      lambda: list(load_catalog(CATALOG, cache=cache).services.values()), "ms", repeat,
                      baseline=baseline))
    shutil.rmtree(cache, ignore_errors=True)

    largest = max(cold.services.values(), key=lambda s: Path(s.source).stat().st_size)
    one = f"CSafeLoader parse of {Path(largest.source).name}"
    rows.append(timed("1", one, lambda: _parse_all([Path(largest.source)]), "ms", repeat * 3))
    # Reload edits a file, so it works on a copy of the project: the real catalog is never touched.
    project = scratch / "reload-project"
    for folder in ("service_defs", "workflows"):
        shutil.copytree(folder, project / folder)
    here = Path.cwd()
    samples = []
    try:
        os.chdir(project)
        catalog = load_catalog(CATALOG)
        path = Path(largest.source)
        original = path.read_text(encoding="utf-8")
        for index in range(repeat * 3):
            # An edit that changes the content hash, so nothing can be reused by accident.
            path.write_text(original + f"\n# edit {index}\n", encoding="utf-8")
            t0 = time.thread_time()
            catalog.reload(path)
            samples.append(time.thread_time() - t0)
    finally:
        os.chdir(here)
        shutil.rmtree(project, ignore_errors=True)
    rows.append(row("1", f"hot reload of {path.name} (Catalog.reload)", samples, "ms", baseline=one, target="≤ 3×"))
    size = sum(p.stat().st_size for p in files) / 1e6
    facts["catalog"] = f"{len(cold.services)} services, {len(files)} YAML files, {size:.2f} MB"
    section.text.append(
        f"Reload measured on the largest service file ({path}, {path.stat().st_size / 1000:.0f} kB); "
        "a copy of the project is edited (a trailing comment, so the content hash changes) before each reload."
    )
    return section
