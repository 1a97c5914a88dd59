"""IR metrics over ranked runs, computed with ir-measures; pure wrappers, tested on hand-made cases."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

METRICS = ("ndcg@10", "map@10", "mrr@10", "precision@10", "recall@100")


def split_qrels(
    qrels: Qrels, relevant_from: int = 3
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Graded qrels for nDCG (score minus one, zeros dropped) and binary ones (score >= threshold)."""
    graded: dict[str, dict[str, int]] = {}
    binary: dict[str, dict[str, int]] = {}
    for qid, docs in qrels.items():
        g = {d: s - 1 for d, s in docs.items() if s - 1 > 0}
        b = {d: 1 for d, s in docs.items() if s >= relevant_from}
        if g:
            graded[qid] = g
        if b:
            binary[qid] = b
    return graded, binary


def ir_metrics(run: Run, qrels: Qrels, relevant_from: int = 3) -> dict[str, float]:
    """nDCG@10 on graded relevance; MAP@10, MRR@10, P@10, Recall@100 on binary relevance.

    Computed by ir-measures (trec_eval). A query absent from the run scores 0; queries without
    any relevant document are left out of the binary metrics, as trec_eval does.
    """
    import ir_measures
    from ir_measures import AP, RR, P, R, nDCG

    graded, binary = split_qrels(qrels, relevant_from)

    def _run_for(q: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
        out = {qid: {d: float(s) for d, s in run.get(qid, {}).items()} for qid in q}
        for ranking in out.values():
            if not ranking:
                ranking["__none__"] = 0.0
        return out

    def _calc(q: dict[str, dict[str, int]], measures: list[Any]) -> dict[str, float]:
        if not q:
            return {str(m): 0.0 for m in measures}
        agg = ir_measures.calc_aggregate(measures, q, _run_for(q))
        return {str(m): float(v) for m, v in agg.items()}

    g = _calc(graded, [nDCG @ 10])
    b = _calc(binary, [AP @ 10, RR @ 10, P @ 10, R @ 100])
    out = {
        "ndcg@10": g["nDCG@10"],
        "map@10": b["AP@10"],
        "mrr@10": b["RR@10"],
        "precision@10": b["P@10"],
        "recall@100": b["R@100"],
    }
    return {m: round(out[m], 4) for m in METRICS}


# -- answer-level metrics for `stemchat eval` (pure functions) -----------------------------------


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 5) -> float:
    """1.0 if any relevant item is in the top k, else 0.0 (recall@k when one hit is enough)."""
    return 1.0 if any(item in relevant for item in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """1 / rank of the first relevant item (rank from 1), 0.0 if none."""
    for rank, item in enumerate(ranked, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def precision_recall(pairs: Sequence[tuple[str, str]], cls: str) -> dict[str, float]:
    """Precision and recall of one class over (expected, predicted) pairs; 1.0 when undefined."""
    tp = sum(1 for e, p in pairs if e == cls and p == cls)
    fp = sum(1 for e, p in pairs if e != cls and p == cls)
    fn = sum(1 for e, p in pairs if e == cls and p != cls)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "support": tp + fn}


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; 0.0 for an empty sequence."""
    return round(sum(values) / len(values), 4) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
