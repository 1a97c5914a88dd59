"""`stemchat eval retrieval-es`: which dense arm (if any) Spanish search should have, measured.

Five options on the Spanish gold questions that name documents (`cite_any`, kept to the documents
that exist in Spanish): Spanish BM25 alone, MiniLM alone, BM25 + MiniLM, USE multilingual alone,
BM25 + USE, fused as English is (`stemchat.fusion.rrf`, same candidates, weights and k). Each is
scored twice:

- `retrieval`: the turn's search text (what the composer searches with: the question, its aspect's
  words, a carried condition's name) against every Spanish passage, top 10 documents;
- `answer`: the documents the answer itself retrieves (`Engine.rank_documents`, the ranking
  `stemchat eval` scores), with the condition filters and boosts of the composer's pools.

Reported per option: nDCG@10 (binary relevance), recall@5 (a cited document in the top 5), MRR,
the encoder's time per question, the search's time per question, and what the first Spanish
question pays to build the search (passages encoded with no cache, and with the cache).
With `--english`, the same options on the English gold questions, for context.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stemchat.metrics import hit_at_k, ir_metrics, mean, reciprocal_rank
from stemchat.settings import Settings

# option -> (STEMCHAT_TRANSLATION_EMBEDDINGS, STEMCHAT_LEXICAL_WEIGHT)
OPTIONS: dict[str, tuple[str, float]] = {
    "bm25": ("none", 1.0),
    "minilm": ("minilm", 0.0),
    "bm25+minilm": ("minilm", 1.0),
    "use": ("use", 0.0),
    "bm25+use": ("use", 1.0),
}


@dataclass
class Query:
    id: str
    text: str  # the last turn as the patient wrote it
    search: str  # what the composer searches with
    relevant: set[str]
    conversation: Any  # the conversation before the last turn


def ranked_documents(passages: Sequence[Any], k: int = 10) -> list[str]:
    """Document ids in the order their first passage comes."""
    out: list[str] = []
    for p in passages:
        if p.doc_id not in out:
            out.append(p.doc_id)
    return out[:k]


def scores(rankings: dict[str, list[str]], queries: Sequence[Query]) -> dict[str, float]:
    """nDCG@10 (ir-measures), recall@5 and MRR of one option's rankings."""
    run = {q.id: {d: 1.0 / r for r, d in enumerate(rankings[q.id][:10], 1)} for q in queries}
    qrels = {q.id: dict.fromkeys(q.relevant, 2) for q in queries}
    return {
        "ndcg@10": ir_metrics(run, qrels, relevant_from=2)["ndcg@10"],
        "recall@5": mean([hit_at_k(rankings[q.id], q.relevant, 5) for q in queries]),
        "mrr": mean([reciprocal_rank(rankings[q.id][:10], q.relevant) for q in queries]),
    }


def _engine(settings: Settings) -> Any:
    """An engine that keeps the snapshot it starts with: every option is scored on one index."""
    from stemchat.engine import Engine

    engine = Engine(settings)
    engine.refresh_seconds = float("inf")
    return engine


def _note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _p50_ms(fn: Callable[[str], Any], texts: Sequence[str]) -> float:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        fn(t)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2) if times else 0.0


def gold_queries(engine: Any, gold: Path, documents: set[str]) -> tuple[list[Query], int]:
    """The gold cases that cite documents, with their search text; and how many were left out
    because none of their documents exists in the searched language."""
    from stemchat.composer import turn_query
    from stemchat.engine import Conversation
    from stemchat.evaluation import load_gold
    from stemchat.language import detect_language
    from stemchat.safety import clean
    from stemchat.texts import use_language

    out, skipped = [], 0
    for case in load_gold(gold):
        relevant = set(case.expect.cite_any) & documents
        if not case.expect.cite_any:
            continue
        if not relevant:
            skipped += 1
            continue
        conv = Conversation()
        for turn in case.turns[:-1]:
            engine.answer(turn, conv)
        last = case.turns[-1]
        language = detect_language(clean(last), conv.language)
        with use_language(language):
            plan = engine.plan(last, conv, engine.snapshot)
            search = turn_query(plan)
        out.append(Query(case.id, last, search, relevant, conv))
    return out, skipped


