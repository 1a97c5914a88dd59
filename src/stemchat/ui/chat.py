"""The chat page: history, streamed answers, tier badges, citations, feedback, export."""

from __future__ import annotations

import streamlit as st

from stemchat.answer import Answer
from stemchat.engine import Conversation
from stemchat.markup import escape
from stemchat.render import passage
from stemchat.texts import LANGUAGES, disclaimer, text, texts, use_language
from stemchat.ui import resources
from stemchat.ui.present import (
    TIER_COLORS,
    TIER_ICONS,
    badge_text,
    export_markdown,
    stream_words,
)

ALERT = {"emergency": st.error, "crisis": st.warning}


LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def ui(key: str) -> str:
    """One of the page's own words, in the current language."""
    return str(texts()["ui"][key])


def page_language() -> str:
    """The page's language: `?lang=es` in the address, or the sidebar switch (English first)."""
    wanted = st.query_params.get("lang", "en")
    return wanted if wanted in LANGUAGES else "en"


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
            with st.expander(escape(f"[{c.n}] {c.title}{where} · {c.kind} · {c.date}")):
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


def sidebar(conv: Conversation) -> None:
    with st.sidebar:
        current = page_language()
        chosen = st.radio(
            ui("language"),
            list(LANGUAGES),
            index=list(LANGUAGES).index(current),
            format_func=LANGUAGE_NAMES.get,
            horizontal=True,
            key="language",
        )
        if chosen != current:
            st.query_params["lang"] = chosen
            if not conv.turns:
                conv.language = chosen
            st.rerun()
        st.button(ui("new_conversation"), on_click=new_conversation, icon=":material/refresh:")
        if conv.turns:
            st.download_button(
                ui("download"),
                export_markdown(conv.turns),
                file_name="stemchat-conversation.md",
                mime="text/markdown",
            )
        try:
            eng = resources.engine()
            st.caption(escape(ui("corpus_version").format(version=resources.corpus_version(eng))))
            st.caption(escape(ui("last_reviewed").format(date=resources.last_reviewed(eng))))
        except Exception:
            st.caption(ui("corpus_unavailable"))


def page() -> None:
    with use_language(page_language()):
        _page()


def _page() -> None:
    st.title("stemchat")
    st.info(text("standing_notice"), icon=":material/info:")
    conv = conversation()
    sidebar(conv)
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
