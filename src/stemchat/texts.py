"""Load the fixed, reviewed patient-facing texts from texts.yaml (data, not code).

Spanish versions live in texts.es.yaml under the same keys; a key without a Spanish version, or a
language stemchat has no texts for, falls back to English.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml

LANGUAGES = ("en", "es")


@lru_cache(maxsize=len(LANGUAGES))
def texts(lang: str = "en") -> dict[str, Any]:
    """All fixed texts of one language, parsed once (English for an unknown language)."""
    name = f"texts.{lang}.yaml" if lang in LANGUAGES and lang != "en" else "texts.yaml"
    raw = resources.files("stemchat").joinpath(name).read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    assert isinstance(data, dict)
    return data


def text(key: str, lang: str = "en") -> str:
    """One fixed text by key, in `lang` when it has a version of it, otherwise in English."""
    value = texts(lang).get(key) if lang != "en" else None
    if value is None:
        value = texts()[key]
    return str(value).strip()


def disclaimer(lang: str = "en") -> str:
    return text("disclaimer", lang)


def tier_description(tier: str) -> str:
    return str(texts()["tier_descriptions"][tier])