def spanish_options(settings: Settings, gold: Path) -> dict[str, Any]:
    """The five options on the Spanish gold set (see the module)."""
    import tempfile

    from stemchat.corpus.loader import load_corpus
    from stemchat.corpus.translations import load_translations
    from stemchat.local_dense import make_encoder, passage_vectors
    from stemchat.retrieval import LocalSearch

    translations = load_translations(load_corpus(settings.corpus_dir), settings.corpus_dir, "es")
    documents = {d.meta.id for d in translations.documents}
    base = _engine(settings.model_copy(update={"translation_embeddings": "none"}))
    queries, skipped = gold_queries(base, gold, documents)
    _note(f"Spanish: {len(queries)} questions")
    passages = LocalSearch.from_documents(
        translations.documents, "es", chunk_size=settings.chunk_size, overlap=settings.chunk_overlap
    ).passages
    texts = [p.text for p in passages.values()]
    result: dict[str, Any] = {
        "queries": len(queries),
        "left_out": skipped,
        "documents": len(documents),
        "passages": len(passages),
        "options": {},
    }
    costs: dict[str, dict[str, Any]] = {}  # per encoder: load, passages, one question
    for name, (encoder_name, lexical_weight) in OPTIONS.items():
        opt = settings.model_copy(
            update={"translation_embeddings": encoder_name, "lexical_weight": lexical_weight}
        )
        row: dict[str, Any] = {}
        encoder = make_encoder(opt, encoder_name)  # type: ignore[arg-type]
        if encoder is not None and encoder_name in costs:  # measured with the other option
            row.update(costs[encoder_name])
        elif encoder is not None:
            t0 = time.perf_counter()
            encoder.load()
            row["model_load_s"] = round(time.perf_counter() - t0, 3)
            with tempfile.TemporaryDirectory() as tmp:  # no cache: what a first start pays
                t0 = time.perf_counter()
                passage_vectors(encoder, texts, Path(tmp))
                row["passages_encode_s"] = round(time.perf_counter() - t0, 3)
            row["query_encode_p50_ms"] = _p50_ms(
                lambda t, e=encoder: e.encode([t]),  # type: ignore[misc]
                [q.search for q in queries],
            )
            costs[encoder_name] = dict(row)
        engine = _engine(opt)
        t0 = time.perf_counter()
        composer = engine.snapshot.for_language("es")[0]
        row["build_s"] = round(time.perf_counter() - t0, 3)  # with the vector cache
        search = composer.searcher
        row["search_p50_ms"] = _p50_ms(
            lambda t, s=search: s.search(t, k=40),  # type: ignore[misc]
            [q.search for q in queries],
        )
        alone = {q.id: ranked_documents(search.search(q.search, k=40)) for q in queries}
        in_answer = {q.id: engine.rank_documents(q.text, q.conversation) for q in queries}
        row["retrieval"] = scores(alone, queries)
        row["answer"] = scores(in_answer, queries)
        result["options"][name] = row
        _note(f"Spanish {name}: {row['retrieval']} / in the answer {row['answer']}")
    return result


