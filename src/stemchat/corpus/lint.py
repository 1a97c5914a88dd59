"""`stemchat check`: corpus lint beyond what loading already reports."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from stemchat.corpus.approvals import approval_without_place, stale_pending
from stemchat.corpus.loader import Corpus, CorpusDocument, Issue, load_corpus
from stemchat.corpus.models import Approval, Condition
from stemchat.corpus.translations import LANGUAGES, load_translations
from stemchat.markup import to_plain

# How documents name the place of an approval (for the active-vs-withdrawn check).
REGION_WORDS = {
    "US": r"\b(?:US|U\.S\.|United States|FDA)\b",
    "EU": r"\b(?:EU|European|Europe|EMA|European Commission)\b",
    "UK": r"\b(?:UK|United Kingdom|Britain|MHRA)\b",
    "Japan": r"\b(?:Japan|Japanese|MHLW|PMDA)\b",
    "South Korea": r"\b(?:Korea|Korean|MFDS|KFDA)\b",
    "India": r"\b(?:India|Indian|DCGI|CDSCO)\b",
    "Canada": r"\b(?:Canada|Canadian|Health Canada)\b",
    "New Zealand": r"\b(?:New Zealand|Medsafe)\b",
}
_CURATED = ("bottom_line", "approval_note", "risks", "established_care", "specialist", "outlook")
_WITHDRAWN = re.compile(
    r"\b(?:withdr[ae]wn?|withdrawal|pulled|revoked|no longer (?:approved|sold))\b", re.I
)


def check_corpus(
    corpus_dir: Path, *, max_age_days: int = 365, today: dt.date | None = None
) -> Corpus:
    """Load the corpus and add cross-file checks: key documents, stale reviews, coverage."""
    corpus = load_corpus(corpus_dir)
    today = today or dt.date.today()
    ids = set(corpus.by_id())
    conditions_file = corpus_dir / "conditions.yaml"
    if corpus.evidence is not None:
        docs = corpus.by_id()
        products = {
            a.product.split()[0].lower()
            for c in corpus.evidence.conditions.values()
            for a in c.approvals
        }
        for condition in corpus.evidence.conditions.values():
            corpus.issues.extend(approval_issues(condition, docs, conditions_file, today, products))
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
    for language in LANGUAGES:  # reviewed translations: loadable, faithful in form, current
        corpus.issues += load_translations(corpus, corpus_dir, language).issues
    return corpus


def approval_issues(
    condition: Condition,
    docs: dict[str, CorpusDocument],
    path: Path,
    today: dt.date,
    products: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Issue]:
    """Approval records against their documents: each names a document that states it, an active
    approval is not one the document calls withdrawn, and a pending one is looked at again."""
    issues = []
    where = f"conditions[{condition.id}].approvals"
    for a in condition.approvals:
        doc = docs.get(a.document)
        if doc is None:
            issues.append(
                Issue(
                    path,
                    f"approval of {a.product} ({a.where}) names document '{a.document}', which "
                    "does not load",
                    "point `document` at the corpus document that states this approval",
                    field=where,
                )
            )
            continue
        name = a.product.split()[0]
        if name.lower() not in doc.body.lower():
            issues.append(
                Issue(
                    path,
                    f"document '{a.document}' never names {a.product}",
                    "cite the document that states this approval",
                    field=where,
                )
            )
        elif a.status == "active" and _says_withdrawn(doc, a, products):
            issues.append(
                Issue(
                    path,
                    f"{a.product} ({a.where}) is marked active, but '{a.document}' says it was "
                    "withdrawn there",
                    "set status: withdrawn with its `ended` date, or correct the document",
                    field=where,
                )
            )
    if not condition.bottom_line:
        issues.append(
            Issue(
                path,
                f"condition '{condition.id}' has no bottom_line, so its answers open without a "
                "direct reply",
                "add a one- or two-sentence bottom_line in plain words, backed by its key documents",
                field=f"conditions[{condition.id}].bottom_line",
                severity="warning",
            )
        )
    for name in _CURATED:
        for sentence in re.split(r"(?<=[.!?])\s+", getattr(condition, name) or ""):
            if approval_without_place(sentence):
                issues.append(
                    Issue(
                        path,
                        f"'{sentence[:60]}' says something is approved but not where; answers "
                        "would refuse to show it",
                        "name the country or regulator (the US FDA, the EU...), or say 'licensed "
                        "medicines' without the word approved",
                        field=f"conditions[{condition.id}].{name}",
                    )
                )
    for a in stale_pending(condition, today):
        issues.append(
            Issue(
                path,
                f"{a.product} ({a.where}) has been pending since at least {a.as_of}, over 6 "
                "months ago",
                "check the regulator's decision and update status and as_of",
                field=where,
                severity="warning",
            )
        )
    return issues


def _says_withdrawn(doc: CorpusDocument, a: Approval, products: set[str]) -> bool:
    """A sentence saying this product was withdrawn in this place: it names the product, or it
    names no product and stands in a paragraph about this one ("the Commission withdrew it")."""
    region = REGION_WORDS.get(a.where, re.escape(a.where))
    name = a.product.split()[0].lower()
    others = products - {name}
    for paragraph in to_plain(doc.body).split("\n"):
        if name not in paragraph.lower():
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            low = sentence.lower()
            about = name in low or not any(o in low for o in others)
            if (
                about
                and _WITHDRAWN.search(sentence)
                and re.search(region, sentence)
                and not re.search(r"\b(?:not|never|no)\b[^.]{0,30}withdr", sentence, re.I)
            ):
                return True
    return False
