"""The chat engine: triage, understand, retrieve, compose a structured answer, guard it.

What an answer reads (store, manifest, search indexes, evidence map) is one immutable `Snapshot`
per committed index version. A running engine notices a newer completed ingest off the request
path, builds the next snapshot in a background thread, swaps it in whole, and closes the old one
once the last request using it has finished.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from stemchat.answer import Answer, EvidenceLine, Section, Statement
from stemchat.claims import red_flags
from stemchat.compose import CitationBook, expand_query, pick_sentences
from stemchat.corpus import approvals
from stemchat.corpus.approvals import approval_line
from stemchat.corpus.loader import load_evidence_map
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.embeddings import make_embeddings
from stemchat.errors import StemchatError, StoreError
from stemchat.guard import Rules, check, default_rules
from stemchat.lexical import evict_index
from stemchat.retrieval import HybridSearch, Passage, lexical_index_for
from stemchat.safety import Triage, clean, in_domain, is_greeting, strip_injection, triage
from stemchat.settings import Settings
from stemchat.store import Manifest, Store, open_store
from stemchat.texts import text, texts
from stemchat.understanding import (
    ConditionDetector,
    choose,
    detect_intent,
    normalize,
    refine,
    resolve_mentions,
    uncovered_mentions,
    unknown_disease,
    unresolved,
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
TITLES = {
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
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    asked: list[str] = field(default_factory=list)  # broad words the last answer asked about


@dataclass(frozen=True)
class Understood:
    """What one turn is about: covered conditions, uncovered ones, broad words left open."""

    conditions: list[Condition]
    uncovered: list[str]
    clarify: list[str] = field(default_factory=list)


class Snapshot:
    """Everything an answer reads, for one committed index version. Never changed once built."""

    def __init__(self, settings: Settings, store: Store, *, owns_store: bool) -> None:
        manifest = store.read_manifest()
        if not manifest.documents:
            raise StoreError("the index is empty; run `stemchat ingest` first")
        evidence, _ = load_evidence_map(settings.conditions_file)
        if evidence is None:
            raise StoreError(
                f"{settings.conditions_file}: evidence map missing or invalid; run `stemchat check`"
            )
        self.settings = settings
        self.store = store
        self.manifest = manifest
        self.evidence: EvidenceMap = evidence
        self.detector = ConditionDetector(evidence)
        self.lexical_folder = settings.data_dir / "bm25" / f"{store.name}-{manifest.version}"
        s = settings
        self.searcher = HybridSearch(
            store=store,
            embeddings=make_embeddings(s),
            lexical=lexical_index_for(store, manifest, s.data_dir),
            manifest=manifest,
            k=s.top_k,
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            dense_weight=s.dense_weight,
            lexical_weight=s.lexical_weight,
            condition_boost=s.condition_boost,
        )
        _ = self.searcher.chunk_meta  # load now, not on a patient's request
        care = self.searcher.search(CARE_QUERY, k=4, doc_ids=CARE_DOCS, mode="bm25")
        # "What this means for you" does not depend on the question: chosen once per snapshot
        self.care_advice = pick_sentences(CARE_QUERY, care, [], limit=2, per_passage=1)
        self.rules: Rules = default_rules()
        self._owns_store = owns_store
        self._users = 0
        self._retired = False
        self._lock = threading.Lock()

    @property
    def key(self) -> tuple[str, str]:
        return self.manifest.version, self.manifest.corpus_key

    def enter(self) -> Snapshot:
        with self._lock:
            self._users += 1
        return self

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            close = self._retired and self._users == 0
        if close:
            self._close()

    def retire(self) -> None:
        """No new request will use this snapshot; close it when the last one finishes."""
        with self._lock:
            self._retired = True
            close = self._users == 0
        if close:
            self._close()

    def _close(self) -> None:
        evict_index(self.lexical_folder)
        if self._owns_store:
            self.store.close()


class Engine:
    """Shared resources (a snapshot of the index) and the answer pipeline."""

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
        self._snapshot: Snapshot | None = None
        self._build_lock = threading.Lock()  # one snapshot build at a time
        self._swap_lock = threading.Lock()  # taking the current snapshot vs replacing it
        self._checked = time.monotonic()
        self._refreshing: threading.Thread | None = None

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The optional phrasing model: injected, or from STEMCHAT_LLM when answerer=llm."""
        if self._chat_model is not None:
            return self._chat_model
        if self.settings.answerer == "llm" or self.settings.llm:
            from stemchat.llm import make_chat_model

            return make_chat_model(self.settings)
        return None

    # -- the snapshot -------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot (built on first use)."""
        snap = self._snapshot
        if snap is None:
            with self._build_lock:
                if self._snapshot is None:
                    store = self._store or open_store(self.settings, own=True)
                    self._snapshot = Snapshot(self.settings, store, owns_store=self._store is None)
                snap = self._snapshot
        return snap

    @property
    def store(self) -> Store:
        return self.snapshot.store

    @property
    def evidence(self) -> EvidenceMap:
        return self.snapshot.evidence

    @property
    def detector(self) -> ConditionDetector:
        return self.snapshot.detector

    @property
    def searcher(self) -> HybridSearch:
        return self.snapshot.searcher

    @property
    def retriever(self) -> HybridRetriever:
        """The same search behind LangChain's `BaseRetriever` (imports LangChain on first use)."""
        from stemchat.langchain_retriever import HybridRetriever

        return HybridRetriever(searcher=self.searcher)

    def refresh(self) -> bool:
        """Look for a newer completed ingest now; build and swap in its snapshot. True if swapped.

        An ingest in progress (its manifest has no corpus key yet) is ignored: answers keep
        coming from the last completed version until the new one is whole.
        """
        current = self.snapshot
        with self._build_lock:
            if self._snapshot is not current:
                return True  # another thread swapped meanwhile
            try:
                latest = current.store.read_manifest()
            except StemchatError:
                return False  # keep answering from what we have; the next check tries again
            if not latest.documents or not latest.corpus_key or latest_key(latest) == current.key:
                return False
            try:  # a store with a Chroma state of its own: current, and closed with its snapshot
                store = open_store(self.settings, own=True)
                new = Snapshot(self.settings, store, owns_store=True)
            except StemchatError:
                return False
            with self._swap_lock:
                self._snapshot = new
        current.retire()  # closed when the last request that took it has finished
        _remove_lexical(current.lexical_folder, keep=new.lexical_folder)
        return True

    def _maybe_refresh(self) -> None:
        """At most every `refresh_seconds`, check for a newer index in a background thread."""
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds or self._snapshot is None:
            return
        self._checked = now
        running = self._refreshing
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=self.refresh, name="stemchat-refresh", daemon=True)
        self._refreshing = thread
        thread.start()

    # -- understanding ------------------------------------------------------------------------
    def understand(
        self, question: str, conversation: Conversation, snap: Snapshot | None = None
    ) -> tuple[list[Condition], list[str]]:
        """Conditions the turn is about (carried over on a follow-up) and uncovered ones."""
        u = self._understand(question, conversation, snap or self.snapshot)
        return u.conditions, u.uncovered

    def _understand(self, question: str, conversation: Conversation, snap: Snapshot) -> Understood:
        covered, uncovered = resolve_mentions(
            refine(snap.detector.mentions(question), question), uncovered_mentions(question)
        )
        ids: list[str] = []
        for m in sorted(covered, key=lambda m: (m.start, -m.end)):
            if m.condition not in ids:
                ids.append(m.condition)
        clarify = unresolved(covered, question)
        names = [m.condition for m in uncovered]
        if not ids and not names and conversation.asked:
            ids = choose(question, conversation.asked)  # "the knee one" after "which one?"
        if not ids and not names and in_domain(question.lower()):
            names = unknown_disease(question)
        if not ids and not names and conversation.conditions and _is_follow_up(question):
            ids = list(conversation.conditions)
        conditions = [c for i in ids if (c := snap.evidence.get(i)) is not None]
        return Understood(conditions, names, clarify)

    # -- the pipeline -------------------------------------------------------------------------
    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one turn and record it in the conversation."""
        conversation = conversation if conversation is not None else Conversation()
        self._maybe_refresh()
        _ = self.snapshot  # built on first use
        with self._swap_lock:  # a request holds its snapshot before any swap can retire it
            snap = self.snapshot.enter()
        try:
            answer = self._answer(snap, question, conversation)
        finally:
            snap.leave()
        conversation.turns.append(answer)
        if answer.conditions:
            conversation.conditions = list(answer.conditions)
        return answer

    def _answer(self, snap: Snapshot, question: str, conversation: Conversation) -> Answer:
        q = clean(question)
        understood = self._understand(q, conversation, snap)
        conditions, uncovered = understood.conditions, understood.uncovered
        conversation.asked = list(understood.clarify)
        previous = conversation.turns[-1].question if conversation.turns else ""
        verdict = triage(q, has_condition=bool(conditions or uncovered), context=previous)
        if not self.guarded:
            verdict = Triage("none")
        if not q or (verdict.safety not in DECLINING and is_greeting(q)):
            return _fixed(question, "greeting", "none", "greeting")
        if verdict.safety in DECLINING:
            return _fixed(question, verdict.safety, verdict.safety, "safety")
        if verdict.safety == "injection":
            legit = strip_injection(q)
            if legit:
                conditions, uncovered = self.understand(legit, Conversation(), snap)
            elif conditions:
                legit = "stem cell evidence for " + ", ".join(c.name for c in conditions)
            if legit and (conditions or uncovered or in_domain(legit.lower())):
                return self._grounded(snap, question, legit, conditions, uncovered, "injection")
            return _fixed(question, "injection", "injection", "general")
        return self._grounded(
            snap, question, q, conditions, uncovered, verdict.safety, understood.clarify
        )

    def rank_documents(self, question: str, conversation: Conversation, k: int = 10) -> list[str]:
        """Document ids in the order this turn's answer retrieves them (for evaluation)."""
        snap = self.snapshot
        q = clean(question)
        conditions, uncovered = self.understand(q, conversation, snap)
        intent, intent_docs = detect_intent(q)
        ranked: list[str] = []
        for passages, _ in _pools(snap, q, conditions, uncovered, intent, intent_docs):
            for p in passages:
                if p.doc_id not in ranked:
                    ranked.append(p.doc_id)
        return ranked[:k]

    def _grounded(
        self,
        snap: Snapshot,
        question: str,
        query: str,
        conditions: list[Condition],
        uncovered: list[str],
        safety: str,
        clarify: list[str] = (),  # type: ignore[assignment]
    ) -> Answer:
        intent, intent_docs = detect_intent(query)
        evidence = [evidence_line(c) for c in conditions]
        evidence += [not_covered_line(name) for name in uncovered]
        book = CitationBook()
        notices: list[Statement] = []
        if safety in ("personal_advice", "injection"):
            notices.append(_fixed_statement(safety))
        if not evidence:
            notices.append(_fixed_statement("general_tier_line"))
        if uncovered:
            notices.append(_fixed_statement("not_covered"))
        for key in clarify:
            notices.append(Statement(str(texts()["clarify"][key]), (), "fixed", key="clarify"))
        sections: list[Section] = []
        if intent == "clinic_claim":
            items = [_fixed_statement("claim_intro")]
            flags = red_flags(query)
            for flag in flags:
                hits = snap.searcher.search(
                    flag.query, k=1, doc_ids=("guide-red-flags", "guide-evaluating-a-clinic")
                )
                cites = (book.marker(hits[0]),) if hits else ()
                items.append(Statement(flag.label, cites, "fixed", key="red_flag"))
            if not flags:
                items.append(_fixed_statement("no_claim_flags"))
            sections.append(Section("claim", TITLES["claim"], tuple(items)))
        findings = _findings(snap, query, conditions, uncovered, intent, intent_docs)
        sections.append(
            Section(
                "findings",
                TITLES["findings"],
                tuple(_cited(s, p, book) for s, p in findings)
                or (_fixed_statement("no_passages"),),
            )
        )
        sections.append(
            Section(
                "care",
                TITLES["care"],
                tuple(_cited(s, p, book) for s, p in snap.care_advice)
                or (_fixed_statement("what_this_means_default"),),
            )
        )
        answer = Answer(
            question=question,
            notices=notices,
            evidence=evidence,
            sections=sections,
            citations=book.citations,
            safety=safety,
            conditions=[c.id for c in conditions],
            intent=intent,
        )
        if not self.guarded:
            return answer
        result = check(answer, snap.rules)
        if not result.ok:  # pragma: no cover - the extractive path is built to pass
            raise StoreError(f"answer failed its guard: {result.problems[0]}")
        if self.chat_model is not None:
            from stemchat.llm import rephrase

            answer, answer.answered_by = rephrase(self.chat_model, answer, snap.rules)
        return answer


