"""Content in a corpus file that could hide or inject something, found as the file loads.

Hidden characters (bidirectional controls, zero-width) are errors: the document is refused by
`check` and `ingest` alike. Raw HTML, remote images and text addressed to an AI are warnings:
the document loads, and answers neutralize them (HTML shown as text, images dropped, such
sentences never quoted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_HTML = re.compile(
    r"<\s*/?\s*(?:script|iframe|img|style|object|embed|a|div|span|svg|form|input)\b", re.I
)
_REMOTE_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*https?://", re.I)


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
    from stemchat.safety import _injection

    found: list[Finding] = []
    checks = (
        (_BIDI, "bidirectional control characters can disguise text", "delete them", "error"),
        (_ZERO_WIDTH, "zero-width characters are hidden from readers", "delete them", "error"),
        (_HTML, "raw HTML tags (shown as text, never rendered)", "write plain Markdown", "warning"),
        (
            _REMOTE_IMAGE,
            "an image that loads from another site (never shown)",
            "remove the image",
            "warning",
        ),
    )
    for pattern, message, fix, severity in checks:
        match = pattern.search(text)
        if match:
            found.append(Finding(message, fix, severity, _line(text, match)))
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and _injection(line):
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
