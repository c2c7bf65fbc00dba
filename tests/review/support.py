"""Build the two sides of a crafted change pair: tests/fixtures/project, then pairs/_base, then the
pair's own old/ or new/ files (a DELETE file lists paths to remove on that side)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from engine.catalog import load_catalog
from engine.review.git_sides import uncompiled_services
from engine.review.semantic_diff import DiffResult, diff_catalogs
from tests.conftest import FIXTURE_PROJECT

HERE = Path(__file__).parent
PAIRS = HERE / "pairs"
GOLDEN = HERE / "golden"
PAIR_NAMES = sorted(p.name for p in PAIRS.iterdir() if p.is_dir() and not p.name.startswith("_"))
_VERSION = re.compile(r"\b[0-9a-f]{16}\b")


def build_side(pair: str, side: str, into: Path) -> Path:
    root = into / side
    shutil.copytree(FIXTURE_PROJECT, root)
    shutil.copytree(PAIRS / "_base", root, dirs_exist_ok=True)
    overlay = PAIRS / pair / side
    if overlay.is_dir():
        shutil.copytree(overlay, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("DELETE"))
        deletions = overlay / "DELETE"
        if deletions.exists():
            for rel in deletions.read_text(encoding="utf-8").split():
                (root / rel).unlink()
    return root


def diff_pair(pair: str, tmp: Path) -> DiffResult:
    sides = []
    for side in ("old", "new"):
        root = build_side(pair, side, tmp)
        catalog = load_catalog([root / "service_defs"], root=root)
        assert catalog.errors == [], (pair, side, [(p.code, p.message) for p in catalog.errors])
        sides.append(catalog)
    old, new = sides
    result = diff_catalogs(old.services, new.services, uncompiled_services(old), uncompiled_services(new))
    result.old_label, result.new_label = "old", "new"
    return result


def stable(text: str) -> str:
    """Version hashes depend on the shared registries of the fixture: goldens do not pin them."""
    return _VERSION.sub("<version>", text)
