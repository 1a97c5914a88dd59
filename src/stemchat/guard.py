"""The output guard: every answer is checked before anyone sees it.

Checks: a tier line for each condition, the disclaimer, markers that point at retrieved passages,
sentences supported by the passage they cite, none of the statements no answer may make (a
personal dose, "stop your medicine", a cure claim, a jailbreak acknowledgement; safety.yaml), and
Markdown that cannot carry HTML, images or links other than the sources' own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stemchat.answer import Answer
from stemchat.safety import forbidden_statements
from stemchat.understanding import normalize

_MARKER = re.compile(r"\[(\d{1,3})\]")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "with",
        "which",
        "who",
        "not",
        "no",
    ]
)


def sanitize_markdown(text: str, allowed_urls: Iterable[str] = ()) -> str:
    """Neutralize HTML, drop images, keep links only to allowed source URLs."""
    allowed = set(allowed_urls)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _AUTOLINK.sub(lambda m: m.group(1), text)

    def _link(m: re.Match[str]) -> str:
        return m.group(0) if m.group(2) in allowed else m.group(1)

    text = _LINK.sub(_link, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP and len(w) > 1}


def supported(sentence: str, passage: str, threshold: float = 0.75) -> bool:
    """Is the sentence backed by the passage? Verbatim, or most of its content words appear there."""
    plain = re.sub(r"[*_`]", "", _MARKER.sub("", sentence)).strip(" -")
    if not plain:
        return True
    if normalize(plain) in normalize(passage):
        return True
    words = _content_words(plain)
    if not words:
        return True
    return len(words & _content_words(passage)) / len(words) >= threshold


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    problems: tuple[str, ...]


def check(answer: Answer, *, template_lines: Sequence[str] = ()) -> GuardResult:
    """Every rule an answer must pass before it is shown."""
    problems: list[str] = []
    body = answer.answer
    if not answer.disclaimer or answer.disclaimer not in body:
        problems.append("disclaimer missing")
    for ev in answer.evidence:
        if f"Evidence tier for {ev.condition_name}: {ev.tier}" not in body:
            problems.append(f"tier line missing for {ev.condition}")
    if (
        answer.safety in ("none", "personal_advice")
        and answer.intent != "greeting"
        and "Evidence tier" not in body
    ):
        problems.append("no evidence tier stated")
    by_n = {c.n: c for c in answer.citations}
    if len(by_n) != len(answer.citations):
        problems.append("duplicate citation numbers")
    used = {int(n) for n in _MARKER.findall(body)}
    for n in sorted(used - set(by_n)):
        problems.append(f"marker [{n}] has no retrieved passage")
    for n in sorted(set(by_n) - used):
        problems.append(f"citation {n} is never cited")
    templates = {normalize(t) for t in template_lines if t.strip()}
    tier_lines = {normalize(e.sentence()) for e in answer.evidence}
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if "Evidence tier" in stripped and "[" not in stripped:
            if normalize(stripped) in tier_lines or normalize(stripped) in templates:
                continue
            problems.append(f"altered tier line: {stripped[:80]!r}")
            continue
        markers = [int(n) for n in _MARKER.findall(stripped)]
        if not markers:
            if _in_templates(stripped, templates):
                continue
            problems.append(f"unsupported sentence without a citation: {stripped[:80]!r}")
            continue
        if any(m not in by_n for m in markers):
            continue  # reported above as a marker without a passage
        if _in_templates(_MARKER.sub("", stripped).strip(), templates):
            continue
        if not any(supported(stripped, by_n[m].passage) for m in markers):
            problems.append(f"sentence not supported by its cited passage: {stripped[:80]!r}")
    # a cited sentence can share enough words with its passage and still say what no answer may
    problems += [f"forbidden statement: {p}" for p in forbidden_statements(body)]
    problems += markup_problems(body, [c.url for c in answer.citations if c.url])
    return GuardResult(not problems, tuple(problems))


def markup_problems(text: str, allowed_urls: Iterable[str] = ()) -> list[str]:
    """HTML, images, autolinks and links to anything but the allowed source URLs."""
    problems = []
    if re.search(r"<\s*(?:script|img|iframe|a|div|span|style|svg|object|embed)\b", text, re.I):
        problems.append("raw HTML in answer")
    if _IMAGE.search(text):
        problems.append("image in answer")
    allowed = set(allowed_urls)
    for m in _AUTOLINK.finditer(text):
        if m.group(1) not in allowed:
            problems.append(f"link to an address that is not a cited source: {m.group(1)[:60]}")
    for m in _LINK.finditer(text):
        if m.group(2) not in allowed:
            problems.append(f"link to an address that is not a cited source: {m.group(2)[:60]}")
    return problems


def _in_templates(line: str, templates: set[str]) -> bool:
    """A fixed text, a heading or a line of one (list markers and emphasis ignored)."""
    key = normalize(line)
    return bool(key) and (key in templates or any(len(key) > 20 and key in t for t in templates))
