"""Clinic-claim check: the red flags a pasted advert or claim shows (rules in claims.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml


@dataclass(frozen=True)
class RedFlag:
    id: str
    label: str
    query: str


@lru_cache(maxsize=1)
def _flags() -> list[dict[str, Any]]:
    raw = resources.files("stemchat").joinpath("claims.yaml").read_text(encoding="utf-8")
    flags = _yaml.safe_load(raw)["flags"]
    for f in flags:
        f["_re"] = re.compile(f["pattern"], re.I)
        f["_absent"] = re.compile(f["absent"], re.I) if f.get("absent") else None
    return flags


def red_flags(text: str) -> list[RedFlag]:
    """Red flags present in the text, in a fixed order."""
    found = []
    for f in _flags():
        if f["_re"].search(text) and not (f["_absent"] and f["_absent"].search(text)):
            found.append(RedFlag(f["id"], f["label"], f["query"]))
    return found


def all_labels() -> list[str]:
    """Every flag's fixed wording (templates for the output guard)."""
    return [f["label"] for f in _flags()]
