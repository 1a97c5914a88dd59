"""Retrieval evaluation and the benchmark on real MedQuAD passages (a committed sample)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stemchat.beir import evaluate_retrieval, load_beir
from stemchat.bench import run_bench, run_scale_bench
from stemchat.errors import ConfigError
from stemchat.metrics import METRICS, percentile
from tests.conftest import DATA, REPO, copy_corpus, make_settings

pytestmark = pytest.mark.integration

SAMPLE = DATA / "medquad-sample"


def test_percentile_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0


def test_load_beir_reads_layout() -> None:
    data = load_beir(SAMPLE)
    assert len(data.corpus) == 240 and len(data.queries) == 16
    assert all(q in data.queries for q in data.qrels)


def test_bad_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"corpus\.jsonl"):
        load_beir(tmp_path)


def test_evaluate_retrieval_all_methods_cached(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path)
    result = evaluate_retrieval(settings, SAMPLE, ["bm25", "dense", "hybrid"])
    assert result["dataset"] == "medquad-sample" and result["queries"] == 16
    for method in ("bm25", "dense", "hybrid"):
        metrics = result["methods"][method]
        assert set(metrics) == set(METRICS)
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
        # judged passages are in the sample, so every method finds some
        assert metrics["recall@100"] > 0.5
    json.dumps(result)
    # second run reuses the cached collection and BM25 index: same numbers
    again = evaluate_retrieval(settings, SAMPLE, ["hybrid"])
    assert again["methods"]["hybrid"] == result["methods"]["hybrid"]
    with pytest.raises(ConfigError, match="unknown method"):
        evaluate_retrieval(settings, SAMPLE, ["bm26"])


def test_bench_reports_ratios_against_floor(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, copy_corpus(tmp_path / "corpus", REPO / "tests" / "data" / "corpus")
    )
    result = run_bench(settings, SAMPLE, limit=60, queries=20)
    ingest = result["ingest"]
    assert ingest["documents"] == 60 and ingest["chunks"] >= 60
    assert ingest["seconds"] > 0 and ingest["encode_seconds"] > 0
    assert ingest["ratio"] == pytest.approx(ingest["seconds"] / ingest["encode_seconds"], rel=0.01)
    query = result["query"]
    for path in ("floor", "bm25", "dense", "hybrid", "langchain"):
        assert query[path]["n"] == 20 and 0 < query[path]["p50_ms"] <= query[path]["p95_ms"]
    assert query["ratio_p50"] == pytest.approx(
        query["hybrid"]["p50_ms"] / query["floor"]["p50_ms"], rel=0.01
    )
    assert result["cold_start_s"] > 0
    assert result["cold_start"]["onnx"]["torch_imported"] is False
    assert result["cold_start"]["torch"]["torch_imported"] is True
    assert (
        result["query_embedding"]["onnx"]["n"] == 20
        and result["query_embedding"]["torch_passages_per_s"] > 0
    )
    assert result["answer"]["n"] >= 120 and result["answer"]["query_embeddings"] == "OnnxEmbeddings"


def test_scale_bench_uses_a_separate_store_and_resumes(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, copy_corpus(tmp_path / "corpus", REPO / "tests" / "data" / "corpus")
    )
    result = run_scale_bench(settings, SAMPLE, queries=12, limit=40)
    ingest = result["ingest"]
    assert result["passages"] == 40 and ingest["documents"] == 40
    assert ingest["chunks"] >= 40 and ingest["resumed"] is False and ingest["peak_mb"] > 100
    assert result["collection"] == f"{settings.collection}-scale"
    assert result["disk_mb"] and result["disk_mb"] > 0
    scale, curated = result["scale"], result["curated"]
    assert scale["documents"] == 40 and scale["chunks"] == ingest["chunks"]
    # the curated store is compared against, never mixed with the scale store
    assert curated["documents"] == len(list((settings.corpus_dir / "documents").glob("*.md")))
    for side in (scale, curated):
        assert side["peak_mb"] > 0 and side["open_s"] > 0
        for path in ("floor", "bm25", "dense", "hybrid"):
            assert side[path]["n"] == 12 and 0 < side[path]["p50_ms"] <= side[path]["p95_ms"]
    # a second run finds everything stored and embeds nothing new
    again = run_scale_bench(settings, SAMPLE, queries=12, limit=40)
    assert again["ingest"]["resumed"] is True
    assert again["ingest"]["chunks"] == ingest["chunks"] and again["ingest"]["chunks_per_s"] == 0