def latest_key(manifest: Manifest) -> tuple[str, str]:
    return manifest.version, manifest.corpus_key


def evidence_line(c: Condition) -> EvidenceLine:
    """The two facts of one condition: how strong the evidence is, and what is approved where."""
    return EvidenceLine(
        c.id,
        c.name,
        c.tier.value,
        c.tier_label,
        c.tier_note,
        c.as_of,
        approvals=tuple(a.model_dump(exclude_none=True) for a in c.approvals),
        approval_line=approval_line(c),
    )


def not_covered_line(name: str) -> EvidenceLine:
    slug = normalize(name).replace(" ", "-") or "unknown"
    return EvidenceLine(
        slug,
        name,
        "not_covered",
        "Not covered by stemchat's sources",
        "",
        "",
        approval_line=approvals.not_covered_line(),
    )


def _fixed_statement(key: str) -> Statement:
    return Statement(text(key), (), "fixed", key=key)


def _fixed(question: str, key: str, safety: str, intent: str) -> Answer:
    return Answer(question=question, notices=[_fixed_statement(key)], safety=safety, intent=intent)


def _cited(sentence: str, passage: Passage, book: CitationBook) -> Statement:
    return Statement(sentence, (book.marker(passage),), "passage", doc_id=passage.doc_id)


