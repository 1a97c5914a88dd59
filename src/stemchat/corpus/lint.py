"""`stemchat check`: corpus lint beyond what loading already reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stemchat.corpus.loader import Corpus, Issue, load_corpus


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
