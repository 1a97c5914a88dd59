"""Hybrid retrieval: dense (Chroma, cosine) + lexical (BM25) fused by RRF.

`HybridSearch` is the plain engine the chat uses; `HybridRetriever` (LangChain's `BaseRetriever`,
in `stemchat.langchain_retriever`) wraps it for LangChain code. The wrapper lives apart because
importing LangChain's retriever machinery costs most of a second, which the question path skips.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cachetools import LRUCache

from stemchat.fusion import rrf, top
from stemchat.lexical import LexicalIndex, cached_index
from stemchat.store import Hit, Manifest, Store

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings

    from stemchat.corpus.models import CorpusDocument
    from stemchat.local_dense import DenseArm, Encoder

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with what the answer and the citations need."""

    chunk_id: str
    doc_id: str
    title: str
    heading: str
    kind: str
    date: str
    url: str
    conditions: tuple[str, ...]
    text: str
    score: float

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any], score: float) -> Passage:
        conds = tuple(c for c in str(meta.get("conditions", "")).split(",") if c)
        return cls(
            chunk_id=chunk_id,
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title", "")),
            heading=str(meta.get("heading", "")),
            kind=str(meta.get("kind", "")),
            date=str(meta.get("date", "")),
            url=str(meta.get("url", "")),
            conditions=conds,
            text=text,
            score=score,
        )

    @property
    def body(self) -> str:
        """The chunk text without the 'title — heading' line the chunker put first."""
        head, sep, rest = self.text.partition("\n\n")
        return rest if sep and head.startswith(self.title) else self.text

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        return Document(
            id=self.chunk_id,
            page_content=self.text,
            metadata={
                "chunk_id": self.chunk_id,
                "doc_id": self.doc_id,
                "title": self.title,
                "heading": self.heading,
                "kind": self.kind,
                "date": self.date,
                "url": self.url,
                "conditions": list(self.conditions),
                "score": self.score,
            },
        )


def lexical_index_for(store: Store, manifest: Manifest, data_dir: Path) -> LexicalIndex:
    """The BM25 index of the committed chunks, loaded or built once per corpus version."""
    folder = data_dir / "bm25" / f"{store.name}-{manifest.version}"

    def build() -> LexicalIndex:
        hits = store.get(manifest.all_chunk_ids())
        return LexicalIndex.build([h.id for h in hits], [h.text for h in hits])

    return cached_index(folder, build)


def prune_lexical(data_dir: Path, store_name: str, keep: set[str]) -> list[Path]:
    """Delete the BM25 folders of a store's older versions (all but `keep`); returns them."""
    import re
    import shutil

    removed = []
    pattern = re.compile(rf"^{re.escape(store_name)}-([0-9a-f]{{12}})$")
    for folder in sorted((data_dir / "bm25").glob(f"{store_name}-*")):
        m = pattern.match(folder.name)
        if m and m.group(1) not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@dataclass
