"""The turn plan: what one message is about and what it asks, before anything is retrieved.

safety class, conditions (and uncovered ones, and broad words left open), the aspect asked
(does it work, is it approved, is it worth it, risks, cost, trials, timing, differences,
definitions, clinics, proven care), who it is about ("my mum" -> her), and a loosely named
trial ("the placebo trial", "the korean one") to look for among the condition's documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stemchat.composer_config import aspect_of
from stemchat.corpus.models import Condition
from stemchat.understanding import detect_intent

_HER = r"mum|mom|mother|mommy|mam|mama|wife|daughter|sister|grandma|grandmother|granny|nana|aunt|auntie|girlfriend|niece|fiancee|stepmom|stepmum"
_HIS = r"dad|father|daddy|papa|husband|hubby|son|brother|grandpa|grandfather|granddad|grandad|gramps|uncle|boyfriend|nephew|fiance|stepdad"
_THEIR = r"child|kid|baby|toddler|partner|friend|parents?|relative|patient|spouse|grandchild|teen|teenager|\d+\s?(?:yr|year)s?\s?old"
# "my mum", "our son's", "my 6 yr old", or a message that opens with the relative ("dad got ...")
_RELATIVE = re.compile(
    rf"(?:\b(?:my|our)\s+(?:\w+\s+)?|^\W*)"
    rf"(?:(?P<her>{_HER})|(?P<his>{_HIS})|(?P<their>{_THEIR}))(?:'?s)?\b",
    re.I,
)
# "my 80-year-old father", "my elderly mum": a gendered relative a few words on wins
_RELATIVE_GENDERED = re.compile(
    rf"\b(?:my|our)\s+(?:[\w-]+\s+){{0,3}}?(?:(?P<her>{_HER})|(?P<his>{_HIS}))(?:'?s)?\b", re.I
)
_PRONOUN = re.compile(r"\b(?:(?P<her>she|her|hers)|(?P<his>he|him|his))\b", re.I)
_ME = re.compile(r"\b(?:i|i'm|im|my|me|myself)\b", re.I)

FOLLOW_UP = re.compile(
    r"^(?:and|also|what about|how about|same|ok|okay|so|but|then)\b|"
    # Spanish: "¿y los riesgos?", "¿cuánto cuesta? ¿lo paga el seguro?", "¿y para mi papá?"
    r"^\W*(?:y|tambi[eé]n|pero|entonces|qu[eé] tal|y qu[eé]|y si|bueno|vale|ok)\b|"
    r"\b(?:eso|esto|esa|ese|esos|esas|ella|[eé]l|all[aá]|ah[ií]|lo|la|le|les|mismo|misma)\b|"
    r"\b(?:mi|mis|nuestr[oa])\s+(?:\w+\s+)?(?:mam[aá]|madre|pap[aá]|padre|espos[oa]|marido|hij[oa]|"
    r"herman[oa]|abuel[oa]|t[ií][oa]|suegr[oa]|cu[nñ]ad[oa]|novi[oa]|pareja)\b|"
    r"\b(?:it|its|it's|that|this|they|them|those|these|there|the same|she|he|her|him|his)\b|"
    rf"\b(?:my|our)\s+(?:\w+\s+)?(?:{_HER}|{_HIS}|{_THEIR})\b|"
    r"\bthe (?:trial|trials|study|studies|product|treatment|drug|cells|children|patients|approval|"
    r"big one|first one|second one|korean one|japanese one|chinese one|european one|"
    r"\w+ (?:trial|study|one))\b",
    re.I,
)
# "the placebo trial", "the big knee trial", "the korean one": a trial named loosely
_TRIAL_HINT = re.compile(
    r"\b(?:the|that|this)\s+((?:[\w'-]+\s+){0,4}?)(?:trial|study|one)\b|\b(placebo|sham|blinded|randomi[sz]ed)\b|"
    r"\bwhich (trial|study)\b",
    re.I,
)


@dataclass(frozen=True)
class Plan:
    """Everything the composer needs to know about one turn."""

    question: str
    query: str
    safety: str
    conditions: list[Condition] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    clarify: list[str] = field(default_factory=list)
    intent: str = "evidence"
    intent_docs: tuple[str, ...] = ()
    aspect: str = "evidence"
    also: str = ""  # a second aspect the same message asks ("... and is it safe?")
    possessive: str = "your"
    trial_hint: str = ""
    carried: bool = False  # the conditions come from an earlier turn

    @property
    def condition_ids(self) -> list[str]:
        return [c.id for c in self.conditions]


def possessive_of(text: str, previous: str = "your") -> str:
    """Whose treatment the message is about: "my mum" -> "her", "my son" -> "his"."""
    m = _RELATIVE_GENDERED.search(text) or _RELATIVE.search(text)
    if m:
        return next(k for k, v in m.groupdict().items() if v)
    if previous != "your":
        return previous  # a follow-up about the same person ("and for her?")
    if not _ME.search(text):
        p = _PRONOUN.search(text)
        if p:
            return next(k for k, v in p.groupdict().items() if v)
    return "your"


def trial_hint(text: str) -> str:
    """Words that name a trial loosely ("placebo", "big knee", "korean"), or ""."""
    m = _TRIAL_HINT.search(text)
    if not m:
        return ""
    words = (m.group(1) or m.group(2) or m.group(3) or "").strip().lower()
    return words if words not in ("", "same", "other") else "trial"


# Aspects asked of a treatment for a condition: a turn asking one of these that names no
# condition asks it of the conversation's condition, unless it says it means the general case.
_OWN_ASPECTS = frozenset({"risks", "cost", "trial", "timing", "approval", "worth", "care"})
_GENERAL = re.compile(
    r"\b(?:in general|generally|overall|any (?:condition|disease)|all (?:conditions|diseases)|"
    r"for anything|en general|cualquier (?:enfermedad|condici[oó]n)|todas las enfermedades)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    """Does the turn lean on an earlier one ("is it approved for that?", "and the risks?",
    "what did the placebo trial find?", "how can I find a trial for her?")?"""
    aspect = aspect_of(question)
    intent, _ = detect_intent(question)
    if aspect == "definition" or (intent == "general" and not FOLLOW_UP.search(question)):
        return False
    short = len(question.split()) <= 6
    if aspect in _OWN_ASPECTS and not _GENERAL.search(question):
        # "what are the risks of the shots?" asks about the conversation's condition
        return True
    return bool(FOLLOW_UP.search(question)) or short or bool(trial_hint(question))


_EARLIER = re.compile(r"\b(?:that|this|it|those|these)\b", re.I)


def compares_with_earlier(question: str) -> bool:
    """Does the turn compare what came before with something new ("is that different from the
    heart failure stem cell stuff?", "how does this compare with knee shots?")?"""
    return aspect_of(question) == "difference" and bool(_EARLIER.search(question))


def plan_intent(query: str) -> tuple[str, tuple[str, ...]]:
    return detect_intent(query)
