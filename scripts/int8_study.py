"""int8 study for the ONNX query encoder (issue 8, optional part).

What it measures, for the exported fp32 all-MiniLM-L6-v2 (data/onnx/model.onnx) and a set of
onnxruntime int8 variants (dynamic and static/QDQ, per-tensor and per-channel, MatMul-only,
with and without some layers excluded):

* fidelity: cosine between the fp32 vector and the int8 vector of the same text, mean and min,
  over real MedQuAD-LiveQA passages (title + "\\n\\n" + text, embedded in batches of 32 like
  ingest) and real query strings (embedded one at a time like the query path);
* latency: single-query p50 through the product's own `OnnxEmbeddings.embed_query`, fp32 and the
  variant timed alternately query by query in the same run (fair on a busy machine), after warm-up;
* size of the model file;
* retrieval, brute-force cosine in numpy scored with `stemchat.metrics.ir_metrics` (ir-measures):
  nDCG@10 on the committed sample tests/data/medquad-sample with (a) int8 queries against fp32
  passages -- the `STEMCHAT_QUERY_EMBEDDINGS` scenario, where only the query encoder changes --
  and (b) int8 queries and int8 passages; and, when a cached fp32 index of the full
  MedQuAD-LiveQA corpus exists in data/chroma (built by `stemchat beir`), nDCG@10 on all
  17,908 passages / 103 judged queries for scenario (a), read from a private copy of the store.

Quantized models, calibration data and caches go to /tmp/int8-study only; nothing in data/ is
written. Run from the repository root:

    .venv/bin/python scripts/int8_study.py                   # everything, ~15-25 min on 2 cores
    .venv/bin/python scripts/int8_study.py --variants dyn-matmul-pc-s8 --no-full
    .venv/bin/python scripts/int8_study.py --list

The report is printed as a markdown table, followed by the JSON that is also written to
/tmp/int8-study/results.json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stemchat.beir import BeirDataset, load_beir, passage_text  # noqa: E402
from stemchat.metrics import ir_metrics  # noqa: E402
from stemchat.onnx_embeddings import OnnxEmbeddings  # noqa: E402

FP32_DIR = ROOT / "data" / "onnx"
DATASET = Path("/work/shared/datasets/medquad-liveqa")
SAMPLE = ROOT / "tests" / "data" / "medquad-sample"
OUT = Path("/tmp/int8-study")
SEED = 8
CALIBRATION_PASSAGES = 200
COSINE_TARGET = 0.995
NDCG_TOLERANCE = 0.005


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    passages: list[str]  # fidelity set
    queries: list[str]  # fidelity and latency set
    calibration: list[str]  # disjoint from the fidelity passages


def pick_texts(full: BeirDataset, n_passages: int, n_queries: int) -> Texts:
    """Seeded, source-mixed samples of real passages and real query strings.

    The dataset has 104 questions; each has an NLM summary (`text`) and what the person wrote
    (`metadata.original`). Those 208 strings are topped up to n_queries with passage titles,
    which are real consumer-health questions too (MedQuAD's question field).
    """
    rng = random.Random(SEED)
    rows = list(full.corpus)
    rng.shuffle(rows)
    passages = [passage_text(r) for r in rows[:n_passages]]
    calibration = [passage_text(r) for r in rows[-CALIBRATION_PASSAGES:]]  # fixed, disjoint
    raw = [
        json.loads(line) for line in (DATASET / "queries.jsonl").read_text().splitlines() if line
    ]
    queries = [str(q["text"]) for q in raw]
    queries += [str(q.get("metadata", {}).get("original") or "") for q in raw]
    queries = [q.strip() for q in queries if q.strip()]
    rest = rows[n_passages:-CALIBRATION_PASSAGES]
    queries += [str(r.get("title") or "").strip() for r in rest[: max(0, n_queries - len(queries))]]
    return Texts(passages, queries[:n_queries], calibration)


# -- variants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    build: Callable[[Path, Path, Texts], None]  # (preprocessed fp32 model, output path, texts)


def _matmul_nodes(model_path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul"]


def _select(model_path: Path, keep: Callable[[str], bool]) -> list[str]:
    return [n for n in _matmul_nodes(model_path) if keep(n)]


def _first_last(name: str) -> bool:
    return "/layer.0/" in name or "/layer.5/" in name


def _ffn_out(name: str) -> bool:
    return "/output/dense/" in name and "/attention/" not in name


def dynamic(
    *,
    per_channel: bool,
    weight_type: str = "QInt8",
    reduce_range: bool = False,
    defaults: bool = False,
    exclude: Callable[[str], bool] | None = None,
) -> Callable[[Path, Path, Texts], None]:
    def build(src: Path, dst: Path, texts: Texts) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        if defaults:
            quantize_dynamic(src, dst)
            return
        quantize_dynamic(
            src,
            dst,
            op_types_to_quantize=["MatMul"],
            per_channel=per_channel,
            reduce_range=reduce_range,
            weight_type=getattr(QuantType, weight_type),
            nodes_to_exclude=_select(src, exclude) if exclude else None,
            # only MatMuls with a constant (weight) input: the attention score products
            # Q*K^T and P*V are activation x activation and stay fp32
            extra_options={"MatMulConstBOnly": True},
        )

    return build


class PassageReader:
    """Calibration data: real passages, one per batch, tokenized like the query path.

    With `fixed_tokens`, only passages at least that long are used, cut to exactly that many
    tokens: the histogram calibrators (Percentile, Entropy) of onnxruntime 1.32 stack every
    batch's activations into one array and fail on varying sequence lengths. No padding is
    used, so no padded positions enter the ranges.
    """

    def __init__(self, texts: list[str], fixed_tokens: int | None = None) -> None:
        from tokenizers import Tokenizer

        from stemchat.onnx_embeddings import MAX_TOKENS

        tokenizer = Tokenizer.from_file(str(FP32_DIR / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=fixed_tokens or MAX_TOKENS)
        encoded = tokenizer.encode_batch(texts)
        if fixed_tokens:
            encoded = [e for e in encoded if len(e.ids) == fixed_tokens]
        self.count = len(encoded)
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(
            [
                {
                    "input_ids": np.array([e.ids], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids], dtype=np.int64),
                }
                for e in encoded
            ]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # not needed by the calibrators used here
        raise NotImplementedError


def static(
    method: str, fixed_tokens: int | None = None, **extra: Any
) -> Callable[[Path, Path, Texts], None]:
    def build(src: Path, dst: Path, texts: Texts) -> None:
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )

        quantize_static(
            src,
            dst,
            PassageReader(texts.calibration, fixed_tokens),  # type: ignore[arg-type]
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, method),
            extra_options={"MatMulConstBOnly": True, **extra},
        )

    return build


VARIANTS = [
    Variant("dyn-default", "quantize_dynamic defaults (the rejected baseline)", dynamic(per_channel=False, defaults=True)),
    Variant("dyn-matmul-pt-s8", "dynamic, MatMul(const B) only, per-tensor, S8 weights", dynamic(per_channel=False)),
    Variant("dyn-matmul-pc-s8", "dynamic, MatMul(const B) only, per-channel, S8 weights", dynamic(per_channel=True)),
    Variant("dyn-matmul-pc-s8-rr", "as dyn-matmul-pc-s8 + reduce_range (7-bit)", dynamic(per_channel=True, reduce_range=True)),
    Variant("dyn-matmul-pc-u8", "dynamic, MatMul(const B) only, per-channel, U8 weights", dynamic(per_channel=True, weight_type="QUInt8")),
    Variant("dyn-matmul-pc-s8-no-ffn-out", "dyn-matmul-pc-s8, FFN output (after GELU) MatMuls fp32", dynamic(per_channel=True, exclude=_ffn_out)),
    Variant("dyn-matmul-pc-s8-no-first-last", "dyn-matmul-pc-s8, layers 0 and 5 fp32", dynamic(per_channel=True, exclude=_first_last)),
    Variant("qdq-minmax-pc", "static QDQ, MinMax calibration (200 passages), per-channel, U8 act / S8 w", static("MinMax")),
    Variant("qdq-percentile-pc", "static QDQ, Percentile 99.999 calibration (passages >= 128 tokens, cut to 128), per-channel", static("Percentile", 128, CalibPercentile=99.999)),
    Variant("qdq-entropy-pc", "static QDQ, Entropy calibration (passages >= 128 tokens, cut to 128), per-channel", static("Entropy", 128)),
]  # fmt: skip


def preprocess(src: Path) -> Path:
    """quant_pre_process (shape inference + basic graph optimization) once, as ORT recommends."""
    from onnxruntime.quantization import quant_pre_process

    dst = OUT / "fp32-pre" / "model.onnx"
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        shutil.copy2(FP32_DIR / "tokenizer.json", dst.parent / "tokenizer.json")
    return dst


def build_variant(variant: Variant, pre: Path, texts: Texts) -> tuple[Path, float]:
    folder = OUT / variant.name
    model = folder / "model.onnx"
    started = time.perf_counter()
    if not model.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "model.tmp.onnx"
        variant.build(pre, tmp, texts)
        tmp.rename(model)
        shutil.copy2(FP32_DIR / "tokenizer.json", folder / "tokenizer.json")
    return folder, time.perf_counter() - started


# -- measurements ----------------------------------------------------------------------------


def embed(folder: Path, texts: list[str], batch: int) -> np.ndarray:
    return np.asarray(OnnxEmbeddings(folder, batch_size=batch).embed_documents(texts), np.float32)


def embed_one_by_one(folder: Path, texts: list[str]) -> np.ndarray:
    encoder = OnnxEmbeddings(folder)
    return np.asarray([encoder.embed_query(t) for t in texts], np.float32)


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5)}


def latency(
    fp32: Path, variant: Path, queries: list[str], warm: int = 20, block: int = 25
) -> dict[str, float]:
    """p50 of single-query embed_query, fp32 and the variant taking turns block by block.

    Turns of `block` queries (the same queries for both, order swapped every block) rather than
    query by query: each session's idle intra-op threads spin for a while after a run, which
    would tax whichever session runs next.
    """
    a, b = OnnxEmbeddings(fp32), OnnxEmbeddings(variant)
    for q in queries[:warm]:
        a.embed_query(q)
        b.embed_query(q)
    ta: list[float] = []
    tb: list[float] = []
    for n, start in enumerate(range(0, len(queries), block)):
        chunk = queries[start : start + block]
        turns = ((a, ta), (b, tb)) if n % 2 == 0 else ((b, tb), (a, ta))
        for encoder, sink in turns:
            encoder.embed_query(chunk[0])  # untimed: let the other session's threads settle
            for q in chunk:
                t0 = time.perf_counter()
                encoder.embed_query(q)
                sink.append((time.perf_counter() - t0) * 1000)
    p50a, p50b = statistics.median(ta), statistics.median(tb)
    return {
        "fp32_p50_ms": round(p50a, 2),
        "p50_ms": round(p50b, 2),
        "speedup": round(p50a / p50b, 2),
    }


def rank(
    queries: np.ndarray, passages: np.ndarray, ids: list[str], k: int = 100
) -> list[dict[str, float]]:
    scores = queries @ passages.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return [{ids[j]: float(scores[i, j]) for j in row} for i, row in enumerate(top)]


def ndcg(run: list[dict[str, float]], qids: list[str], qrels: dict[str, dict[str, int]]) -> float:
    return ir_metrics(dict(zip(qids, run, strict=True)), qrels)["ndcg@10"]


@dataclass
class Retrieval:
    """A dataset with fp32 passage vectors, to score query encoders against."""

    name: str
    qids: list[str]
    queries: list[str]
    qrels: dict[str, dict[str, int]]
    ids: list[str]
    texts: list[str] | None  # None: passages are not re-embedded (full corpus)
    fp32_passages: np.ndarray
    cache: dict[str, Any] = field(default_factory=dict)


def sample_retrieval() -> Retrieval:
    ds = load_beir(SAMPLE)
    judged = [q for q in ds.queries if q in ds.qrels]
    ids = [str(r["_id"]) for r in ds.corpus]
    texts = [passage_text(r) for r in ds.corpus]
    return Retrieval(
        "sample", judged, [ds.queries[q] for q in judged], ds.qrels, ids, texts,
        embed(FP32_DIR, texts, 32),
    )  # fmt: skip


def full_retrieval(full: BeirDataset) -> Retrieval | None:
    """The cached fp32 index of the whole corpus, from a private copy of data/chroma."""
    cache = OUT / "full-index.npz"
    if not cache.exists():
        source = ROOT / "data" / "chroma"
        if not source.exists():
            return None
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        copy = OUT / "chroma-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy)
        client = chromadb.PersistentClient(
            path=str(copy), settings=ChromaSettings(anonymized_telemetry=False)
        )
        names = [
            c.name
            for c in client.list_collections()
            if c.name.startswith("beir-medquad-liveqa-") and not c.name.endswith("-manifest")
        ]
        if not names:
            return None
        collection = client.get_collection(names[0])
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        for offset in range(0, collection.count(), 2000):
            got = collection.get(offset=offset, limit=2000, include=["embeddings", "metadatas"])
            ids += [str(m["doc_id"]) for m in got["metadatas"] or []]
            vectors.append(np.asarray(got["embeddings"], np.float32))
        np.savez(cache, ids=np.array(ids), vectors=np.concatenate(vectors))
        shutil.rmtree(copy, ignore_errors=True)
    data = np.load(cache)
    ids = [str(i) for i in data["ids"]]
    if set(ids) != {str(r["_id"]) for r in full.corpus}:
        print("full index does not match the corpus; skipping it", file=sys.stderr)
        return None
    judged = [q for q in full.queries if q in full.qrels]
    return Retrieval(
        "full", judged, [full.queries[q] for q in judged], full.qrels, ids, None,
        data["vectors"].astype(np.float32),
    )  # fmt: skip


def retrieval_scores(folder: Path, r: Retrieval, is_fp32: bool) -> dict[str, float]:
    queries = embed_one_by_one(folder, r.queries)
    out = {"ndcg_q": ndcg(rank(queries, r.fp32_passages, r.ids), r.qids, r.qrels)}
    if r.texts is not None:
        passages = r.fp32_passages if is_fp32 else embed(folder, r.texts, 32)
        out["ndcg_qp"] = ndcg(rank(queries, passages, r.ids), r.qids, r.qrels)
    return out


# -- report ----------------------------------------------------------------------------------


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| variant | cos mean (p / q) | cos min (p / q) | p50 ms (fp32) | speed-up | MB "
        "| nDCG@10 sample q-only / all | nDCG@10 full q-only |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        c = r.get("cosine", {})
        lat = r.get("latency", {})
        s = r.get("sample", {})
        f = r.get("full", {})
        cos_mean = f"{c['passages']['mean']:.4f} / {c['queries']['mean']:.4f}" if c else "1 / 1"
        cos_min = f"{c['passages']['min']:.4f} / {c['queries']['min']:.4f}" if c else "1 / 1"
        p50 = f"{lat['p50_ms']} ({lat['fp32_p50_ms']})" if lat else ""
        lines.append(
            f"| {r['variant']} | {cos_mean} | {cos_min} | {p50} | {lat.get('speedup', '')} "
            f"| {r['size_mb']} | {s.get('ndcg_q', '')} / {s.get('ndcg_qp', '')} "
            f"| {f.get('ndcg_q', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", help="names to run (default: all)")
    parser.add_argument("--passages", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-full", action="store_true", help="skip the full-corpus nDCG")
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for v in VARIANTS:
            print(f"{v.name:32} {v.description}")
        return 0
    chosen = [v for v in VARIANTS if not args.variants or v.name in args.variants]
    OUT.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    full = load_beir(DATASET)
    texts = pick_texts(full, args.passages, args.queries)
    log(f"{len(texts.passages)} passages, {len(texts.queries)} queries, "
        f"{len(texts.calibration)} calibration passages")  # fmt: skip
    pre = preprocess(FP32_DIR / "model.onnx")
    log("fp32 reference vectors")
    ref_p = embed(FP32_DIR, texts.passages, 32)
    ref_q = embed_one_by_one(FP32_DIR, texts.queries)
    # the quantizers start from the preprocessed graph: check it is still the same function
    pre_check = cosine_stats(ref_q, embed_one_by_one(pre.parent, texts.queries))
    log(f"preprocessed fp32 vs fp32, queries: {pre_check}")
    sample = sample_retrieval()
    full_r = None if args.no_full else full_retrieval(full)
    fp32_row: dict[str, Any] = {
        "variant": "fp32",
        "size_mb": round((FP32_DIR / "model.onnx").stat().st_size / 1e6, 1),
        "sample": retrieval_scores(FP32_DIR, sample, True),
    }
    fp32_row["sample"]["ndcg_qp"] = fp32_row["sample"]["ndcg_q"]
    if full_r:
        fp32_row["full"] = retrieval_scores(FP32_DIR, full_r, True)
    rows = [fp32_row]
    log(f"fp32: {fp32_row}")
    for variant in chosen:
        try:
            folder, seconds = build_variant(variant, pre, texts)
        except Exception as exc:  # a variant that onnxruntime cannot build is a result too
            rows.append({"variant": variant.name, "error": f"{type(exc).__name__}: {exc}"})
            log(f"{variant.name}: build failed: {exc}")
            continue
        log(f"{variant.name}: built in {seconds:.0f}s; measuring")
        cos_p = cosine_stats(ref_p, embed(folder, texts.passages, 32))
        cos_q = cosine_stats(ref_q, embed_one_by_one(folder, texts.queries))
        row: dict[str, Any] = {
            "variant": variant.name,
            "description": variant.description,
            "size_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1),
            "cosine": {"passages": cos_p, "queries": cos_q},
            "latency": latency(FP32_DIR, folder, texts.queries),
            "sample": retrieval_scores(folder, sample, False),
        }
        if full_r:
            row["full"] = retrieval_scores(folder, full_r, False)
        row["meets_cosine"] = min(cos_p["mean"], cos_q["mean"]) >= COSINE_TARGET
        rows.append(row)
        log(f"{variant.name}: {json.dumps(row)}")
    result = {
        "fp32_model": str(FP32_DIR / "model.onnx"),
        "passages": len(texts.passages),
        "queries": len(texts.queries),
        "calibration_passages": len(texts.calibration),
        "preprocessed_fp32_cosine_queries": pre_check,
        "cosine_target": COSINE_TARGET,
        "ndcg_tolerance": NDCG_TOLERANCE,
        "rows": rows,
    }
    (OUT / "results.json").write_text(json.dumps(result, indent=2))
    print(markdown([r for r in rows if "error" not in r]))
    print()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