class HybridSearch:
    """Dense + BM25 with reciprocal rank fusion and an optional boost or filter by condition."""

    store: Store
    embeddings: Embeddings
    lexical: LexicalIndex
    manifest: Manifest
    k: int = 6
    candidates: int = 40
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    condition_boost: float = 1.5
    mode: Mode = "hybrid"
    # shared by every request thread: bounded, and only touched under the lock
    _vectors: LRUCache[str, list[float]] = field(
        default_factory=lambda: LRUCache(maxsize=256), repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # texts of recent winners: a committed version's chunks never change, and the same passages
    # win answer after answer
    _hits: LRUCache[str, Hit] = field(
        default_factory=lambda: LRUCache(maxsize=2048), repr=False, compare=False
    )

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        conditions: Sequence[str] = (),
        filter_conditions: bool = False,
        mode: Mode | None = None,
        query_vector: Sequence[float] | None = None,
        doc_ids: Sequence[str] = (),
    ) -> list[Passage]:
        """Top-k passages for a question, best first (optionally only from some documents)."""
        k = k or self.k
        mode = mode or self.mode
        n = max(self.candidates, k)
        where = _condition_filter(conditions) if filter_conditions and conditions else None
        if doc_ids:
            only = {"doc_id": {"$in": list(doc_ids)}}
            where = {"$and": [where, only]} if where else only
        rankings: dict[str, list[str]] = {}
        wanted_docs = set(doc_ids)

        def keep(cid: str) -> bool:
            if not self.manifest.owns(cid):
                return False  # written by an interrupted ingest, not committed
            if wanted_docs and cid.rsplit("::", 2)[0] not in wanted_docs:
                return False
            if filter_conditions and conditions:
                return any(self.chunk_meta.get(cid, {}).get(f"cond_{x}") for x in conditions)
            return True

        if mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self._embed(query)
            hits = self.store.query(vector, n + 8, where)
            rankings["dense"] = [h.id for h in hits if keep(h.id)][:n]
        if mode in ("hybrid", "bm25"):
            wide = n * 4 if (where or filter_conditions) else n
            rankings["bm25"] = [cid for cid, _ in self.lexical.search(query, wide) if keep(cid)][:n]
        scores = rrf(
            rankings,
            k=self.rrf_k,
            weights={"dense": self.dense_weight, "bm25": self.lexical_weight},
        )
        if conditions and self.condition_boost != 1.0:
            wanted = set(conditions)
            meta = self.chunk_meta
            for cid in scores:
                conds = set(str(meta.get(cid, {}).get("conditions", "")).split(","))
                if conds & wanted:
                    scores[cid] *= self.condition_boost
        winners = top(scores, k)
        texts = self._texts([cid for cid, _ in winners])
        return [
            Passage.from_metadata(cid, texts[cid].text, texts[cid].metadata, score)
            for cid, score in winners
            if cid in texts
        ]

    def _texts(self, ids: list[str]) -> dict[str, Hit]:
        """Chunk texts by id, from the cache or one read of the store."""
        with self._lock:
            out = {cid: hit for cid in ids if (hit := self._hits.get(cid)) is not None}
        missing = [cid for cid in ids if cid not in out]
        if missing:
            got = {h.id: h for h in self.store.get(missing)}
            with self._lock:
                for cid, hit in got.items():
                    self._hits[cid] = hit
            out.update(got)
        return out

    def embed(self, query: str) -> list[float]:
        """The query's embedding (cached): a caller that searches several ways with one meaning
        passes it back as `query_vector`."""
        return self._embed(query)

    def _embed(self, query: str) -> list[float]:
        """One embedding per distinct query text: an answer searches several pools with it."""
        with self._lock:
            vector = self._vectors.get(query)
        if vector is None:
            vector = self.embeddings.embed_query(query)
            with self._lock:
                self._vectors[query] = vector
        return vector

    @cached_property
    def chunk_meta(self) -> dict[str, dict[str, Any]]:
        """Metadata of every committed chunk, loaded once with this search (small: no texts)."""
        return self.store.metadata(self.manifest.all_chunk_ids())


