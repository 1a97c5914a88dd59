"""Which conditions a question is about: evidence-map synonyms, then fuzzy matching for typos."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from stemchat.corpus.models import EvidenceMap

_NON_WORD = re.compile(r"[^a-z0-9]+")
FUZZY_MIN_LEN = 5


def normalize(text: str) -> str:
    """Lowercase ASCII words separated by single spaces ("Crohn's" -> "crohn s" -> "crohns")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("'", "").replace("’", "")
    return _NON_WORD.sub(" ", text).strip()


@dataclass(frozen=True)
class Mention:
    """A condition found in a question, with the span of normalized words that named it."""

    condition: str
    phrase: str
    start: int
    end: int
    fuzzy: bool = False


class ConditionDetector:
    """Find evidence-map conditions in free text."""

    def __init__(self, evidence: EvidenceMap) -> None:
        self.evidence = evidence

    @cached_property
    def _phrases(self) -> dict[str, set[str]]:
        phrases: dict[str, set[str]] = {}
        for cond in self.evidence.conditions.values():
            for raw in [cond.name, cond.id.replace("-", " "), *cond.synonyms]:
                phrase = normalize(raw)
                if phrase:
                    phrases.setdefault(phrase, set()).add(cond.id)
        return phrases

    @cached_property
    def _fuzzy_choices(self) -> list[str]:
        return [p for p in self._phrases if len(p) >= FUZZY_MIN_LEN]

    def mentions(self, text: str) -> list[Mention]:
        words = normalize(text).split()
        found: list[Mention] = []
        max_len = max((len(p.split()) for p in self._phrases), default=1)
        for size in range(min(max_len, len(words)), 0, -1):
            for start in range(0, len(words) - size + 1):
                gram = " ".join(words[start : start + size])
                owners = self._phrases.get(gram)
                if owners:
                    found.extend(Mention(c, gram, start, start + size) for c in sorted(owners))
                elif len(gram) >= FUZZY_MIN_LEN and size <= 4:
                    allowed = 1 if len(gram) < 9 else 2
                    match = process.extractOne(
                        gram, self._fuzzy_choices, scorer=Levenshtein.distance, score_cutoff=allowed
                    )
                    if match and match[0][0] == gram[0]:
                        found.extend(
                            Mention(c, match[0], start, start + size, fuzzy=True)
                            for c in sorted(self._phrases[match[0]])
                        )
        return _longest_spans(found)

    def detect(self, text: str) -> list[str]:
        """Condition ids in order of first mention, without repeats."""
        ordered: list[str] = []
        for m in sorted(self.mentions(text), key=lambda m: (m.start, -m.end)):
            if m.condition not in ordered:
                ordered.append(m.condition)
        return ordered


def _longest_spans(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention whose span lies strictly inside a longer mention of another condition."""
    exact_first = sorted(mentions, key=lambda m: (m.fuzzy, -(m.end - m.start)))
    kept: list[Mention] = []
    for m in exact_first:
        inside = any(
            k.start <= m.start and m.end <= k.end and (k.end - k.start) > (m.end - m.start)
            for k in kept
        )
        overlapped_by_exact = m.fuzzy and any(
            not k.fuzzy and k.start < m.end and m.start < k.end for k in kept
        )
        if not inside and not overlapped_by_exact:
            kept.append(m)
    return kept
