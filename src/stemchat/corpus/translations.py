"""Reviewed translations of the corpus: documents in corpus/<language>/documents/ and curated
statements in corpus/conditions.<language>.yaml.

A translation is a reviewed source, never machine output at run time. Each one records the
content hash of the English original it renders (`original_sha256` in a document's front matter,
`source_sha256` per condition); when the original changes afterwards, `stemchat check` warns and
`stemchat corpus report` lists it as stale, until a reviewer updates the translation and stamps
it again (`stemchat corpus stamp LANG`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stemchat import _yaml
from stemchat.corpus.loader import Corpus, Issue, document_and_issues
from stemchat.corpus.models import STATEMENT_FIELDS, Condition, CorpusDocument, EvidenceMap

LANGUAGES = ("es",)
# The condition fields a translation carries (all reviewed text a patient reads)
CONDITION_FIELDS = STATEMENT_FIELDS


@dataclass
class Translations:
    """One language's reviewed translations, and what is missing or out of date."""

    language: str
    documents: list[CorpusDocument] = field(default_factory=list)
    conditions: dict[str, dict[str, object]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)
    stale_documents: list[str] = field(default_factory=list)
    missing_conditions: list[str] = field(default_factory=list)
    stale_conditions: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, CorpusDocument]:
        return {d.id: d for d in self.documents}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def condition_sha256(condition: Condition) -> str:
    """The hash of a condition's reviewed English statements and approval descriptions (what
    its translation renders)."""
    values: dict[str, object] = {f: getattr(condition, f) for f in CONDITION_FIELDS}
    values["approvals"] = [
        [a.product, a.where, a.status, a.what, a.who] for a in condition.approvals
    ]
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _approval_key(entry: object) -> tuple[str, str, str]:
    if not isinstance(entry, dict):
        return ("", "", "")
    return (
        str(entry.get("product", "")),
        str(entry.get("where", "")),
        str(entry.get("status", "")),
    )


def _approval_problem(entry: object, condition: Condition) -> str:
    """Why a translated approval description does not fit its condition's records ('' if it does)."""
    if not isinstance(entry, dict) or not entry.get("who"):
        return "each approvals entry needs product, where, status and who"
    unknown = set(entry) - {"product", "where", "status", "what", "who"}
    if unknown:
        return f"approvals entry has unknown fields {sorted(unknown)}"
    keys = {(a.product, a.where, a.status) for a in condition.approvals}
    if _approval_key(entry) not in keys:
        product, where, status = _approval_key(entry)
        return f"no English approval record {product} / {where} / {status}"
    return ""


def documents_dir(corpus_dir: Path, language: str) -> Path:
    return corpus_dir / language / "documents"


def conditions_file(corpus_dir: Path, language: str) -> Path:
    return corpus_dir / f"conditions.{language}.yaml"


# Documents every language must translate: what answers draw their text from
_MUST = re.compile(r"^(?:overview|guide)-")


def load_translations(corpus: Corpus, corpus_dir: Path, language: str) -> Translations:
    """The language's documents and condition statements, checked against the English corpus."""
    out = Translations(language)
    originals = corpus.by_id()
    folder = documents_dir(corpus_dir, language)
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        doc, issues = document_and_issues(path)
        out.issues += issues
        if doc is None:
            continue
        problem = _document_problem(doc, originals, language)
        if problem:
            out.issues.append(Issue(path, problem[0], problem[1], None, problem[2]))
            continue
        original = originals[doc.id]
        if doc.meta.original_sha256 != file_sha256(original.path):
            out.stale_documents.append(doc.id)
            out.issues.append(
                Issue(
                    path,
                    f"the English original {original.path.name} changed after this translation "
                    "was checked"
                    if doc.meta.original_sha256
                    else "this translation has not been checked against its original yet",
                    f"update the translation, then run `stemchat corpus stamp {language}`",
                    None,
                    "original_sha256",
                    severity="warning",
                )
            )
        out.documents.append(doc)
    have = {d.id for d in out.documents}
    out.missing_documents = sorted(i for i in originals if _MUST.match(i) and i not in have)
    _load_conditions(out, corpus, corpus_dir)
    return out


