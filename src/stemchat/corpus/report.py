"""`stemchat corpus report`: per-document size, reading grade, review age; corpus totals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from stemchat.corpus.lint import check_corpus
from stemchat.readability import fk_grade, word_count

MIN_WORDS, MAX_WORDS, MAX_GRADE = 150, 900, 10.0


def corpus_report(
    corpus_dir: Path, *, max_age_days: int = 365, today: dt.date | None = None
) -> dict[str, Any]:
    """What a maintainer reviews: every document's kind, words, grade and review state."""
    today = today or dt.date.today()
    corpus = check_corpus(corpus_dir, max_age_days=max_age_days, today=today)
    rows = []
    for doc in corpus.documents:
        reviewed = dt.date.fromisoformat(doc.meta.last_reviewed)
        words = word_count(doc.body)
        grade = fk_grade(doc.body)
        problems = []
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems.append(f"{words} words (keep {MIN_WORDS}-{MAX_WORDS})")
        if grade > MAX_GRADE:
            problems.append(f"grade {grade} (keep <= {MAX_GRADE:g})")
        rows.append(
            {
                "id": doc.id,
                "title": doc.meta.title,
                "kind": doc.meta.kind,
                "conditions": list(doc.meta.conditions),
                "words": words,
                "grade": grade,
                "sources": len(doc.meta.sources),
                "as_of": doc.meta.date,
                "last_reviewed": doc.meta.last_reviewed,
                "stale": (today - reviewed).days > max_age_days,
                "problems": problems,
            }
        )
    grades: list[float] = [float(r["grade"]) for r in rows]  # type: ignore[arg-type]
    evidence = corpus.evidence
    per_condition = {
        c.id: {
            "name": c.name,
            "tier": c.tier.value,
            "documents": sum(1 for d in corpus.documents if c.id in d.meta.conditions),
        }
        for c in (evidence.conditions.values() if evidence else [])
    }
    return {
        "documents": len(rows),
        "by_condition": per_condition,
        "stale_reviews": [r["id"] for r in rows if r["stale"]],
        "conditions": len(evidence.conditions) if evidence else 0,
        "evidence_map_version": evidence.version if evidence else None,
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "by_tier": dict(Counter(c.tier.value for c in evidence.conditions.values()))
        if evidence
        else {},
        "mean_grade": round(sum(grades) / len(grades), 2) if grades else None,
        "max_grade": max(grades) if grades else None,
        "errors": [str(i) for i in corpus.errors],
        "warnings": [str(i) for i in corpus.warnings],
        "rows": rows,
    }