def _condition_filter(conditions: Sequence[str]) -> dict[str, Any]:
    clauses = [{f"cond_{c}": True} for c in conditions]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def __getattr__(name: str) -> Any:
    """`stemchat.retrieval.HybridRetriever` still works, importing LangChain only when asked."""
    if name == "HybridRetriever":
        from stemchat.langchain_retriever import HybridRetriever

        return HybridRetriever
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class LocalSearch:
    """Search over a translation's passages, held in memory, with the interface the composer uses
    from `HybridSearch`: BM25 in the documents' language (stemmed, accents folded) and, when an
    encoder is given, a dense arm in that language (`stemchat.local_dense`), fused by the same
    reciprocal rank fusion as English.

    A translation is small (one document per overview and guide) and read only when a patient
    writes in its language, so it needs neither the store nor the English model: an English
    conversation never builds it, nor imports its encoder."""

    passages: dict[str, Passage]
    lexical: LexicalIndex
    dense: DenseArm | None = None
    k: int = 6
    candidates: int = 40
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    condition_boost: float = 1.5
    mode: Mode = "hybrid"
    _vectors: LRUCache[str, list[float]] = field(
        default_factory=lambda: LRUCache(maxsize=256), repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[CorpusDocument],
        language: str,
        *,
        chunk_size: int,
        overlap: int,
        encoder: Encoder | None = None,
        vectors_dir: Path | None = None,
        **options: Any,
    ) -> LocalSearch:
        """Chunk the documents and index them; with an encoder, also their vectors (read from
        `vectors_dir` when cached there, else encoded once and saved)."""
        # the splitter imports LangChain (~0.25 s): only when a translation is first needed
        from stemchat.chunking import chunk_document

        passages: dict[str, Passage] = {}
        for doc in documents:
            for chunk in chunk_document(
                doc, chunk_size=chunk_size, chunk_overlap=overlap, model_tag=language
            ):
                passages[chunk.id] = Passage.from_metadata(
                    chunk.id, chunk.text, chunk.metadata, 0.0
                )
        ids = list(passages)
        texts = [passages[i].text for i in ids]
        lexical = LexicalIndex.build(ids, texts, language)
        dense = None
        if encoder is not None:
            from stemchat.local_dense import DenseArm

            dense = DenseArm.build(encoder, ids, texts, vectors_dir, language)
        return cls(passages, lexical, dense, **options)

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        conditions: Sequence[str] = (),
        filter_conditions: bool = False,
        mode: Mode | None = None,
        query_vector: Sequence[float] | None = None,
        doc_ids: Sequence[str] = (),
    ) -> list[Passage]:
        """Top-k passages, best first (optionally only some documents or conditions)."""
        k = k or self.k
        mode = mode or self.mode
        n = max(self.candidates, k)
        wanted_docs, wanted = set(doc_ids), set(conditions)

        def keep(cid: str) -> bool:
            p = self.passages[cid]
            if wanted_docs and p.doc_id not in wanted_docs:
                return False
            return not (filter_conditions and wanted and not wanted & set(p.conditions))

        if self.dense is None or mode == "bm25":
            # BM25 alone: its own scores, boosted for the conditions asked about
            scored: list[tuple[float, str]] = []
            for cid, score in self.lexical.search(query, n * 4):
                if keep(cid):
                    conds = set(self.passages[cid].conditions)
                    boost = self.condition_boost if wanted & conds else 1.0
                    scored.append((score * boost, cid))
            scored.sort(key=lambda t: -t[0])
            return [replace(self.passages[cid], score=s) for s, cid in scored[:k]]

        rankings: dict[str, list[str]] = {}
        vector = query_vector if query_vector else self.embed(query)
        rankings["dense"] = [cid for cid in self.dense.rank(vector) if keep(cid)][:n]
        if mode == "hybrid":
            rankings["bm25"] = [cid for cid, _ in self.lexical.search(query, n * 4) if keep(cid)][
                :n
            ]
        scores = rrf(
            rankings,
            k=self.rrf_k,
            weights={"dense": self.dense_weight, "bm25": self.lexical_weight},
        )
        if wanted and self.condition_boost != 1.0:
            for cid in scores:
                if wanted & set(self.passages[cid].conditions):
                    scores[cid] *= self.condition_boost
        return [replace(self.passages[cid], score=s) for cid, s in top(scores, k)]

    def embed(self, query: str) -> list[float]:
        """The question's vector in the dense arm (cached per text; the composer passes it back
        as `query_vector`), or empty without one."""
        if self.dense is None:
            return []
        with self._lock:
            vector = self._vectors.get(query)
        if vector is None:
            vector = self.dense.embed(query)
            with self._lock:
                self._vectors[query] = vector
        return vector
