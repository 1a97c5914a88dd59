"""What the pages show, as plain functions the tests call directly (no Streamlit here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

from stemchat.corpus.approvals import approval_line
from stemchat.corpus.models import Condition, EvidenceMap
from stemchat.corpus.translations import translated_condition
from stemchat.markup import escape
from stemchat.render import export_markdown, tier_words
from stemchat.texts import current_language, disclaimer, texts, tier_description, use_language

# Colour and icon follow the strength of the evidence only. An approval is never a badge: it is
# said in words, with its country (no green check for a conditional or one-country approval).
TIER_COLORS = {
    "established": "green",
    "randomized": "blue",
    "mixed": "violet",
    "early": "orange",
    "negative": "red",
    "preclinical": "gray",
    "not_covered": "gray",
}
TIER_ICONS = {
    "established": ":material/health_and_safety:",
    "randomized": ":material/balance:",
    "mixed": ":material/contrast:",
    "early": ":material/science:",
    "negative": ":material/block:",
    "preclinical": ":material/biotech:",
    "not_covered": ":material/help:",
}
TIER_ORDER = [
    "established",
    "randomized",
    "mixed",
    "early",
    "negative",
    "preclinical",
    "not_covered",
]
EXAMPLES: list[str] = list(texts("en")["ui"]["examples"])

# The evidence map's rows and approval records keep these keys in every language (the page shows
# them under headings of the chosen language: texts.yaml `ui.map.columns`); condition ids and
# tier codes are never translated.
MAP_COLUMNS = [
    "condition",
    "id",
    "evidence",
    "what it means",
    "why",
    "approvals",
    "established care",
    "as of",
]
APPROVAL_COLUMNS = [
    "product",
    "where",
    "regulator",
    "kind",
    "for whom",
    "decided",
    "status",
    "checked",
]
# A translation's reviewed statements by condition id (corpus.translations.translated_rows)
TranslatedRows = Mapping[str, Mapping[str, object]]

__all__ = [
    "APPROVAL_COLUMNS",
    "EXAMPLES",
    "MAP_COLUMNS",
    "TIER_COLORS",
    "TIER_ICONS",
    "TIER_ORDER",
    "approval_rows",
    "badge_text",
    "evidence_map_markdown",
    "export_markdown",
    "map_row",
    "map_rows",
    "tier_badge_text",
]


def badge_text(tier: str, condition_name: str) -> str:
    """A badge label that never relies on colour alone (escaped: badges render Markdown).

    It names the evidence strength only; approvals are said in words beside it."""
    words = texts()
    name = str(words["tier_names"].get(tier, tier.replace("_", " ")))
    short = words["tier_short"][tier]
    return escape(str(words["ui"]["badge"]).format(name=condition_name, tier=name, short=short))


def tier_badge_text(tier: str) -> str:
    """The evidence strength alone, in words, for a badge beside the condition's own heading."""
    words = texts()
    name = str(words["tier_names"].get(tier, tier.replace("_", " ")))
    short = words["tier_short"][tier]
    return escape(str(words["ui"]["map"]["badge"]).format(tier=name, short=short))


def stream_words(markdown: str, chunk: int = 12) -> Iterator[str]:
    """Yield the answer a few words at a time for st.write_stream (keeps Markdown intact)."""
    words = markdown.split(" ")
    for i in range(0, len(words), chunk):
        yield " ".join(words[i : i + chunk]) + (" " if i + chunk < len(words) else "")


def _cell_language(
    condition: Condition, row: Mapping[str, object] | None, lang: str, fields: Sequence[str]
) -> str:
    """The language one cell is shown in: `lang` when each of its statements has a reviewed
    version there, else English for the whole cell (a cell never mixes two languages)."""
    if lang == "en" or not row:
        return "en"
    translated = all(row.get(f) or not getattr(condition, f) for f in fields)
    return lang if translated else "en"


