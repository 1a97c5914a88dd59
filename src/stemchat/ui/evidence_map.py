"""The evidence map page: every condition's tier as a sortable table and a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from stemchat.corpus import load_corpus
from stemchat.guard import sanitize_markdown
from stemchat.texts import tier_description
from stemchat.ui import resources
from stemchat.ui.present import TIER_COLORS, TIER_ORDER


def table(corpus_dir) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    corpus = load_corpus(corpus_dir)
    rows = []
    for c in corpus.evidence.conditions.values() if corpus.evidence else []:
        rows.append(
            {
                "condition": c.name,
                "id": c.id,
                "tier": c.tier.value,
                "what the tier means": tier_description(c.tier.value),
                "label": c.tier_label,
                "who and where": c.tier_note,
                "as of": c.as_of,
            }
        )
    return pd.DataFrame(rows)


def page() -> None:
    st.title("Evidence map")
    st.caption(
        "How strong the evidence is for each condition stemchat covers. Colours always come with the tier's name."
    )
    settings = resources.settings()
    df = table(settings.corpus_dir)
    tiers = st.multiselect(
        "Filter by tier", TIER_ORDER, default=[t for t in TIER_ORDER if t in set(df["tier"])]
    )
    shown = df[df["tier"].isin(tiers)]
    st.dataframe(shown.drop(columns=["id"]), hide_index=True, width="stretch")
    counts = (
        shown.groupby("tier")
        .size()
        .reindex([t for t in TIER_ORDER if t in tiers])
        .fillna(0)
        .reset_index(name="conditions")
    )
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("conditions:Q", title="Number of conditions"),
            y=alt.Y("tier:N", sort=TIER_ORDER, title="Evidence tier"),
            color=alt.Color(
                "tier:N",
                scale=alt.Scale(
                    domain=TIER_ORDER, range=[_hex(TIER_COLORS[t]) for t in TIER_ORDER]
                ),
                legend=None,
            ),
            tooltip=["tier", "conditions"],
        )
        .properties(title="Conditions by evidence tier", height=220)
    )
    st.altair_chart(chart, width="stretch")
    if shown.empty:
        return
    choice = st.selectbox("Open a condition", shown["condition"].tolist())
    row = shown[shown["condition"] == choice].iloc[0]
    corpus = load_corpus(settings.corpus_dir)
    cond = corpus.evidence.conditions[row["id"]] if corpus.evidence else None
    if cond is None:
        return
    st.subheader(cond.name)
    st.markdown(
        f"**Evidence tier: {cond.tier.value}** — {cond.tier_label}. {cond.tier_note} (as of {cond.as_of})"
    )
    docs = corpus.by_id()
    for doc_id in cond.key_documents:
        doc = docs.get(doc_id)
        if doc is None:
            continue
        with st.expander(
            f"{doc.meta.title} · {doc.meta.kind} · {doc.meta.date}",
            expanded=doc_id == cond.key_documents[0],
        ):
            st.markdown(sanitize_markdown(doc.body))
            for s in doc.meta.sources:
                if s.link:
                    st.markdown(f"- [{s.title}]({s.link}) ({s.date})")


def _hex(name: str) -> str:
    return {
        "green": "#2e7d32",
        "blue": "#1565c0",
        "orange": "#ef6c00",
        "violet": "#6a1b9a",
        "red": "#c62828",
        "gray": "#616161",
    }[name]
