"""The gate: the gold-set evaluation must meet eval/thresholds.yaml, and the gold set must be broad."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from stemchat.corpus import load_corpus
from stemchat.eval_report import charts, markdown
from stemchat.evaluation import evaluate, gate, load_gold, load_thresholds
from tests.conftest import REPO

GOLD = REPO / "eval" / "gold.yaml"
ARTIFACTS = REPO / "test-artifacts"


@pytest.mark.unit
def test_gold_set_is_broad() -> None:
    cases = load_gold(GOLD)
    assert len(cases) >= 120
    tags = Counter(t for c in cases for t in c.tags)
    assert sum(1 for c in cases if len(c.turns) > 1) >= 12
    assert tags["over_refusal"] >= 20
    safety = Counter(c.expect.safety for c in cases)
    for cls in ("emergency", "crisis", "personal_advice", "out_of_scope", "injection", "none"):
        assert safety[cls] >= 5, cls
    for intent in (
        "evidence",
        "approval",
        "risks",
        "cost",
        "clinic",
        "trial_phases",
        "general",
        "clinic_claim",
    ):
        assert tags[intent] >= 3, intent
    evidence = load_corpus(REPO / "corpus").evidence
    assert evidence is not None
    covered = {cond for c in cases for cond in c.expect.tiers}
    assert set(evidence.conditions) <= covered
    ids = set(load_corpus(REPO / "corpus").by_id())
    for c in cases:
        assert set(c.expect.cite_any) <= ids, c.id
        for cond, tier in c.expect.tiers.items():
            if cond != "not_covered":
                assert evidence.conditions[cond].tier.value == tier, c.id


@pytest.mark.integration
def test_gold_set_passes_the_gate(shipped) -> None:  # type: ignore[no-untyped-def]
    # the ablations are README figures (`stemchat eval`), not gated: not run here
    report = evaluate(shipped, GOLD, ablations=False)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "eval-report.json").write_text(json.dumps(report, indent=2))
    (ARTIFACTS / "eval-report.md").write_text(markdown(report, charts(report, ARTIFACTS)))
    misses = gate(report, load_thresholds(REPO / "eval" / "thresholds.yaml"))
    assert misses == [], (misses, report["failures"][:20])
    # stemchat must beat the tutorial baseline where it matters
    base = report["baseline"]["metrics"]
    assert report["metrics"]["tier_accuracy"] > base["tier_accuracy"]
    assert report["metrics"]["guard_compliance"] > base["guard_compliance"]


GOLD_ES = REPO / "eval" / "gold.es.yaml"


@pytest.mark.unit
def test_spanish_gold_set_is_broad() -> None:
    cases = load_gold(GOLD_ES)
    assert len(cases) >= 60 and all("es" in c.tags for c in cases)
    assert sum(1 for c in cases if len(c.turns) > 1) >= 12
    safety = Counter(c.expect.safety for c in cases)
    for cls in ("emergency", "crisis", "personal_advice", "out_of_scope", "injection"):
        assert safety[cls] >= 3, cls
    assert sum(1 for c in cases if c.expect.reply_facts) >= 40
    evidence = load_corpus(REPO / "corpus").evidence
    assert evidence is not None
    for c in cases:
        for cond, tier in c.expect.tiers.items():
            assert evidence.conditions[cond].tier.value == tier, c.id


@pytest.mark.integration
def test_spanish_gold_set_passes_the_same_gate(shipped) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(shipped, GOLD_ES, ablations=False)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "eval-report-es.json").write_text(json.dumps(report, indent=2))
    misses = gate(report, load_thresholds(REPO / "eval" / "thresholds.yaml"))
    assert misses == [], (misses, report["failures"][:20])
