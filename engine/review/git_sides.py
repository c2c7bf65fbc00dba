"""Turn the two sides of `tsonkh diff` (files, folders or git revisions) into loaded catalogs.

A git revision is materialised with `git archive` into a temporary folder — only service_defs/
and workflows/ — so the user's working tree and index are never touched.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.catalog import Catalog, find_root, load_catalog
from engine.compile.service import Service

PROJECT_DIRS = ("service_defs", "workflows")


class SideError(Exception):
    """A side that is neither an existing path nor a revision git knows."""


@dataclass
class Side:
    label: str
    catalog: Catalog
    uncompiled: set[str] = field(default_factory=set)  # service ids whose file exists but did not compile
    partial: bool = False  # some files of a catalog, not all of it: the other side is narrowed to match
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _git(args: list[str], cwd: Path) -> bytes:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if done.returncode != 0:
        raise SideError(done.stderr.decode("utf-8", "replace").strip() or f"git {' '.join(args)} failed")
    return done.stdout


def git_toplevel(cwd: Path) -> Path | None:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd).decode().strip())
    except (SideError, FileNotFoundError):
        return None


def is_revision(spec: str, cwd: Path) -> bool:
    try:
        _git(["rev-parse", "--verify", "--quiet", spec + "^{commit}"], cwd)
        return True
    except (SideError, FileNotFoundError):
        return False


def split_range(spec: str, cwd: Path) -> tuple[str, str] | None:
    """`a..b` → (a, b); `a...b` → (merge-base, b), as `git diff` reads them."""
    if "..." in spec:
        left, right = spec.split("...", 1)
        right = right or "HEAD"
        base = _git(["merge-base", left or "HEAD", right], cwd).decode().strip()
        return base, right
    if ".." in spec:
        left, right = spec.split("..", 1)
        return left or "HEAD", right or "HEAD"
    return None


def uncompiled_services(catalog: Catalog) -> set[str]:
    """Ids of service files that were read but did not compile: not to be mistaken for removals."""
    ids = set()
    for doc in catalog.documents.values():
        data = doc.data
        if isinstance(data, dict) and "sections" in data and isinstance(data.get("id"), str):
            ids.add(data["id"])
    return ids - set(catalog.services)


def load_path_side(spec: str) -> Side:
    path = Path(spec)
    catalog = load_catalog([path])
    root = find_root(path)
    whole = root is not None and path.resolve() in (root.resolve(), (root / "service_defs").resolve())
    return Side(spec, catalog, uncompiled_services(catalog), partial=not whole)


def narrowed(old: Side, new: Side) -> tuple[dict[str, Service], dict[str, Service]]:
    """The services to compare. When one side is a few files (`tsonkh diff main some/file.yaml`),
    the other side keeps only those services, so the rest of the catalog does not read as removed."""
    before, after = dict(old.catalog.services), dict(new.catalog.services)
    if old.partial and not new.partial:
        keep = set(before) | old.uncompiled
        after = {k: v for k, v in after.items() if k in keep}
    elif new.partial and not old.partial:
        keep = set(after) | new.uncompiled
        before = {k: v for k, v in before.items() if k in keep}
    return before, after


def load_revision_side(rev: str, project: Path) -> Side:
    """Extract the project's service_defs/ and workflows/ at `rev` and load them."""
    top = git_toplevel(project)
    if top is None:
        raise SideError(f"'{rev}' is not a file or folder, and {project} is not in a git repository")
    prefix = project.resolve().relative_to(top.resolve())
    wanted = []
    for name in PROJECT_DIRS:
        inside = (prefix / name).as_posix()
        listing = _git(["ls-tree", "--name-only", rev, inside + "/"], top)
        if listing.strip():
            wanted.append(inside)
    tmp = tempfile.TemporaryDirectory(prefix="tsonkh-diff-")
    root = Path(tmp.name)
    if wanted:
        archive = _git(["archive", "--format=tar", rev, "--", *wanted], top)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(root, filter="data")
    project_root = root / prefix
    (project_root / "service_defs" / "_shared").mkdir(parents=True, exist_ok=True)
    catalog = load_catalog([project_root / "service_defs"], root=project_root)
    return Side(rev, catalog, uncompiled_services(catalog), _tmp=tmp)


def load_side(spec: str, project: Path) -> Side:
    if Path(spec).exists():
        return load_path_side(spec)
    if is_revision(spec, project):
        return load_revision_side(spec, project)
    raise SideError(f"'{spec}' is neither a file, a folder nor a git revision")


def resolve_sides(specs: list[str], cwd: Path | None = None) -> tuple[Side, Side]:
    """One or two specs, as `git diff` takes them:
    - `A B`: each a path or a revision;
    - `A..B` or `A...B`: two revisions;
    - `A` alone: revision A against the working tree's service_defs/.
    """
    cwd = cwd or Path.cwd()
    project = find_root(cwd) or cwd
    if len(specs) == 2:
        old = load_side(specs[0], project)
        try:
            return old, load_side(specs[1], project)
        except Exception:
            old.close()
            raise
    if len(specs) != 1:
        raise SideError("give one or two sides: OLD NEW, OLD..NEW or a revision to compare with the working tree")
    spec = specs[0]
    if not Path(spec).exists():
        pair = split_range(spec, project) if ".." in spec else None
        if pair is not None:
            old = load_revision_side(pair[0], project)
            try:
                new = load_revision_side(pair[1], project)
            except Exception:
                old.close()
                raise
            old.label, new.label = pair[0], pair[1]
            if "..." in spec:
                old.label = f"merge-base({spec.split('...')[0] or 'HEAD'})"
            return old, new
    old = load_side(spec, project)
    working = load_path_side(str(project / "service_defs"))
    working.label = "working tree"
    return old, working
