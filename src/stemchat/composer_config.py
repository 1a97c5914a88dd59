"""The composer's data (composer.yaml): aspects, where their facts are, scoring weights, limits.

Validated once: an unknown key, a bad pattern or a document id the corpus does not hold stops
the engine with one line naming the field, rather than silently changing answers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from stemchat import _yaml
from stemchat.errors import ConfigError

Aspect = Literal[
    "evidence",
    "worth",
    "approval",
    "risks",
    "cost",
    "trial",
    "timing",
    "difference",
    "definition",
    "clinic",
    "care",
]
ASPECTS: tuple[str, ...] = Aspect.__args__  # type: ignore[attr-defined]


def _compiles(value: str) -> str:
    re.compile(value)
    return value


Regex = Annotated[str, AfterValidator(_compiles)]  # a pattern that must compile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AspectRule(_Strict):
    name: Aspect
    pattern: Regex


class AspectSources(_Strict):
    search: str = ""  # words that pull the aspect's passages up in retrieval
    headings: Regex  # headings of the sections that hold this aspect's facts
    words: Regex  # words of sentences about it ("risk", "side effects", "approved")
    guides: list[str] = Field(default_factory=list)


class TranslatedSources(_Strict):
    """An aspect's words in a translation's language (its guides are the English entry's)."""

    search: str = ""
    headings: Regex
    words: Regex


class Weights(_Strict):
    base: float
    overlap: float
    number: float
    rank: float
    position: float
    negative_result: float
    aspect_heading: float
    aspect_word: float
    background: float = 0.0


class Limits(_Strict):
    findings_one_condition: int = Field(ge=1, le=10)
    findings_per_condition: int = Field(ge=1, le=10)
    guidance: int = Field(ge=0, le=10)
    per_passage: int = Field(ge=1, le=5)


class Topic(_Strict):
    """Words that mark a sentence as about a body part some conditions share ("vision", "eye"):
    such a sentence belongs to those conditions' answers only."""

    words: Regex
    conditions: list[str]


class ComposerConfig(_Strict):
    aspects: list[AspectRule]
    default_aspect: Aspect
    aspect_sources: dict[Aspect, AspectSources]
    aspect_sources_es: dict[Aspect, TranslatedSources] = Field(default_factory=dict)
    not_covered_guides: list[str]
    claim_guides: list[str]
    care_guides: list[str]
    weights: Weights
    limits: Limits
    topics: list[Topic] = Field(default_factory=list)
    background_headings: Regex = "^$"

    def documents(self) -> set[str]:
        """Every document id the composer names (checked against the corpus at start-up)."""
        ids = set(self.not_covered_guides) | set(self.claim_guides) | set(self.care_guides)
        for sources in self.aspect_sources.values():
            ids |= set(sources.guides)
        return ids


@lru_cache(maxsize=1)
def composer_config() -> ComposerConfig:
    raw = resources.files("stemchat").joinpath("composer.yaml").read_text(encoding="utf-8")
    try:
        return ComposerConfig.model_validate(_yaml.safe_load(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"composer.yaml: field {where}: {err['msg']}; fix the file") from None


@lru_cache(maxsize=4)
def aspect_sources(language: str = "en") -> dict[str, AspectSources]:
    """The aspects' sources for documents in `language` (English where it has none)."""
    config = composer_config()
    out: dict[str, AspectSources] = {str(k): v for k, v in config.aspect_sources.items()}
    if language == "es":
        for aspect, words in config.aspect_sources_es.items():
            out[aspect] = config.aspect_sources[aspect].model_copy(update=words.model_dump())
    return out


@lru_cache(maxsize=1)
def _aspect_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [(a.name, re.compile(a.pattern, re.I)) for a in composer_config().aspects]


def aspects_of(text: str) -> list[str]:
    """Every aspect the message asks about, in the order of composer.yaml ("how much would it
    cost and is it safe?" -> cost, risks)."""
    found: list[str] = []
    for name, pattern in _aspect_patterns():
        if name not in found and pattern.search(text):
            found.append(name)
    return found


def aspect_of(text: str) -> str:
    """What the message asks about a treatment (the first aspect whose pattern matches)."""
    for name, pattern in _aspect_patterns():
        if pattern.search(text):
            return name
    return composer_config().default_aspect
