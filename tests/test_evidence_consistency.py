"""Evidence strength and approvals: two separate facts that must agree with their sources, with
corpus/EVIDENCE.md, and never be shown so that an approval looks like proof or hides its country."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from stemchat.corpus import check_corpus, load_corpus
from stemchat.corpus.approvals import (
    approval_line,
    approval_without_place,
    states_us_and_eu,
)
from stemchat.corpus.models import Condition
from tests.conftest import REPO

pytestmark = pytest.mark.unit

CORPUS = REPO / "corpus"
TODAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def evidence():  # type: ignore[no-untyped-def]
    corpus = load_corpus(CORPUS)
    assert corpus.evidence is not None
    return corpus.evidence


def _sections() -> dict[str, str]:
    text = (CORPUS / "EVIDENCE.md").read_text()
    out = {}
    for part in re.split(r"(?m)^## ", text)[1:]:
        head, _, body = part.partition("\n")
        m = re.search(r"\(`([a-z0-9-]+)`\)", head)
        assert m, f"EVIDENCE.md heading without a condition id: {head!r}"
        out[m.group(1)] = body
    return out


def test_every_condition_has_its_reasoning_in_evidence_md(evidence) -> None:  # type: ignore[no-untyped-def]
    sections = _sections()
    assert set(sections) == set(evidence.conditions)


def test_tiers_agree_with_evidence_md(evidence) -> None:  # type: ignore[no-untyped-def]
    for cid, body in _sections().items():
        m = re.search(r"\*\*Tier: ([a-z_]+)\.\*\*", body)
        assert m, f"{cid}: EVIDENCE.md must open with **Tier: <tier>.**"
        assert m.group(1) == evidence.conditions[cid].tier.value, cid


def test_every_approval_is_explained_in_evidence_md(evidence) -> None:  # type: ignore[no-untyped-def]
    sections = _sections()
    for cond in evidence.conditions.values():
        body = sections[cond.id].lower()
        for a in cond.approvals:
            assert a.product.split()[0].lower() in body, (cond.id, a.product)
            place = {"US": "us", "EU": "eu", "UK": "uk"}.get(a.where, a.where.lower())
            assert re.search(rf"\b{re.escape(place)}\b", body), (cond.id, a.product, a.where)


def test_an_approval_is_never_evidence(evidence) -> None:  # type: ignore[no-untyped-def]
    """Korea-only, Japan-only or conditional approvals sit beside weak or negative evidence."""
    for cid in ("knee-osteoarthritis", "spinal-cord-injury", "critical-limb-ischemia"):
        cond = evidence.conditions[cid]
        assert cond.approvals and cond.tier.value in ("mixed", "early", "negative"), cid
    for cid in ("heart-attack", "als", "crohns-perianal-fistula"):
        assert evidence.conditions[cid].tier.value == "negative", cid
    assert "approved" not in {t.value for t in type(evidence.conditions["als"].tier)}


def test_approval_lines_name_countries_and_the_us_and_eu(evidence) -> None:  # type: ignore[no-untyped-def]
    for cond in evidence.conditions.values():
        line = approval_line(cond)
        assert states_us_and_eu(line), (cond.id, line)
        for a in cond.approvals:
            if a.status == "active":
                assert f"{a.where}" in line and a.product in line, (cond.id, a.product)
    knee = approval_line(evidence.conditions["knee-osteoarthritis"])
    assert knee.startswith("Approved: South Korea only (Cartistem, a surgical cartilage implant")
    assert "Not approved in the US or EU." in knee
    sci = approval_line(evidence.conditions["spinal-cord-injury"])
    assert "Japan only (conditional approval: Stemirac" in sci and "Pending: Japan" in sci
    fistula = approval_line(evidence.conditions["crohns-perianal-fistula"])
    assert "Withdrawn: EU (Alofisel, approved Mar 2018, withdrawn Dec 2024)" in fistula
    assert approval_line(evidence.conditions["lupus"]).startswith(
        "No stem cell product is approved for this anywhere, including the US and EU."
    )


@pytest.mark.parametrize(
    ("sentence", "flagged"),
    [
        ("Cartistem was approved in January 2012 for knee cartilage damage.", True),
        ("It was approved for children in 2024.", True),
        ("South Korea only: Cartistem was approved in January 2012.", False),
        ("The FDA approved Ryoncil in December 2024 for children.", False),
        ("Clinic injections are not approved products.", False),
        ("No stem cell product is approved for lupus anywhere.", False),
    ],
)
def test_an_approval_sentence_must_say_where(sentence: str, flagged: bool) -> None:
    assert approval_without_place(sentence) is flagged


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CORPUS, tmp_path / "corpus"))


def _edit_map(corpus: Path, cid: str, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((corpus / "conditions.yaml").read_text())
    entry = next(e for e in data["conditions"] if e["id"] == cid)
    change(entry)
    (corpus / "conditions.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def test_check_refuses_an_active_approval_its_document_calls_withdrawn(tmp_path: Path) -> None:
    corpus = _copy(tmp_path)

    def reactivate(entry):  # type: ignore[no-untyped-def]
        eu = next(a for a in entry["approvals"] if a["where"] == "EU")
        eu["status"] = "active"
        eu.pop("ended", None)

    _edit_map(corpus, "crohns-perianal-fistula", reactivate)
    issues = [str(i) for i in check_corpus(corpus, today=TODAY).errors]
    assert any("Alofisel (EU) is marked active" in i and "reg-alofisel" in i for i in issues)


def test_check_warns_about_a_pending_decision_older_than_six_months(tmp_path: Path) -> None:
    corpus = _copy(tmp_path)
    clean = check_corpus(corpus, today=TODAY)
    assert not any("pending since" in str(i) for i in clean.issues)
    later = check_corpus(corpus, today=dt.date(2027, 7, 1))
    warnings = [str(i) for i in later.warnings if "pending since" in str(i)]
    assert warnings and "Stemirac (Japan)" in warnings[0]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("where", "USA", "must be one of"),
        ("kind", "provisional", "kind"),
        ("status", "withdrawn", "needs 'ended'"),
        ("who", "<b>x</b>", "raw HTML"),
    ],
)
def test_a_bad_approval_record_is_refused_with_its_field(
    tmp_path: Path, field: str, value: str, expected: str
) -> None:
    corpus = _copy(tmp_path)

    def spoil(entry):  # type: ignore[no-untyped-def]
        entry["approvals"][0][field] = value

    _edit_map(corpus, "knee-osteoarthritis", spoil)
    errors = [str(i) for i in check_corpus(corpus, today=TODAY).errors]
    mine = [e for e in errors if "knee-osteoarthritis" in e and "approvals" in e]
    assert mine and expected in mine[0], errors[:3]


def test_answers_badges_and_export_show_no_approval_without_its_country(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    """Every condition: the answer states both facts, every sentence about an approval names its
    place, the badge shows the evidence only, and the export keeps the country on the line."""
    from stemchat.render import export_markdown
    from stemchat.ui.present import badge_text

    questions = {
        c.id: f"Is any stem cell treatment approved for {c.synonyms[0] if c.synonyms else c.name}?"
        for c in shipped_engine.evidence.conditions.values()
    }
    answers = []
    for cid, question in questions.items():
        answer = shipped_engine.answer(question)
        answers.append(answer)
        assert cid in answer.conditions, (cid, question, answer.conditions)
        line = next(e for e in answer.evidence if e.condition == cid)
        assert line.approval_line and states_us_and_eu(line.approval_line), cid
        assert f"Approvals:** {line.approval_line[:30]}" in answer.answer.replace("\\", "")
        for s in answer.statements():
            assert not approval_without_place(s.text), (cid, s.text)
        badge = badge_text(line.tier, line.condition_name)
        assert "approv" not in badge.lower() and line.tier.replace("_", " ") in badge
    export = export_markdown(answers)
    for row in export.splitlines():
        if row.startswith((">", "\\[")) or re.fullmatch(r"\*\*[^*]+\*\*", row.strip()):
            continue  # the patient's own question, a source's title, or a section heading
        words = re.sub(r"<https?:[^>]*>", "", row.replace("\\", ""))  # a source's address
        assert approval_without_place(words) is False, row


def test_the_evidence_map_page_shows_strength_and_approvals_apart(evidence) -> None:  # type: ignore[no-untyped-def]
    from stemchat.ui.evidence_map import approvals_table, table

    df = table(evidence)
    assert {"evidence", "approvals"} <= set(df.columns)
    knee = df[df["id"] == "knee-osteoarthritis"].iloc[0]
    assert knee["evidence"] == "mixed" and "South Korea only" in knee["approvals"]
    rows = approvals_table(evidence.conditions["gvhd"])
    assert set(rows["where"]) >= {"US", "Japan"} and "kind" in rows.columns


def test_a_condition_without_approvals_says_so_for_the_us_and_eu() -> None:
    cond = Condition(
        id="x", name="X disease", tier="early", tier_label="Small studies", as_of="2026-11"
    )
    line = approval_line(cond)
    assert "US" in line and "EU" in line and line.startswith("No stem cell product")
