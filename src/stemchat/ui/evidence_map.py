"""The evidence map page: every condition's tier as a sortable table and a chart, in the chosen
language (its reviewed statements: corpus/conditions.<language>.yaml), with a Markdown download."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd
import streamlit as st

from stemchat.corpus.loader import load_evidence_map, read_document
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.corpus.translations import documents_dir, translated_rows
from stemchat.markup import escape
from stemchat.render import document, kind_words, link, tier_words
from stemchat.texts import current_language, text
from stemchat.ui import resources
from stemchat.ui.i18n import ui_group
from stemchat.ui.present import (
    APPROVAL_COLUMNS,
    MAP_COLUMNS,
    TIER_COLORS,
    TIER_ICONS,
    TIER_ORDER,
    TranslatedRows,
    approval_rows,
    evidence_map_markdown,
    map_rows,
    tier_badge_text,
)

COLUMNS = MAP_COLUMNS


def table(
    evidence: EvidenceMap, lang: str | None = None, translations: TranslatedRows | None = None
) -> pd.DataFrame:
    """One row per condition: evidence strength and approvals as separate columns (cells are
    shown as plain text by st.dataframe). The keys are the same in every language; the text is
    in `lang` where `translations` has a reviewed version of it."""
    return pd.DataFrame(map_rows(evidence, translations, lang), columns=COLUMNS)


def approvals_table(
    cond: Condition, lang: str | None = None, translation: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """Every approval record of one condition, each with its country, kind and status."""
    return pd.DataFrame(approval_rows(cond, lang, translation), columns=APPROVAL_COLUMNS)


def page() -> None:
    words = ui_group("map")
    lang = current_language()
    st.title(words["title"])
    st.caption(words["caption"])
    settings = resources.settings()
    evidence, _ = load_evidence_map(settings.conditions_file)
    if evidence is None or not evidence.conditions:
        st.info(words["missing"])
        return
    translations = translated_rows(settings.corpus_dir, lang) if lang != "en" else {}
    df = table(evidence, lang, translations)
    heads = words["columns"]
    names = {t: tier_words(t) for t in TIER_ORDER}  # the tiers' names in the page's language
    tiers = st.multiselect(
        words["filter"],
        TIER_ORDER,
        default=[t for t in TIER_ORDER if t in set(df["evidence"])],
        format_func=names.__getitem__,
        key="map-tiers",
    )
    shown = df[df["evidence"].isin(tiers)]
    view = shown.drop(columns=["id", "established care"]).assign(
        evidence=shown["evidence"].map(names)
    )
    st.dataframe(view.rename(columns=heads), hide_index=True, width="stretch")
    counts = (
        shown.groupby("evidence")
        .size()
        .reindex([t for t in TIER_ORDER if t in tiers])
        .fillna(0)
        .reset_index(name="conditions")
    )
    counts["tier"] = counts["evidence"].map(names)
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("conditions:Q", title=words["chart_count"]),
            y=alt.Y(
                "tier:N",
                sort=list(names.values()),
                title=words["chart_tier"],
                axis=alt.Axis(labelLimit=240),  # "ensayos aleatorizados" in full
            ),
            color=alt.Color(
                "evidence:N",
                scale=alt.Scale(
                    domain=TIER_ORDER, range=[_hex(TIER_COLORS[t]) for t in TIER_ORDER]
                ),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("tier:N", title=words["chart_tier"]),
                alt.Tooltip("conditions:Q", title=words["chart_count"]),
            ],
        )
        .properties(title=words["chart_title"])
    )
    st.altair_chart(chart, width="stretch", height=90 + 36 * len(counts))
    st.download_button(
        words["download"],
        evidence_map_markdown(df.to_dict("records"), lang),  # every condition, not the filter
        file_name=f"stemchat-evidence-map{'' if lang == 'en' else f'.{lang}'}.md",
        mime="text/markdown",
        icon=":material/download:",
    )
    if shown.empty:
        return
    shown_names = {str(k): str(v) for k, v in zip(shown["id"], shown["condition"], strict=True)}
    choice = st.selectbox(
        words["open"], list(shown_names), format_func=shown_names.__getitem__, key="map-condition"
    )
    cond = evidence.get(str(choice))
    if cond is None:
        return
    row = shown[shown["id"] == cond.id].iloc[0]
    tier = cond.tier.value
    st.subheader(escape(row["condition"]))
    st.badge(
        tier_badge_text(tier),
        color=TIER_COLORS[tier],  # type: ignore[arg-type]
        icon=TIER_ICONS[tier],
    )
    st.markdown(
        f"**{escape(str(words['strength']).format(tier=tier_words(tier)))}** — "
        + escape(row["why"])
    )
    st.caption(escape(f"{heads['as of']}: {cond.as_of}"))
    st.markdown(f"**{text('approvals_label')}** " + escape(row["approvals"]))
    if row["established care"]:
        st.markdown(f"**{words['established_care']}** " + escape(row["established care"]))
    if cond.approvals:
        records = approvals_table(cond, lang, translations.get(cond.id))
        records = records.rename(columns=words["approval_columns"])
        st.dataframe(records, hide_index=True, width="stretch")
    for i, doc_id in enumerate(cond.key_documents):
        translated = documents_dir(settings.corpus_dir, lang) / f"{doc_id}.md"
        doc = read_document(translated) if lang != "en" and translated.is_file() else None
        doc = doc or read_document(settings.documents_dir / f"{doc_id}.md")
        if doc is None:
            continue
        links = [s.link for s in doc.meta.sources if s.link]
        label = f"{doc.meta.title} · {kind_words(doc.meta.kind)} · {doc.meta.date}"
        with st.expander(escape(label), expanded=i == 0):
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
