"""Answer types and the grounded extractive answerer: tier lines, cited sentences, disclaimer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from stemchat.corpus.models import Condition
from stemchat.retrieval import Passage
from stemchat.texts import disclaimer, tier_description
from stemchat.understanding import normalize

SAFETY_CLASSES = ("none", "emergency", "crisis", "personal_advice", "out_of_scope", "injection")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "stem",
        "cell",
        "cells",
        "therapy",
        "treatment",
        "treatments",
    ]
)


@dataclass(frozen=True)
class EvidenceLine:
    """The tier statement for one condition."""

    condition: str
    condition_name: str
    tier: str
    tier_label: str
    tier_note: str
    as_of: str

    @classmethod
    def from_condition(cls, c: Condition) -> EvidenceLine:
        return cls(c.id, c.name, c.tier.value, c.tier_label, c.tier_note, c.as_of)

    @classmethod
    def not_covered(cls, name: str) -> EvidenceLine:
        slug = normalize(name).replace(" ", "-") or "unknown"
        return cls(slug, name, "not_covered", "Not covered by stemchat's sources", "", "")

    def sentence(self) -> str:
        """The tier statement shown first in every answer about this condition."""
        label = self.tier_label.rstrip(". ") or tier_description(self.tier)
        when = f" (as of {self.as_of})" if self.as_of else ""
        note = f" {self.tier_note.strip()}" if self.tier_note.strip() else ""
        return f"**Evidence tier for {self.condition_name}: {self.tier}** — {label}{when}.{note}"


@dataclass(frozen=True)
class Citation:
    """A numbered marker [n] and the passage it opens."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str
    passage: str
    kind: str = ""
    date: str = ""
    heading: str = ""


@dataclass
class Answer:
    """One turn's answer; `to_json` is the public `ask --json` contract."""

    question: str
    answer: str
    evidence: list[EvidenceLine] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    safety: str = "none"
    disclaimer: str = field(default_factory=disclaimer)
    conditions: list[str] = field(default_factory=list)
    intent: str = "evidence"
    answered_by: str = "extractive"

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "evidence": [asdict(e) for e in self.evidence],
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "chunk_id": c.chunk_id,
                    "title": c.title,
                    "url": c.url,
                    "passage": c.passage,
                    "kind": c.kind,
                    "date": c.date,
                }
                for c in self.citations
            ],
            "safety": self.safety,
            "disclaimer": self.disclaimer,
            "conditions": list(self.conditions),
            "intent": self.intent,
            "answered_by": self.answered_by,
        }


def paragraphs(passage_text: str) -> list[str]:
    """Join hard-wrapped lines into paragraphs; each list item is its own paragraph."""
    out: list[str] = []
    current: list[str] = []
    for raw in passage_text.split("\n"):
        line = raw.strip()
        is_item = bool(re.match(r"^([-*•]|\d+[.)])\s+", line))
        if line.startswith("|"):
            line = ""  # tables do not survive as sentences
        if not line or line.startswith("#") or is_item:
            if current:
                out.append(" ".join(current))
            current = [re.sub(r"^([-*•]|\d+[.)])\s+", "", line)] if is_item else []
            continue
        current.append(line)
    if current:
        out.append(" ".join(current))
    return [p for p in out if p]


_LEAD_IN = re.compile(r"^\*\*[^*]{1,100}\*\*:?\s+(?=\S)")
_ANAPHORIC = re.compile(
    r"^(?:so|this|that|these|those|it|they|such|also|but|and|or|whether|here|there|even so|"
    r"however|instead|still|yet|in that|as a result|both|neither|either)\b",
    re.I,
)
_XREF = re.compile(r"\s*\(see (?:[a-z0-9]+-)+[a-z0-9]+\)")
EXPANSIONS = {
    "dose": "dose dosage million cells per kg kilogram infusion infusions twice weekly given",
    "dosage": "dose dosage million cells per kg kilogram infusion infusions twice weekly given",
    "cost": "cost costs price prices paid pay dollars refund insurance",
    "price": "cost costs price prices paid pay dollars refund insurance",
    "approved": "approved approval authorisation authorization licensed withdrawn withdrew conditional",
    "approval": "approved approval authorisation authorization licensed withdrawn withdrew conditional",
    "risk": "risk risks side effects serious adverse infection infections death deaths harm",
    "safe": "risk risks side effects serious adverse infection infections death deaths harm safety",
    "work": "found results result improved benefit remission response placebo did not goal",
    "help": "found results result improved benefit remission response placebo did not goal",
}


def _looks_like_instructions(sentence: str) -> bool:
    from stemchat.safety import _injection

    return bool(_injection(sentence))


