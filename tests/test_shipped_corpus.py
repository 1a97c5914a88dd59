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
    # what clinics advertise (coverage): hip, shoulder and tendon, back, brain, lungs, skin...
    "hip-osteoarthritis",
    "tendon-injuries",
    "back-pain",
    "alzheimers",
    "copd",
    "long-covid",
    "cerebral-palsy",
    "traumatic-brain-injury",
    "erectile-dysfunction",
    "hair-loss",
    "retinitis-pigmentosa",
    "glaucoma",
    "chronic-gvhd",
    "peripheral-artery-disease",
    "frailty",
}


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus(CORPUS)


def test_check_is_clean(corpus) -> None:  # type: ignore[no-untyped-def]
    checked = check_corpus(CORPUS, today=dt.date(2026, 11, 30))
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
    report = corpus_report(CORPUS, today=dt.date(2026, 11, 30))
    problems = {r["id"]: r["problems"] for r in report["rows"] if r["problems"]}
    assert problems == {}
    assert report["max_grade"] <= 10.0


def test_report_shows_each_condition_with_its_documents_sources_and_review_age() -> None:
    report = corpus_report(CORPUS, today=dt.date(2026, 11, 30))
    rows = report["by_condition"]
    assert len(rows) == report["conditions"] >= 40
    for cid, row in rows.items():
        assert f"overview-{cid}" in row["document_ids"], cid
        assert row["sources"] >= 2 and row["problems"] == [], (cid, row)
        assert 0 <= row["newest_review_days"] <= row["oldest_review_days"] <= 365, cid
    # a year later every review is stale, and the report says so per condition
    later = corpus_report(CORPUS, today=dt.date(2027, 12, 31))
    assert all(row["stale"] and row["problems"] for row in later["by_condition"].values())


def test_trial_summaries_name_a_registry_or_publication(corpus) -> None:  # type: ignore[no-untyped-def]
    trials = [d for d in corpus.documents if d.meta.kind == "trial"]
    identified = [d for d in trials if any(s.nct or s.doi or s.pmid for s in d.meta.sources)]
    assert len(identified) >= 18
    with_nct = [d for d in trials if any(s.nct for s in d.meta.sources)]
    assert len(with_nct) >= 12


@pytest.mark.parametrize(
    ("condition", "tier"),
    [
        # evidence of benefit only: an approval never raises a tier (corpus/EVIDENCE.md)
        ("gvhd", "mixed"),
        ("knee-osteoarthritis", "mixed"),
        ("spinal-cord-injury", "early"),
        ("critical-limb-ischemia", "mixed"),
        ("crohns-perianal-fistula", "negative"),
        ("heart-attack", "negative"),
        ("ms-ahsct", "randomized"),
        ("ms-msc", "negative"),
        ("lupus", "early"),
        ("als", "negative"),
        ("heart-failure", "negative"),
        ("stroke", "negative"),
        ("blood-cancers", "established"),
        ("type-1-diabetes", "early"),
        ("peripheral-artery-disease", "negative"),
    ],
)
def test_tiers_follow_the_evidence(corpus, condition: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    assert corpus.evidence.conditions[condition].tier.value == tier


def test_outdated_claims_are_corrected(corpus) -> None:  # type: ignore[no-untyped-def]
    docs = corpus.by_id()
    alofisel = docs["reg-alofisel"].body
    assert "13 December 2024" in alofisel and "withdr" in alofisel.lower()
    gvhd = corpus.evidence.conditions["gvhd"]
    assert any("2 months" in a.who and a.where == "US" for a in gvhd.approvals)
    assert any(a.where == "Japan" for a in gvhd.approvals)
    ryoncil = docs["reg-ryoncil"].body
    assert re.search(r"18 December 2024|December 18, 2024", ryoncil)
    fistula = corpus.evidence.conditions["crohns-perianal-fistula"]
    eu = [a for a in fistula.approvals if a.where == "EU"]
    assert eu and eu[0].status == "withdrawn" and eu[0].ended == "2024-12-13"


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_no_document_copies_the_seed_article(corpus) -> None:  # type: ignore[no-untyped-def]
    seed_dir = REPO.parent / "shared" / "seed"
    seeds = list(seed_dir.glob("*.txt"))
    assert seeds, f"the seed article is expected beside the repo in {seed_dir}"
    seed = set().union(*(_shingles(p.read_text(errors="replace")) for p in seeds))
    for doc in corpus.documents:
        shared = _shingles(doc.body) & seed
        assert not shared, (doc.id, [" ".join(s) for s in list(shared)[:3]])


def test_every_tier_rests_on_key_documents_about_it(corpus) -> None:  # type: ignore[no-untyped-def]
    docs = corpus.by_id()
    for cond in corpus.evidence.conditions.values():
        about = [d for d in cond.key_documents if cond.id in docs[d].meta.conditions]
        assert about, cond.id


def test_new_writes_a_template_that_check_understands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from stemchat.corpus.template import write_template
    from stemchat.errors import CorpusError

    shutil.copytree(CORPUS, tmp_path / "corpus")
    path = write_template(tmp_path / "corpus" / "documents", "trial-new-study", "trial")
    text = path.read_text()
    assert "# sources:" in text and "## Design" in text and "id: trial-new-study" in text
    checked = check_corpus(tmp_path / "corpus", today=dt.date(2026, 11, 26))
    problems = [str(i) for i in checked.issues if i.path == path]
    assert problems and any("TODO placeholders" in p for p in problems)
    with pytest.raises(CorpusError, match="already exists"):
        write_template(tmp_path / "corpus" / "documents", "trial-new-study", "trial")
