"""The chat engine: understand the question, retrieve, answer, keep the conversation state."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from stemchat.answer import Answer, compose_extractive
from stemchat.corpus import load_corpus
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.embeddings import make_embeddings
from stemchat.errors import StoreError
from stemchat.retrieval import HybridRetriever, Passage, lexical_index_for
from stemchat.settings import Settings
from stemchat.store import Store, open_store
from stemchat.understanding import ConditionDetector

GUIDANCE_QUERY = "what this means for you keep established care talk to your specialist"


@dataclass
class Conversation:
    """Per-user state: the turns so far and the conditions in play. Never shared."""

    turns: list[Answer] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


class Engine:
    """Shared, read-only resources (model, store, indexes) and the answer pipeline."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self._store = store

    @cached_property
    def store(self) -> Store:
        return self._store or open_store(self.settings)

    @cached_property
    def evidence(self) -> EvidenceMap:
        corpus = load_corpus(self.settings.corpus_dir)
        if corpus.evidence is None:
            raise StoreError(
                f"{self.settings.conditions_file}: evidence map missing or invalid; run `stemchat check`"
            )
        return corpus.evidence

    @cached_property
    def detector(self) -> ConditionDetector:
        return ConditionDetector(self.evidence)

    @cached_property
    def retriever(self) -> HybridRetriever:
        s = self.settings
        manifest = self.store.read_manifest()
        if not manifest.documents:
            raise StoreError("the index is empty; run `stemchat ingest` first")
        return HybridRetriever(
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

    def conditions_for(self, question: str, conversation: Conversation) -> list[Condition]:
        ids = self.detector.detect(question)
        if not ids and conversation.conditions:
            ids = list(conversation.conditions)  # a follow-up keeps the topic
        return [c for i in ids if (c := self.evidence.get(i)) is not None]

    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one turn and record it in the conversation."""
        conversation = conversation if conversation is not None else Conversation()
        conditions = self.conditions_for(question, conversation)
        ids = [c.id for c in conditions]
        query = (
            question
            if not conversation.conditions or self.detector.detect(question)
            else (f"{question} {' '.join(c.name for c in conditions)}")
        )
        passages = self.retriever.search(query, conditions=ids)
        if ids:
            # Findings come from passages about the conditions asked about, or general ones.
            on_topic = [p for p in passages if set(p.conditions) & set(ids) or not p.conditions]
            passages = on_topic or passages
        guidance = self._guidance(ids)
        answer = compose_extractive(question, passages, conditions, guidance=guidance)
        conversation.turns.append(answer)
        if ids:
            conversation.conditions = ids
        return answer

    def _guidance(self, conditions: list[str]) -> list[Passage]:
        hits = self.retriever.search(GUIDANCE_QUERY, k=8, mode="bm25")
        return [p for p in hits if p.kind == "guidance"][:3]
