"""Answer types and the grounded extractive answerer: tier lines, cited sentences, disclaimer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from stemchat.corpus.models import Condition
from stemchat.retrieval import Passage
from stemchat.texts import disclaimer, text, tier_description
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
        }


def paragraphs(passage_text: str) -> list[str]:
    """Join hard-wrapped lines into paragraphs; each list item is its own paragraph."""
    out: list[str] = []
    current: list[str] = []
    for raw in passage_text.split("\n"):
        line = raw.strip()
        is_item = bool(re.match(r"^([-*•]|\d+[.)])\s+", line))
        if not line or line.startswith("#") or is_item:
            if current:
                out.append(" ".join(current))
            current = [re.sub(r"^([-*•]|\d+[.)])\s+", "", line)] if is_item else []
            continue
        current.append(line)
    if current:
        out.append(" ".join(current))
    return [p for p in out if p]


def sentences(passage_text: str) -> list[str]:
    """Split a passage body into whole sentences."""
    out: list[str] = []
    for para in paragraphs(passage_text):
        out.extend(s.strip() for s in _SENTENCE.split(para) if len(s.strip()) > 25)
    return out


def _terms(text_: str) -> set[str]:
    return {w[:6] for w in normalize(text_).split() if w not in _STOP and len(w) > 2}


def pick_sentences(
    question: str,
    passages: Sequence[Passage],
    conditions: Sequence[Condition],
    limit: int = 5,
) -> list[tuple[str, Passage]]:
    """Choose the sentences that best answer the question, at most two per passage."""
    q_terms = _terms(question)
    for c in conditions:
        q_terms |= _terms(c.name)
    scored: list[tuple[float, int, int, str, Passage]] = []
    for rank, passage in enumerate(passages):
        for pos, sent in enumerate(sentences(passage.body)):
            overlap = len(q_terms & _terms(sent))
            score = overlap + (0.5 if re.search(r"\d", sent) else 0.0) - 0.15 * rank - 0.05 * pos
            scored.append((score, rank, pos, sent, passage))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    chosen: list[tuple[int, int, str, Passage]] = []
    per_passage: dict[str, int] = {}
    seen: set[str] = set()
    for score, rank, pos, sent, passage in scored:
        if len(chosen) >= limit:
            break
        key = normalize(sent)
        if key in seen or per_passage.get(passage.chunk_id, 0) >= 2 or score <= 0:
            continue
        seen.add(key)
        per_passage[passage.chunk_id] = per_passage.get(passage.chunk_id, 0) + 1
        chosen.append((rank, pos, sent, passage))
    chosen.sort(key=lambda t: (t[0], t[1]))
    return [(s, p) for _, _, s, p in chosen]


def compose_extractive(
    question: str,
    passages: Sequence[Passage],
    conditions: Sequence[Condition],
    *,
    guidance: Sequence[Passage] = (),
    extra_evidence: Sequence[EvidenceLine] = (),
    preface: str = "",
) -> Answer:
    """Build the grounded answer: tiers first, then cited findings, then advice and disclaimer."""
    evidence = [EvidenceLine.from_condition(c) for c in conditions] + list(extra_evidence)
    lines: list[str] = []
    if preface:
        lines += [preface, ""]
    if evidence:
        lines += [f"- {e.sentence()}" for e in evidence]
    else:
        lines.append(
            "**Evidence tier:** this question is not about one condition. The evidence differs "
            "by condition; name one to see its tier."
        )
    if any(e.tier == "not_covered" for e in evidence):
        lines += ["", text("not_covered")]
    citations: list[Citation] = []
    by_chunk: dict[str, int] = {}

    def marker(p: Passage) -> int:
        if p.chunk_id not in by_chunk:
            by_chunk[p.chunk_id] = len(citations) + 1
            citations.append(
                Citation(
                    n=by_chunk[p.chunk_id],
                    doc_id=p.doc_id,
                    chunk_id=p.chunk_id,
                    title=p.title,
                    url=p.url,
                    passage=p.body,
                    kind=p.kind,
                    date=p.date,
                    heading=p.heading,
                )
            )
        return by_chunk[p.chunk_id]

    findings = pick_sentences(question, passages, conditions)
    lines += ["", "**What the sources say**", ""]
    if findings:
        lines += [f"- {s} [{marker(p)}]" for s, p in findings]
    else:
        lines.append(text("no_passages"))
    advice = pick_sentences(
        question + " specialist established care questions", guidance, [], limit=2
    )
    lines += ["", f"**{text('what_this_means_heading')}**", ""]
    if advice:
        lines += [f"- {s} [{marker(p)}]" for s, p in advice]
    else:
        lines.append(text("what_this_means_default"))
    lines += ["", f"_{disclaimer()}_"]
    return Answer(
        question=question,
        answer="\n".join(lines),
        evidence=evidence,
        citations=citations,
        conditions=[c.id for c in conditions],
    )
