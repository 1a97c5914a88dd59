"""Reciprocal rank fusion on hand-computed cases."""

import pytest

from stemchat.fusion import rrf, top

pytestmark = pytest.mark.unit


def test_rrf_hand_computed() -> None:
    scores = rrf({"dense": ["a", "b", "c"], "bm25": ["c", "a"]}, k=60)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [i for i, _ in top(scores, 3)] == ["a", "c", "b"]


def test_rrf_weights_and_zero_weight() -> None:
    scores = rrf({"dense": ["a"], "bm25": ["b"]}, k=1, weights={"dense": 2.0, "bm25": 0.0})
    assert scores == {"a": pytest.approx(1.0)}


def test_rrf_ignores_repeats_and_ties_are_deterministic() -> None:
    scores = rrf({"x": ["a", "a", "b"]}, k=0)
    assert scores == {"a": pytest.approx(1.0), "b": pytest.approx(1 / 3)}
    assert top({"b": 1.0, "a": 1.0}, 2) == [("a", 1.0), ("b", 1.0)]