def _forbidden(sentence: str) -> bool:
    from stemchat.safety import forbidden_statements

    return bool(forbidden_statements(sentence))


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?>")
_IMAGE_MD = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_MD = re.compile(r"\[([^\]]+)\]\(([^)]*)\)")
_HIDDEN = re.compile(r"[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


@lru_cache(maxsize=4096)
def clean_passage(text_: str) -> str:
    """A cited passage as a patient may see it: no HTML tags, images, links or hidden characters,
    and no sentence that addresses an assistant (the citation keeps the source's own URL).

    Cached: the same passages come back answer after answer, and the instruction check is the
    costly part of composing one."""
    text_ = _HIDDEN.sub("", text_)
    text_ = _IMAGE_MD.sub(lambda m: m.group(1), text_)
    text_ = _LINK_MD.sub(lambda m: m.group(1), text_)
    text_ = _TAG.sub("", text_)
    kept = []
    for line in text_.split("\n"):
        parts = [part for part in _SENTENCE.split(line) if not _looks_like_instructions(part)]
        kept.append(" ".join(parts).rstrip())
    return "\n".join(kept).strip()


def sentences(passage_text: str) -> list[str]:
    """Split a passage body into whole, self-contained sentences (no bold lead-ins or labels)."""
    out: list[str] = []
    for para in paragraphs(clean_passage(passage_text)):
        for raw in _SENTENCE.split(para):
            sent = _XREF.sub("", _LEAD_IN.sub("", raw.strip())).strip()
            if len(sent) < 40 or sent.endswith((":", "?")) or len(sent.split()) < 7:
                continue
            if not (sent[0].isupper() or sent[0].isdigit() or sent[0] in "\"'"):
                continue  # a fragment cut from a list
            if sent.startswith("**") and ":**" in sent[:60]:
                continue  # a label followed by a list, meaningless without its heading
            if _looks_like_instructions(sent):
                continue  # corpus text is data: never repeat text that addresses the assistant
            if _forbidden(sent):
                continue  # a dose, "stop your medicine" or a cure claim: the guard would refuse it
            out.append(sent)
    return out


def _terms(text_: str) -> set[str]:
    return {w[:6] for w in normalize(text_).split() if w not in _STOP and len(w) > 2}


NEGATIVE_CUES = re.compile(
    r"\b(?:did not|didn'?t|no (?:clear |real |added |significant )?(?:benefit|difference|effect|improvement)|"
    r"not (?:better|significant|meet|met|show|shown)|failed|missed|no better|stopped early|halted|withdrawn|"
    r"negative|futility|no evidence|not approved|unproven|retract)",
    re.I,
)


_RETRIEVAL_EXPANSIONS = ("dose", "dosage")


def expand_query(query: str) -> str:
    """Add the words sources use for what patients ask ("dose" -> "million cells per kilogram")."""
    words = set(normalize(query).split())
    extra = [EXPANSIONS[w] for w in _RETRIEVAL_EXPANSIONS if w in words]
    return f"{query} {' '.join(extra)}" if extra else query


def pick_sentences(
    question: str,
    passages: Sequence[Passage],
    conditions: Sequence[Condition],
    limit: int = 5,
    *,
    extra_terms: str = "",
    want_negative: bool = False,
    per_passage: int = 2,
) -> list[tuple[str, Passage]]:
    """Choose the sentences that best answer the question; keep a null or negative result if any."""
    q_terms = _terms(question) | _terms(extra_terms)
    for word in normalize(question).split():
        if word in EXPANSIONS:
            q_terms |= _terms(EXPANSIONS[word])
    for c in conditions:
        q_terms |= _terms(c.name)
    scored: list[tuple[float, int, int, str, Passage]] = []
    for rank, passage in enumerate(passages):
        for pos, sent in enumerate(sentences(passage.body)):
            overlap = len(q_terms & _terms(sent))
            # with no shared words, the opening sentences of the best passages still count
            score = (
                1.0 + overlap + (0.5 if re.search(r"\d", sent) else 0.0) - 0.15 * rank - 0.05 * pos
            )
            if _ANAPHORIC.match(sent):
                score -= 1.0
            if sent.endswith("?"):
                score -= 1.5
            if want_negative and NEGATIVE_CUES.search(sent):
                score += 0.75
            scored.append((score, rank, pos, sent, passage))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    chosen: list[tuple[int, int, str, Passage]] = []
    counts: dict[str, int] = {}
    seen: set[str] = set()

    def take(item: tuple[float, int, int, str, Passage]) -> bool:
        score, rank, pos, sent, passage = item
        key = normalize(sent)
        if key in seen or counts.get(passage.chunk_id, 0) >= per_passage or score <= 0:
            return False
        seen.add(key)
        counts[passage.chunk_id] = counts.get(passage.chunk_id, 0) + 1
        chosen.append((rank, pos, sent, passage))
        return True

    for item in scored:
        if len(chosen) >= limit:
            break
        take(item)
    if want_negative and chosen and not any(NEGATIVE_CUES.search(s) for _, _, s, _ in chosen):
        negative = next((i for i in scored if NEGATIVE_CUES.search(i[3]) and i[0] > 0), None)
        if negative is not None:
            if len(chosen) >= limit:
                chosen.pop()
            take(negative)
    chosen.sort(key=lambda t: (t[0], t[1]))
    return [(s, p) for _, _, s, p in chosen]


class CitationBook:
    """Numbers passages in the order they are first cited."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_chunk: dict[str, int] = {}

    def marker(self, p: Passage) -> int:
        if p.chunk_id not in self._by_chunk:
            self._by_chunk[p.chunk_id] = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=self._by_chunk[p.chunk_id],
                    doc_id=p.doc_id,
                    chunk_id=p.chunk_id,
                    title=p.title,
                    url=p.url,
                    passage=clean_passage(p.body),
                    kind=p.kind,
                    date=p.date,
                    heading=p.heading,
                )
            )
        return self._by_chunk[p.chunk_id]
