"""IR metrics on tiny hand-computed cases."""

import math

import pytest

from stemchat.metrics import ir_metrics, split_qrels

pytestmark = pytest.mark.unit


def test_split_qrels() -> None:
    graded, binary = split_qrels({"q": {"a": 4, "b": 3, "c": 2, "d": 1}})
    assert graded == {"q": {"a": 3, "b": 2, "c": 1}}
    assert binary == {"q": {"a": 1, "b": 1}}


def test_hand_computed_single_query() -> None:
    # ranking: x (irrelevant), a (grade 4), c (grade 2), b (grade 3)
    run = {"q": {"x": 4.0, "a": 3.0, "c": 2.0, "b": 1.0}}
    qrels = {"q": {"a": 4, "b": 3, "c": 2, "d": 1}}
    m = ir_metrics(run, qrels)
    # binary relevant: a (rank 2), b (rank 4)
    assert m["mrr@10"] == pytest.approx(0.5)
    assert m["precision@10"] == pytest.approx(0.2)
    assert m["map@10"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m["recall@100"] == pytest.approx(1.0)
    # nDCG with gains = grade - 1: a=3, b=2, c=1
    dcg = 3 / math.log2(3) + 1 / math.log2(4) + 2 / math.log2(5)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-4)


def test_query_missing_from_run_scores_zero() -> None:
    qrels = {"q1": {"a": 4}, "q2": {"b": 4}}
    m = ir_metrics({"q1": {"a": 1.0}}, qrels)
    assert m["mrr@10"] == pytest.approx(0.5)
    assert m["recall@100"] == pytest.approx(0.5)


def test_answer_metrics_hand_computed() -> None:
    from stemchat.metrics import hit_at_k, mean, precision_recall, reciprocal_rank

    assert hit_at_k(["a", "b", "c"], {"c"}, k=2) == 0.0
    assert hit_at_k(["a", "b", "c"], {"c", "z"}, k=3) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a"], {"z"}) == 0.0
    pairs = [("crisis", "crisis"), ("none", "crisis"), ("crisis", "none"), ("none", "none")]
    assert precision_recall(pairs, "crisis") == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert precision_recall([("none", "none")], "crisis") == {
        "precision": 1.0,
        "recall": 1.0,
        "support": 0,
    }
    assert mean([1.0, 0.0, 0.5]) == 0.5 and mean([]) == 0.0