def _document_problem(
    doc: CorpusDocument, originals: dict[str, CorpusDocument], language: str
) -> tuple[str, str, str] | None:
    """(message, fix, field) when a translation does not match its original, else None."""
    meta = doc.meta
    if meta.language != language:
        return (f"language is '{meta.language}'", f"set `language: {language}`", "language")
    original = originals.get(meta.translation_of or "")
    if original is None or meta.translation_of != meta.id:
        return (
            f"translation_of '{meta.translation_of}' is not an English document with this id",
            "give the id of the English document it translates, as both id and translation_of",
            "translation_of",
        )
    if meta.sources != original.meta.sources:
        return (
            "sources differ from the English original's",
            f"copy the sources block of {original.path.name} exactly",
            "sources",
        )
    if (meta.kind, meta.conditions) != (original.meta.kind, original.meta.conditions):
        return (
            "kind or conditions differ from the English original's",
            f"use those of {original.path.name}",
            "conditions",
        )
    return None


def _load_conditions(out: Translations, corpus: Corpus, corpus_dir: Path) -> None:
    path = conditions_file(corpus_dir, out.language)
    english = corpus.evidence.conditions if corpus.evidence else {}
    if not path.is_file():
        out.missing_conditions = sorted(english)
        return
    try:
        data = _yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:  # a YAML error names its line
        out.issues.append(Issue(path, f"malformed YAML ({exc})", "fix the YAML syntax"))
        return
    rows = data.get("conditions") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        out.issues.append(Issue(path, "no `conditions:` mapping", "see corpus/FORMAT.md"))
        return
    for cid, row in rows.items():
        if cid not in english:
            out.issues.append(
                Issue(path, f"unknown condition '{cid}'", "use an id of conditions.yaml", None, cid)
            )
            continue
        if not isinstance(row, dict):
            out.issues.append(Issue(path, f"'{cid}' is not a mapping", "write key: value lines"))
            continue
        unknown = set(row) - {*CONDITION_FIELDS, "synonyms", "source_sha256", "approvals"}
        if unknown:
            out.issues.append(
                Issue(
                    path, f"'{cid}' has unknown fields {sorted(unknown)}", "remove them", None, cid
                )
            )
            continue
        entries = row.get("approvals") or []
        problems = (
            [_approval_problem(e, english[cid]) for e in entries]
            if isinstance(entries, list)
            else ["`approvals` must be a list"]
        )
        if any(problems):
            out.issues.append(
                Issue(
                    path,
                    f"'{cid}': {next(p for p in problems if p)}",
                    "match product, where and status of a record in conditions.yaml",
                    None,
                    cid,
                )
            )
            continue
        out.conditions[cid] = row
        if row.get("source_sha256") != condition_sha256(english[cid]):
            out.stale_conditions.append(cid)
    out.missing_conditions = sorted(set(english) - set(out.conditions))
    if out.stale_conditions:
        out.issues.append(
            Issue(
                path,
                f"{len(out.stale_conditions)} condition(s) changed in English after their "
                f"translation was checked: {', '.join(out.stale_conditions[:5])}",
                f"update them, then run `stemchat corpus stamp {out.language}`",
                severity="warning",
            )
        )
    if out.missing_conditions:
        out.issues.append(
            Issue(
                path,
                f"no translation for {', '.join(out.missing_conditions[:5])}",
                "add them (answers fall back to English for these)",
                severity="warning",
            )
        )


