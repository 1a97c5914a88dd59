"""What the pages show, as plain functions the tests call directly (no Streamlit here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from stemchat.answer import Answer
from stemchat.texts import disclaimer, tier_description

TIER_COLORS = {
    "approved": "green",
    "randomized": "blue",
    "early": "orange",
    "preclinical": "violet",
    "negative": "red",
    "not_covered": "gray",
}
TIER_ICONS = {
    "approved": ":material/verified:",
    "randomized": ":material/balance:",
    "early": ":material/science:",
    "preclinical": ":material/biotech:",
    "negative": ":material/block:",
    "not_covered": ":material/help:",
}
TIER_ORDER = ["approved", "randomized", "early", "preclinical", "negative", "not_covered"]
EXAMPLES = [
    "Do stem cells help lupus?",
    "Is any stem cell treatment approved for knee arthritis?",
    "What happened with Alofisel for Crohn's fistulas?",
    "How do I tell if a stem cell clinic is legitimate?",
]


def badge_text(tier: str, condition_name: str) -> str:
    """A badge label that never relies on colour alone."""
    return f"{condition_name} — {tier.replace('_', ' ')}: {tier_description(tier)}"


def stream_words(markdown: str, chunk: int = 12) -> Iterator[str]:
    """Yield the answer a few words at a time for st.write_stream (keeps Markdown intact)."""
    words = markdown.split(" ")
    for i in range(0, len(words), chunk):
        yield " ".join(words[i : i + chunk]) + (" " if i + chunk < len(words) else "")


def export_markdown(turns: Sequence[Answer], when: dt.datetime | None = None) -> str:
    """The conversation as Markdown to bring to a doctor: questions, answers, tiers, sources."""
    when = when or dt.datetime.now(dt.UTC)
    out = [
        "# stemchat conversation",
        "",
        f"Exported {when.strftime('%Y-%m-%d %H:%M')} UTC. General information from stemchat's "
        "reviewed sources; not medical advice.",
        "",
    ]
    for i, turn in enumerate(turns, start=1):
        out += [
            f"## Question {i}",
            "",
            "> " + turn.question.replace("\n", "\n> "),
            "",
            "### Answer",
            "",
        ]
        if turn.evidence:
            out.append("Evidence tiers:")
            out += [
                f"- {e.condition_name}: **{e.tier}** — {e.tier_label}"
                + (f" ({e.tier_note})" if e.tier_note else "")
                + (f", as of {e.as_of}" if e.as_of else "")
                for e in turn.evidence
            ]
            out.append("")
        out += [turn.answer, ""]
        if turn.citations:
            out += ["Sources:", ""]
            out += [
                f"[{c.n}] {c.title} ({c.kind}, {c.date})" + (f" — {c.url}" if c.url else "")
                for c in turn.citations
            ]
            out.append("")
    out += ["---", "", disclaimer(), ""]
    return "\n".join(out)
