"""Typed corpus records: document front matter, sources and the condition evidence map."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
NCT = re.compile(r"^NCT\d{8}$")


class Tier(StrEnum):
    """How strong the evidence of benefit is for one condition (never where it is approved)."""

    ESTABLISHED = "established"
    RANDOMIZED = "randomized"
    MIXED = "mixed"
    EARLY = "early"
    NEGATIVE = "negative"
    PRECLINICAL = "preclinical"
    NOT_COVERED = "not_covered"


# Where a regulator approved something. "US" and "EU" must be spelled so: every answer states
# whether anything is approved there.
REGIONS = (
    "US",
    "EU",
    "UK",
    "Japan",
    "South Korea",
    "India",
    "China",
    "Canada",
    "Australia",
    "New Zealand",
    "Switzerland",
    "Israel",
    "Iran",
)


DocKind = Literal["overview", "trial", "regulatory", "guidance", "review"]


def _date_text(value: object, *, partial: bool) -> str:
    """Normalize a YAML date or a string into ISO text (YYYY, YYYY-MM or YYYY-MM-DD)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if partial and PARTIAL_DATE.match(text):
        return text
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        shape = "YYYY, YYYY-MM or YYYY-MM-DD" if partial else "YYYY-MM-DD"
        raise ValueError(f"'{text}' is not a date; write it as {shape}") from None


def plain_text(value: str) -> str:
    """Evidence-map text is shown in answers and badges: it may not render as an image, raw HTML
    or a link (markup.py decides from parsed Markdown)."""
    from stemchat.markup import problems

    found = problems(value)
    if found:
        raise ValueError(f"{found[0]}: write plain text (no HTML, images or links)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    """Where a document's facts come from; at least one identifier is required."""

    title: str = Field(min_length=3)
    url: str | None = None
    doi: str | None = None
    pmid: str | None = None
    nct: str | None = None
    date: str

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> str:
        return _date_text(value, partial=True)

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid(cls, value: object) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not text.isdigit():
            raise ValueError(f"pmid '{text}' must be digits only")
        return text

    @field_validator("nct")
    @classmethod
    def _nct(cls, value: str | None) -> str | None:
        if value is not None and not NCT.match(value):
            raise ValueError(f"nct '{value}' must look like NCT01234567")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"url '{value}' must start with https://")
        return value

    @model_validator(mode="after")
    def _has_identifier(self) -> Source:
        if not (self.url or self.doi or self.pmid or self.nct):
            raise ValueError(f"source '{self.title}' needs a url, doi, pmid or nct")
        return self

    @property
    def link(self) -> str | None:
        """A clickable address for the source, best identifier first."""
        if self.url:
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.nct:
            return f"https://clinicaltrials.gov/study/{self.nct}"
        return None


class DocumentMeta(_Strict):
    """The YAML front matter of one corpus document."""

    id: str
    title: str = Field(min_length=3)
    kind: DocKind
    conditions: list[str] = Field(default_factory=list)
    summary: str | None = None
    sources: list[Source] = Field(min_length=1)
    published: str | None = None
    as_of: str | None = None
    last_reviewed: str
    reviewed_by: str = Field(min_length=2)
    # a reviewed translation (corpus/<language>/documents/<id>.md): the English document it
    # renders, and the content hash of that original when the translation was last checked
    language: Literal["en", "es"] = "en"
    translation_of: str | None = None
    original_sha256: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"id '{value}' must be a slug like 'overview-lupus'")
        return value

    @field_validator("published", "as_of", mode="before")
    @classmethod
    def _partial_date(cls, value: object) -> str | None:
        return None if value is None else _date_text(value, partial=True)

    @field_validator("last_reviewed", mode="before")
    @classmethod
    def _full_date(cls, value: object) -> str:
        return _date_text(value, partial=False)

    @model_validator(mode="after")
    def _dated(self) -> DocumentMeta:
        if not (self.published or self.as_of):
            raise ValueError("add 'as_of' (date the facts are current to) or 'published'")
        return self

    @property
    def date(self) -> str:
        """The date a reader should see next to the document."""
        return self.as_of or self.published or self.last_reviewed

    @property
    def primary_link(self) -> str | None:
        return next((s.link for s in self.sources if s.link), None)


class CorpusDocument(BaseModel):
    """A validated document: front matter, Markdown body and where it came from."""

    model_config = ConfigDict(frozen=True)

    meta: DocumentMeta
    body: str
    path: Path
    sha256: str

    @property
    def id(self) -> str:
        return self.meta.id


class Approval(_Strict):
    """One regulator's decision on one product for one narrow use, and its status now."""

    product: str = Field(min_length=2)
    what: str = ""
    where: str
    regulator: str = Field(min_length=2)
    kind: Literal["full", "conditional", "limited"]
    date: str
    who: str = Field(min_length=3)
    status: Literal["active", "withdrawn", "expired", "pending"]
    ended: str | None = None
    as_of: str
    document: str
    note: str = ""

    @field_validator("where")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"where '{value}' must be one of {', '.join(REGIONS)}")
        return value

    @field_validator("date", "as_of", mode="before")
    @classmethod
    def _dates(cls, value: object) -> str:
        return _date_text(value, partial=True)

    @field_validator("ended", mode="before")
    @classmethod
    def _ended(cls, value: object) -> str | None:
        return None if value is None else _date_text(value, partial=True)

    @field_validator("product", "what", "who", "regulator", "note")
    @classmethod
    def _plain(cls, value: str) -> str:
        return plain_text(value)

    @model_validator(mode="after")
    def _ended_when_over(self) -> Approval:
        if self.status in ("withdrawn", "expired") and not self.ended:
            raise ValueError(f"{self.product}: a {self.status} approval needs 'ended' (its date)")
        return self


# A condition's reviewed text a patient reads (plain text; what a translation renders)
STATEMENT_FIELDS = (
    "name",
    "tier_label",
    "tier_note",
    "approval_note",
    "bottom_line",
    "risks",
    "established_care",
    "specialist",
    "outlook",
)


class Condition(_Strict):
    """One row of the evidence map: evidence strength and approvals, kept apart, plus the
    reviewed statements answers open with."""

    id: str
    name: str = Field(min_length=2)
    synonyms: list[str] = Field(default_factory=list)
    tier: Tier
    tier_label: str = Field(min_length=2)
    tier_note: str = ""
    approvals: list[Approval] = Field(default_factory=list)
    approval_note: str = ""
    bottom_line: str = ""
    risks: str = ""
    established_care: str = ""
    specialist: str = ""
    outlook: str = ""
    as_of: str
    key_documents: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"id '{value}' must be a slug like 'lupus'")
        return value

    @field_validator(*STATEMENT_FIELDS)
    @classmethod
    def _plain(cls, value: str) -> str:
        return plain_text(value)

    @field_validator("synonyms")
    @classmethod
    def _plain_list(cls, value: list[str]) -> list[str]:
        return [plain_text(v) for v in value]

    @field_validator("as_of", mode="before")
    @classmethod
    def _date(cls, value: object) -> str:
        return _date_text(value, partial=True)


class EvidenceMap(BaseModel):
    """All conditions, by id, with the map's version."""

    model_config = ConfigDict(frozen=True)

    version: str
    conditions: dict[str, Condition]
    sha256: str = ""

    def get(self, condition_id: str) -> Condition | None:
        return self.conditions.get(condition_id)
