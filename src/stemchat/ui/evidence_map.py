"""The evidence map page: every condition's tier as a sortable table and a chart."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from stemchat.corpus.approvals import approval_line
from stemchat.corpus.loader import load_evidence_map, read_document
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.markup import escape
from stemchat.render import document, link
from stemchat.texts import tier_description
from stemchat.ui import resources
from stemchat.ui.present import TIER_COLORS, TIER_ORDER

COLUMNS = ["condition", "id", "evidence", "what it means", "why", "approvals", "as of"]


def table(evidence: EvidenceMap) -> pd.DataFrame:
    """One row per condition: evidence strength and approvals as separate columns (cells are
    shown as plain text by st.dataframe)."""
    rows = [
        {
            "condition": c.name,
            "id": c.id,
            "evidence": c.tier.value,
            "what it means": tier_description(c.tier.value),
            "why": f"{c.tier_label}. {c.tier_note}".strip(),
            "approvals": approval_line(c),
            "as of": c.as_of,
        }
        for c in evidence.conditions.values()
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def approvals_table(cond: Condition) -> pd.DataFrame:
    """Every approval record of one condition, each with its country, kind and status."""
    return pd.DataFrame(
        [
            {
                "product": a.product,
                "where": a.where,
                "regulator": a.regulator,
                "kind": a.kind,
                "for whom": a.who,
                "decided": a.date,
                "status": a.status + (f" ({a.ended})" if a.ended else ""),
                "checked": a.as_of,
            }
            for a in cond.approvals
        ]
    )


def page() -> None:
    st.title("Evidence map")
    st.caption(
        "For each condition stemchat covers: how strong the evidence of benefit is, and, "
        "separately, what regulators have approved where. Colours always come with the words."
    )
    settings = resources.settings()
    evidence, _ = load_evidence_map(settings.conditions_file)
    if evidence is None or not evidence.conditions:
        st.info("The evidence map is missing or invalid. Maintainers: run `stemchat check`.")
        return
    df = table(evidence)
    tiers = st.multiselect(
        "Filter by evidence strength",
        TIER_ORDER,
        default=[t for t in TIER_ORDER if t in set(df["evidence"])],
    )
    shown = df[df["evidence"].isin(tiers)]
    st.dataframe(shown.drop(columns=["id"]), hide_index=True, width="stretch")
    counts = (
        shown.groupby("evidence")
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
            y=alt.Y("evidence:N", sort=TIER_ORDER, title="Evidence strength"),
            color=alt.Color(
                "evidence:N",
                scale=alt.Scale(
                    domain=TIER_ORDER, range=[_hex(TIER_COLORS[t]) for t in TIER_ORDER]
                ),
                legend=None,
            ),
            tooltip=["evidence", "conditions"],
        )
        .properties(title="Conditions by evidence strength", height=220)
    )
    st.altair_chart(chart, width="stretch")
    if shown.empty:
        return
    choice = st.selectbox("Open a condition", shown["condition"].tolist())
    cond = evidence.get(str(shown[shown["condition"] == choice].iloc[0]["id"]))
    if cond is None:
        return
    st.subheader(escape(cond.name))
    st.markdown(
        f"**{escape(f'Evidence strength: {cond.tier.value}')}** — "
        + escape(f"{cond.tier_label}. {cond.tier_note} (as of {cond.as_of})")
    )
    st.markdown("**Approvals:** " + escape(approval_line(cond)))
    if cond.approvals:
        st.dataframe(approvals_table(cond), hide_index=True, width="stretch")
    for i, doc_id in enumerate(cond.key_documents):
        doc = read_document(settings.documents_dir / f"{doc_id}.md")
        if doc is None:
            continue
        links = [s.link for s in doc.meta.sources if s.link]
        with st.expander(
            escape(f"{doc.meta.title} · {doc.meta.kind} · {doc.meta.date}"), expanded=i == 0
        ):
            st.markdown(document(doc.body, links))
            for s in doc.meta.sources:
                if s.link:
                    st.markdown(f"- {escape(s.title)} ({escape(s.date)}): {link(s.link)}")


def _hex(name: str) -> str:
    """Bar colours with at least 3:1 contrast on white (WCAG 2.2 non-text contrast)."""
    return {
        "green": "#2e7d32",
        "blue": "#1565c0",
        "orange": "#b45309",
        "violet": "#6a1b9a",
        "red": "#c62828",
        "gray": "#616161",
    }[name]
