"""Bilingual notice texts: the default templates in renderers/messages, or the text a workflow effect declares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2.sandbox import SandboxedEnvironment

MESSAGES = Path(__file__).resolve().parents[3] / "renderers" / "messages" / "notifications.yaml"
LANGS = ("mn", "en")
_env = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True)
class Notice:
    """One notice in both languages; a channel picks the recipient's language."""

    event: str
    subject: Mapping[str, str]
    body: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        return {"event": self.event, "subject": dict(self.subject), "body": dict(self.body)}


@lru_cache(maxsize=1)
def templates() -> Mapping[str, Any]:
    data: Mapping[str, Any] = yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _env.from_string(source)


def _render(source: str, context: Mapping[str, Any]) -> str:
    return str(_compiled(source).render(**context)).strip()


def compose(event: str, context: Mapping[str, Mapping[str, Any]], body: Mapping[str, str] | None = None) -> Notice:
    """Render `event`'s subject and body per language; `context[lang]` holds that language's values."""
    spec = templates().get(event) or templates()["transition"]
    subject = {lang: _render(spec["subject"][lang], context[lang]) for lang in LANGS}
    source = body or spec["body"]
    text = {lang: _render(source.get(lang) or source.get("mn", ""), context[lang]) for lang in LANGS}
    return Notice(event, subject, text)
