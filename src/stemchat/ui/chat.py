"""The chat page: history, streamed answers, tier badges, citations, feedback, export."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from stemchat.answer import Answer
from stemchat.engine import Conversation
from stemchat.markup import escape
from stemchat.render import kind_words, passage
from stemchat.texts import current_language, disclaimer, text, texts, use_language
from stemchat.ui import resources
from stemchat.ui.i18n import LANGUAGE_NAMES, page_language, ui
from stemchat.ui.present import (
    TIER_COLORS,
    TIER_ICONS,
    badge_text,
    export_markdown,
    stream_words,
)

ALERT = {"emergency": st.error, "crisis": st.warning}

__all__ = ["LANGUAGE_NAMES", "page", "page_language", "ui"]


def conversation() -> Conversation:
    if "conversation" not in st.session_state:
        st.session_state.conversation = Conversation(language=page_language())
    return st.session_state.conversation  # type: ignore[no-any-return]


def new_conversation() -> None:
    st.session_state.conversation = Conversation(language=page_language())
    st.session_state.pop("pending", None)


def render_answer(answer: Answer, key: str, *, stream: bool = False) -> None:
    """One assistant turn, in the answer's own language."""
    with use_language(answer.language):
        _render_answer(answer, key, stream=stream)


def _render_answer(answer: Answer, key: str, *, stream: bool) -> None:
    """Alert first for emergencies, tier badges, the answer, citations."""
    if answer.safety in ALERT:
        ALERT[answer.safety](text(answer.safety), icon=":material/emergency:")
        st.caption(escape(disclaimer()))
        return
    if answer.evidence:
        cols = st.container(horizontal=True)
        for e in answer.evidence:
            cols.badge(
                badge_text(e.tier, e.condition_name),
                color=TIER_COLORS[e.tier],  # type: ignore[arg-type]
                icon=TIER_ICONS[e.tier],
            )
    if stream:
        st.write_stream(stream_words(answer.answer))
    else:
        st.markdown(answer.answer)
    if answer.citations:
        st.markdown(ui("sources_cited"))
        for c in answer.citations:
            where = f" — {c.heading}" if c.heading else ""
            label = f"[{c.n}] {c.title}{where} · {kind_words(c.kind)} · {c.date}"
            with st.expander(escape(label)):
                st.markdown(passage(c.passage))
                if c.url:
                    st.link_button(ui("open_source"), c.url)
    render_feedback(answer, key)


def render_feedback(answer: Answer, key: str) -> None:
    saved = st.session_state.get(f"{key}-saved")
    if saved:
        st.caption(ui("feedback_saved"))
        return
    rating = st.feedback("thumbs", key=key)
    if rating is not None:
        comment = st.text_input(ui("optional_comment"), key=f"{key}-comment", max_chars=1000)
        if st.button(ui("send_feedback"), key=f"{key}-send"):
            eng = resources.engine()
            resources.feedback().add(
                rating=int(rating),
                question=answer.question,
                answer=answer.answer,
                corpus_version=resources.corpus_version(eng),
                comment=comment,
            )
            st.session_state[f"{key}-saved"] = True
            st.rerun()


def feedback_key(conv: Conversation, index: int) -> str:
    """Feedback widgets belong to one answer of one conversation (never reused by the next)."""
    return f"fb-{conv.id}-{index}"


def sidebar(conv: Conversation) -> DeltaGenerator:
    """New conversation, the download's place (filled after this run's answer), versions."""
    with st.sidebar:  # the language switch comes before it, on every page (app.py, i18n.py)
        st.button(ui("new_conversation"), on_click=new_conversation, icon=":material/refresh:")
        slot = st.empty()
        try:
            eng = resources.engine()
            st.caption(escape(ui("corpus_version").format(version=resources.corpus_version(eng))))
            st.caption(escape(ui("last_reviewed").format(date=resources.last_reviewed(eng))))
        except Exception:
            st.caption(ui("corpus_unavailable"))
    return slot


def download(slot: DeltaGenerator, conv: Conversation) -> None:
    """The conversation as Markdown, headings in the page's language, with every answer so far
    (drawn last, so it holds the answer given in this run too)."""
    if conv.turns:
        slot.download_button(
            ui("download"),
            export_markdown(conv.turns),
            file_name="stemchat-conversation.md",
            mime="text/markdown",
        )


def page() -> None:
    with use_language(page_language()):
        _page()


def _page() -> None:
    st.title("stemchat")
    st.info(text("standing_notice"), icon=":material/info:")
    conv = conversation()
    if not conv.turns:  # a conversation not yet started follows the switch (on any page)
        conv.language = current_language()
    slot = sidebar(conv)
    _conversation(conv)
    download(slot, conv)


def _conversation(conv: Conversation) -> None:
    for i, turn in enumerate(conv.turns):
        with st.chat_message("user"):
            st.text(turn.question)
        with st.chat_message("assistant"):
            render_answer(turn, feedback_key(conv, i))
    if not conv.turns:
        st.markdown(ui("try_asking"))
        cols = st.columns(2)
        for i, example in enumerate(texts()["ui"]["examples"]):
            if cols[i % 2].button(example, key=f"example-{i}"):
                st.session_state.pending = example
                st.rerun()
    question = st.chat_input(ui("ask"))
    question = question or st.session_state.pop("pending", None)
    if question:
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            try:
                answer = resources.engine().answer(question, conv)
            except Exception:
                st.error(ui("error"))
                st.caption(escape(disclaimer()))
                return
            render_answer(answer, feedback_key(conv, len(conv.turns) - 1), stream=True)
