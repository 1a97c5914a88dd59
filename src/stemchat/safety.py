"""Safety triage before retrieval: crisis, emergency, injection, personal advice, out of scope.

Rules are data (safety.yaml); this module only applies them. No user text can switch a rule off:
the triage runs on every turn, on the whole message, before anything else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from stemchat import _yaml
from stemchat.instructions import addressed_to_assistant

# zero-width, bidi controls and other invisible format characters
_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

ORDER = ("crisis", "emergency", "personal_advice")  # injection: instructions.py


@dataclass(frozen=True)
class Triage:
    """The safety class of one message and the rule that set it."""

    safety: str
    rule: str = ""


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("stemchat").joinpath("safety.yaml").read_text(encoding="utf-8")
    data = _yaml.safe_load(raw)
    compiled: dict[str, Any] = {}
    for cls in ORDER:
        compiled[cls] = (
            [re.compile(p, re.I | re.S) for p in data[cls]["patterns"]],
            [re.compile(p, re.I | re.S) for p in data[cls].get("near_miss", [])],
        )
        compiled[f"{cls}:all_of"] = [
            [re.compile(p, re.I | re.S) for p in group] for group in data[cls].get("all_of", [])
        ]
    compiled["emergency:hypothetical"] = re.compile(data["emergency"]["hypothetical"], re.I)
    compiled["emergency:now"] = re.compile(data["emergency"]["happening_now"], re.I)
    compiled["emergency:past"] = re.compile(data["emergency"]["long_past"], re.I)
    compiled["emergency:acute"] = re.compile(data["emergency"]["acute_now"], re.I)
    oos = data["out_of_scope"]
    compiled["domain"] = re.compile(oos["domain_words"], re.I)
    compiled["greeting"] = re.compile(oos["greetings"], re.I)
    must_not = data["answer_must_not"]
    compiled["must_not:negated"] = re.compile(must_not["negated_by"], re.I)
    compiled["must_not"] = [
        (label, [re.compile(p, re.I | re.M) for p in patterns])
        for label, patterns in must_not["statements"].items()
    ]
    return compiled


def clean(text: str, limit: int = 20_000) -> str:
    """Normalize user text: NFKC, no invisible or control characters, single spaces, bounded."""
    text = unicodedata.normalize("NFKC", text[: limit * 2])
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = text.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _matches(cls: str, text: str) -> str:
    rules = _rules()
    if cls == "emergency":
        now = rules["emergency:now"].search(text)
        hypothetical = rules["emergency:hypothetical"].search(text) and not now
        # "a stroke last year": "I have" does not make a long-past event new, a time word does
        past = rules["emergency:past"].search(text) and not rules["emergency:acute"].search(text)
        if hypothetical or past:
            return ""
    for group in rules[f"{cls}:all_of"]:
        if all(p.search(text) for p in group):
            return group[0].pattern[:60]
    patterns, near = _rules()[cls]
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            if any(n.search(text) for n in near):
                return ""
            return pattern.pattern[:60]
    return ""


def _injection(text: str) -> str:
    return addressed_to_assistant(text)


def is_greeting(text: str) -> bool:
    return bool(_rules()["greeting"].match(clean(text).lower()))


def in_domain(text: str) -> bool:
    """Does the text mention stem cells, regenerative medicine, trials, clinics or treatment?"""
    return bool(_rules()["domain"].search(text))


def triage(text: str, *, has_condition: bool, context: str = "") -> Triage:
    """Classify one message. Crisis and emergency win over everything else.

    `context` is the previous user turn: "I had one on Friday and now I have chills" is an
    emergency when the turn before was about a stem cell injection.
    """
    low = clean(text).lower()
    rule = _matches("crisis", low)
    if rule:
        return Triage("crisis", rule)
    rule = _matches("emergency", low)
    if not rule and context and _rules()["emergency:all_of"][0][0].search(low):
        # the symptom is in this turn; the procedure may have been named in the turn before
        rule = _matches("emergency", f"{clean(context).lower()[-500:]} {low}")
    if rule:
        return Triage("emergency", rule)
    rule = _injection(clean(text))
    if rule:
        return Triage("injection", rule)
    rule = _matches("personal_advice", low)
    if rule:
        return Triage("personal_advice", rule)
    if not has_condition and not in_domain(low) and not is_greeting(low):
        return Triage("out_of_scope", "no stem-cell topic or condition")
    return Triage("none")


def strip_injection(text: str) -> str:
    """The message without its sentences that try to change the rules (the legitimate part)."""
    parts = re.split(r"(?<=[.!?\n])\s+", clean(text))
    kept = [p for p in parts if not _injection(p)]
    return " ".join(kept).strip()


def forbidden_statements(text: str) -> list[str]:
    """What no answer may say (safety.yaml `answer_must_not`): a personal dose, "stop your
    medicine", a cure claim, a jailbreak acknowledgement; one problem per offending sentence.

    A match whose own clause is negated or reported ("do not stop", "clinics claim") is allowed.
    """
    rules = _rules()
    negated = rules["must_not:negated"]
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        plain = re.sub(r"[*_`]", "", sentence).strip()
        if not plain:
            continue
        for label, patterns in rules["must_not"]:
            hits = (m for p in patterns for m in p.finditer(plain))
            if any(not _in_negated_clause(plain, m.start(), negated) for m in hits):
                found.append(f"{label}: {plain[:100]!r}")
                break
    return found


def _in_negated_clause(text: str, start: int, negated: re.Pattern[str]) -> bool:
    clause = re.split(r"[.;:!?\n]|\bbut\b|\bpero\b|\bsino\b", text[max(0, start - 60) : start])[-1]
    return bool(negated.search(clause))
