"""What the pages show, as plain functions the tests call directly (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Iterator

from stemchat.markup import escape
from stemchat.render import export_markdown
from stemchat.texts import texts

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

__all__ = ["EXAMPLES", "TIER_COLORS", "TIER_ICONS", "TIER_ORDER", "badge_text", "export_markdown"]


def badge_text(tier: str, condition_name: str) -> str:
    """A badge label that never relies on colour alone (escaped: badges render Markdown).

    It names the evidence strength only; approvals are said in words beside it."""
    words = texts()
    name = str(words["tier_names"].get(tier, tier.replace("_", " ")))
    short = words["tier_short"][tier]
    return escape(str(words["ui"]["badge"]).format(name=condition_name, tier=name, short=short))


def stream_words(markdown: str, chunk: int = 12) -> Iterator[str]:
    """Yield the answer a few words at a time for st.write_stream (keeps Markdown intact)."""
    words = markdown.split(" ")
    for i in range(0, len(words), chunk):
        yield " ".join(words[i : i + chunk]) + (" " if i + chunk < len(words) else "")