def map_row(
    condition: Condition, row: Mapping[str, object] | None = None, lang: str | None = None
) -> dict[str, str]:
    """One condition of the evidence map in `lang` (the current language by default), from its
    reviewed translation `row`; the id, tier code and dates are the same in every language."""
    lang = lang or current_language()
    local = translated_condition(condition, dict(row)) if row and lang != "en" else condition

    def cell(*fields: str) -> tuple[Condition, str]:
        shown = _cell_language(condition, row, lang, fields)
        return (local if shown != "en" else condition), shown

    named = cell("name")[0]
    why = cell("tier_label", "tier_note")[0]
    approved, approved_in = cell("approval_note")
    care = cell("established_care")[0]
    with use_language(approved_in):  # months and places of the approval sentence too
        approvals = approval_line(approved, approved_in)
    tier = condition.tier.value
    return {
        "condition": named.name,
        "id": condition.id,
        "evidence": tier,
        "what it means": tier_description(tier, lang),
        "why": f"{why.tier_label.rstrip('. ')}. {why.tier_note}".strip(),
        "approvals": approvals,
        "established care": care.established_care,
        "as of": condition.as_of,
    }


def map_rows(
    evidence: EvidenceMap, rows: TranslatedRows | None = None, lang: str | None = None
) -> list[dict[str, str]]:
    """Every condition of the evidence map, in the map's order (see `map_row`)."""
    rows = rows or {}
    return [map_row(c, rows.get(cid), lang) for cid, c in evidence.conditions.items()]


def approval_rows(
    condition: Condition, lang: str | None = None, row: Mapping[str, object] | None = None
) -> list[dict[str, str]]:
    """Every approval record of one condition: its place, kind and status in `lang`, and whom it
    is for from the reviewed translation `row` (English where the translation has none);
    products, regulators and dates as recorded."""
    lang = lang or current_language()
    words = texts(lang)
    places = words["ui"]["map"]["places"]
    status = words["ui"]["map"]["status"]
    kinds = words["approval_wording"]["kinds"]
    local = translated_condition(condition, dict(row)) if row and lang != "en" else condition
    return [
        {
            "product": a.product,
            "where": str(places.get(a.where, a.where)),
            "regulator": a.regulator,
            "kind": str(kinds[a.kind]),
            "for whom": t.who or a.who or "",
            "decided": a.date,
            "status": str(status.get(a.status, a.status)) + (f" ({a.ended})" if a.ended else ""),
            "checked": a.as_of,
        }
        for a, t in zip(condition.approvals, local.approvals, strict=True)
    ]


def evidence_map_markdown(
    rows: Sequence[Mapping[str, str]], lang: str | None = None, when: dt.datetime | None = None
) -> str:
    """The evidence map as Markdown to bring to a doctor, with headings in `lang`: each
    condition's evidence strength and, apart, its approvals; its id and tier code unchanged."""
    lang = lang or current_language()
    when = when or dt.datetime.now(dt.UTC)
    with use_language(lang):
        words = texts()["ui"]["map"]
        heads = words["columns"]
        out = [
            f"# {escape(words['export_title'])}",
            "",
            escape(str(words["export_intro"]).format(when=when.strftime("%Y-%m-%d %H:%M"))),
            "",
        ]
        for r in rows:
            tier = r["evidence"]
            items = [
                (heads["evidence"], f"{tier_words(tier)} — {r['what it means']}"),
                (heads["why"], r["why"]),
                (heads["approvals"], r["approvals"]),
                (heads["established care"], r["established care"]),
                (heads["as of"], r["as of"]),
            ]
            out += [f"## {escape(r['condition'])}", ""]
            out += [f"- **{escape(head)}:** {escape(value)}" for head, value in items if value]
            # ids and codes are slugs (checked by the corpus models): safe inside backticks
            out += [f"- {str(words['export_codes']).format(id=r['id'], tier=tier)}", ""]
        out += ["---", "", escape(disclaimer()), ""]
    return "\n".join(out)
