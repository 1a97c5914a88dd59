"""Which conditions a question is about: evidence-map synonyms, then fuzzy matching for typos."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from stemchat import _yaml
from stemchat.corpus.models import EvidenceMap

_NON_WORD = re.compile(r"[^a-z0-9]+")
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,7}$")
FUZZY_MIN_LEN = 5


@lru_cache(maxsize=32768)
def normalize(text: str) -> str:
    """Lowercase ASCII words separated by single spaces ("Crohn's" -> "crohn s" -> "crohns").

    Cached: answers normalize the same corpus sentences again and again."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("'", "").replace("’", "")
    return _NON_WORD.sub(" ", text).strip()


@dataclass(frozen=True)
class Mention:
    """A condition found in a question, with the span of normalized words that named it."""

    condition: str
    phrase: str
    start: int
    end: int
    fuzzy: bool = False


class ConditionDetector:
    """Find evidence-map conditions in free text."""

    def __init__(
        self,
        evidence: EvidenceMap | None,
        phrases: dict[str, set[str]] | None = None,
        more_synonyms: dict[str, list[str]] | None = None,
    ) -> None:
        self.evidence = evidence
        self._given = phrases
        # reviewed synonyms in other languages, by condition id ("esclerosis múltiple")
        self._more = more_synonyms or {}
        self._acronyms: set[str] = set()

    @cached_property
    def _phrases(self) -> dict[str, set[str]]:
        if self._given is not None:
            return self._given
        assert self.evidence is not None
        phrases: dict[str, set[str]] = {}
        for cond in self.evidence.conditions.values():
            for raw in [
                cond.name,
                cond.id.replace("-", " "),
                *cond.synonyms,
                *self._more.get(cond.id, []),
            ]:
                phrase = normalize(raw)
                if phrase:
                    phrases.setdefault(phrase, set()).add(cond.id)
                if _ACRONYM.match(raw.strip()):
                    self._acronyms.add(phrase)  # "STEMI" is no typo target for "stemm"
        # broad words ("arthritis", "paralyzed", "GVHD") name a family: every member in the map
        for group in _rules()["_groups"]:
            members = {c for c in group["conditions"] if c in self.evidence.conditions}
            for phrase in group["_phrases"]:
                if members:
                    phrases.setdefault(phrase, set()).update(members)
        return phrases

    @cached_property
    def _fuzzy_choices(self) -> list[str]:
        return [p for p in self._phrases if len(p) >= FUZZY_MIN_LEN and p not in self._acronyms]

    def _fuzzy_match(self, gram: str) -> str | None:
        """A known phrase within a typo or two of `gram`, word by word (short words exact)."""
        words = gram.split()
        budget = sum(_allowed(w) for w in words)
        if budget == 0:
            return None
        for phrase, _dist, _ in process.extract(
            gram, self._fuzzy_choices, scorer=OSA.distance, score_cutoff=budget, limit=5
        ):
            other = phrase.split()
            if len(other) == len(words) and all(
                a == b or (a[0] == b[0] and OSA.distance(a, b) <= _allowed(a))
                for a, b in zip(words, other, strict=True)
            ):
                return str(phrase)
        return None

    def mentions(self, text: str) -> list[Mention]:
        words = normalize(text).split()
        found: list[Mention] = []
        max_len = max((len(p.split()) for p in self._phrases), default=1)
        for size in range(min(max_len, len(words)), 0, -1):
            for start in range(0, len(words) - size + 1):
                gram = " ".join(words[start : start + size])
                owners = self._phrases.get(gram)
                if owners:
                    found.extend(Mention(c, gram, start, start + size) for c in sorted(owners))
                elif len(gram) >= FUZZY_MIN_LEN and size <= 4 and not _real_words(gram):
                    phrase = self._fuzzy_match(gram)
                    if phrase:
                        found.extend(
                            Mention(c, phrase, start, start + size, fuzzy=True)
                            for c in sorted(self._phrases[phrase])
                        )
        return _longest_spans(found)

    def detect(self, text: str) -> list[str]:
        """Condition ids in order of first mention, without repeats (see `condition_order`)."""
        return condition_order(refine(self.mentions(text), text), text)


