"""`stemchat corpus report`: per-document size, reading grade, review age; per-condition
documents, sources and review age; corpus totals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from stemchat.corpus.lint import check_corpus
from stemchat.corpus.models import Condition, CorpusDocument, Source
from stemchat.corpus.translations import LANGUAGES, load_translations
from stemchat.readability import fk_grade, word_count

MIN_WORDS, MAX_WORDS, MAX_GRADE = 150, 900, 10.0
MIN_SOURCES = 2  # every condition rests on at least two sources (issue 16)


def _source_key(source: Source) -> str:
    """One source cited by several documents counts once (by its strongest identifier)."""
    return source.nct or source.doi or source.pmid or source.url or source.title


def _condition_row(
    condition: Condition, documents: list[CorpusDocument], today: dt.date, max_age_days: int
) -> dict[str, Any]:
    """A condition as a reviewer checks it: which documents carry it, on how many distinct
    sources (how many with a registry number), and how long since its oldest review."""
    docs = [d for d in documents if condition.id in d.meta.conditions]
    sources = {_source_key(s): s for d in docs for s in d.meta.sources}
    ages = [(today - dt.date.fromisoformat(d.meta.last_reviewed)).days for d in docs]
    problems = []
    if len(sources) < MIN_SOURCES:
        problems.append(f"{len(sources)} source(s) (give it at least {MIN_SOURCES})")
    if ages and max(ages) > max_age_days:
        problems.append(f"a document was last reviewed {max(ages)} days ago")
    return {
        "name": condition.name,
        "tier": condition.tier.value,
        "documents": len(docs),
        "document_ids": [d.id for d in docs],
        "trials": sum(1 for d in docs if d.meta.kind == "trial"),
        "sources": len(sources),
        "registered_trials": sorted({s.nct for s in sources.values() if s.nct}),
        "oldest_review_days": max(ages) if ages else None,
        "newest_review_days": min(ages) if ages else None,
        "stale": bool(ages) and max(ages) > max_age_days,
        "problems": problems,
    }


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
        c.id: _condition_row(c, corpus.documents, today, max_age_days)
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
        "translations": {
            t.language: {
                "documents": len(t.documents),
                "missing_documents": t.missing_documents,
                "stale_documents": t.stale_documents,
                "conditions": len(t.conditions),
                "missing_conditions": t.missing_conditions,
                "stale_conditions": t.stale_conditions,
            }
            for t in (load_translations(corpus, corpus_dir, lang) for lang in LANGUAGES)
        },
        "errors": [str(i) for i in corpus.errors],
        "warnings": [str(i) for i in corpus.warnings],
        "rows": rows,
    }
