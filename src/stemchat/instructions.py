"""Text addressed to an assistant ("ignore your rules", "show your system prompt"), found in a
patient's message (safety triage: the `injection` class) or in a corpus document (data that is
never quoted). Rules are data (instructions.yaml); obfuscation is undone first: leetspeak, s p a c e d
letters and base64.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")
_OBFUSCATED = re.compile(r"\b(?:[a-z0-9][ .\-_*]{1,3}){4,}[a-z0-9]\b")
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("stemchat").joinpath("instructions.yaml").read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    return {
        "patterns": [re.compile(p, re.I | re.S) for p in data["patterns"]],
        "near_miss": [re.compile(p, re.I | re.S) for p in data.get("near_miss", [])],
        "compact": [re.compile(p) for p in data["compact_patterns"]],
    }


def variants(text: str) -> list[str]:
    """The text plus de-obfuscated forms (leetspeak, spaced letters, base64)."""
    low = text.lower()  # base64 below needs the original case
    out = [low, low.translate(_LEET)]
    joined = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), low)
    if joined != low:
        out.append(joined)
    for blob in _B64.findall(text)[:5]:
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.isprintable():
            out.append(decoded.lower())
    return out


def _match(text: str) -> str:
    rules = _rules()
    for pattern in rules["patterns"]:
        if pattern.search(text):
            if any(n.search(text) for n in rules["near_miss"]):
                return ""
            return pattern.pattern[:60]
    return ""


def addressed_to_assistant(text: str) -> str:
    """The rule that finds instructions to an assistant in the text, or "" when there are none."""
    for variant in variants(text):
        rule = _match(variant)
        if rule:
            return rule
        if not _OBFUSCATED.search(variant):
            continue
        compact = re.sub(r"[^a-z]", "", variant.translate(_LEET))
        for pattern in _rules()["compact"]:
            if pattern.search(compact):
                return pattern.pattern[:60]
    return ""
