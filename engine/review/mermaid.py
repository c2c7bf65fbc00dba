"""Workflow diagrams as text: Mermaid `stateDiagram-v2` (pull requests, the docs site) and Graphviz DOT."""

from __future__ import annotations

import re
from collections.abc import Collection

from engine.compile.workflow import BACK, Workflow

_UNSAFE = re.compile(r"[:;#\"{}<>\[\]|`\n]")


def _label(text: str) -> str:
    """Mermaid has no escaping inside state descriptions: drop the few characters it parses."""
    return _UNSAFE.sub(" ", text).strip()


def _id(state: str) -> str:
    """State ids go in a prefix: `end`, `note` or `state` are words of Mermaid's own syntax."""
    return f"s_{state}"


def state_diagram(
    workflow: Workflow,
    lang: str = "mn",
    added: Collection[str] = (),
    removed: Collection[str] = (),
    changed: Collection[str] = (),
) -> str:
    """A Mermaid state diagram; `added`/`removed`/`changed` name states to colour in a review."""
    lines = ["stateDiagram-v2"]
    lines.append(f"    [*] --> {_id(workflow.initial)}")
    for name, state in workflow.states.items():
        detail = []
        if state.role:
            detail.append(state.role)
        if state.sla_days:
            detail.append(f"{state.sla_days}{'х' if lang == 'mn' else 'd'}")
        extra = f" ({', '.join(detail)})" if detail else ""
        lines.append(f"    {_id(name)} : {_label(state.label.get(lang))}{extra}")
    for t in workflow.transitions:
        for source in t.sources:
            for target in workflow.targets(t, source):
                arrow = " ↩" if t.target == BACK else ""
                lines.append(f"    {_id(source)} --> {_id(target)} : {_label(t.label.get(lang))}{arrow}")
    for name in workflow.finals():
        lines.append(f"    {_id(name)} --> [*]")
    for css, names in (("added", added), ("removed", removed), ("changed", changed)):
        present = sorted(n for n in names if n in workflow.states)  # sorted: a stable text for goldens
        if present:
            lines.append(f"    classDef {css} {_STYLES[css]}")
            lines.extend(f"    class {_id(n)} {css}" for n in present)
    return "\n".join(lines)


_STYLES = {
    "added": "fill:#d4f7d4,stroke:#2a7a2a",
    "removed": "fill:#f9d0d0,stroke:#a33,stroke-dasharray: 4 2",
    "changed": "fill:#fff2c4,stroke:#a07b00",
}


def dot_source(workflow: Workflow, lang: str = "mn") -> str:
    """The same graph for Graphviz `dot` (the docs site renders SVG when dot is installed)."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph workflow {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="sans-serif"];']
    lines.append('  __start [shape=point, label=""];')
    lines.append(f"  __start -> {quote(workflow.initial)};")
    for name, state in workflow.states.items():
        shape = ", peripheries=2" if state.final else ""
        lines.append(f"  {quote(name)} [label={quote(state.label.get(lang))}{shape}];")
    for t in workflow.transitions:
        for source in t.sources:
            for target in workflow.targets(t, source):
                style = ", style=dashed" if t.target == BACK else ""
                lines.append(f"  {quote(source)} -> {quote(target)} [label={quote(t.label.get(lang))}{style}];")
    lines.append("}")
    return "\n".join(lines)
