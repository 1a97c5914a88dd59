"""Corpus loading: every bad-file kind gives one clear message, and good files still load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from stemchat.corpus import check_corpus, load_corpus
from tests.conftest import TEST_CORPUS, copy_corpus

pytestmark = pytest.mark.unit

GOOD = (TEST_CORPUS / "documents" / "overview-lupus.md").read_text()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return copy_corpus(tmp_path / "corpus")


def _doc(corpus: Path, name: str, content: str | bytes) -> Path:
    path = corpus / "documents" / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _only_issue(corpus: Path, name: str) -> str:
    loaded = load_corpus(corpus)
    issues = [i for i in loaded.issues if i.path.name == name]
    assert len(issues) == 1, [str(i) for i in loaded.issues]
    # the four good documents still load
    assert {"overview-gvhd", "overview-lupus", "overview-als"} <= set(loaded.by_id())
    return str(issues[0])


def test_clean_test_corpus_loads(corpus: Path) -> None:
    loaded = load_corpus(corpus)
    assert loaded.issues == []
    assert len(loaded.documents) == 4
    assert loaded.evidence is not None and set(loaded.evidence.conditions) == {
        "gvhd",
        "lupus",
        "als",
    }
    lupus = loaded.by_id()["overview-lupus"]
    assert lupus.meta.sources[0].pmid == "28478399"
    assert lupus.meta.sources[0].link == "https://doi.org/10.1136/annrheumdis-2017-211073"


def test_malformed_yaml_names_line(corpus: Path) -> None:
    _doc(
        corpus,
        "bad-yaml.md",
        GOOD.replace("id: overview-lupus", "id: bad-yaml\ntitle: [unclosed", 1),
    )
    msg = _only_issue(corpus, "bad-yaml.md")
    assert "bad-yaml.md:" in msg and "malformed YAML" in msg and "fix:" in msg


def test_missing_field_is_named(corpus: Path) -> None:
    text = GOOD.replace("id: overview-lupus", "id: no-sources").split("sources:")[0]
    text += (
        'as_of: "2026-11-26"\nlast_reviewed: "2026-11-26"\nreviewed_by: "x y"\n---\nBody '
        + "word " * 30
    )
    _doc(corpus, "no-sources.md", text)
    msg = _only_issue(corpus, "no-sources.md")
    assert "field 'sources'" in msg and "add 'sources:'" in msg


def test_unknown_condition_suggests_fix(corpus: Path) -> None:
    _doc(
        corpus,
        "unknown-cond.md",
        GOOD.replace("id: overview-lupus", "id: unknown-cond").replace("[lupus]", "[lupsu]"),
    )
    msg = _only_issue(corpus, "unknown-cond.md")
    assert "unknown condition 'lupsu'" in msg and "did you mean 'lupus'" in msg


def test_source_without_identifier_rejected(corpus: Path) -> None:
    text = GOOD.replace("id: overview-lupus", "id: no-ident")
    text = text.replace(
        '    doi: "10.1136/annrheumdis-2017-211073"\n    pmid: "28478399"\n    nct: "NCT01539902"\n',
        "",
    )
    _doc(corpus, "no-ident.md", text)
    msg = _only_issue(corpus, "no-ident.md")
    assert "needs a url, doi, pmid or nct" in msg


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bom.md",
            b"\xef\xbb\xbf" + GOOD.replace("overview-lupus", "bom").encode(),
            "byte-order mark",
        ),
        ("crlf.md", GOOD.replace("overview-lupus", "crlf").replace("\n", "\r\n").encode(), "CRLF"),
        (
            "latin1.md",
            GOOD.replace("overview-lupus", "latin1").replace("China", "Chin\xe9").encode("latin-1"),
            "not valid UTF-8",
        ),
        ("binary.md", b"---\x00\x01\x02binary", "binary"),
        (
            "huge.md",
            GOOD.replace("overview-lupus", "huge").encode() + b"word " * 500_000,
            "over the 2 MB limit",
        ),
    ],
)
def test_bad_encodings_and_sizes(corpus: Path, name: str, content: bytes, expected: str) -> None:
    _doc(corpus, name, content)
    msg = _only_issue(corpus, name)
    assert name in msg and expected in msg and "fix:" in msg


def test_yaml_alias_bomb_refused(corpus: Path) -> None:
    bomb = (
        "---\nid: bomb\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n---\n"
        + "word " * 40
    )
    _doc(corpus, "bomb.md", bomb)
    msg = _only_issue(corpus, "bomb.md")
    assert "anchors/aliases" in msg


def test_python_tags_are_not_executed(corpus: Path) -> None:
    evil = GOOD.replace(
        "id: overview-lupus", "id: evil\nx: !!python/object/apply:os.system ['echo hi']"
    )
    _doc(corpus, "evil.md", evil)
    msg = _only_issue(corpus, "evil.md")
    assert "malformed YAML" in msg


def test_duplicate_id_rejected_first_kept(corpus: Path) -> None:
    _doc(corpus, "zz-copy.md", GOOD)
    loaded = load_corpus(corpus)
    dup = [str(i) for i in loaded.issues if "duplicate id" in str(i)]
    assert len(dup) == 1 and "zz-copy.md" in dup[0]
    assert loaded.by_id()["overview-lupus"].path.name == "overview-lupus.md"


def test_bad_tier_in_evidence_map_keeps_other_conditions(corpus: Path) -> None:
    path = corpus / "conditions.yaml"
    path.write_text(path.read_text().replace("tier: negative", "tier: promising"))
    loaded = load_corpus(corpus)
    assert loaded.evidence is not None
    assert set(loaded.evidence.conditions) == {"gvhd", "lupus"}
    msgs = [str(i) for i in loaded.errors]
    assert any(
        "conditions.yaml" in m and "tier must be one of" in m and "als" in m for m in msgs
    ), msgs


def test_check_warns_on_stale_review_and_fails_on_errors(corpus: Path) -> None:
    clean = check_corpus(corpus, today=dt.date(2026, 12, 1))
    assert clean.errors == [] and clean.warnings == []
    stale = check_corpus(corpus, today=dt.date(2028, 1, 1))
    assert stale.errors == [] and len(stale.warnings) == 4
    assert all("last_reviewed" in str(w) for w in stale.warnings)
    _doc(corpus, "broken.md", "no front matter at all " * 10)
    broken = check_corpus(corpus, today=dt.date(2026, 12, 1))
    assert len(broken.errors) == 1 and "broken.md:1" in str(broken.errors[0])


def test_key_documents_must_exist(corpus: Path) -> None:
    path = corpus / "conditions.yaml"
    path.write_text(
        path.read_text().replace(
            "key_documents: [overview-als]", "key_documents: [overview-als, trial-missing]"
        )
    )
    result = check_corpus(corpus, today=dt.date(2026, 12, 1))
    assert any("trial-missing" in str(e) for e in result.errors)


def test_check_names_curated_text_that_hides_where_an_approval_is(corpus: Path) -> None:
    path = corpus / "conditions.yaml"
    text = path.read_text()
    text = text.replace(
        '    bottom_line: "Stem cell drips have not been shown to help lupus beyond standard drugs."\n',
        '    risks: "A similar product was approved in 2012 for arthritis."\n',
    )
    path.write_text(text)
    checked = check_corpus(corpus, today=dt.date(2026, 12, 1))
    errors = [str(e) for e in checked.errors]
    assert any("conditions[lupus].risks" in e and "not where" in e for e in errors), errors
    warnings = [str(w) for w in checked.warnings]
    assert any("conditions[lupus].bottom_line" in w for w in warnings), warnings
