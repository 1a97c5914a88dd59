"""Reading level of patient-facing text, as a school grade (via textstat): Flesch-Kincaid for
English, Crawford's grade formula for Spanish (built for Spanish texts; FK misreads them)."""

from __future__ import annotations

import re
import threading

_LANG_LOCK = threading.Lock()
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


def reading_grade(markdown: str, language: str = "en") -> float:
    """The school grade needed to read a Markdown text in its language."""
    if language != "es":
        return fk_grade(markdown)
    import textstat

    text = plain(markdown)
    if not text.strip():
        return 0.0
    with _LANG_LOCK:  # textstat keeps its language globally
        textstat.set_lang("es")
        try:
            return round(float(textstat.crawford(text)), 2)
        finally:
            textstat.set_lang("en")


def word_count(markdown: str) -> int:
    return len(plain(markdown).split())
