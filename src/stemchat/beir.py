"""Retrieval evaluation on any BEIR-layout dataset, in its own cached collection."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stemchat.embeddings import make_embeddings, settings_model_tag
from stemchat.errors import ConfigError
from stemchat.ingest import embed_in_batches
from stemchat.lexical import LexicalIndex, cached_index
from stemchat.metrics import ir_metrics
from stemchat.retrieval import HybridSearch
from stemchat.settings import Settings
from stemchat.store import DocEntry, Manifest, Store, make_client

BEIR_KEY = "b"


@dataclass(frozen=True)
class BeirDataset:
    name: str
    corpus: list[dict[str, Any]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    fingerprint: str


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path}:{number}: not valid JSON ({exc.msg}); fix that line"
                ) from None
    return rows


def load_beir(folder: Path, limit: int | None = None) -> BeirDataset:
    """Read corpus.jsonl, queries.jsonl and qrels/test.tsv."""
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"]
    for path in needed:
        if not path.exists():
            raise ConfigError(
                f"{path}: missing; a BEIR dataset needs corpus.jsonl, queries.jsonl, qrels/test.tsv"
            )
    corpus = _read_jsonl(needed[0])
    if limit:
        corpus = corpus[:limit]
    queries = {str(q["_id"]): str(q["text"]) for q in _read_jsonl(needed[1])}
    qrels: dict[str, dict[str, int]] = {}
    with needed[2].open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header and header[0] != "query-id":
            fh.seek(0)
            reader = csv.reader(fh, delimiter="\t")
        for row in reader:
            if len(row) >= 3:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    h = hashlib.sha256()
    for path in needed:
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    h.update(str(limit).encode())
    return BeirDataset(folder.resolve().name, corpus, queries, qrels, h.hexdigest()[:10])


def passage_text(row: dict[str, Any]) -> str:
    title = str(row.get("title") or "").strip()
    text = str(row.get("text") or "").strip()
    return f"{title}\n\n{text}" if title else text


def collection_name(dataset: BeirDataset, tag: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in dataset.name.lower()).strip("-")[:40]
    digest = hashlib.sha256(f"{dataset.fingerprint}:{tag}".encode()).hexdigest()[:8]
    return f"beir-{slug}-{digest}"


def index_dataset(
    settings: Settings, dataset: BeirDataset, *, progress: bool = False, name: str | None = None
) -> tuple[Store, Manifest, LexicalIndex]:
    """Index the passages once (dense and BM25); later runs reuse the cached collection."""
    tag = settings_model_tag(settings)
    store = Store(make_client(settings), name or collection_name(dataset, tag), "beir")
    manifest = store.read_manifest()
    rows = {str(r["_id"]): r for r in dataset.corpus}
    todo = [pid for pid in rows if pid not in manifest.documents]
    if todo:
        if progress:
            print(f"indexing {len(todo)} passages into {store.name}", file=sys.stderr)
        embeddings = make_embeddings(settings, "ingest")
        manifest.model = tag
        step = 512
        for start in range(0, len(todo), step):
            ids = todo[start : start + step]
            texts = [passage_text(rows[i]) for i in ids]
            vectors = embed_in_batches(embeddings, texts, settings.embed_batch_size, False)
            store.upsert(
                [f"{i}::{BEIR_KEY}::000" for i in ids],
                vectors,
                texts,
                [
                    {"doc_id": i, "doc_key": BEIR_KEY, "title": str(rows[i].get("title", ""))}
                    for i in ids
                ],
            )
            for i in ids:
                manifest.documents[i] = DocEntry(key=BEIR_KEY, chunks=1)
            store.write_manifest(manifest)
            if progress:
                print(f"  {min(start + step, len(todo))}/{len(todo)}", file=sys.stderr)
    folder = settings.data_dir / "bm25" / f"{store.name}-{manifest.version}"

    def build() -> LexicalIndex:
        ids = sorted(rows)
        return LexicalIndex.build(
            [f"{i}::{BEIR_KEY}::000" for i in ids], [passage_text(rows[i]) for i in ids]
        )

    return store, manifest, cached_index(folder, build)


def evaluate_retrieval(
    settings: Settings, folder: Path, methods: list[str], *, progress: bool = False, k: int = 100
) -> dict[str, Any]:
    """nDCG@10, MAP@10, MRR@10, P@10 and Recall@100 per method."""
    unknown = sorted(set(methods) - {"bm25", "dense", "hybrid"})
    if unknown:
        raise ConfigError(f"--methods: unknown method {unknown[0]!r}; use bm25, dense or hybrid")
    dataset = load_beir(folder)
    store, manifest, lexical = index_dataset(settings, dataset, progress=progress)
    retriever = HybridSearch(
        store=store,
        embeddings=make_embeddings(settings),
        lexical=lexical,
        manifest=manifest,
        k=k,
        candidates=k,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        lexical_weight=settings.lexical_weight,
        condition_boost=1.0,
    )
    judged = {q: t for q, t in dataset.queries.items() if q in dataset.qrels}
    vectors = dict(
        zip(judged, retriever.embeddings.embed_documents(list(judged.values())), strict=True)
    )
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(judged),
        "passages": len(dataset.corpus),
        "methods": {},
    }
    for method in methods:
        run: dict[str, dict[str, float]] = {}
        for qid, text in judged.items():
            passages = retriever.search(text, k=k, mode=method, query_vector=vectors[qid])  # type: ignore[arg-type]
            run[qid] = {p.doc_id: float(len(passages) - i) for i, p in enumerate(passages)}
        result["methods"][method] = ir_metrics(run, dataset.qrels)
    return result
