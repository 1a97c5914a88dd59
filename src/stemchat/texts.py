"""Load the fixed, reviewed patient-facing texts from texts.yaml (data, not code).

Spanish versions live in texts.es.yaml under the same keys; a key without a Spanish version, or a
language stemchat has no texts for, falls back to English.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml

LANGUAGES = ("en", "es")

# The language of the answer being built. One request thread composes one answer, so the engine
# sets it around a turn (`use_language`) and every text looked up below it follows, without
# threading a parameter through each function; English outside any turn.
_LANGUAGE: ContextVar[str] = ContextVar("stemchat_language", default="en")


@contextmanager
def use_language(lang: str) -> Iterator[str]:
    """Texts looked up inside the block are in `lang` (English where it has no version)."""
    token = _LANGUAGE.set(lang if lang in LANGUAGES else "en")
    try:
        yield _LANGUAGE.get()
    finally:
        _LANGUAGE.reset(token)


def current_language() -> str:
    return _LANGUAGE.get()


def texts(lang: str | None = None) -> dict[str, Any]:
    """All fixed texts of one language (the current one by default), parsed once."""
    return _texts(lang or _LANGUAGE.get())


@lru_cache(maxsize=len(LANGUAGES))
def _texts(lang: str) -> dict[str, Any]:
    name = f"texts.{lang}.yaml" if lang in LANGUAGES and lang != "en" else "texts.yaml"
    raw = resources.files("stemchat").joinpath(name).read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    assert isinstance(data, dict)
    if name != "texts.yaml":  # a key or group without a version of its own stays English
        data = _merged(_texts("en"), data)
    return data


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merged(base[key], value) if both else value
    return out


def text(key: str, lang: str | None = None) -> str:
    """One fixed text by key, in `lang` (the current language by default) when it has a
    version of it, otherwise in English."""
    return str(texts(lang)[key]).strip()


def disclaimer(lang: str | None = None) -> str:
    return text("disclaimer", lang)


def tier_description(tier: str, lang: str | None = None) -> str:
    return str(texts(lang)["tier_descriptions"][tier])
