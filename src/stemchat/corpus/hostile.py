"""Content in a corpus file that could hide or inject something, found as the file loads.

Hidden characters (bidirectional controls, zero-width) are errors, and so is Markdown that would
render an image, raw HTML or a link to anything but the document's own sources (`markup.py`
judges it from parsed tokens): the document is refused by `check` and `ingest` alike. Text
addressed to an AI is a warning: the document loads, and answers never quote such sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stemchat.instructions import addressed_to_assistant

_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


@dataclass(frozen=True)
class Finding:
    message: str
    fix: str
    severity: str
    line: int | None = None


def _line(text: str, match: re.Match[str] | None) -> int | None:
    return text.count("\n", 0, match.start()) + 1 if match else None


def hostile_content(text: str) -> list[Finding]:
    """What in this text could disguise, hide or inject content, with the first line of each."""

    found: list[Finding] = []
    checks = (
        (_BIDI, "bidirectional control characters can disguise text", "delete them", "error"),
        (_ZERO_WIDTH, "zero-width characters are hidden from readers", "delete them", "error"),
    )
    for pattern, message, fix, severity in checks:
        match = pattern.search(text)
        if match:
            found.append(Finding(message, fix, severity, _line(text, match)))
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and addressed_to_assistant(line):
            found.append(
                Finding(
                    "text that reads like instructions to an AI (treated as data, never quoted)",
                    "rephrase it as a fact",
                    "warning",
                    number,
                )
            )
            break
    return found


def markup_findings(body: str, allowed_urls: list[str], line_offset: int = 0) -> list[Finding]:
    """Markdown that would render more than text: an image, raw HTML, or a link outside the
    document's sources (one finding per kind, with the line of its first occurrence)."""
    from stemchat.markup import problems

    found: list[Finding] = []
    seen: set[str] = set()
    for problem in problems(body, allowed_urls):
        kind = problem.split(":", 1)[0]
        if kind in seen:
            continue
        seen.add(kind)
        fix = {
            "image": "remove the image (stemchat never shows images)",
            "raw HTML": "write plain Markdown instead of HTML tags",
        }.get(kind, "remove the link, or list the address among the document's sources")
        needle = problem.split(": ", 1)[-1][:30]
        line = next((i for i, t in enumerate(body.splitlines(), 1) if needle and needle in t), None)
        where = line + line_offset if line is not None else None
        found.append(Finding(f"{problem} (would render in answers)", fix, "error", where))
    return found
