"""`stemchat check`: corpus lint beyond what loading already reports."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from stemchat.corpus.loader import Corpus, Issue, load_corpus

_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_HTML = re.compile(
    r"<\s*/?\s*(?:script|iframe|img|style|object|embed|a|div|span|svg|form|input)\b", re.I
)
_REMOTE_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*https?://", re.I)


def hostile_content(text: str) -> list[tuple[str, str, str]]:
    """(message, fix, severity) for content that could hide or inject something."""
    from stemchat.safety import _injection

    found: list[tuple[str, str, str]] = []
    if _BIDI.search(text):
        found.append(("bidirectional control characters can disguise text", "delete them", "error"))
    if _ZERO_WIDTH.search(text):
        found.append(("zero-width characters are hidden from readers", "delete them", "error"))
    if _HTML.search(text):
        found.append(
            ("raw HTML tags (shown as text, never rendered)", "write plain Markdown", "warning")
        )
    if _REMOTE_IMAGE.search(text):
        found.append(
            ("an image that loads from another site (never shown)", "remove the image", "warning")
        )
    if any(_injection(line) for line in text.splitlines() if line.strip()):
        found.append(
            (
                "text that reads like instructions to an AI (treated as data, never quoted)",
                "rephrase it as a fact",
                "warning",
            )
        )
    return found


def check_corpus(
    corpus_dir: Path, *, max_age_days: int = 365, today: dt.date | None = None
) -> Corpus:
    """Load the corpus and add cross-file checks: key documents, stale reviews, coverage."""
    corpus = load_corpus(corpus_dir)
    today = today or dt.date.today()
    ids = set(corpus.by_id())
    conditions_file = corpus_dir / "conditions.yaml"
    if corpus.evidence is not None:
        for condition in corpus.evidence.conditions.values():
            for doc_id in condition.key_documents:
                if doc_id not in ids:
                    corpus.issues.append(
                        Issue(
                            conditions_file,
                            f"condition '{condition.id}' lists key document '{doc_id}' that does not load",
                            "fix that document or remove it from key_documents",
                            field=f"conditions[{condition.id}].key_documents",
                        )
                    )
    for doc in corpus.documents:
        reviewed = dt.date.fromisoformat(doc.meta.last_reviewed)
        age = (today - reviewed).days
        if age > max_age_days:
            corpus.issues.append(
                Issue(
                    doc.path,
                    f"last reviewed {age} days ago (over {max_age_days})",
                    "review the document against its sources and update last_reviewed",
                    field="last_reviewed",
                    severity="warning",
                )
            )
        raw = doc.path.read_text(encoding="utf-8")
        for problem in hostile_content(raw):
            corpus.issues.append(Issue(doc.path, problem[0], problem[1], severity=problem[2]))
        if "TODO" in raw:
            corpus.issues.append(
                Issue(
                    doc.path,
                    "the document still has TODO placeholders",
                    "fill them in from the sources",
                )
            )
        if reviewed > today:
            corpus.issues.append(
                Issue(
                    doc.path,
                    "last_reviewed is in the future",
                    "set the real review date",
                    field="last_reviewed",
                )
            )
    return corpus
