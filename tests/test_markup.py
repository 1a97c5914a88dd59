"""The one place for untrusted markup: parsed with markdown-it tokens and an allow-list."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stemchat.compose import clean_passage
from stemchat.markup import escape, link_targets, plain_of_escaped, problems, to_plain

pytestmark = pytest.mark.unit

HOSTILE = [
    ("![p](https://evil.example/i.png)", "image"),
    ("![p][r]\n\n[r]: https://evil.example/i.png", "image"),
    ("text ![p][] more\n\n[p]: https://evil.example/i.png", "image"),
    ("<img src=x onerror=alert(1)>", "raw HTML"),
    ("a <span style='x'>b</span>", "raw HTML"),
    ("[click](https://evil.example)", "not a source"),
    ("[click][1]\n\n[1]: https://evil.example", "not a source"),
    ("<https://evil.example>", "not a source"),
    ("see https://evil.example/x now", "not a source"),
    ("see www.evil.example now", "bare web address"),
    ("mail me@evil.example", "not a source"),
]


@pytest.mark.parametrize(("text", "kind"), HOSTILE)
def test_problems_finds_every_way_to_render_more_than_text(text: str, kind: str) -> None:
    found = problems(text)
    assert any(kind in p for p in found), found


def test_links_to_a_documents_own_sources_are_allowed() -> None:
    assert problems("[trial](https://doi.org/10.1/x)", ["https://doi.org/10.1/x"]) == []
    assert problems("**bold**, _it_, lists:\n\n- a\n- b\n\n| a | b |\n|---|---|\n| 1 | 2 |") == []


@pytest.mark.parametrize(("text", "kind"), HOSTILE)
def test_escaped_text_renders_as_itself_and_nothing_else(text: str, kind: str) -> None:
    out = escape(text)
    assert problems(out) == [], (text, out)
    assert link_targets(out) == []
    assert plain_of_escaped(out).split() == text.split()


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\n"
        ),
        max_size=120,
    )
    | st.lists(
        st.sampled_from(
            [
                "![",
                "](",
                ")",
                "[",
                "]",
                "<",
                ">",
                "http://",
                "www.",
                "@",
                ".com",
                "a",
                " ",
                "\n",
                "*",
                "_",
                "`",
                "#",
                "-",
                "1.",
                "|",
                "&amp;",
                "$",
                "x",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_escape_property(text: str) -> None:
    """Whatever the text, its escaped form renders no image, HTML or link."""
    out = escape(text)
    assert problems(out) == []
    assert link_targets(out) == []


def test_to_plain_keeps_text_and_drops_what_is_not() -> None:
    body = (
        "## Head\n\nSome **bold** text with [a link](https://x.example) and "
        "![img](https://e.example/i.png).\n\n- item one\n- item <b>two</b>\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<div>hidden block</div>\n\n![r][ref]\n\n"
        "[ref]: https://e.example/r.png\n"
    )
    plain = to_plain(body)
    assert "Some bold text with a link and ." in plain
    assert "- item one" in plain and "- item two" in plain
    assert "1; 2" in plain
    for gone in ("https://", "<", "**", "hidden block", "img", "ref"):
        assert gone not in plain, gone
    assert "1; 2" not in to_plain(body, tables=False)


def test_bold_lead_ins_are_dropped_only_when_asked() -> None:
    body = "- **MILES (480 people).** The injections were no better than a steroid shot.\n"
    assert to_plain(body).startswith("- MILES (480 people).")
    assert to_plain(body, lead_ins=False) == "- The injections were no better than a steroid shot."
    label = "**South Korea only:** Cartistem was approved in 2012."
    assert to_plain(label, lead_ins=False) == "South Korea only: Cartistem was approved in 2012."


def test_cited_passages_lose_reference_images_and_bare_links() -> None:
    body = (
        "Remission came in 9 of 12 people.\n\n![pixel][r]\n\n[r]: https://tracker.example/p.png\n\n"
        "Book at https://clinic.example/offer today."
    )
    passage = clean_passage(body)
    assert "tracker.example" not in passage
    assert problems(escape(passage)) == []
