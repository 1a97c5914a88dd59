"""The shipped corpus and evidence map: complete, clean, sourced, readable, and right on key facts."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from stemchat.corpus import check_corpus, load_corpus
from stemchat.corpus.report import corpus_report
from tests.conftest import REPO

pytestmark = pytest.mark.unit

CORPUS = REPO / "corpus"
REQUIRED_CONDITIONS = {
    "gvhd",
    "crohns-perianal-fistula",
    "crohns-luminal",
    "ulcerative-colitis",
    "lupus",
    "rheumatoid-arthritis",
    "ms-msc",
    "ms-ahsct",
    "liver-cirrhosis",
    "chronic-kidney-disease",
    "heart-failure",
    "heart-attack",
    "ards-covid",
    "type-1-diabetes",
    "type-2-diabetes",
    "knee-osteoarthritis",
    "als",
    "stroke",
    "spinal-cord-injury",
    "parkinsons",
    "critical-limb-ischemia",
    "blood-cancers",
    "eye-disease",
    "autism",
}


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus(CORPUS)


def test_check_is_clean(corpus) -> None:  # type: ignore[no-untyped-def]
    checked = check_corpus(CORPUS, today=dt.date(2026, 11, 26))
    assert [str(i) for i in checked.issues] == []


def test_size_and_coverage(corpus) -> None:  # type: ignore[no-untyped-def]
    assert corpus.evidence is not None
    assert set(corpus.evidence.conditions) >= REQUIRED_CONDITIONS
    kinds = [d.meta.kind for d in corpus.documents]
    assert len(corpus.documents) >= 60
    assert kinds.count("trial") >= 18
    ids = set(corpus.by_id())
    for condition in corpus.evidence.conditions.values():
        assert f"overview-{condition.id}" in ids, condition.id
        assert condition.key_documents[0] == f"overview-{condition.id}"
        assert len(condition.synonyms) >= 8, condition.id
        assert condition.tier_note.strip(), condition.id


def test_every_document_is_readable_and_sized() -> None:
    report = corpus_report(CORPUS, today=dt.date(2026, 11, 26))
    problems = {r["id"]: r["problems"] for r in report["rows"] if r["problems"]}
    assert problems == {}
    assert report["max_grade"] <= 10.0


def test_trial_summaries_name_a_registry_or_publication(corpus) -> None:  # type: ignore[no-untyped-def]
    trials = [d for d in corpus.documents if d.meta.kind == "trial"]
    identified = [d for d in trials if any(s.nct or s.doi or s.pmid for s in d.meta.sources)]
    assert len(identified) >= 18
    with_nct = [d for d in trials if any(s.nct for s in d.meta.sources)]
    assert len(with_nct) >= 12


@pytest.mark.parametrize(
    ("condition", "tier"),
    [
        ("gvhd", "approved"),
        ("crohns-perianal-fistula", "negative"),
        ("ms-ahsct", "randomized"),
        ("ms-msc", "early"),
        ("lupus", "early"),
        ("als", "negative"),
        ("heart-failure", "negative"),
        ("stroke", "negative"),
        ("ards-covid", "negative"),
        ("blood-cancers", "approved"),
        ("type-1-diabetes", "early"),
    ],
)
def test_tiers_follow_the_evidence(corpus, condition: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    assert corpus.evidence.conditions[condition].tier.value == tier


def test_outdated_claims_are_corrected(corpus) -> None:  # type: ignore[no-untyped-def]
    docs = corpus.by_id()
    alofisel = docs["reg-alofisel"].body
    assert "13 December 2024" in alofisel and "withdr" in alofisel.lower()
    gvhd = corpus.evidence.conditions["gvhd"].tier_note
    assert "2 months" in gvhd and "Japan" in gvhd
    ryoncil = docs["reg-ryoncil"].body
    assert re.search(r"18 December 2024|December 18, 2024", ryoncil)
    fistula = corpus.evidence.conditions["crohns-perianal-fistula"].tier_note
    assert "13 Dec 2024" in fistula
