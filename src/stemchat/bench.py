"""`stemchat bench`: ingest and query speed on real passages, against floors measured in the same run."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from stemchat.beir import load_beir
from stemchat.embeddings import make_embeddings
from stemchat.ingest import embed_in_batches, ingest
from stemchat.metrics import percentile
from stemchat.retrieval import HybridSearch, lexical_index_for
from stemchat.settings import Settings
from stemchat.store import open_store


def _latency(fn: Callable[[str], Any], queries: list[str]) -> dict[str, Any]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(percentile(times, 95), 3),
        "n": len(times),
    }


def write_passages_as_corpus(rows: list[dict[str, Any]], folder: Path) -> None:
    """Turn BEIR passages into corpus documents so the bench drives the real ingest path."""
    docs = folder / "documents"
    docs.mkdir(parents=True, exist_ok=True)
    (folder / "conditions.yaml").write_text(yaml.safe_dump({"version": "bench", "conditions": []}))
    for i, row in enumerate(rows):
        doc_id = f"p{i:06d}"
        meta = {
            "id": doc_id,
            "title": str(row.get("title") or doc_id)[:200],
            "kind": "review",
            "conditions": [],
            "sources": [
                {
                    "title": "MedQuAD",
                    "url": str(
                        row.get("metadata", {}).get("url") or "https://github.com/abachaa/MedQuAD"
                    ),
                    "date": "2019",
                }
            ],
            "as_of": "2019-01-01",
            "last_reviewed": "2026-11-26",
            "reviewed_by": "bench",
        }
        body = str(row.get("text") or "")
        if len(body.split()) < 20:
            body = (body + " ") * (20 // max(1, len(body.split())) + 1)
        (docs / f"{doc_id}.md").write_text(
            f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}\n"
        )


def bench_queries(folder: Path, n: int) -> list[str]:
    """Real patient questions: the summary, the original message and the paraphrase of each."""
    out: list[str] = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    for row in rows:
        meta = row.get("metadata") or {}
        for text in (row.get("text"), meta.get("original"), meta.get("paraphrase")):
            if text and str(text).strip():
                out.append(str(text).strip()[:1000])
    return out[:n]


def cold_start(settings: Settings, question: str, query_embeddings: str) -> dict[str, Any]:
    """Wall time and peak memory of a fresh `stemchat ask --json` process on an indexed store."""
    env = dict(os.environ)
    env["STEMCHAT_DATA_DIR"] = str(settings.data_dir)
    env["STEMCHAT_CORPUS_DIR"] = str(settings.corpus_dir)
    env["STEMCHAT_QUERY_EMBEDDINGS"] = query_embeddings
    code = (
        "import sys\n"
        "from stemchat.cli import main\n"
        f"rc = main(['ask', '--json', {question!r}])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
        "print('MAXRSS', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
        "print('TORCH', 'torch' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    exe = [sys.executable, "-c", code]
    subprocess.run(exe, env=env, check=True, capture_output=True)  # index and export first
    t0 = time.perf_counter()
    done = subprocess.run(exe, env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    rss_kb = next(
        (int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS")), 0
    )
    torch_loaded = any(line == "TORCH True" for line in done.stderr.splitlines())
    return {
        "seconds": round(seconds, 3),
        "peak_mb": round(rss_kb / 1024, 1),
        "torch_imported": torch_loaded,
    }


def warm_answers(settings: Settings, gold: Path, fallback: list[str]) -> dict[str, Any]:
    """Full guarded answers on the curated corpus, model already loaded (warm), p50/p95."""
    from stemchat.engine import Engine

    questions = fallback
    if gold.exists():
        from stemchat.evaluation import load_gold

        questions = [c.turns[-1] for c in load_gold(gold)]
    engine = Engine(settings)
    engine.answer("warm up: do stem cells help lupus?")
    result = _latency(engine.answer, questions)
    result["query_embeddings"] = type(engine.searcher.embeddings).__name__
    return result


def run_bench(
    settings: Settings,
    dataset: Path,
    *,
    limit: int = 1000,
    queries: int = 300,
    gold: Path = Path("eval/gold.yaml"),
) -> dict[str, Any]:
    """Measure ingest against pure encoding, and query paths against a raw floor."""
    from stemchat.embeddings import ensure_onnx

    t0 = time.perf_counter()
    embeddings = make_embeddings(settings, "ingest")
    embeddings.embed_query("warm up the model")
    model_load_s = time.perf_counter() - t0

    data = load_beir(dataset, limit=limit)
    qs = bench_queries(dataset, queries)
    with tempfile.TemporaryDirectory(prefix="stemchat-bench-") as tmp:
        tmp_path = Path(tmp)
        write_passages_as_corpus(data.corpus, tmp_path / "corpus")
        bench_settings = settings.model_copy(
            update={
                "corpus_dir": tmp_path / "corpus",
                "data_dir": tmp_path / "data",
                "chroma_url": "",
                "collection": "bench",
            }
        )
        store = open_store(bench_settings)
        t0 = time.perf_counter()
        report = ingest(bench_settings, embeddings, store=store)
        ingest_s = time.perf_counter() - t0
        texts = [h.text for h in store.get(store.read_manifest().all_chunk_ids())]
        t0 = time.perf_counter()
        embed_in_batches(embeddings, texts, settings.embed_batch_size * 4, False)
        encode_s = time.perf_counter() - t0

        manifest = store.read_manifest()
        ensure_onnx(settings)
        query_embeddings = make_embeddings(settings, "query")
        query_embeddings.embed_query("warm up")
        retriever = HybridSearch(
            store=store,
            embeddings=query_embeddings,
            lexical=lexical_index_for(store, manifest, bench_settings.data_dir),
            manifest=manifest,
            k=settings.top_k,
            candidates=settings.candidates,
            rrf_k=settings.rrf_k,
        )
        k = settings.top_k
        collection = store.collection

        def floor(q: str) -> Any:
            return collection.query(query_embeddings=[query_embeddings.embed_query(q)], n_results=k)

        from langchain_chroma import Chroma

        lc = Chroma(
            client=store.client, collection_name=store.name, embedding_function=query_embeddings
        )
        query: dict[str, Any] = {
            "floor": _latency(floor, qs),
            "bm25": _latency(lambda q: retriever.search(q, mode="bm25"), qs),
            "dense": _latency(lambda q: retriever.search(q, mode="dense"), qs),
            "hybrid": _latency(lambda q: retriever.search(q, mode="hybrid"), qs),
            "langchain": _latency(lambda q: lc.similarity_search(q, k=k), qs),
        }
        query["ratio_p50"] = round(query["hybrid"]["p50_ms"] / query["floor"]["p50_ms"], 3)
        query["query_embeddings"] = type(query_embeddings).__name__
        embedding: dict[str, Any] = {
            "onnx": _latency(query_embeddings.embed_query, qs),
            "torch": _latency(embeddings.embed_query, qs),
        }
        sample = texts[:256]
        for name, emb in (("onnx", query_embeddings), ("torch", embeddings)):
            t0 = time.perf_counter()
            emb.embed_documents(sample)
            embedding[f"{name}_passages_per_s"] = round(len(sample) / (time.perf_counter() - t0), 1)
        query["langchain_ratio_p50"] = round(
            query["langchain"]["p50_ms"] / query["floor"]["p50_ms"], 3
        )
    cold = cold_start(settings, "Do stem cells help lupus?", settings.query_embeddings)
    answers = warm_answers(settings, gold, qs)
    return {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "passages": len(data.corpus),
        "ingest": {
            "documents": report.documents,
            "chunks": report.chunks,
            "seconds": round(ingest_s, 3),
            "encode_seconds": round(encode_s, 3),
            "ratio": round(ingest_s / encode_s, 3) if encode_s else None,
        },
        "query": query,
        "query_embedding": embedding,
        "answer": answers,
        "model_load_s": round(model_load_s, 3),
        "cold_start_s": cold["seconds"],
        "cold_start": {
            "onnx": cold,
            "torch": cold_start(settings, "Do stem cells help lupus?", "torch"),
        },
    }
