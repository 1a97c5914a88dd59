"""The chat engine: triage, understand, retrieve, compose a structured answer, guard it.

What an answer reads (store, manifest, search indexes, evidence map) is one immutable `Snapshot`
per committed index version. A running engine notices a newer completed ingest off the request
path, builds the next snapshot in a background thread, swaps it in whole, and closes the old one
once the last request using it has finished.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from stemchat.answer import Answer, Statement
from stemchat.composer import Composer, curated_texts
from stemchat.composer_config import aspect_of, aspects_of
from stemchat.corpus.loader import load_corpus, load_evidence_map
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.corpus.translations import (
    LANGUAGES as TRANSLATED,
)
from stemchat.corpus.translations import (
    Translations,
    load_translations,
    translated_map,
    translated_rows,
    translated_synonyms,
)
from stemchat.embeddings import make_embeddings
from stemchat.errors import StemchatError, StoreError
from stemchat.guard import Rules, check, default_rules
from stemchat.language import detect_language
from stemchat.lexical import evict_index
from stemchat.plan import Plan, compares_with_earlier, is_follow_up, possessive_of, trial_hint
from stemchat.retrieval import HybridSearch, LocalSearch, lexical_index_for
from stemchat.safety import clean, in_domain, is_greeting, strip_injection, triage
from stemchat.settings import Settings
from stemchat.store import Manifest, Store, open_store
from stemchat.texts import current_language, text, use_language
from stemchat.understanding import (
    ConditionDetector,
    choose,
    condition_order,
    detect_intent,
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

DECLINING = ("emergency", "crisis", "out_of_scope")


@dataclass
class Conversation:
    """Per-user state: the turns so far and the conditions in play. Never shared."""

    turns: list[Answer] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    asked: list[str] = field(default_factory=list)  # broad words the last answer asked about
    possessive: str = "your"  # whom the conversation is about ("her" after "my mum has...")
    language: str | None = None  # the patient's language so far ("en", "es"); kept on short turns


@dataclass(frozen=True)
class Understood:
    """What one turn is about: covered conditions, uncovered ones, broad words left open."""

    conditions: list[Condition]
    uncovered: list[str]
    clarify: list[str] = field(default_factory=list)
    carried: bool = False


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
        self.detector = ConditionDetector(
            evidence, more_synonyms=translated_synonyms(settings.corpus_dir)
        )
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
        self.composer = Composer(self.searcher, evidence)
        self._translations: dict[str, tuple[Composer, Rules]] = {}
        # reviewed statements answers may show as they are: fixed texts, and the map's own in
        # each language (a translation's are read from its conditions file alone: cheap)
        curated = curated_texts(evidence)
        for language in TRANSLATED:
            rows = translated_rows(settings.corpus_dir, language)
            if rows:
                with use_language(language):
                    curated += curated_texts(translated_map(evidence, rows))
        self.rules: Rules = default_rules().with_curated(curated)
        self._owns_store = owns_store
        self._users = 0
        self._retired = False
        self._lock = threading.Lock()

    @property
    def key(self) -> tuple[str, str]:
        return self.manifest.version, self.manifest.corpus_key

    def for_language(self, language: str) -> tuple[Composer, Rules]:
        """The composer and guard rules of one language: English's own, or a translation's
        (its reviewed documents and statements, built on the first question in it)."""
        if language not in TRANSLATED:
            return self.composer, self.rules
        with self._lock:
            built = self._translations.get(language)
        if built is None:
            built = self._translation(language)
            with self._lock:
                built = self._translations.setdefault(language, built)
        return built

    def _translation(self, language: str) -> tuple[Composer, Rules]:
        settings = self.settings
        search, translations = translation_search(settings, language)
        evidence = translated_map(self.evidence, translations.conditions)
        return Composer(search, evidence), self.rules  # type: ignore[arg-type]

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


def translation_search(settings: Settings, language: str) -> tuple[LocalSearch, Translations]:
    """A translation's search (BM25 in its language, plus the dense arm the settings name) and
    its reviewed documents and statements. The encoder loads in the background meanwhile."""
    from stemchat.local_dense import make_encoder

    encoder = make_encoder(settings, settings.translation_embeddings)
    loading = encoder.warm_up() if encoder is not None else None
    corpus = load_corpus(settings.corpus_dir)
    translations = load_translations(corpus, settings.corpus_dir, language)
    if loading is not None:
        loading.join()
    search = LocalSearch.from_documents(
        translations.documents,
        language,
        chunk_size=settings.chunk_size,
        overlap=settings.chunk_overlap,
        encoder=encoder,
        vectors_dir=settings.data_dir / "vectors",
        k=settings.top_k,
        candidates=settings.candidates,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        lexical_weight=settings.lexical_weight,
        condition_boost=settings.condition_boost,
    )
    return search, translations


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
        ids = condition_order(covered, question)
        clarify = unresolved(covered, question)
        names = [m.condition for m in uncovered]
        if not ids and not names and conversation.asked:
            ids = choose(question, conversation.asked)  # "the knee one" after "which one?"
        if not ids and not names and in_domain(question.lower()):
            names = unknown_disease(question)
        carried = False
        if not ids and not names and conversation.conditions and is_follow_up(question):
            ids, carried = list(conversation.conditions), True
        elif ids and conversation.conditions and compares_with_earlier(question):
            # "is that different from the heart failure stuff?": the earlier one and the new one
            ids = list(dict.fromkeys([*conversation.conditions, *ids]))
        conditions = [c for i in ids if (c := snap.evidence.get(i)) is not None]
        return Understood(conditions, names, clarify, carried)

    # -- the pipeline -------------------------------------------------------------------------
    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one turn and record it in the conversation."""
        conversation = conversation if conversation is not None else Conversation()
        self._maybe_refresh()
        _ = self.snapshot  # built on first use
        language = detect_language(clean(question), conversation.language)
        conversation.language = language
        with self._swap_lock:  # a request holds its snapshot before any swap can retire it
            snap = self.snapshot.enter()
        try:
            with use_language(language):  # every text of this turn is in the patient's language
                answer = self._answer(snap, question, conversation)
        finally:
            snap.leave()
        conversation.turns.append(answer)
        if answer.conditions:
            conversation.conditions = list(answer.conditions)
        return answer

    def plan(self, question: str, conversation: Conversation, snap: Snapshot) -> Plan:
        """What this turn is about and asks (safety first: it decides everything else)."""
        q = clean(question)
        understood = self._understand(q, conversation, snap)
        previous = conversation.turns[-1].question if conversation.turns else ""
        has_condition = bool(understood.conditions or understood.uncovered)
        verdict = triage(q, has_condition=has_condition, context=previous)
        safety = verdict.safety if self.guarded else "none"
        query = q
        if safety == "injection":
            query = strip_injection(q)
            if query:
                understood = self._understand(query, Conversation(), snap)
            elif understood.conditions:
                query = "stem cell evidence for " + ", ".join(c.name for c in understood.conditions)
        intent, intent_docs = detect_intent(query)
        return Plan(
            question=question,
            query=query,
            safety=safety,
            conditions=understood.conditions,
            uncovered=understood.uncovered,
            clarify=understood.clarify,
            intent=intent,
            intent_docs=intent_docs,
            aspect=_aspect(query, intent),
            also=_also(query),
            possessive=possessive_of(q, conversation.possessive),
            trial_hint=trial_hint(query),
            carried=understood.carried,
        )

    def _answer(self, snap: Snapshot, question: str, conversation: Conversation) -> Answer:
        plan = self.plan(question, conversation, snap)
        conversation.asked = list(plan.clarify)
        conversation.possessive = plan.possessive
        q = plan.query
        if not clean(question) or (plan.safety not in DECLINING and is_greeting(clean(question))):
            return _fixed(question, "greeting", "none", "greeting")
        if plan.safety in DECLINING:
            return _fixed(question, plan.safety, plan.safety, "safety")
        if plan.safety == "injection" and not (
            q and (plan.conditions or plan.uncovered or in_domain(q.lower()))
        ):
            return _fixed(question, "injection", "injection", "general")
        composer, rules = snap.for_language(current_language())
        answer = composer.compose(plan)
        if not self.guarded:
            return answer
        result = check(answer, rules)
        if not result.ok:  # pragma: no cover - the extractive path is built to pass
            raise StoreError(f"answer failed its guard: {result.problems[0]}")
        if self.chat_model is not None and answer.language == "en":
            from stemchat.llm import rephrase

            answer, answer.answered_by = rephrase(self.chat_model, answer, rules)
        return answer

    def rank_documents(self, question: str, conversation: Conversation, k: int = 10) -> list[str]:
        """Document ids in the order this turn's answer retrieves them (for evaluation)."""
        snap = self.snapshot
        language = detect_language(clean(question), conversation.language)
        ranked: list[str] = []
        with use_language(language):
            plan = self.plan(question, conversation, snap)
            composer = snap.for_language(language)[0]
            for passages, _ in composer.pools(plan):
                for p in passages:
                    if p.doc_id not in ranked:
                        ranked.append(p.doc_id)
        return ranked[:k]


# A second aspect worth its own section: one the first does not already cover
_SECOND = ("risks", "cost", "trial", "approval", "timing")


def _also(query: str) -> str:
    """The second aspect of a two-part question ("how much is it and is it safe?"), or ""."""
    found = aspects_of(query)
    return next((a for a in found[1:] if a in _SECOND and a != found[0]), "")


def _aspect(query: str, intent: str) -> str:
    """The aspect asked; a pasted clinic claim with no other question is about the clinic."""
    aspect = aspect_of(query)
    return "clinic" if intent == "clinic_claim" and aspect == "evidence" else aspect


def latest_key(manifest: Manifest) -> tuple[str, str]:
    return manifest.version, manifest.corpus_key


def _fixed_statement(key: str) -> Statement:
    return Statement(text(key), (), "fixed", key=key)


def _fixed(question: str, key: str, safety: str, intent: str) -> Answer:
    return Answer(question=question, notices=[_fixed_statement(key)], safety=safety, intent=intent)


def _remove_lexical(folder, keep) -> None:  # type: ignore[no-untyped-def]
    """Delete an old version's BM25 folder from disk (never the one now in use)."""
    if folder != keep:
        shutil.rmtree(folder, ignore_errors=True)
