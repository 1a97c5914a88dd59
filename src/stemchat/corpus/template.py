"""`stemchat new`: a document template whose comments explain every field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from stemchat.corpus.models import SLUG
from stemchat.errors import CorpusError

SECTIONS = {
    "overview": [
        "What was tried",
        "What the best trials found",
        "What is approved, and where",
        "What is still unknown",
        "Established care",
    ],
    "trial": ["Design", "What it found", "What it means", "Where it was published"],
    "regulatory": [
        "What was decided",
        "On what evidence",
        "What happened next",
        "What it means for patients",
    ],
    "guidance": ["The short answer", "Why it matters", "What you can do"],
    "review": ["What the review looked at", "What it found", "How much weight it carries"],
}


def template(doc_id: str, kind: str, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    sections = "\n\n".join(
        f"## {s}\n\nWrite this section in your own words." for s in SECTIONS[kind]
    )
    return f"""---
# id: a slug (lowercase letters, digits, hyphens); must equal the file name without .md
id: {doc_id}
# title: what a patient would search for, in plain words
title: "TODO: a plain title"
# kind: overview | trial | regulatory | guidance | review
kind: {kind}
# conditions: ids from corpus/conditions.yaml this document is about ([] for general guidance)
conditions: []
# summary (optional): one or two plain sentences
summary: ""
# sources: every fact in the body must trace to one of these. Each needs a title, a date
# (YYYY, YYYY-MM or YYYY-MM-DD, quoted) and at least one of url, doi, pmid (digits), nct (NCT########)
sources:
  - title: "TODO: source title"
    url: "https://TODO"
    date: "{today.isoformat()}"
# as_of: the date the facts are current to (or use published: for a dated record)
as_of: "{today.isoformat()}"
# last_reviewed: when a maintainer last checked the text against its sources (YYYY-MM-DD)
last_reviewed: "{today.isoformat()}"
# reviewed_by: who reviewed it
reviewed_by: "TODO: your name"
# The body below: 150-900 words, Flesch-Kincaid grade <= 10 (see `stemchat corpus report`). Your
# own words: facts and figures come from the sources; sentences never do. Show null results beside
# positive ones. Plain Markdown only: no HTML, images or links (sources go above).
---

{sections}
"""


def write_template(documents_dir: Path, doc_id: str, kind: str) -> Path:
    """Write documents_dir/<doc_id>.md; never overwrite an existing document."""
    if not SLUG.match(doc_id):
        raise CorpusError(
            f"DOC_ID {doc_id!r}: use a slug like trial-my-study (lowercase, digits, hyphens)"
        )
    if kind not in SECTIONS:
        raise CorpusError(f"--kind {kind!r}: use one of {', '.join(SECTIONS)}")
    path = documents_dir / f"{doc_id}.md"
    if path.exists():
        raise CorpusError(f"{path} already exists; pick another id or edit that file")
    documents_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(template(doc_id, kind), encoding="utf-8")
    return path
