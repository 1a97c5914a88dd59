"""The composer's parts: passages into whole sentences, choosing the sentences that answer, numbering
the citations. Pure functions over retrieved passages; the engine decides which pools to use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from stemchat.answer import Citation
from stemchat.corpus.approvals import approval_without_place
from stemchat.corpus.models import Condition
from stemchat.instructions import addressed_to_assistant
from stemchat.markup import to_plain
from stemchat.retrieval import Passage
from stemchat.understanding import normalize

# a full stop, ! or ? then a capital or digit, but not after a common abbreviation ("Dr. Smith")
_SENTENCE = re.compile(
    r"(?<=[.!?])(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bvs\.)(?<!\bNo\.)"
    r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<!\bapprox\.)\s+(?=[A-Z0-9\"(])"
)
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
_RETRIEVAL_EXPANSIONS = ("dose", "dosage")
NEGATIVE_CUES = re.compile(
    r"\b(?:did not|didn'?t|no (?:clear |real |added |significant )?(?:benefit|difference|effect|improvement)|"
    r"not (?:better|significant|meet|met|show|shown)|failed|missed|no better|stopped early|halted|withdrawn|"
    r"negative|futility|no evidence|not approved|unproven|retract)",
    re.I,
)


def _looks_like_instructions(sentence: str) -> bool:
    return bool(addressed_to_assistant(sentence))


def _forbidden(sentence: str) -> bool:
    from stemchat.safety import forbidden_statements

    return bool(forbidden_statements(sentence))


def split_sentences(paragraph: str) -> list[str]:
    """A paragraph of plain text into sentences (a full stop, ! or ? then a capital or digit)."""
    return [s.strip() for s in _SENTENCE.split(paragraph) if s.strip()]


@lru_cache(maxsize=4096)
def clean_passage(text: str) -> str:
    """A cited passage as a patient may see it: plain text without HTML, images, link targets or
    hidden characters, and without sentences that address an assistant.

    Cached: the same passages come back answer after answer, and the instruction check is the
    costly part of composing one."""
    kept = []
    for line in to_plain(text).split("\n"):
        parts = [p for p in split_sentences(line) if not _looks_like_instructions(p)]
        kept.append(" ".join(parts))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


@lru_cache(maxsize=4096)
def _sentences(passage_text: str) -> tuple[str, ...]:
    out: list[str] = []
    for para in to_plain(passage_text, tables=False, lead_ins=False).split("\n"):
        para = para.removeprefix("- ").strip()
        for raw in split_sentences(para):
            sent = _XREF.sub("", raw).strip()
            if len(sent) < 40 or sent.endswith((":", "?")) or len(sent.split()) < 7:
                continue
            if not (sent[0].isupper() or sent[0].isdigit() or sent[0] in "\"'"):
                continue  # a fragment cut from a list
            if _looks_like_instructions(sent):
                continue  # corpus text is data: never repeat text that addresses the assistant
            if _forbidden(sent):
                continue  # a dose, "stop your medicine" or a cure claim: the guard would refuse it
            if approval_without_place(sent):
                continue  # "X was approved in 2012" alone reads as approved everywhere
            out.append(sent)
    return tuple(out)


def sentences(passage_text: str) -> list[str]:
    """Whole sentences of a passage body, in order (no bold lead-ins, labels, tables or fragments)."""
    return list(_sentences(passage_text))


def _terms(text: str) -> set[str]:
    return {w[:6] for w in normalize(text).split() if w not in _STOP and len(w) > 2}


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
