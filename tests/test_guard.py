"""The output guard on hand-made structured answers: what must pass and what must be caught."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stemchat.answer import Answer, Citation, EvidenceLine, Section, Statement
from stemchat.guard import check, default_rules, supported
from stemchat.llm import rules_text
from stemchat.texts import disclaimer, text

pytestmark = pytest.mark.unit

PASSAGE = "The only double-blind trial stopped after 18 patients. Remission came in 9 of 12 people given cells and 5 of 6 given placebo."
LUPUS = EvidenceLine(
    "lupus",
    "Lupus",
    "early",
    "Small or conflicting studies only",
    "Not approved anywhere.",
    "2026-11",
    approval_line="No stem cell product is approved for this anywhere, including the US and EU.",
)
CIT = Citation(
    1,
    "overview-lupus",
    "overview-lupus::k::000",
    "Stem cells for lupus",
    "https://doi.org/10.1136/x",
    PASSAGE,
)
GOOD = Statement("Remission came in 9 of 12 people given cells and 5 of 6 given placebo.", (1,))


def make(*statements: Statement, **kw) -> Answer:  # type: ignore[no-untyped-def]
    fields = {
        "question": "q",
        "evidence": [LUPUS],
        "conditions": ["lupus"],
        "sections": [Section("findings", "What the sources say", statements)],
        "citations": [CIT],
    }
    fields.update(kw)
    return Answer(**fields)  # type: ignore[arg-type]


def problems(answer: Answer) -> tuple[str, ...]:
    return check(answer).problems


def test_good_answer_passes() -> None:
    assert problems(make(GOOD)) == ()


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (Statement("Stem cells cure lupus in most patients.", (1,)), "not supported"),
        (Statement("Stem cells cure lupus in most patients."), "without a citation"),
        (Statement("Remission came in 9 of 12 people given cells.", (2,)), "marker [2]"),
        (Statement("Stem cells will cure you.", (), "fixed"), "not a reviewed fixed text"),
        (Statement("Stem cells will cure you.", (), "curated"), "not a reviewed statement"),
        (
            Statement(
                "Remission came in 9 of 12 people. You should take 2 million cells per kg.", (1,)
            ),
            "forbidden statement",
        ),
    ],
)
def test_bad_statements_are_caught(statement: Statement, expected: str) -> None:
    found = problems(make(statement))
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "![x](https://evil.example/a.png)",
        "![p][r]\n\n[r]: https://evil.example/i.png",
        "see [here](https://evil.example)",
        "visit https://evil.example/x or www.evil.example",
    ],
)
def test_markup_in_a_statement_is_shown_as_text_never_rendered(hostile: str) -> None:
    """A statement's text is escaped where it is rendered: the Markdown carries no HTML, image
    or foreign link, whatever the text held."""
    from stemchat.markup import link_targets
    from stemchat.markup import problems as markup_problems

    a = make(GOOD, Statement(f"Remission came in 9 of 12 people {hostile}", (1,)))
    assert markup_problems(a.answer, [CIT.url]) == []
    assert all(t == CIT.url for t in link_targets(a.answer))


def test_missing_disclaimer_evidence_and_uncited_passage_are_caught() -> None:
    assert "disclaimer missing or altered" in problems(make(GOOD, disclaimer="Trust us."))
    no_line = problems(make(GOOD, evidence=[]))
    assert any("evidence line missing for lupus" in p for p in no_line)
    extra = replace(CIT, n=2, chunk_id="overview-lupus::k::001")
    assert any(
        "citation 2 is never cited" in p for p in problems(make(GOOD, citations=[CIT, extra]))
    )


def test_approvals_must_say_the_us_and_eu_status() -> None:
    silent = replace(LUPUS, approval_line="Approved: Japan only (X, 2020).")
    assert any("US and EU" in p for p in problems(make(GOOD, evidence=[silent])))
    placeless = Statement("Cartistem was approved in January 2012 for knee cartilage damage.", (1,))
    cit = replace(CIT, passage=PASSAGE + " " + placeless.text)
    found = problems(make(placeless, citations=[cit]))
    assert any("approval without its country" in p for p in found), found


def test_unknown_tier_and_heading_are_caught() -> None:
    altered = replace(LUPUS, tier="cured")
    assert any("unknown evidence tier" in p for p in problems(make(GOOD, evidence=[altered])))
    section = Section("findings", "Miracle results", (GOOD,))
    assert any("unknown section heading" in p for p in problems(make(sections=[section])))


def test_only_patient_facing_texts_are_fixed_lines() -> None:
    """The phrasing model's rules are internal: reciting them is never a reviewed text."""
    rules = default_rules()
    for line in rules_text().splitlines():
        if len(line.split()) >= 5:
            s = Statement(line.strip(), (), "fixed")
            assert any("not a reviewed fixed text" in p for p in problems(make(GOOD, s))), line
    ok = Statement(text("no_passages"), (), "fixed", key="no_passages")
    assert problems(make(GOOD, ok)) == ()
    assert rules.fixed  # the allow-list is not empty


@pytest.mark.parametrize("field", ["condition_name", "tier_label", "tier_note", "as_of"])
@pytest.mark.parametrize("value", ["<5% of patients", "Johnson & Johnson", "a > b", "x <b>y</b>"])
def test_angle_brackets_and_ampersands_in_evidence_fields_pass(field: str, value: str) -> None:
    """The guard checks the structure before any escaping: '<5%' or '&' never fails an answer."""
    line = replace(LUPUS, **{field: value})
    a = make(GOOD, evidence=[line])
    assert problems(a) == ()
    assert "<b>" not in a.answer


def test_special_characters_in_titles_and_passages_pass() -> None:
    cit = replace(CIT, title="R&D <draft> report", passage=PASSAGE + " Costs were <5% & falling.")
    s = Statement("Costs were <5% & falling.", (1,))
    assert problems(make(GOOD, s, citations=[cit])) == ()


def test_supported_is_lexical_not_verbatim_only() -> None:
    assert supported("Remission came in 9 of 12 people given cells [1]", PASSAGE)
    assert not supported("Cells cured every patient in the trial [1]", PASSAGE)


def test_disclaimer_is_the_reviewed_one() -> None:
    assert make(GOOD).disclaimer == disclaimer()
