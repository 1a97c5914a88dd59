"""The output guard on hand-made answers: what must pass and what must be caught."""

from __future__ import annotations

import pytest

from stemchat.answer import Answer, Citation, EvidenceLine
from stemchat.engine import template_lines
from stemchat.guard import check, sanitize_markdown, supported
from stemchat.texts import disclaimer

pytestmark = pytest.mark.unit

PASSAGE = "The only double-blind trial stopped after 18 patients. Remission came in 9 of 12 people given cells and 5 of 6 given placebo."
LUPUS = EvidenceLine(
    "lupus",
    "Lupus",
    "early",
    "Small or conflicting studies only",
    "Not approved anywhere.",
    "2026-11",
)
CIT = Citation(
    1,
    "overview-lupus",
    "overview-lupus::k::000",
    "Stem cells for lupus",
    "https://doi.org/10.1136/x",
    PASSAGE,
)


def make(body_lines: list[str], **kw) -> Answer:  # type: ignore[no-untyped-def]
    lines = [
        f"- {LUPUS.sentence()}",
        "",
        "**What the sources say**",
        "",
        *body_lines,
        "",
        f"_{disclaimer()}_",
    ]
    return Answer(question="q", answer="\n".join(lines), evidence=[LUPUS], citations=[CIT], **kw)


def problems(answer: Answer) -> tuple[str, ...]:
    return check(answer, template_lines=template_lines()).problems


def test_good_answer_passes() -> None:
    assert (
        problems(
            make(["- Remission came in 9 of 12 people given cells and 5 of 6 given placebo. [1]"])
        )
        == ()
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["- Stem cells cure lupus in most patients. [1]"], "not supported"),
        (["- Stem cells cure lupus in most patients."], "without a citation"),
        (
            ["- Remission came in 9 of 12 people given cells. [2]"],
            "marker [2] has no retrieved passage",
        ),
        (["- Remission came in 9 of 12 people. [1]", "<script>alert(1)</script>"], "raw HTML"),
        (["- Remission came in 9 of 12 people. [1]", "![x](https://evil.example/a.png)"], "image"),
        (
            ["- Remission came in 9 of 12 people [1], see [here](https://evil.example)."],
            "link to an address",
        ),
    ],
)
def test_bad_answers_are_caught(lines: list[str], expected: str) -> None:
    found = problems(make(lines))
    assert any(expected in p for p in found), found


def test_missing_disclaimer_and_tier_are_caught() -> None:
    a = make(["- Remission came in 9 of 12 people given cells. [1]"])
    no_disc = Answer(
        question="q", answer=a.answer.replace(disclaimer(), ""), evidence=[LUPUS], citations=[CIT]
    )
    assert "disclaimer missing" in problems(no_disc)
    no_tier = Answer(
        question="q",
        answer=a.answer.replace(LUPUS.sentence(), "Lupus looks promising."),
        evidence=[LUPUS],
        citations=[CIT],
    )
    assert any("tier line missing" in p for p in problems(no_tier))


def test_altered_tier_line_is_caught() -> None:
    a = make(["- Remission came in 9 of 12 people given cells. [1]"])
    changed = Answer(
        question="q",
        answer=a.answer.replace("Not approved anywhere.", "Approved soon, cures lupus."),
        evidence=[LUPUS],
        citations=[CIT],
    )
    assert any("altered tier line" in p for p in problems(changed))


def test_sanitize_markdown() -> None:
    out = sanitize_markdown(
        "<b>x</b> ![img](http://a/b.png) [src](https://ok.example) [bad](https://evil.example) <https://evil.example>",
        ["https://ok.example"],
    )
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "![" not in out and "img" in out
    assert "[src](https://ok.example)" in out
    assert "evil.example)" not in out and "bad" in out


def test_supported_is_lexical_not_verbatim_only() -> None:
    assert supported("Remission came in 9 of 12 people given cells [1]", PASSAGE)
    assert not supported("Cells cured every patient in the trial [1]", PASSAGE)