def translated_rows(corpus_dir: Path, language: str = "es") -> dict[str, dict[str, object]]:
    """One language's condition rows by id, read from its conditions file alone (without loading
    the translated documents); {} when the file is missing or broken (`stemchat check` says so)."""
    try:
        data = _yaml.safe_load(conditions_file(corpus_dir, language).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    rows = data.get("conditions") if isinstance(data, dict) else None
    return {str(k): v for k, v in (rows or {}).items() if isinstance(v, dict)}


def translated_synonyms(corpus_dir: Path) -> dict[str, list[str]]:
    """Every language's reviewed condition synonyms, by condition id (for understanding)."""
    out: dict[str, list[str]] = {}
    for language in LANGUAGES:
        for cid, row in translated_rows(corpus_dir, language).items():
            synonyms = row.get("synonyms")
            if isinstance(synonyms, list):
                out.setdefault(cid, []).extend(str(x) for x in synonyms if str(x).strip())
    return out


def translated_map(evidence: EvidenceMap, rows: dict[str, dict[str, object]]) -> EvidenceMap:
    """The evidence map with each condition's statements in the translation's language, and its
    synonyms in both languages; evidence strength and approval records unchanged."""
    conditions = {}
    for cid, c in evidence.conditions.items():
        row = rows.get(cid) or {}
        more = row.get("synonyms")
        extra = [str(x) for x in more] if isinstance(more, list) else []
        conditions[cid] = translated_condition(c, row).model_copy(
            update={"synonyms": [*c.synonyms, *extra]}
        )
    return evidence.model_copy(update={"conditions": conditions})


def translated_condition(condition: Condition, row: dict[str, object] | None) -> Condition:
    """The condition with its reviewed statements in the translation's language (English for a
    statement the translation lacks); ids, evidence strength and approval records are unchanged,
    and each record's description (`what`, `who`) is the translation's, or empty."""
    row = row or {}
    update: dict[str, object] = {f: str(row[f]) for f in CONDITION_FIELDS if row.get(f)}
    entries = row.get("approvals")
    spanish = (
        {_approval_key(e): e for e in entries if isinstance(e, dict)}
        if isinstance(entries, list)
        else {}
    )
    # a record's description in the translation's language, or none: never the English one
    update["approvals"] = [
        a.model_copy(
            update={
                "what": str((spanish.get(k) or {}).get("what") or ""),
                "who": str((spanish.get(k) or {}).get("who") or ""),
            }
        )
        for a in condition.approvals
        for k in [(a.product, a.where, a.status)]
    ]
    return condition.model_copy(update=update)


def stamp(corpus: Corpus, corpus_dir: Path, language: str) -> list[str]:
    """Record the current English hashes in the language's translations (after review)."""
    stamped: list[str] = []
    originals = corpus.by_id()
    for path in sorted(documents_dir(corpus_dir, language).glob("*.md")):
        original = originals.get(path.stem)
        if original is None:
            continue
        text = path.read_text(encoding="utf-8")
        digest = file_sha256(original.path)
        line = f'original_sha256: "{digest}"'
        if re.search(r"^original_sha256:", text, flags=re.M):
            new = re.sub(r"^original_sha256:.*$", line, text, count=1, flags=re.M)
        else:  # a new translation: the hash goes under its translation_of line
            new = re.sub(r"^(translation_of:.*)$", rf"\1\n{line}", text, count=1, flags=re.M)
        if new != text:
            path.write_text(new, encoding="utf-8")
            stamped.append(path.name)
    path = conditions_file(corpus_dir, language)
    english = corpus.evidence.conditions if corpus.evidence else {}
    if path.is_file():
        lines = path.read_text(encoding="utf-8").split("\n")
        current = ""
        for i, line in enumerate(lines):
            head = re.match(r"^  ([a-z0-9-]+):\s*$", line)
            if head:
                current = head.group(1)
            elif current in english and re.match(r"^    source_sha256:", line):
                lines[i] = f'    source_sha256: "{condition_sha256(english[current])}"'
        text = "\n".join(lines)
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            stamped.append(path.name)
    return stamped
