"""Shared, read-only resources for the app, built once per process (st.cache_resource)."""

from __future__ import annotations

import streamlit as st

from stemchat.engine import Engine
from stemchat.feedback import FeedbackStore, feedback_store
from stemchat.settings import Settings, load_settings


@st.cache_resource(show_spinner="Loading the evidence library...")
def engine() -> Engine:
    """Model, store and indexes; ingests first if the index is empty or stale."""
    from stemchat.cli import ensure_index

    settings = load_settings()
    eng = Engine(settings, ensure_index(settings, quiet=True))
    _ = eng.searcher  # load the model and indexes before the first question
    return eng


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def feedback() -> FeedbackStore:
    return feedback_store(load_settings().data_dir)


def corpus_version(eng: Engine) -> str:
    return f"{eng.evidence.version} / index {eng.searcher.manifest.version}"
