"""Load the corpus file by file: a bad file yields one clear issue and never stops the good ones."""

from __future__ import annotations

import difflib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cachetools import LRUCache
from pydantic import ValidationError

from stemchat.corpus.hostile import hostile_content, markup_findings
from stemchat.corpus.models import Condition, CorpusDocument, DocumentMeta, EvidenceMap

MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Issue:
    """One problem in one corpus file, said so a maintainer can fix it."""

    path: Path
    message: str
    fix: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {self.severity}: {what}{self.message}; fix: {self.fix}"


@dataclass
class Corpus:
    """What loaded, and what did not."""

    documents: list[CorpusDocument] = field(default_factory=list)
    evidence: EvidenceMap | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def by_id(self) -> dict[str, CorpusDocument]:
        return {d.id: d for d in self.documents}


class _FileProblem(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def read_text_file(path: Path) -> tuple[str, str]:
    """Read a corpus file as strict UTF-8 text; return (text, sha256) or raise _FileProblem."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _FileProblem(
            Issue(
                path, f"file is {size / 1e6:.1f} MB, over the 2 MB limit", "split it or shorten it"
            )
        )
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise _FileProblem(
            Issue(path, "file is binary (contains NUL bytes)", "save it as UTF-8 Markdown text")
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raise _FileProblem(
            Issue(
                path, "file starts with a byte-order mark (BOM)", "save it as UTF-8 without BOM", 1
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _FileProblem(
            Issue(path, f"not valid UTF-8 (byte {exc.start})", "re-save the file as UTF-8", line)
        ) from None
    if "\r" in text:
        line = text[: text.index("\r")].count("\n") + 1
        raise _FileProblem(
            Issue(path, "Windows (CRLF) or CR line endings", "convert line endings to LF", line)
        )
    return text, hashlib.sha256(raw).hexdigest()


# libyaml's safe loader parses the same YAML ~10x faster than the pure-Python one.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _reject_aliases(path: Path, text: str, line_offset: int) -> None:
    """Refuse YAML anchors and aliases: they are never needed here and enable alias bombs."""
    if "&" not in text and "*" not in text:
        return  # no anchor or alias can be written without one of these characters
    try:
        for token in yaml.scan(text, Loader=_LOADER):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                raise _FileProblem(
                    Issue(
                        path,
                        "YAML anchors/aliases (& or *) are not allowed",
                        "write the values out in full",
                        token.start_mark.line + 1 + line_offset,
                    )
                )
    except yaml.YAMLError:
        return  # the parser reports it with its own line


def safe_yaml(path: Path, text: str, line_offset: int = 0) -> Any:
    """Parse YAML with the safe loader; errors name the line."""
    _reject_aliases(path, text, line_offset)
    try:
        return yaml.load(text, Loader=_LOADER)  # a safe loader: libyaml's when built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + line_offset if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _FileProblem(
            Issue(path, f"malformed YAML: {problem}", "correct the YAML syntax on that line", line)
        ) from None


def split_front_matter(path: Path, text: str) -> tuple[str, str]:
    """Return (front matter YAML, Markdown body)."""
    if not text.startswith("---\n"):
        raise _FileProblem(
            Issue(path, "no YAML front matter", "start the file with a '---' line", 1)
        )
    end = text.find("\n---\n", 3)
    if end == -1 and text.endswith("\n---"):
        end = len(text) - 4
    if end == -1:
        raise _FileProblem(
            Issue(path, "front matter is not closed", "add a '---' line after the front matter")
        )
    return text[4 : end + 1], text[end + 5 :]


def _key_line(front: str, key: str) -> int | None:
    for number, line in enumerate(front.splitlines(), start=2):
        if line.startswith(f"{key}:"):
            return number
    return None


def _validation_issue(path: Path, exc: ValidationError, front: str, what: str) -> Issue:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    field_name = ".".join(loc) if loc else None
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return Issue(
            path, "missing required field", f"add '{loc[-1]}:' to the {what}", None, field_name
        )
    if err["type"] == "extra_forbidden":
        return Issue(
            path,
            "unknown field",
            "remove it or check its spelling",
            _key_line(front, loc[0]),
            field_name,
        )
    line = _key_line(front, loc[0]) if loc else None
    return Issue(path, msg, f"correct '{field_name}' in the {what}", line, field_name)


def load_document(path: Path) -> CorpusDocument:
    """Load one document, raising _FileProblem with a single clear issue."""
    return _load_document(path)[0]


def document_and_issues(path: Path) -> tuple[CorpusDocument | None, list[Issue]]:
    """One document and its warnings, or None and the issue that refused it."""
    try:
        return _load_document(path)
    except _FileProblem as problem:
        return None, [problem.issue]
    except OSError as exc:
        return None, [Issue(path, f"cannot read file ({exc.strerror})", "check its permissions")]


def read_document(path: Path) -> CorpusDocument | None:
    """One document, or None when it is missing or does not load (for display only)."""
    try:
        return _load_document(path)[0]
    except (_FileProblem, OSError):
        return None


def _load_document(path: Path) -> tuple[CorpusDocument, list[Issue]]:
    """The document and its warnings; hidden characters refuse it like any other error."""
    text, digest = read_text_file(path)
    findings = hostile_content(text)
    for finding in findings:
        if finding.severity == "error":
            raise _FileProblem(Issue(path, finding.message, finding.fix, finding.line))
    warnings = [Issue(path, f.message, f.fix, f.line, severity="warning") for f in findings]
    front, body = split_front_matter(path, text)
    data = safe_yaml(path, front, line_offset=1)
    if not isinstance(data, dict):
        raise _FileProblem(
            Issue(path, "front matter is not a YAML mapping", "write 'key: value' lines", 2)
        )
    try:
        meta = DocumentMeta.model_validate(data)
    except ValidationError as exc:
        raise _FileProblem(_validation_issue(path, exc, front, "front matter")) from None
    body_offset = text[: len(text) - len(body)].count("\n")
    allowed = [s.link for s in meta.sources if s.link]
    for finding in markup_findings(body, allowed, body_offset):
        raise _FileProblem(Issue(path, finding.message, finding.fix, finding.line))
    if len(body.split()) < 20:
        raise _FileProblem(
            Issue(
                path,
                "the body is empty or nearly so",
                "write the document text below the front matter",
            )
        )
    return CorpusDocument(meta=meta, body=body, path=path, sha256=digest), warnings


def load_evidence_map(path: Path) -> tuple[EvidenceMap | None, list[Issue]]:
    """Load conditions.yaml; a bad entry is reported and skipped, the rest load."""
    issues: list[Issue] = []
    try:
        text, digest = read_text_file(path)
        data = safe_yaml(path, text)
    except FileNotFoundError:
        return None, [Issue(path, "evidence map not found", "create corpus/conditions.yaml")]
    except _FileProblem as problem:
        return None, [problem.issue]
    if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
        return None, [
            Issue(
                path, "expected 'conditions:' with a list", "see corpus/FORMAT.md", 1, "conditions"
            )
        ]
    conditions: dict[str, Condition] = {}
    for index, entry in enumerate(data["conditions"]):
        label = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        try:
            condition = Condition.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "enum":
                msg = (
                    f"tier '{err.get('input')}' is not in the vocabulary "
                    "(tier must be one of approved, randomized, early, preclinical, negative, not_covered)"
                )
            issues.append(
                Issue(
                    path,
                    msg,
                    f"correct condition '{label}' field '{loc}'",
                    _entry_line(text, label),
                    f"conditions[{label}].{loc}",
                )
            )
            continue
        if condition.id in conditions:
            issues.append(
                Issue(
                    path,
                    f"duplicate condition id '{condition.id}'",
                    "keep one entry per id",
                    _entry_line(text, condition.id),
                    "id",
                )
            )
            continue
        conditions[condition.id] = condition
    version = str(data.get("version", "unversioned"))
    return EvidenceMap(version=version, conditions=conditions, sha256=digest), issues


def _entry_line(text: str, condition_id: object) -> int | None:
    needle = f"id: {condition_id}"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().lstrip("- ").strip() == needle:
            return number
    return None


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A digest of every byte that `load_corpus` reads (hashing is ~100x cheaper than parsing)."""
    digest = hashlib.sha256()
    docs_dir = corpus_dir / "documents"
    paths = [corpus_dir / "conditions.yaml"]
    if docs_dir.is_dir():
        paths += sorted(docs_dir.iterdir())
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        try:
            size = path.stat().st_size
            # a file over the limit is refused unread: hash its size and time, not its bytes
            big = f"<{size}:{path.stat().st_mtime_ns}>".encode() if size > MAX_BYTES else None
            digest.update(big or (path.read_bytes() if path.is_file() else b"<dir>"))
        except OSError as exc:
            digest.update(f"<unreadable {exc.errno}>".encode())
        digest.update(b"\0")
    return digest.hexdigest()


# Parsed corpora by (folder, fingerprint): bounded and thread-safe (the chat serves many sessions).
_CACHE: LRUCache[tuple[str, str], Corpus] = LRUCache(maxsize=4)
_CACHE_LOCK = threading.Lock()


def load_corpus(corpus_dir: Path) -> Corpus:
    """Load the evidence map and every document; collect issues instead of stopping.

    One process often needs the corpus twice (the index check, then the engine): an unchanged
    corpus is parsed once, and each caller gets its own lists to add issues to.
    """
    key = (str(Path(corpus_dir).resolve()), corpus_fingerprint(Path(corpus_dir)))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        cached = _load_corpus(Path(corpus_dir))
        with _CACHE_LOCK:
            _CACHE[key] = cached
    return Corpus(list(cached.documents), cached.evidence, list(cached.issues))


def _load_corpus(corpus_dir: Path) -> Corpus:
    corpus = Corpus()
    corpus.evidence, corpus.issues = load_evidence_map(corpus_dir / "conditions.yaml")
    known = set(corpus.evidence.conditions) if corpus.evidence else set()
    docs_dir = corpus_dir / "documents"
    if not docs_dir.is_dir():
        corpus.issues.append(
            Issue(docs_dir, "documents folder not found", "create corpus/documents/")
        )
        return corpus
    seen: dict[str, Path] = {}
    for path in sorted(docs_dir.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix != ".md":
            corpus.issues.append(
                Issue(
                    path,
                    "not a Markdown document",
                    "rename it to .md or move it out of documents/",
                    severity="warning",
                )
            )
            continue
        try:
            doc, warnings = _load_document(path)
        except _FileProblem as problem:
            corpus.issues.append(problem.issue)
            continue
        except OSError as exc:
            corpus.issues.append(
                Issue(path, f"cannot read file ({exc.strerror})", "check its permissions")
            )
            continue
        unknown = [c for c in doc.meta.conditions if c not in known]
        if unknown and corpus.evidence is not None:
            hint = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            fix = (
                f"did you mean '{hint[0]}'?"
                if hint
                else "add it to corpus/conditions.yaml or remove it"
            )
            corpus.issues.append(
                Issue(path, f"unknown condition '{unknown[0]}'", fix, None, "conditions")
            )
            continue
        if doc.id in seen:
            corpus.issues.append(
                Issue(
                    path,
                    f"duplicate id '{doc.id}' (also in {seen[doc.id].name})",
                    "give each document its own id",
                    None,
                    "id",
                )
            )
            continue
        if doc.id != path.stem:
            corpus.issues.append(
                Issue(
                    path,
                    f"id '{doc.id}' differs from the file name",
                    f"rename the file to {doc.id}.md or set id: {path.stem}",
                    None,
                    "id",
                )
            )
            continue
        seen[doc.id] = path
        corpus.documents.append(doc)
        corpus.issues.extend(warnings)
    return corpus
