"""The chat engine: triage, understand, retrieve, compose a grounded answer, guard it."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from stemchat.answer import (
    Answer,
    CitationBook,
    EvidenceLine,
    expand_query,
    pick_sentences,
)
from stemchat.claims import all_labels, red_flags
from stemchat.corpus.loader import load_evidence_map
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.embeddings import make_embeddings
from stemchat.errors import StemchatError, StoreError
from stemchat.guard import check, sanitize_markdown
from stemchat.retrieval import HybridSearch, Passage, lexical_index_for
from stemchat.safety import Triage, clean, in_domain, is_greeting, strip_injection, triage
from stemchat.settings import Settings
from stemchat.store import Store, open_store
from stemchat.texts import disclaimer, text, texts
from stemchat.understanding import (
    ConditionDetector,
    detect_intent,
    refine,
    resolve_mentions,
    uncovered_mentions,
    unknown_disease,
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from stemchat.langchain_retriever import HybridRetriever

REFRESH_SECONDS = 2.0  # how often a running engine looks for a newer committed index

CARE_DOCS = ("guide-keep-established-care", "guide-questions-to-ask")
CARE_QUERY = (
    "keep your current treatment talk to your specialist questions to ask before any change"
)
FOLLOW_UP = re.compile(
    r"^(?:and|also|what about|how about|same|ok|okay|so|but)\b|"
    r"\b(?:it|that|this|they|them|those|these|there|the same|she|he|her|him|his)\b|"
    r"\bthe (?:trial|trials|study|studies|product|treatment|drug|cells|children|patients|approval)\b",
    re.I,
)
HEADINGS = {
    "findings": "What the sources say",
    "care": "What this means for you",
    "claim": "Red flags in this claim",
}
DECLINING = ("emergency", "crisis", "out_of_scope")


@dataclass
class Conversation:
    """Per-user state: the turns so far and the conditions in play. Never shared."""

    turns: list[Answer] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


def template_lines() -> list[str]:
    """Fixed texts the guard accepts without a citation."""
    t = texts()
    fixed = [str(v) for k, v in t.items() if isinstance(v, str)]
    fixed += [f"**{h}**" for h in HEADINGS.values()]
    fixed += all_labels()
    return fixed


class Engine:
    """Shared, read-only resources (model, store, indexes) and the answer pipeline."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        chat_model: BaseChatModel | None = None,
        *,
        guarded: bool = True,
    ) -> None:
        self.settings = settings
        self._store = store
        self._chat_model = chat_model
        self.guarded = guarded  # False only for the evaluation's "without the guard" ablation
        self.refresh_seconds = REFRESH_SECONDS
        self._checked = time.monotonic()
        self._refresh_lock = threading.Lock()

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The optional phrasing model: injected, or from STEMCHAT_LLM when answerer=llm."""
        if self._chat_model is not None:
            return self._chat_model
        if self.settings.answerer == "llm" or self.settings.llm:
            from stemchat.llm import make_chat_model

            return make_chat_model(self.settings)
        return None

    @cached_property
    def store(self) -> Store:
        return self._store or open_store(self.settings)

    @cached_property
    def evidence(self) -> EvidenceMap:
        """The evidence map alone (answers need no document files: passages come from the store)."""
        evidence, _ = load_evidence_map(self.settings.conditions_file)
        if evidence is None:
            raise StoreError(
                f"{self.settings.conditions_file}: evidence map missing or invalid; "
                "run `stemchat check`"
            )
        return evidence

    @cached_property
    def detector(self) -> ConditionDetector:
        return ConditionDetector(self.evidence)

    @cached_property
    def retriever(self) -> HybridRetriever:
        """The same search behind LangChain's `BaseRetriever` (imports LangChain on first use)."""
        from stemchat.langchain_retriever import HybridRetriever

        return HybridRetriever(searcher=self.searcher)

    @cached_property
    def searcher(self) -> HybridSearch:
        s = self.settings
        manifest = self.store.read_manifest()
        if not manifest.documents:
            raise StoreError("the index is empty; run `stemchat ingest` first")
        return HybridSearch(
            store=self.store,
            embeddings=make_embeddings(s),
            lexical=lexical_index_for(self.store, manifest, s.data_dir),
            manifest=manifest,
            k=s.top_k,
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            dense_weight=s.dense_weight,
            lexical_weight=s.lexical_weight,
            condition_boost=s.condition_boost,
        )

    @cached_property
    def _care_advice(self) -> list[tuple[str, Passage]]:
        """'What this means for you' does not depend on the question: chosen once per engine."""
        care = self.searcher.search(CARE_QUERY, k=4, doc_ids=CARE_DOCS, mode="bm25")
        return pick_sentences(CARE_QUERY, care, [], limit=2, per_passage=1)

    @cached_property
    def _templates(self) -> list[str]:
        return template_lines()

    # -- understanding ----------------------------------------------------------------------
    def understand(
        self, question: str, conversation: Conversation
    ) -> tuple[list[Condition], list[str]]:
        """Conditions the turn is about (carried over on a follow-up) and uncovered ones."""
        covered, uncovered = resolve_mentions(
            refine(self.detector.mentions(question), question), uncovered_mentions(question)
        )
        ids: list[str] = []
        for m in sorted(covered, key=lambda m: (m.start, -m.end)):
            if m.condition not in ids:
                ids.append(m.condition)
        names = [m.condition for m in uncovered]
        if not ids and not names and in_domain(question.lower()):
            names = unknown_disease(question)
        if not ids and not names and conversation.conditions and _is_follow_up(question):
            ids = list(conversation.conditions)
        return [c for i in ids if (c := self.evidence.get(i)) is not None], names

    def refresh(self) -> bool:
        """Follow an ingest by another process (the chat page stays up while maintainers ingest).

        At most every `refresh_seconds`, compare the committed manifest (version and corpus key)
        with the one the search was built on; when it moved, reopen the store (an embedded client may keep
        serving the old index) and rebuild the search, indexes and evidence map. True if rebuilt.
        """
        now = time.monotonic()
        if "searcher" not in self.__dict__ or now - self._checked < self.refresh_seconds:
            return False
        with self._refresh_lock:
            if now - self._checked < self.refresh_seconds:
                return False
            self._checked = now
            try:
                latest = self.store.read_manifest()
            except StemchatError:
                return False  # keep answering from what we have; the next check tries again
            current = self.searcher.manifest
            # the corpus key also moves when only the evidence map changed (a tier, a note)
            if not latest.documents or (latest.version, latest.corpus_key) == (
                current.version,
                current.corpus_key,
            ):
                return False
            self.store.reopen()
            for name in ("searcher", "retriever", "_care_advice", "evidence", "detector"):
                self.__dict__.pop(name, None)
            return True

    # -- the pipeline -----------------------------------------------------------------------
    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one turn and record it in the conversation."""
        conversation = conversation if conversation is not None else Conversation()
        self.refresh()
        q = clean(question)
        conditions, uncovered = self.understand(q, conversation)
        previous = conversation.turns[-1].question if conversation.turns else ""
        verdict = triage(q, has_condition=bool(conditions or uncovered), context=previous)
        if not self.guarded:
            verdict = Triage("none")
        if not q:
            answer = self._fixed(question, "greeting", "none", "greeting")
        elif verdict.safety in DECLINING:
            answer = self._declining(question, verdict.safety)
        elif is_greeting(q):
            answer = self._fixed(question, "greeting", "none", "greeting")
        elif verdict.safety == "injection":
            legit = strip_injection(q)
            if legit:
                conditions, uncovered = self.understand(legit, Conversation())
            elif conditions:
                legit = "stem cell evidence for " + ", ".join(c.name for c in conditions)
            if legit and (conditions or uncovered or in_domain(legit.lower())):
                answer = self._grounded(question, legit, conditions, uncovered, "injection")
            else:
                answer = self._fixed(question, "injection", "injection", "general")
        else:
            answer = self._grounded(question, q, conditions, uncovered, verdict.safety)
        conversation.turns.append(answer)
        if answer.conditions:
            conversation.conditions = list(answer.conditions)
        return answer

    def rank_documents(self, question: str, conversation: Conversation, k: int = 10) -> list[str]:
        """Document ids in the order this turn's answer retrieves them (for evaluation)."""
        q = clean(question)
        conditions, uncovered = self.understand(q, conversation)
        intent, intent_docs = detect_intent(q)
        ranked: list[str] = []
        for passages, _ in self._pools(q, conditions, uncovered, intent, intent_docs):
            for p in passages:
                if p.doc_id not in ranked:
                    ranked.append(p.doc_id)
        return ranked[:k]

    def _fixed(self, question: str, key: str, safety: str, intent: str) -> Answer:
        body = f"{text(key)}\n\n_{disclaimer()}_"
        return Answer(question=question, answer=body, safety=safety, intent=intent)

    def _declining(self, question: str, safety: str) -> Answer:
        return self._fixed(question, safety, safety, "safety")

    def _grounded(
        self,
        question: str,
        query: str,
        conditions: list[Condition],
        uncovered: list[str],
        safety: str,
    ) -> Answer:
        intent, intent_docs = detect_intent(query)
        ids = [c.id for c in conditions]
        evidence = [EvidenceLine.from_condition(c) for c in conditions]
        evidence += [EvidenceLine.not_covered(name) for name in uncovered]
        book = CitationBook()
        lines: list[str] = []
        if safety == "personal_advice":
            lines += [text("personal_advice"), ""]
        elif safety == "injection":
            lines += [text("injection"), ""]
        if evidence:
            lines += [f"- {e.sentence()}" for e in evidence]
        else:
            lines.append(text("general_tier_line"))
        if uncovered:
            lines += ["", text("not_covered")]

        if intent == "clinic_claim":
            lines += ["", f"**{HEADINGS['claim']}**", "", text("claim_intro"), ""]
            flags = red_flags(query)
            for flag in flags:
                hits = self.searcher.search(
                    flag.query, k=1, doc_ids=("guide-red-flags", "guide-evaluating-a-clinic")
                )
                lines.append(f"- {flag.label}" + (f" [{book.marker(hits[0])}]" if hits else ""))
            if not flags:
                lines.append(text("no_claim_flags"))

        findings = self._findings(query, conditions, uncovered, intent, intent_docs)
        lines += ["", f"**{HEADINGS['findings']}**", ""]
        if findings:
            lines += [f"- {s} [{book.marker(p)}]" for s, p in findings]
        else:
            lines.append(text("no_passages"))

        advice = self._care_advice
        lines += ["", f"**{HEADINGS['care']}**", ""]
        if advice:
            lines += [f"- {s} [{book.marker(p)}]" for s, p in advice]
        else:
            lines.append(text("what_this_means_default"))
        lines += ["", f"_{disclaimer()}_"]

        allowed = [c.url for c in book.citations if c.url]
        body = "\n".join(lines)
        answer = Answer(
            question=question,
            answer=sanitize_markdown(body, allowed) if self.guarded else body,
            evidence=evidence,
            citations=book.citations,
            safety=safety,
            conditions=ids,
            intent=intent,
        )
        if not self.guarded:
            return answer
        result = check(answer, template_lines=self._templates)
        if not result.ok:  # pragma: no cover - the extractive path is built to pass
            raise StoreError(f"answer failed its guard: {result.problems[0]}")
        if self.chat_model is not None:
            from stemchat.llm import rephrase

            answer, answer.answered_by = rephrase(self.chat_model, answer, self._templates)
        return answer

    def _pools(
        self,
        query: str,
        conditions: list[Condition],
        uncovered: list[str],
        intent: str,
        intent_docs: tuple[str, ...],
    ) -> list[tuple[list[Passage], int]]:
        """The passage pools an answer draws from, each with how many sentences it may give."""
        query = expand_query(query)
        pools: list[tuple[list[Passage], int]] = []
        if uncovered and not conditions:
            docs = ("guide-evaluating-a-clinic", "guide-red-flags", "reg-fda-consumer-warnings")
            pools.append((self.searcher.search(query, k=4, doc_ids=docs), 3))
        for cond in conditions:
            q = query if len(conditions) == 1 else f"{query} {cond.name}"
            if intent == "approval":
                q += " approved approval regulator authorisation withdrawn licensed"
            hits = self.searcher.search(q, k=6, conditions=[cond.id], filter_conditions=True)
            key = self.searcher.search(q, k=4, doc_ids=tuple(cond.key_documents))
            pools.append((_merge(key, hits), 4 if len(conditions) == 1 else 2))
        if intent_docs and intent != "clinic_claim":
            limit = 3 if not conditions else 2
            pools.append((self.searcher.search(query, k=3, doc_ids=intent_docs), limit))
        if not conditions and not uncovered:
            # a general question: the whole corpus, not only the intent's guidance documents
            pools.append((self.searcher.search(query), 3 if intent_docs else 4))
        return pools

    def _findings(
        self,
        query: str,
        conditions: list[Condition],
        uncovered: list[str],
        intent: str,
        intent_docs: tuple[str, ...],
    ) -> list[tuple[str, Passage]]:
        chosen: list[tuple[str, Passage]] = []
        seen: set[str] = set()
        for passages, limit in self._pools(query, conditions, uncovered, intent, intent_docs):
            for sent, passage in pick_sentences(
                query, passages, conditions, limit=limit, want_negative=bool(conditions)
            ):
                if sent not in seen:
                    seen.add(sent)
                    chosen.append((sent, passage))
        return chosen


_SKIP_HEADINGS = re.compile(r"publish|sources|references|reading", re.I)


def _merge(*lists: list[Passage]) -> list[Passage]:
    """Passages from several searches, best score first, without repeats or citation-only sections."""
    best: dict[str, Passage] = {}
    for passages in lists:
        for p in passages:
            if _SKIP_HEADINGS.search(p.heading):
                continue
            if p.chunk_id not in best or p.score > best[p.chunk_id].score:
                best[p.chunk_id] = p
    return sorted(best.values(), key=lambda p: (-p.score, p.chunk_id))


def _is_follow_up(question: str) -> bool:
    """Does the turn lean on the previous one ("is it approved for that?", "and the risks?")?"""
    intent, _ = detect_intent(question)
    if intent in ("general", "trial_phases"):
        return False
    short = len(question.split()) <= 5 and intent in ("evidence", "approval", "risks", "cost")
    return bool(FOLLOW_UP.search(question)) or short
