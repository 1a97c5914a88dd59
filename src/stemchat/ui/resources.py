"""Shared, read-only resources for the app, built once per process (st.cache_resource)."""

from __future__ import annotations

import streamlit as st

from stemchat.engine import Engine
from stemchat.feedback import FeedbackStore, feedback_store
from stemchat.settings import Settings, load_settings


@st.cache_resource(show_spinner="Loading the evidence library...")
def engine() -> Engine:
    """Model, store and indexes; ingests first if the index is empty or stale."""
    from stemchat.index import ensure_index

    settings = load_settings()
    eng = Engine(settings, ensure_index(settings, quiet=True))
    _ = eng.snapshot  # load the model and indexes before the first question
    return eng


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def feedback() -> FeedbackStore:
    return feedback_store(load_settings().data_dir)


def corpus_version(eng: Engine) -> str:
    snap = eng.snapshot
    return f"{snap.evidence.version} / index {snap.manifest.version}"


def last_reviewed(eng: Engine) -> str:
    """The newest review date of the indexed documents (from the manifest: nothing is parsed)."""
    dates = [e.reviewed for e in eng.snapshot.manifest.documents.values() if e.reviewed]
    return max(dates, default="unknown")
