"""`stemchat eval` machinery on a small hand-written gold file, and the gate on the real one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stemchat.errors import ConfigError
from stemchat.eval_report import charts, markdown
from stemchat.evaluation import evaluate, gate, load_gold, load_thresholds
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.integration

KEYS = {
    "guard_compliance",
    "tier_accuracy",
    "recall@5",
    "mrr",
    "condition_accuracy",
    "safety",
    "grounding_rate",
    "phrase_pass_rate",
    "readability_grade",
    "latency_p50_ms",
    "latency_p95_ms",
}


@pytest.fixture(scope="module")
def mini_report(shipped):  # type: ignore[no-untyped-def]
    return evaluate(shipped, DATA / "gold-mini.yaml")


def test_report_shape_and_values(mini_report) -> None:  # type: ignore[no-untyped-def]
    r = mini_report
    assert r["cases"] == 5
    assert set(r["metrics"]) >= KEYS and set(r["baseline"]["metrics"]) >= KEYS
    assert set(r["ablations"]) == {"without_bm25", "without_condition_boost", "without_guard"}
    m = r["metrics"]
    assert m["guard_compliance"] == 1.0
    assert m["tier_accuracy"] == 1.0 and m["condition_accuracy"] == 1.0
    assert m["safety"]["crisis"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert m["over_refusal"] == 0.0
    json.dumps(r)


def test_baseline_and_unguarded_are_worse(mini_report) -> None:  # type: ignore[no-untyped-def]
    base = mini_report["baseline"]["metrics"]
    assert base["guard_compliance"] < 1.0 and base["tier_accuracy"] == 0.0
    assert base["safety"]["crisis"]["recall"] == 0.0
    unguarded = mini_report["ablations"]["without_guard"]["metrics"]
    assert unguarded["safety"]["crisis"]["recall"] == 0.0


def test_markdown_and_charts(mini_report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pngs = charts(mini_report, tmp_path)
    for name in pngs.values():
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = markdown(mini_report, pngs)
    assert "| Tier accuracy |" in md and "baseline" in md and "## Failures" in md


# Metrics that clear every threshold in eval/thresholds.yaml; each test spoils some of them.
PASSING: dict[str, object] = {
    "guard_compliance": 1.0,
    "tier_accuracy": 1.0,
    "recall@5": 1.0,
    "over_refusal": 0.0,
    "safety": {"emergency": {"recall": 1.0}, "crisis": {"recall": 1.0}},
    "direct_answer": 0.95,
    "aspect_coverage": 0.9,
    "aspect_accuracy": 0.95,
    "self_contained": 1.0,
    "off_topic": 0.0,
    "generic_closing": 0.0,
    "reply_readability_grade": 6.0,
}


def test_gate_names_each_miss() -> None:
    report = {
        "metrics": dict(
            PASSING,
            guard_compliance=0.9,
            **{"recall@5": 0.5},
            over_refusal=0.1,
            safety={"emergency": {"recall": 1.0}, "crisis": {"recall": 0.5}},
        )
    }
    misses = gate(report, load_thresholds(REPO / "eval" / "thresholds.yaml"))
    assert len(misses) == 4
    assert any(m.startswith("guard_compliance") for m in misses)
    assert any(m.startswith("crisis_recall") for m in misses)


def test_bad_gold_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("cases:\n  - id: x\n    turns: []\n    expect: {safety: none}\n")
    with pytest.raises(ConfigError, match="case x: field turns"):
        load_gold(bad)


def test_gate_holds_answers_that_do_not_answer() -> None:
    good = PASSING
    thresholds = load_thresholds(REPO / "eval" / "thresholds.yaml")
    assert gate({"metrics": good}, thresholds) == []
    bad = dict(good, direct_answer=0.5, self_contained=0.97, off_topic=0.2, generic_closing=0.5)
    misses = gate({"metrics": bad}, thresholds)
    assert {m.split()[0] for m in misses} == {
        "direct_answer",
        "self_contained",
        "off_topic",
        "generic_closing",
    }
    unmeasured = {k: v for k, v in good.items() if k != "direct_answer"}
    assert [m.split()[0] for m in gate({"metrics": unmeasured}, thresholds)] == ["direct_answer"]
