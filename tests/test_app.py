"""The Streamlit pages through streamlit.testing.v1.AppTest, with the real engine underneath."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from stemchat.answer import Answer, Citation, EvidenceLine, Section, Statement
from stemchat.feedback import feedback_store
from stemchat.texts import disclaimer, text
from stemchat.ui.present import badge_text, export_markdown, stream_words
from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture
def app(shipped, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STEMCHAT_CORPUS_DIR", str(shipped.corpus_dir))
    monkeypatch.setenv("STEMCHAT_DATA_DIR", str(shipped.data_dir))
    monkeypatch.setenv("STEMCHAT_MAINTAINER_PAGE", "true")
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    yield at
    st.cache_resource.clear()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    return at


def all_markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_first_visit_shows_notice_and_examples(app) -> None:  # type: ignore[no-untyped-def]
    assert not app.exception
    assert any(text("standing_notice")[:60] in i.value for i in app.info)
    labels = [b.label for b in app.button]
    assert "Do stem cells help lupus?" in labels and "New conversation" in labels


def test_answer_shows_badge_citations_and_disclaimer(app) -> None:  # type: ignore[no-untyped-def]
    ask(app, "Do stem cells help lupus?")
    assert not app.exception
    badges = [b.proto.label for b in app.get("badge")] if app.get("badge") else []
    md = all_markdown(app)
    assert "Evidence strength for Lupus" in md
    assert disclaimer() in md
    assert any("early" in b for b in badges) or "early" in md
    expanders = [e.label for e in app.expander]
    assert expanders and expanders[0].startswith("\\[1\\] ")  # Markdown: shown as "[1] "
    # history survives a rerun; a follow-up keeps the condition
    ask(app, "is it approved for that?")
    md = all_markdown(app)
    assert md.count("Evidence strength for Lupus") >= 2


def test_emergency_is_shown_first_as_an_alert(app) -> None:  # type: ignore[no-untyped-def]
    ask(
        app,
        "I had a stem cell injection in my back yesterday and now I have a fever and a stiff neck",
    )
    assert not app.exception
    assert app.error and text("emergency")[:50] in app.error[0].value
    assert not app.expander  # no citations pushed during an emergency


def test_new_conversation_clears_history(app) -> None:  # type: ignore[no-untyped-def]
    ask(app, "Do stem cells help lupus?")
    assert "Evidence strength for Lupus" in all_markdown(app)
    next(b for b in app.button if b.label == "New conversation").click().run()
    assert "Evidence strength for Lupus" not in all_markdown(app)


def test_script_in_question_is_text(app) -> None:  # type: ignore[no-untyped-def]
    ask(app, "<script>alert('x')</script> lupus?")
    assert not app.exception
    assert any("<script>alert('x')</script> lupus?" in t.value for t in app.text)
    assert "<script" not in all_markdown(app)


def test_feedback_is_stored_with_corpus_version(app, shipped) -> None:  # type: ignore[no-untyped-def]
    store = feedback_store(shipped.data_dir)
    before = len(store.rows())
    ask(app, "Do stem cells help lupus?")
    key = f"fb-{app.session_state['conversation'].id}-0"
    app.session_state[key] = 1  # thumbs up on the first answer
    app.run()
    app.text_input(key=f"{key}-comment").input("clear and useful").run()
    next(b for b in app.button if b.label == "Send feedback").click().run()
    assert not app.exception
    rows = store.rows()
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["rating"] == 1 and row["comment"] == "clear and useful"
    assert "lupus" in str(row["question"]).lower() and "Evidence strength" in str(row["answer"])
    assert str(row["corpus_version"]).startswith("2026.11")
    assert set(row) == {
        "id",
        "created_at",
        "rating",
        "comment",
        "question",
        "answer",
        "corpus_version",
    }


def test_evidence_map_and_maintainer_pages(app) -> None:  # type: ignore[no-untyped-def]
    app.sidebar.radio[0].set_value("Evidence map").run()
    assert not app.exception
    assert app.dataframe and len(app.dataframe[0].value) >= 22
    app.sidebar.radio[0].set_value("Maintainer").run()
    assert not app.exception
    assert app.dataframe and len(app.dataframe[0].value) >= 60
    assert any("No errors" in s.value for s in app.success)


def test_engine_failure_shows_apology_not_traceback(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stemchat.engine import Engine

    def boom(self, *a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(Engine, "answer", boom)
    ask(app, "Do stem cells help lupus?")
    assert not app.exception
    assert any("Sorry" in e.value for e in app.error)
    assert "internal detail" not in all_markdown(app)


def test_export_markdown_has_everything_for_a_doctor() -> None:
    turn = Answer(
        question="Do stem cells help lupus?",
        sections=[Section("findings", "What the sources say", (Statement("Answer text", (1,)),))],
        conditions=["lupus"],
        evidence=[
            EvidenceLine(
                "lupus",
                "Lupus",
                "early",
                "Small studies only",
                "Not approved.",
                "2026-11",
                approval_line="No stem cell product is approved for this anywhere, "
                "including the US and EU.",
            )
        ],
        citations=[
            Citation(
                1,
                "overview-lupus",
                "c",
                "Stem cells for lupus",
                "https://doi.org/x",
                "p",
                "overview",
                "2026-11-26",
            )
        ],
    )
    md = export_markdown([turn], when=dt.datetime(2026, 11, 26, 9, 0))
    for part in (
        "Do stem cells help lupus?",
        "Evidence strength for Lupus: early",
        "Approvals:** No stem cell product is approved for this anywhere, including the US and EU",
        "Answer text [1]",
        "<https://doi.org/x>",
        "2026-11-26 09:00",
        disclaimer(),
    ):
        assert part in md


def test_badge_text_never_colour_only_and_stream_is_lossless() -> None:
    assert badge_text("negative", "ALS") == "ALS — evidence: negative (trials found no benefit)"
    body = "**Evidence tier** for x [1]\n\n- a b c d e f g h i j k l m n o p"
    assert "".join(stream_words(body, chunk=3)) == body


def test_feedback_belongs_to_one_conversation(app, shipped) -> None:  # type: ignore[no-untyped-def]
    """After "New conversation", the next first answer can be rated (no stale "Thank you")."""
    ask(app, "Do stem cells help lupus?")
    key = f"fb-{app.session_state['conversation'].id}-0"
    app.session_state[key] = 1
    app.run()
    next(b for b in app.button if b.label == "Send feedback").click().run()
    assert any("Thank you" in c.value for c in app.caption)
    next(b for b in app.button if b.label == "New conversation").click().run()
    ask(app, "Do stem cells help ALS?")
    assert not any("Thank you" in c.value for c in app.caption)
    assert app.get("feedback"), "the new answer offers its own thumbs"


def test_the_language_switch_carries_to_the_evidence_map_and_back(app) -> None:  # type: ignore[no-untyped-def]
    """The sidebar switch on one page holds on the other (the address keeps it: ?lang=es)."""
    app.sidebar.radio(key="language").set_value("es").run()
    assert not app.exception
    assert any("Pruebe a preguntar" in m.value for m in app.markdown)
    app.sidebar.radio(key="page").set_value("Evidence map").run()
    assert not app.exception
    assert app.title[0].value == "Mapa de la evidencia"
    table = app.dataframe[0].value
    assert {"Enfermedad", "Solidez de la evidencia", "Aprobaciones"} <= set(table.columns)
    assert "mixta" in set(table["Solidez de la evidencia"]) and "id" not in table.columns
    md = all_markdown(app)
    assert "Solidez de la evidencia: mixta" in md and "No está aprobado en la UE" in md
    assert "EE. UU." in md and "Evidence strength" not in md
    assert "evidencia: mixta (los ensayos no coinciden)" in md  # the badge, in words
    records = app.dataframe[1].value
    assert "EE. UU." in set(records["Dónde"]) and "vigente" in set(records["Estado"])
    download = app.get("download_button")[0].proto
    assert download.label == "Descargar el mapa de la evidencia (Markdown)"
    # switched back on this page: English here, and on the chat page
    app.sidebar.radio(key="language").set_value("en").run()
    assert app.title[0].value == "Evidence map"
    assert "evidence: mixed (trials disagree)" in all_markdown(app)
    app.sidebar.radio(key="page").set_value("Chat").run()
    assert "New conversation" in [b.label for b in app.button]
    app.sidebar.radio(key="language").set_value("es").run()
    ask(app, "¿Las células madre sirven para el lupus?").run()  # the sidebar sees the turn
    assert not app.exception
    assert "Descargar la conversación (Markdown)" in [
        d.proto.label for d in app.get("download_button")
    ]
