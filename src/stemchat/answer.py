"""The structured answer: what the engine composes, the guard checks and the edges render.

An answer is never Markdown inside the engine. It is a few notices (fixed, reviewed texts), one
evidence line per condition, sections of statements (each a plain sentence with the numbers of
the passages it rests on), the citations and the disclaimer. `render.markdown` makes the Markdown
shown to patients, escaping every piece of corpus or user text on the way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

from stemchat.texts import current_language, disclaimer

SAFETY_CLASSES = ("none", "emergency", "crisis", "personal_advice", "out_of_scope", "injection")
Origin = Literal["passage", "curated", "fixed", "rephrased"]


@dataclass(frozen=True)
class Statement:
    """One sentence of an answer and the citations it rests on.

    `origin`: `passage` (taken from a cited passage; must be supported by it), `curated` (a reviewed
    statement from the evidence map; must match it), `fixed` (a reviewed patient-facing text from
    texts.yaml, `key` names it) or `rephrased` (a phrasing model's version of a passage statement).
    """

    text: str
    cites: tuple[int, ...] = ()
    origin: Origin = "passage"
    doc_id: str = ""
    key: str = ""


@dataclass(frozen=True)
class Section:
    """A heading and its statements ("What the trials found", "What you can do next", ...)."""

    key: str
    title: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class EvidenceLine:
    """The two facts shown first for one condition: evidence strength and approvals."""

    condition: str
    condition_name: str
    tier: str
    tier_label: str
    tier_note: str
    as_of: str
    approvals: tuple[dict[str, str], ...] = ()
    approval_line: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["approvals"] = [dict(a) for a in self.approvals]
        return data


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
    notices: list[Statement] = field(default_factory=list)
    evidence: list[EvidenceLine] = field(default_factory=list)
    reply: list[Statement] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    safety: str = "none"
    disclaimer: str = field(default_factory=disclaimer)
    conditions: list[str] = field(default_factory=list)
    intent: str = "evidence"
    answered_by: str = "extractive"
    aspect: str = ""
    # the language the patient wrote in and the answer speaks ("en" or "es")
    language: str = field(default_factory=current_language)

    @cached_property
    def answer(self) -> str:
        """The Markdown shown to the patient (rendered once, escaped at the edge)."""
        from stemchat.render import markdown

        return markdown(self)

    def statements(self) -> list[Statement]:
        """Every statement, in reading order."""
        out = list(self.notices) + list(self.reply)
        for section in self.sections:
            out.extend(section.statements)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "evidence": [e.to_json() for e in self.evidence],
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
            "aspect": self.aspect,
            "language": self.language,
            "reply": " ".join(s.text for s in self.reply),
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "statements": [
                        {"text": st.text, "cites": list(st.cites), "origin": st.origin}
                        for st in s.statements
                    ],
                }
                for s in self.sections
            ],
        }