def _pools(
    snap: Snapshot,
    query: str,
    conditions: list[Condition],
    uncovered: list[str],
    intent: str,
    intent_docs: tuple[str, ...],
) -> list[tuple[list[Passage], int]]:
    """The passage pools an answer draws from, each with how many sentences it may give."""
    search = snap.searcher.search
    query = expand_query(query)
    pools: list[tuple[list[Passage], int]] = []
    if uncovered and not conditions:
        docs = ("guide-evaluating-a-clinic", "guide-red-flags", "reg-fda-consumer-warnings")
        pools.append((search(query, k=4, doc_ids=docs), 3))
    for cond in conditions:
        q = query if len(conditions) == 1 else f"{query} {cond.name}"
        if intent == "approval":
            q += " approved approval regulator authorisation withdrawn licensed"
        hits = search(q, k=6, conditions=[cond.id], filter_conditions=True)
        key = search(q, k=4, doc_ids=tuple(cond.key_documents))
        pools.append((_merge(key, hits), 4 if len(conditions) == 1 else 2))
    if intent_docs and intent != "clinic_claim":
        limit = 3 if not conditions else 2
        pools.append((search(query, k=3, doc_ids=intent_docs), limit))
    if not conditions and not uncovered:
        # a general question: the whole corpus, not only the intent's guidance documents
        pools.append((search(query), 3 if intent_docs else 4))
    return pools


def _findings(
    snap: Snapshot,
    query: str,
    conditions: list[Condition],
    uncovered: list[str],
    intent: str,
    intent_docs: tuple[str, ...],
) -> list[tuple[str, Passage]]:
    chosen: list[tuple[str, Passage]] = []
    seen: set[str] = set()
    for passages, limit in _pools(snap, query, conditions, uncovered, intent, intent_docs):
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


def _remove_lexical(folder, keep) -> None:  # type: ignore[no-untyped-def]
    """Delete an old version's BM25 folder from disk (never the one now in use)."""
    if folder != keep:
        shutil.rmtree(folder, ignore_errors=True)


def _is_follow_up(question: str) -> bool:
    """Does the turn lean on the previous one ("is it approved for that?", "and the risks?")?"""
    intent, _ = detect_intent(question)
    if intent in ("general", "trial_phases"):
        return False
    short = len(question.split()) <= 5 and intent in ("evidence", "approval", "risks", "cost")
    return bool(FOLLOW_UP.search(question)) or short
