"""The composer's parts on hand-made passages: sentences, selection, follow-ups, citation numbers."""

from __future__ import annotations

import pytest

from stemchat.compose import CitationBook, expand_query, pick_sentences, sentences, split_sentences
from stemchat.plan import is_follow_up as _is_follow_up
from stemchat.retrieval import Passage

pytestmark = pytest.mark.unit


def passage(body: str, chunk: str = "doc::k::000", doc: str = "doc", score: float = 1.0) -> Passage:
    return Passage(
        chunk, doc, "Title", "Heading", "overview", "2026", "https://x.org", (), body, score
    )


def test_split_sentences_on_full_stops_before_capitals_and_digits() -> None:
    text = "MILES had 480 people. 12 months later nothing differed! Was it blinded? yes, partly."
    assert split_sentences(text) == [
        "MILES had 480 people.",
        "12 months later nothing differed!",
        "Was it blinded? yes, partly.",
    ]
    assert split_sentences("Dr. Smith ran it. e.g. this stays") == [
        "Dr. Smith ran it. e.g. this stays"
    ]


def test_spanish_sentences_split_at_their_own_starts_and_not_inside_abbreviations() -> None:
    text = (
        "En 2018, los CDC de EE. UU. informaron de infecciones en 12 personas. "
        "Él no lo sabía. ¿Está aprobado? Úlceras aparte, la Dra. Pérez lo revisó."
    )
    assert split_sentences(text) == [
        "En 2018, los CDC de EE. UU. informaron de infecciones en 12 personas.",
        "Él no lo sabía.",
        "¿Está aprobado?",
        "Úlceras aparte, la Dra. Pérez lo revisó.",
    ]


def test_sentences_are_whole_and_free_of_markup_labels_and_fragments() -> None:
    body = (
        "## What was tried\n\n"
        "- **MILES (480 people).** None of the cell injections eased pain better than a steroid shot.\n"
        "- **Evidence:**\n"
        "- small\n\n"
        "Some clinics sell injections (see guide-red-flags) that have never been tested in trials.\n\n"
        "| a | b |\n|---|---|\n| A long table row that should not become a sentence at all | x |\n\n"
        "Short one.\n\n"
        "Is this a question that someone might ask here?\n"
    )
    assert sentences(body) == [
        "None of the cell injections eased pain better than a steroid shot.",
        "Some clinics sell injections that have never been tested in trials.",
    ]


def test_sentences_never_quote_what_no_answer_may_say() -> None:
    body = (
        "The MESEMS trial gave 2 million cells per kilogram twice weekly for four weeks. "
        "You should stop your insulin once the cells take hold, the clinic said to her."
    )
    out = sentences(body)
    assert out == [
        "The MESEMS trial gave 2 million cells per kilogram twice weekly for four weeks."
    ]


def test_a_sentence_about_an_unnamed_trial_is_dropped_or_named() -> None:
    # "The trial ..." alone does not say which trial; in a labelled item it is named
    assert sentences("The trial gave cells twice weekly for four weeks to adults.") == []
    item = "- **MESEMS (phase 2, 9 countries).** The trial did not reduce active brain lesions."
    assert sentences(item) == [
        "MESEMS (phase 2, 9 countries): the trial did not reduce active brain lesions."
    ]
    story = (
        "A boy was given fetal nerve stem cells at a clinic abroad. Four years later he "
        "developed tumours in his brain that came from the donor cells."
    )
    assert sentences(story)[-1] == story  # the sentence that leans comes with its subject


def test_pick_sentences_prefers_overlap_keeps_a_negative_result_and_limits_per_passage() -> None:
    first = passage(
        "Researchers gave lupus patients cord cells by drip in open studies in China. "
        "Many patients in those open studies said they felt better after the drip. "
        "Remission rates looked high in the lupus patients who were treated.",
        "a::k::000",
    )
    second = passage(
        "The only placebo-controlled lupus trial found no added benefit from the cells at all.",
        "b::k::000",
    )
    chosen = pick_sentences(
        "do stem cells help lupus", [first, second], [], limit=3, want_negative=True
    )
    texts = [s for s, _ in chosen]
    assert len(chosen) == 3
    assert sum(1 for _, p in chosen if p.chunk_id == "a::k::000") <= 2  # per_passage
    assert any("no added benefit" in t for t in texts)  # the null result is kept
    without = pick_sentences("do stem cells help lupus", [first], [], limit=2)
    assert all("no added benefit" not in s for s, _ in without)


def test_pick_sentences_returns_reading_order_and_no_duplicates() -> None:
    p = passage(
        "First, MESEMS enrolled 144 people with multiple sclerosis across nine countries. "
        "Second, MESEMS gave cells or a placebo drip in multiple sclerosis, then swapped them. "
        "Third, the main goal about brain scan lesions was not met in MESEMS at all."
    )
    copy = passage(p.text, "other::k::000", "other")  # the same text retrieved twice
    chosen = [s for s, _ in pick_sentences("multiple sclerosis trial goal", [p, copy], [], limit=5)]
    assert len(chosen) == len(set(chosen)) == 3  # each sentence once
    assert [c.split(",")[0] for c in chosen] == ["First", "Second", "Third"]  # reading order


def test_two_documents_telling_one_fact_give_it_once() -> None:
    a = passage("BrainStorm withdrew its application for US approval on 18 October 2023.")
    b = passage(
        "BrainStorm withdrew its request for approval on 18 October 2023.", "b::k::000", "b"
    )
    c = passage(
        "NurOwn (US, phase 3): the main goal was a slower decline in ALS.", "c::k::000", "c"
    )
    d = passage("The main goal was a slower decline in ALS. It was not met.", "d::k::000", "d")
    chosen = [s for s, _ in pick_sentences("nurown approval goal", [a, b, c, d], [], limit=6)]
    assert sum("withdrew" in s for s in chosen) == 1
    assert sum("slower decline" in s for s in chosen) == 1
    # the same words with other figures are other facts
    e = passage("At 90 days 12 of 104 people recovered with cells.", "e::k::000", "e")
    f = passage("At 90 days 10 of 102 people recovered with placebo.", "f::k::000", "f")
    assert len(pick_sentences("90 days recovered", [e, f], [], limit=4)) == 2


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("is it approved for that?", True),
        ("and the risks?", True),
        ("what about the cost", True),
        ("how much does it cost?", True),
        ("did the trial work?", True),
        ("what is a stem cell?", False),
        ("what do phase 1, 2 and 3 mean?", False),
        ("Do stem cells help lupus and what does the evidence say overall for patients?", False),
    ],
)
def test_follow_up_detection(question: str, follow_up: bool) -> None:
    assert _is_follow_up(question) is follow_up


def test_citation_numbers_follow_first_use_and_repeat_for_the_same_passage() -> None:
    book = CitationBook()
    a, b = passage("Alpha text here.", "a::k::000", "a"), passage("Beta text.", "b::k::000", "b")
    assert [book.marker(a), book.marker(b), book.marker(a)] == [1, 2, 1]
    assert [(c.n, c.doc_id) for c in book.citations] == [(1, "a"), (2, "b")]
    assert book.citations[0].passage == "Alpha text here."


def test_dose_questions_search_with_the_words_sources_use() -> None:
    assert "million cells per kg" in expand_query("what dose was used?")
    assert expand_query("is it safe?") == "is it safe?"
