"""The git textconv driver: one service file → a canonical, line-per-fact text of its resolved meaning.

With `service_defs/**/*.yaml diff=tsonkh` in .gitattributes and
`git config diff.tsonkh.textconv "tsonkh diff --textconv"`, `git diff` and `git log -p` compare
these renderings, so re-indenting shows nothing and a change in a shared field group or workflow
pattern shows in the services that use it (resolved against the working tree's registries).
"""

from __future__ import annotations

from pathlib import Path

from engine.catalog import find_root, load_catalog
from engine.compile.model import I18n
from engine.compile.service import Service
from engine.review.facts import option_name, service_facts, show


def render_service(service: Service) -> str:
    lines = [f"# tsonkh semantic view of service {service.id} (shared groups and workflow pattern resolved)"]
    for (kind, ident), attrs in service_facts(service).items():
        lines.append(f"{kind} {ident or (service.id if kind == 'service' else '')}".rstrip())
        for attr, value in attrs.items():
            if attr == "position" or value is None or value == () or value == {}:
                continue
            if value is False and attr != "required":  # switches that are off say nothing
                continue
            if attr == "options":
                for key, label in value.items():
                    lines.append(f"  option {option_name(key)}: {label.mn} / {label.en}")
                continue
            if isinstance(value, I18n):
                lines.append(f"  {attr}.mn: {value.mn}")
                lines.append(f"  {attr}.en: {value.en}")
                continue
            if isinstance(value, dict):
                for key, item in value.items():
                    lines.append(f"  {attr} {key}: {show(item, 'mn')} / {show(item, 'en')}")
                continue
            if isinstance(value, tuple) and value and isinstance(value[0], tuple):
                for item in value:
                    lines.append(f"  {attr}: " + " | ".join(_one(v) for v in item))
                continue
            lines.append(f"  {attr}: {_one(value)}")
    return "\n".join(lines) + "\n"


def _one(value: object) -> str:
    if isinstance(value, I18n):
        return f"{value.mn} / {value.en}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_one(v) for v in value) + "]"
    return show(value, "en")


def textconv(file: str | Path, cwd: Path | None = None) -> str:
    """The semantic rendering of `file`; its own text when it is not a service that compiles
    (a registry, a pattern, or a broken file), so that git still shows something useful."""
    path = Path(file)
    root = find_root(path) or find_root(cwd or Path.cwd())
    text = path.read_text(encoding="utf-8", errors="replace")
    if root is None:
        return text
    catalog = load_catalog([path], root=root)
    found = [s for s in catalog.services.values() if Path(s.source).resolve() == path.resolve()]
    if len(found) != 1:
        return text
    return render_service(found[0])
