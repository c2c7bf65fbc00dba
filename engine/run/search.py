"""Catalog search that forgives the script: Cyrillic and Latin spellings of Mongolian words meet.

Both the query and each service's texts are folded to one Latin key (transliterate Cyrillic,
lower-case, unify kh/h, ö/o, ü/u, drop doubled letters), so "gerchilgee", "gerchilge" and
"гэрчилгээ" find the same service.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from engine.compile.service import Service

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ү": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "",
    "ы": "i", "ь": "i", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_WORD = re.compile(r"[\w-]+", re.UNICODE)


def fold(text: str) -> str:
    """One comparable Latin key for text written in either script."""
    out = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        out.append(_CYRILLIC.get(ch, ch))
    latin = unicodedata.normalize("NFKD", "".join(out))
    latin = "".join(ch for ch in latin if not unicodedata.combining(ch))
    latin = latin.replace("kh", "h").replace("ts", "c").replace("y", "i")
    return re.sub(r"(.)\1+", r"\1", latin)  # doubled vowels: "gerchilgee" ~ "gerchilge"


@dataclass(frozen=True)
class Hit:
    service: Service
    score: int


def service_text(service: Service) -> str:
    parts: list[str] = [service.id, service.title.mn, service.title.en, service.summary.mn, service.summary.en]
    for words in service.keywords.values():
        parts.extend(words)
    return " ".join(parts)


class SearchIndex:
    def __init__(self, services: Iterable[Service]) -> None:
        self.entries = [(s, fold(s.title.mn + " " + s.title.en), fold(service_text(s))) for s in services]

    def search(self, query: str) -> list[Service]:
        terms = [fold(w) for w in _WORD.findall(query or "")]
        terms = [t for t in terms if t]
        if not terms:
            return []
        hits = []
        for service, title, everything in self.entries:
            if not all(t in everything for t in terms):
                continue
            score = sum(3 if t in title else 1 for t in terms)
            hits.append(Hit(service, score))
        hits.sort(key=lambda h: (-h.score, h.service.title.mn))
        return [h.service for h in hits]