def condition_order(mentions: list[Mention], text: str) -> list[str]:
    """Condition ids in order of first mention, without repeats; a condition said to be
    someone's ("for her MS", "my knee") comes before ones only listed (an advert's list)."""
    words = normalize(text).split()

    def owned(m: Mention) -> bool:
        return any(w in _OWNERS for w in words[max(0, m.start - 2) : m.start])

    ordered: list[str] = []
    for m in sorted(mentions, key=lambda m: (not owned(m), m.start, -m.end)):
        if m.condition not in ordered:
            ordered.append(m.condition)
    return ordered


_OWNERS = frozenset({"my", "her", "his", "their", "our", "your"})


def _real_words(gram: str) -> bool:
    """Is every word of the gram an English word that is no typo of ours ("important")?"""
    return all(w in _rules()["_not_typos"] for w in gram.split())


def _allowed(word: str) -> int:
    """Typos tolerated in one word: none under 5 letters, one up to 8, two beyond."""
    if len(word) < FUZZY_MIN_LEN:
        return 0
    return 1 if len(word) < 9 else 2


def _longest_spans(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention whose span lies strictly inside a longer mention of another condition."""
    exact_first = sorted(mentions, key=lambda m: (m.fuzzy, -(m.end - m.start)))
    kept: list[Mention] = []
    for m in exact_first:
        inside = any(
            k.start <= m.start and m.end <= k.end and (k.end - k.start) > (m.end - m.start)
            for k in kept
        )
        overlapped_by_exact = m.fuzzy and any(
            not k.fuzzy and k.start < m.end and m.start < k.end for k in kept
        )
        if not inside and not overlapped_by_exact:
            kept.append(m)
    return kept


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("stemchat").joinpath("understanding.yaml").read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    data["_intents"] = [
        (i["name"], re.compile(i["pattern"], re.I), tuple(i["documents"])) for i in data["intents"]
    ]
    phrases: dict[str, str] = {}
    for entry in data["not_covered"]:
        for syn in entry["synonyms"]:
            phrases[normalize(syn)] = entry["name"]
    data["_not_covered"] = phrases
    for group in data.get("groups", []):
        group["_phrases"] = frozenset(normalize(p) for p in group["phrases"])
        group["_choices"] = {normalize(k): v for k, v in group.get("choices", {}).items()}
    data["_groups"] = data.get("groups", [])
    data["_not_typos"] = frozenset(normalize(w) for w in data.get("not_typos", []))
    data["_unknown"] = re.compile(
        r"\b(?:for|treat|treating|cure|curing|fix|heal|reverse|help with|with|has|have|had|diagnosed with)\s+"
        r"(?:my |his |her |their |a |an |the )?((?:[a-z'-]+ ){0,3}?[a-z'-]*"
        + data["disease_suffixes"]
        + r")\b",
        re.I,
    )
    return data


@dataclass(frozen=True)
class Group:
    """A broad word that names several conditions, and how a turn narrows it down."""

    key: str
    conditions: tuple[str, ...]
    choices: dict[str, str]


def groups() -> list[Group]:
    return [
        Group(g["key"], tuple(g["conditions"]), dict(g["_choices"])) for g in _rules()["_groups"]
    ]


def refine(mentions: list[Mention], text: str) -> list[Mention]:
    """Apply the data rules: ignore look-alikes, context-only phrases, broad words and their
    cues (a broad word gives way to a specific mention of one of its members)."""
    rules = _rules()
    words = normalize(text).split()
    blanked: set[int] = set()
    for phrase in rules.get("ignore_phrases", []):
        p = normalize(phrase).split()
        for i in range(len(words) - len(p) + 1):
            if words[i : i + len(p)] == p:
                blanked.update(range(i, i + len(p)))
    kept = [m for m in mentions if not blanked & set(range(m.start, m.end))]
    for acronym in rules.get("uppercase_only", []):
        if not re.search(rf"\b{re.escape(acronym)}\b", text):
            kept = [m for m in kept if m.phrase != normalize(acronym)]
    others = {m.condition for m in kept}
    for cond, phrases in rules.get("context_only", {}).items():
        context = {normalize(p) for p in phrases}
        if others - {cond}:
            kept = [m for m in kept if not (m.condition == cond and m.phrase in context)]
    named = {m.condition for m in kept}
    for cause in rules.get("causes", []):
        if named & set(cause["of"]):
            phrases = {normalize(p) for p in cause["phrases"]}
            members = set(cause["conditions"])
            kept = [
                m
                for m in kept
                if not (
                    m.condition in members
                    and (m.phrase in phrases or " ".join(words[m.start : m.end]) in phrases)
                )
            ]
    norm = " ".join(words)
    for group in rules["_groups"]:
        members = set(group["conditions"])
        broad = [m for m in kept if m.phrase in group["_phrases"] and m.condition in members]
        if not broad:
            continue
        specific = {m.condition for m in kept if m.phrase not in group["_phrases"]} & members
        if specific:  # "paralyzed after a stroke": the stroke names it
            drop = {id(m) for m in broad if m.condition not in specific}
            kept = [m for m in kept if id(m) not in drop]
            continue
        cues = group.get("cues", {})
        cued = {c for c in members if c in cues and re.search(cues[c], norm)}
        if cued:
            kept = [m for m in kept if not (m in broad and m.condition not in cued)]
    return kept


def unresolved(mentions: list[Mention], text: str) -> list[str]:
    """Keys of the broad words this turn leaves open (several members still in play)."""
    out = []
    for group in _rules()["_groups"]:
        members = set(group["conditions"])
        named = {m.condition for m in mentions if m.condition in members}
        broad = any(m.phrase in group["_phrases"] for m in mentions if m.condition in members)
        if broad and len(named) >= 2:
            out.append(str(group["key"]))
    return out


def choose(text: str, group_keys: list[str]) -> list[str]:
    """The member a short reply picks after a "which one do you mean?" ("the knee one")."""
    words = f" {normalize(text)} "
    picked: list[str] = []
    for group in _rules()["_groups"]:
        if group["key"] not in group_keys:
            continue
        for word, cond in group["_choices"].items():
            if f" {word} " in words and cond not in picked:
                picked.append(cond)
    return picked


def detect_intent(text: str) -> tuple[str, tuple[str, ...]]:
    """The question's intent and the guidance documents that intent leans on."""
    for name, pattern, documents in _rules()["_intents"]:
        if pattern.search(text):
            return name, documents
    return str(_rules()["default_intent"]), ()


def uncovered_mentions(text: str) -> list[Mention]:
    """Conditions the evidence map does not cover, as mentions (condition = display name)."""
    return _uncovered_detector().mentions(text)


@lru_cache(maxsize=1)
def _uncovered_detector() -> ConditionDetector:
    phrases: dict[str, set[str]] = {}
    for phrase, name in _rules()["_not_covered"].items():
        phrases.setdefault(phrase, set()).add(name)
    return ConditionDetector(None, phrases)


def resolve_mentions(
    covered: list[Mention], uncovered: list[Mention]
) -> tuple[list[Mention], list[Mention]]:
    """A longer uncovered phrase wins over a covered word inside it ("psoriatic arthritis")."""
    kept_covered = [
        c
        for c in covered
        if not any(
            u.start <= c.start and c.end <= u.end and (u.end - u.start) > (c.end - c.start)
            for u in uncovered
        )
    ]
    kept_uncovered = [
        u for u in uncovered if not any(c.start < u.end and u.start < c.end for c in kept_covered)
    ]
    return kept_covered, kept_uncovered


_ANY_DISEASE = re.compile(
    r"^(?:any|all|every|each|other|some|many|most|which|what|certain|different|several|one|"
    r"these|those)(?: (?:other|kind of|type of|sort of|serious|chronic|rare|known|single))?"
    r" (?:disease|diseases|illness|illnesses|condition|conditions|disorder|disorders)$"
)


def unknown_disease(text: str) -> list[str]:
    """A disease-like phrase after 'for', 'treat', 'with'... that no list knows, as a last resort."""
    found: list[str] = []
    for match in _rules()["_unknown"].finditer(normalize(text)):
        phrase = match.group(1).strip()
        if _ANY_DISEASE.match(phrase):
            continue  # "approved for any disease", "for every illness": not a condition
        if len(phrase) > 4 and phrase not in found:
            found.append(phrase)
    return found