def english_options(settings: Settings, gold: Path) -> dict[str, Any]:
    """The same options on the English gold set and corpus, retrieval alone, for context."""
    from stemchat.fusion import rrf, top
    from stemchat.local_dense import DenseArm, use_encoder

    engine = _engine(settings)
    snap = engine.snapshot
    searcher = snap.searcher
    hits = snap.store.get(snap.manifest.all_chunk_ids())
    doc_of = {h.id: h.id.rsplit("::", 2)[0] for h in hits}
    documents = set(doc_of.values())
    queries, skipped = gold_queries(engine, gold, documents)
    _note(f"English: {len(queries)} questions")
    encoder = use_encoder()
    ids, texts = [h.id for h in hits], [h.text for h in hits]
    use = DenseArm.build(encoder, ids, texts, settings.data_dir / "vectors", "en-bench")
    n = settings.candidates

    def docs(ids: Sequence[str]) -> list[str]:
        out: list[str] = []
        for cid in ids:
            if doc_of[cid] not in out:
                out.append(doc_of[cid])
        return out[:10]

    def bm25(q: str) -> list[str]:
        return [cid for cid, _ in searcher.lexical.search(q, n)]

    def minilm(q: str) -> list[str]:
        return [h.id for h in snap.store.query(searcher.embed(q), n)]

    def use_rank(q: str) -> list[str]:
        return use.rank(use.embed(q))[:n]

    def fused(a: list[str], b: list[str]) -> list[str]:
        return [cid for cid, _ in top(rrf({"a": a, "b": b}, k=settings.rrf_k), n)]

    arms = {
        "bm25": bm25,
        "minilm": minilm,
        "bm25+minilm": lambda q: fused(minilm(q), bm25(q)),
        "use": use_rank,
        "bm25+use": lambda q: fused(use_rank(q), bm25(q)),
    }
    result: dict[str, Any] = {"queries": len(queries), "left_out": skipped, "options": {}}
    for name, arm in arms.items():
        rankings = {q.id: docs(arm(q.search)) for q in queries}
        result["options"][name] = {"retrieval": scores(rankings, queries)}
    result["options"]["minilm"]["query_encode_p50_ms"] = _p50_ms(
        searcher.embeddings.embed_query, [q.search for q in queries]
    )
    result["options"]["use"]["query_encode_p50_ms"] = _p50_ms(
        lambda t: encoder.encode([t]), [q.search for q in queries]
    )
    return result


def evaluate_spanish_retrieval(
    settings: Settings, gold: Path, english_gold: Path | None = None
) -> dict[str, Any]:
    report: dict[str, Any] = {"spanish": spanish_options(settings, gold)}
    if english_gold is not None:
        report["english"] = english_options(settings, english_gold)
    return report


def table(report: dict[str, Any]) -> str:
    """The report as Markdown tables (the README's)."""
    es = report["spanish"]
    lines = [
        f"Spanish: {es['queries']} questions, {es['documents']} documents, "
        f"{es['passages']} passages ({es['left_out']} questions left out: none of their "
        "documents is in Spanish)",
        "",
        "| option | nDCG@10 | recall@5 | MRR | in the answer: nDCG@10 / recall@5 / MRR "
        "| encode / question | search / question | passages encoded (no cache) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in es["options"].items():
        r, a = row["retrieval"], row["answer"]
        enc = f"{row['query_encode_p50_ms']} ms" if "query_encode_p50_ms" in row else "-"
        passages = f"{row['passages_encode_s']} s" if "passages_encode_s" in row else "-"
        lines.append(
            f"| {name} | {r['ndcg@10']:.3f} | {r['recall@5']:.3f} | {r['mrr']:.3f} "
            f"| {a['ndcg@10']:.3f} / {a['recall@5']:.3f} / {a['mrr']:.3f} "
            f"| {enc} | {row['search_p50_ms']} ms | {passages} |"
        )
    en = report.get("english")
    if en:
        lines += [
            "",
            f"English (context): {en['queries']} questions",
            "",
            "| option | nDCG@10 | recall@5 | MRR |",
            "|---|---|---|---|",
        ]
        for name, row in en["options"].items():
            r = row["retrieval"]
            lines.append(f"| {name} | {r['ndcg@10']:.3f} | {r['recall@5']:.3f} | {r['mrr']:.3f} |")
    return "\n".join(lines)
