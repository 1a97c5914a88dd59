"""Load the fixed, reviewed patient-facing texts from texts.yaml (data, not code)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml


@lru_cache(maxsize=1)
def texts() -> dict[str, Any]:
    """All fixed texts, parsed once."""
    raw = resources.files("stemchat").joinpath("texts.yaml").read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    assert isinstance(data, dict)
    return data


def text(key: str) -> str:
    """One fixed text by key."""
    value = texts()[key]
    return str(value).strip()


def disclaimer() -> str:
    return text("disclaimer")


def tier_description(tier: str) -> str:
    return str(texts()["tier_descriptions"][tier])
