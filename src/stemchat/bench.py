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
from stemchat.markup import escape
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
        # passages are plain text: escaped, a bare address in one stays text and the document loads
        body = escape(str(row.get("text") or ""))
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


# ----------------------------------------------------------------------------------------------
# `stemchat bench --scale`: the whole dataset through the real ingest, in a store of its own.

_PEAK = (
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "print('MAXRSS', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
)


def _run_measured(code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Run Python code in a fresh process: wall seconds, peak resident MB, stdout."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code + _PEAK],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"bench worker failed (exit {done.returncode}): {tail}")
    rss_kb = next(
        (int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS")), 0
    )
    return seconds, round(rss_kb / 1024, 1), done.stdout


def disk_mb(folder: Path) -> float:
    """Bytes actually allocated under a folder (sparse files count what they use), in MB."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_blocks * 512
    return round(total / 2**20, 1)


def query_probe() -> None:
    """Worker for `bench --scale`: open the store named by STEMCHAT_*, time searches, print JSON."""
    from stemchat.settings import load_settings

    settings = load_settings()
    queries = json.loads(Path(os.environ["BENCH_QUERIES_FILE"]).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    store = open_store(settings)
    manifest = store.read_manifest()
    search = HybridSearch(
        store=store,
        embeddings=make_embeddings(settings, "query"),
        lexical=lexical_index_for(store, manifest, settings.data_dir),
        manifest=manifest,
        k=settings.top_k,
        candidates=settings.candidates,
        rrf_k=settings.rrf_k,
    )
    search.search("warm up: stem cells")
    open_s = time.perf_counter() - t0
    vectors = search.embeddings.embed_documents(queries)  # embedding is measured elsewhere
    collection = store.collection
    k = settings.top_k
    pairs = dict(zip(queries, vectors, strict=True))
    result = {
        "chunks": store.count(),
        "documents": len(manifest.documents),
        "open_s": round(open_s, 3),
        "floor": _latency(
            lambda q: collection.query(query_embeddings=[pairs[q]], n_results=k), queries
        ),
        "bm25": _latency(lambda q: search.search(q, mode="bm25"), queries),
        "dense": _latency(lambda q: search.search(q, mode="dense", query_vector=pairs[q]), queries),
        "hybrid": _latency(
            lambda q: search.search(q, mode="hybrid", query_vector=pairs[q]), queries
        ),
    }
    print(json.dumps(result))


def _probe(settings: Settings, queries: list[str]) -> dict[str, Any]:
    env = _env_for(settings)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(queries, fh)  # too long for an environment variable
    env["BENCH_QUERIES_FILE"] = fh.name
    try:
        _, peak, out = _run_measured("from stemchat.bench import query_probe\nquery_probe()\n", env)
    finally:
        Path(fh.name).unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak
    return result


def _env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "STEMCHAT_CORPUS_DIR": str(settings.corpus_dir),
            "STEMCHAT_DATA_DIR": str(settings.data_dir),
            "STEMCHAT_CHROMA_URL": settings.chroma_url,
            "STEMCHAT_COLLECTION": settings.collection,
            "STEMCHAT_QUERY_EMBEDDINGS": settings.query_embeddings,
        }
    )
    return env


def run_scale_bench(
    settings: Settings,
    dataset: Path,
    *,
    queries: int = 300,
    limit: int | None = None,
    folder: Path | None = None,
) -> dict[str, Any]:
    """All passages through `stemchat ingest` into a separate store; size, memory, query speed.

    The scale store lives in `folder` (default: `<data dir>/scale`), or in the collection
    `<collection>-scale` of the Chroma server when STEMCHAT_CHROMA_URL is set. Ingest is
    incremental, so an interrupted run resumes; `resumed` then says the time is partial.
    """
    from stemchat.index import ensure_index

    folder = folder or settings.data_dir / "scale"
    data = load_beir(dataset, limit=limit)
    qs = bench_queries(dataset, queries)
    corpus_dir = folder / "corpus"
    marker = corpus_dir / ".passages"
    if not marker.exists() or marker.read_text() != data.fingerprint:
        write_passages_as_corpus(data.corpus, corpus_dir)
        marker.write_text(data.fingerprint)
    scale = settings.model_copy(
        update={
            "corpus_dir": corpus_dir,
            "data_dir": folder / "data",
            "collection": f"{settings.collection}-scale",
        }
    )
    before = open_store(scale).read_manifest()
    resumed = bool(before.documents)
    ingest_s, ingest_peak, _ = _run_measured(
        "from stemchat.cli import main\nrc = main(['ingest'])\nassert rc == 0, rc\n",
        _env_for(scale),
    )
    after = open_store(scale).read_manifest()
    ensure_index(settings, quiet=True)  # the curated store, for the comparison
    curated = _probe(settings, qs)
    large = _probe(scale, qs)
    size = disk_mb(scale.data_dir) if not scale.chroma_url else None
    return {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "passages": len(data.corpus),
        "store": str(scale.data_dir) if not scale.chroma_url else scale.chroma_url,
        "collection": scale.collection,
        "ingest": {
            "documents": len(after.documents),
            "chunks": after.chunk_count,
            "seconds": round(ingest_s, 1),
            "resumed": resumed,
            "chunks_per_s": round((after.chunk_count - before.chunk_count) / ingest_s, 1),
            "peak_mb": ingest_peak,
        },
        "disk_mb": size,
        "disk_bytes_per_chunk": round(size * 2**20 / after.chunk_count) if size else None,
        "queries": len(qs),
        "scale": large,
        "curated": curated,
        "hybrid_p50_ratio": round(large["hybrid"]["p50_ms"] / curated["hybrid"]["p50_ms"], 2),
    }
