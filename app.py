"""The stemchat chat page (thin: layout and widgets; everything else comes from the library)."""

from __future__ import annotations

import streamlit as st

from stemchat import Conversation, Engine, load_settings
from stemchat.texts import disclaimer, text

st.set_page_config(page_title="stemchat: stem cell evidence", page_icon="🧬")


@st.cache_resource(show_spinner="Loading the evidence library...")
def engine() -> Engine:
    """Shared, read-only: the model, the store and the indexes."""
    from stemchat.cli import ensure_index

    settings = load_settings()
    ensure_index(settings, quiet=True)
    eng = Engine(settings)
    _ = eng.retriever  # load the model and indexes once, before the first question
    return eng


st.title("stemchat")
st.caption(text("standing_notice"))

if "conversation" not in st.session_state:
    st.session_state.conversation = Conversation()
conversation: Conversation = st.session_state.conversation

if st.sidebar.button("New conversation"):
    st.session_state.conversation = conversation = Conversation()

for turn in conversation.turns:
    with st.chat_message("user"):
        st.text(turn.question)
    with st.chat_message("assistant"):
        st.markdown(turn.answer)
        for c in turn.citations:
            with st.expander(f"[{c.n}] {c.title} ({c.kind}, {c.date})"):
                st.text(c.passage)
                if c.url:
                    st.markdown(f"[Source]({c.url})")

question = st.chat_input("Ask about stem cell therapy for a condition...")
if question:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        try:
            answer = engine().answer(question, conversation)
        except Exception:
            st.error("Sorry, something went wrong while answering. Please try again.")
            st.caption(disclaimer())
        else:
            st.rerun()
