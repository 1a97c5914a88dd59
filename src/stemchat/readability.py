"""Reading level of patient-facing text (Flesch-Kincaid grade, via textstat)."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"[#*_`>\[\]|]|\(https?://[^)]*\)")


def plain(markdown: str) -> str:
    """Markdown without markup characters or link targets, for measuring."""
    return _MARKUP.sub(" ", markdown)


def fk_grade(markdown: str) -> float:
    """Flesch-Kincaid grade level of a Markdown text."""
    import textstat

    text = plain(markdown)
    if not text.strip():
        return 0.0
    return round(float(textstat.flesch_kincaid_grade(text)), 2)


def word_count(markdown: str) -> int:
    return len(plain(markdown).split())
