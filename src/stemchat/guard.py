"""The output guard: every answer is checked, as a structure, before anyone sees it.

Checks: an evidence line for each condition the answer is about, the reviewed disclaimer, citation
numbers that point at retrieved passages (and every passage cited), each statement backed by what
it claims to be (a cited passage, a reviewed statement of the evidence map, or a reviewed
patient-facing text), none of the statements no answer may make (a personal dose, "stop your
medicine", a cure claim, a jailbreak acknowledgement; safety.yaml), and rendered Markdown that
carries no HTML, images or links other than the sources' own (markup.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from stemchat.answer import Answer, Statement
from stemchat.compose import split_sentences
from stemchat.corpus.approvals import approval_without_place, states_us_and_eu
from stemchat.corpus.models import Tier
from stemchat.markup import problems as markup_problems
from stemchat.safety import forbidden_statements
from stemchat.texts import LANGUAGES, disclaimer, text, texts
from stemchat.understanding import normalize

_MARKER = re.compile(r"\[(\d{1,3})\]")
# what plain sentences never hold: Markdown syntax, tags, link targets
_FRAGMENT = re.compile(r"\]\(|\*\*|`|<[a-zA-Z/!]|\bhttps?:|\bwww\.")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "with",
        "which",
        "who",
        "not",
        "no",
    ]
)
# The reviewed texts that may appear in an answer as they are (texts.yaml keys). Internal texts,
# such as the phrasing model's rules, are never among them.
ANSWER_TEXTS = (
    "emergency",
    "crisis",
    "personal_advice",
    "out_of_scope",
    "injection",
    "greeting",
    "not_covered",
    "no_passages",
    "what_this_means_default",
    "claim_intro",
    "no_claim_flags",
    "general_tier_line",
)
SECTION_TITLES = ("What the sources say", "What this means for you", "Red flags in this claim")
_TIERS = frozenset(t.value for t in Tier)


def _content_words(text_: str) -> set[str]:
    return {w for w in normalize(text_).split() if w not in _STOP and len(w) > 1}


def supported(sentence: str, passage: str, threshold: float = 0.75) -> bool:
    """Is the sentence backed by the passage? Verbatim, or most of its content words appear there."""
    plain = re.sub(r"[*_`]", "", _MARKER.sub("", sentence)).strip(" -")
    if not plain:
        return True
    if normalize(plain) in normalize(passage):
        return True
    words = _content_words(plain)
    if not words:
        return True
    return len(words & _content_words(passage)) / len(words) >= threshold


@dataclass(frozen=True)
class Rules:
    """What the guard accepts besides cited passages: reviewed texts, by normalized wording."""

    fixed: frozenset[str]
    curated: frozenset[str] = field(default_factory=frozenset)
    disclaimers: frozenset[str] = field(default_factory=frozenset)

    def with_curated(self, statements: Iterable[str]) -> Rules:
        return Rules(self.fixed, frozenset(normalize(s) for s in statements if s), self.disclaimers)


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """Patient-facing fixed texts, section titles and red-flag labels; nothing internal."""
    from stemchat.claims import all_labels

    fixed = list(SECTION_TITLES) + all_labels()
    for lang in LANGUAGES:  # each language's reviewed texts; an answer shows one language's
        fixed += [text(k, lang) for k in ANSWER_TEXTS]
        fixed += [str(v) for v in texts(lang)["clarify"].values()]
        fixed += [str(v) for v in texts(lang)["section_titles"].values()]
    return Rules(
        fixed=frozenset(normalize(t) for t in fixed if t.strip()),
        disclaimers=frozenset(disclaimer(lang) for lang in LANGUAGES),
    )


@dataclass(frozen=True)
class GuardResult:
    ok: bool
    problems: tuple[str, ...]


def check(answer: Answer, rules: Rules | None = None) -> GuardResult:
    """Every rule an answer must pass before it is shown."""
    rules = rules or default_rules()
    problems: list[str] = []
    if not answer.disclaimer or answer.disclaimer not in rules.disclaimers:
        problems.append("disclaimer missing or altered")
    problems += _evidence_problems(answer)
    problems += _citation_problems(answer)
    for s in answer.statements():
        problems += _statement_problems(s, answer, rules)
    for section in answer.sections:
        if normalize(section.title) not in rules.fixed:
            problems.append(f"unknown section heading: {section.title[:60]!r}")
    # a supported sentence can still say what no answer may (a dose, "stop your medicine"...)
    for s in answer.statements():
        if s.origin != "fixed":
            problems += [f"forbidden statement: {p}" for p in forbidden_statements(s.text)]
            if approval_without_place(s.text):
                problems.append(f"approval without its country: {s.text[:80]!r}")
    problems += [
        f"markup: {p}"
        for p in markup_problems(answer.answer, [c.url for c in answer.citations if c.url])
    ]
    return GuardResult(not problems, tuple(problems))


def _evidence_problems(answer: Answer) -> list[str]:
    problems = []
    shown = {e.condition for e in answer.evidence}
    for cond in answer.conditions:
        if cond not in shown:
            problems.append(f"evidence line missing for {cond}")
    for e in answer.evidence:
        if e.tier not in _TIERS:
            problems.append(f"unknown evidence tier {e.tier!r} for {e.condition}")
        if not states_us_and_eu(e.approval_line):
            problems.append(f"approvals for {e.condition} do not say the US and EU status")
    general = any(s.key == "general_tier_line" for s in answer.notices)
    if (
        answer.safety in ("none", "personal_advice")
        and answer.intent != "greeting"
        and not answer.evidence
        and not general
    ):
        problems.append("no evidence tier stated")
    return problems


def _citation_problems(answer: Answer) -> list[str]:
    problems = []
    by_n = {c.n: c for c in answer.citations}
    if len(by_n) != len(answer.citations):
        problems.append("duplicate citation numbers")
    used = {n for s in answer.statements() for n in s.cites}
    for n in sorted(used - set(by_n)):
        problems.append(f"marker [{n}] has no retrieved passage")
    for n in sorted(set(by_n) - used):
        problems.append(f"citation {n} is never cited")
    return problems


def _statement_problems(s: Statement, answer: Answer, rules: Rules) -> list[str]:
    key = normalize(s.text)
    if not key:
        return ["empty statement"]
    if s.origin == "fixed":
        return [] if key in rules.fixed else [f"not a reviewed fixed text: {s.text[:80]!r}"]
    if s.origin == "curated":
        return [] if key in rules.curated else [f"not a reviewed statement: {s.text[:80]!r}"]
    if not s.cites:
        return [f"unsupported sentence without a citation: {s.text[:80]!r}"]
    if markup_problems(s.text) or _FRAGMENT.search(s.text):
        return [f"markup in a statement: {s.text[:80]!r}"]
    by_n = {c.n: c for c in answer.citations}
    cited = [by_n[n].passage for n in s.cites if n in by_n]
    # every sentence on its own: an added clause cannot hide behind a well-supported one
    for sentence in split_sentences(s.text):
        if cited and not any(supported(sentence, p) for p in cited):
            return [f"sentence not supported by its cited passage: {sentence[:80]!r}"]
    return []
