"""The composer's parts: passages into whole sentences, choosing the sentences that answer, numbering
the citations. Pure functions over retrieved passages; the engine decides which pools to use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from stemchat.answer import Citation
from stemchat.corpus.approvals import approval_without_place
from stemchat.corpus.models import Condition
from stemchat.instructions import addressed_to_assistant
from stemchat.markup import to_plain
from stemchat.retrieval import Passage
from stemchat.texts import current_language
from stemchat.understanding import normalize

# a full stop, ! or ? then a capital or digit (or Spanish ¿ ¡), but not after a common
# abbreviation ("Dr. Smith", "EE. UU.", "Dra. Pérez", "p. ej. Japón")
_SENTENCE = re.compile(
    r"(?<=[.!?])(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bvs\.)(?<!\bNo\.)"
    r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<!\bapprox\.)"
    r"(?<!\bEE\.)(?<!\bDra\.)(?<!\bSr\.)(?<!\bSra\.)(?<!\bej\.)(?<!\baprox\.)(?<!\bnúm\.)"
    r"\s+(?=[A-Z0-9ÁÉÍÓÚÑ¿¡\"(])"
)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "stem",
        "cell",
        "cells",
        "therapy",
        "treatment",
        "treatments",
    ]
)
# A sentence that leans on the one before it ("It was...", "The trial...", "One of them...",
# "...this treatment..."): kept only together with that sentence, never alone.
_LEANING = re.compile(
    r"^(?:it|its|they|them|their|this|that|these|those|such|both|neither|either|he|she|his|her|"
    r"so|also|but|and|or|however|instead|still|yet|even so|here|there|in that|as a result|then|"
    r"by contrast|in contrast|on the other hand|for example|for instance|in addition|similarly|"
    r"likewise|meanwhile|otherwise|besides|even then|after that|before that|"
    r"one of (?:them|these|those)|the (?:trial|trials|study|studies|company|companies|product|"
    r"products|drug|cells|researchers|authors|team|results|treatment|approach|procedure|"
    r"patients|participants|group|groups|same|panel|committee|agency|maker|review|reviewers|"
    r"first|second|other|latter|former|board|society|doctor|sponsor|ministry|new trial|"
    r"(?:main|primary) (?:goal|message|result|finding|aim)|(?:cell|placebo|control) group)"
    # Spanish: the same kinds of opening ("Esto", "Sin embargo", "El ensayo", "Uno de ellos")
    r"|esto|esta|este|estos|estas|eso|ello|ellos|ellas|su|sus|tambi[eé]n|pero|sin embargo|"
    r"adem[aá]s|as[ií]|por eso|luego|entonces|a[uú]n as[ií]|por ejemplo|en cambio|"
    r"por el contrario|uno de ellos|una de ellas|all[ií]|el ensayo|los ensayos|el estudio|"
    r"los estudios|la empresa|la compa[nñ][ií]a|los investigadores|los autores|el equipo|"
    r"los resultados|el producto|los pacientes|los participantes|el grupo|los grupos|"
    r"la junta|el comit[eé]|el panel|la agencia|el fabricante|el objetivo principal|"
    # a Spanish sentence opening on its verb has its subject in the sentence before ("Ha recibido
    # reportes...", "Puede ayudarle...": "it has", "it can")
    r"ha|han|hab[ií]a|hab[ií]an|es|son|era|eran|fue|fueron|est[aá]|est[aá]n|estaba|estaban|"
    r"incluye|incluyen|tiene|tienen|dijo|dijeron|dice|dicen|lo|le|les|puede|pueden)\b",
    re.I,
)
_LEANING_INSIDE = re.compile(
    r"^(?:\S+\s+){0,5}?(?:this|that|these|those|such) (?:treatment|trial|study|product|approach|"
    r"procedure|drug|therapy|cells|condition|disease|test|approval|decision|result|clinic|"
    r"injection|infusion|offer)s?\b",
    re.I,
)
_MAX_CHAIN = 420  # characters: a statement of up to three sentences, never a whole section
# a sentence about an unnamed subject ("The trial missed...", "Everyone also took...")
_UNNAMED_SUBJECT = re.compile(
    r"^(?:everyone|all (?:of )?(?:the )?(?:people|patients)|the (?:trial|study|main|key|primary|"
    r"secondary|company|maker|product|cells|results?)|it|its|they|their|this|these)\b",
    re.I,
)
# "... no trial results behind it.": the thing it is about was named before
_LEANING_TAIL = re.compile(
    r"\b(?:behind|for|of|about|with|from|on|in|to|against|support|supports|tested|test|"
    r"try|tried|use|used|sell|sells|sold|offer|offers|offered) (?:it|them)[.!]?$"
    r"|\b(?:described|listed|shown|explained|set out) (?:below|above)\b",
    re.I,
)
# an item of a list of open questions ("How aHSCT compares with today's drugs."): no verb of its own
_QUESTION_FRAGMENT = re.compile(r"^(?:how|what|why|whether|which|who|when|where)\b", re.I)
# "Four years later he developed tumours": a person named in the sentence before
_PRONOUN_SUBJECT = re.compile(
    r"^(?:[\w,-]+\s+){1,4}?(?:he|she|they|the (?:company|maker|trial|study|product|drug|"
    r"researchers|team|authors|agency|clinic)"
    r"|[eé]l|ella|ellos|ellas|la (?:empresa|compa[nñ][ií]a|agencia|cl[ií]nica)|el (?:fabricante|"
    r"ensayo|estudio|producto|equipo)|los (?:investigadores|autores))\b",
    re.I,
)
# "the best result among them", "similar in the two groups": who they are was said before
_REFERS_BACK = re.compile(
    r"\b(?:among them|of them|of these|of those|the two groups|the other group|both groups|"
    r"the same (?:trial|study|group|patients|people)|these (?:patients|people|children|men|women)|"
    r"this (?:one|group)|that (?:one|group)|like this one|the (?:former|latter)|"
    r"entre ellos|de ellos|de ellas|estos pacientes|estas personas|los dos grupos|el otro grupo|"
    r"ambos grupos|el mismo (?:ensayo|estudio|grupo))\b",
    re.I,
)
# "Type: phase 2/3, randomized" - a label and a fragment from a list, not a sentence
_LABEL_FRAGMENT = re.compile(r"^[A-Z][\w' /-]{0,30}:\s+(?![A-Z0-9\"])")
_DOC_ID = re.compile(r"\b(?:guide|overview|trial|reg)-[a-z0-9]+(?:-[a-z0-9]+)*\b")
_XREF = re.compile(r"\s*\(see (?:[a-z0-9]+-)+[a-z0-9]+\)")
EXPANSIONS = {
    "dose": "dose dosage million cells per kg kilogram infusion infusions twice weekly given",
    "dosage": "dose dosage million cells per kg kilogram infusion infusions twice weekly given",
    "cost": "cost costs price prices paid pay dollars refund insurance",
    "price": "cost costs price prices paid pay dollars refund insurance",
    "approved": "approved approval authorisation authorization licensed withdrawn withdrew conditional",
    "approval": "approved approval authorisation authorization licensed withdrawn withdrew conditional",
    "risk": "risk risks side effects serious adverse infection infections death deaths harm",
    "safe": "risk risks side effects serious adverse infection infections death deaths harm safety",
    "work": "found results result improved benefit remission response placebo did not goal",
    "help": "found results result improved benefit remission response placebo did not goal",
}
_RETRIEVAL_EXPANSIONS = ("dose", "dosage")
NEGATIVE_CUES = re.compile(
    r"\b(?:did not|didn'?t|no (?:clear |real |added |significant )?(?:benefit|difference|effect|improvement)|"
    r"not (?:better|significant|meet|met|show|shown)|failed|missed|no better|stopped early|halted|withdrawn|"
    r"negative|futility|no evidence|not approved|unproven|retract|"
    # Spanish
    r"no alcanz\w*|no cumpli\w*|no (?:fue|fueron) mejor\w*|no mejor\w*|no encontr\w*|sin beneficio|"
    r"ning[uú]n beneficio|no hubo diferencia|se detuvo|retirad\w*|no (?:est[aá]|est[aá]n) aprobad\w*|"
    r"no probad\w*)",
    re.I,
)


def _looks_like_instructions(sentence: str) -> bool:
    return bool(addressed_to_assistant(sentence))


def _forbidden(sentence: str) -> bool:
    from stemchat.safety import forbidden_statements

    return bool(forbidden_statements(sentence))


_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=65536)
def found(pattern: re.Pattern[str], text: str) -> bool:
    """pattern.search(text), remembered: the same sentences meet the same long patterns (the
    names of every other condition) answer after answer."""
    return pattern.search(text) is not None


def split_sentences(paragraph: str) -> list[str]:
    """A paragraph of plain text into sentences (a full stop, ! or ? then a capital or digit)."""
    return [s.strip() for s in _SENTENCE.split(paragraph) if s.strip()]


@lru_cache(maxsize=4096)
def clean_passage(text: str) -> str:
    """A cited passage as a patient may see it: plain text without HTML, images, link targets or
    hidden characters, and without sentences that address an assistant.

    Cached: the same passages come back answer after answer, and the instruction check is the
    costly part of composing one."""
    kept = []
    for line in to_plain(text).split("\n"):
        parts = [p for p in split_sentences(line) if not _looks_like_instructions(p)]
        kept.append(" ".join(parts))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def leans_on_previous(sentence: str) -> bool:
    """Does the sentence need the one before it to make sense?"""
    return bool(
        _LEANING.match(sentence)
        or _LEANING_TAIL.search(sentence)
        or _LEANING_INSIDE.match(sentence)
        or _PRONOUN_SUBJECT.match(sentence)
        or _REFERS_BACK.search(sentence)
    )


def _balanced(text: str) -> bool:
    return all(text.count(o) == text.count(c) for o, c in ("()", "[]", "{}")) and (
        text.count('"') % 2 == 0
    )


def stands_alone(text: str) -> bool:
    """The coherence rules every answer sentence passes: no leaning first sentence, no document
    id, no markup left over, balanced brackets and quotes, a capital or digit first."""
    parts = split_sentences(text)
    return bool(parts) and (
        not leans_on_previous(parts[0])
        and not _DOC_ID.search(text)
        and not re.search(r"\*\*|__|`|\]\(|<[a-zA-Z/]", text)
        and _balanced(text)
        and (text[0].isupper() or text[0].isdigit() or text[0] in "\"'")
    )


def _usable(sent: str) -> bool:
    if len(sent) < 40 or sent.endswith((":", "?")) or len(sent.split()) < 7:
        return False
    if not (sent[0].isupper() or sent[0].isdigit() or sent[0] in "\"'"):
        return False  # a fragment cut from a list
    if _DOC_ID.search(sent) or not _balanced(sent) or _LABEL_FRAGMENT.match(sent):
        return False
    if _QUESTION_FRAGMENT.match(sent) and len(split_sentences(sent)) == 1:
        return False  # "How aHSCT compares with today's strongest MS drugs."
    if _looks_like_instructions(sent):
        return False  # corpus text is data: never repeat text that addresses the assistant
    if _forbidden(sent):
        return False  # a dose, "stop your medicine" or a cure claim: the guard would refuse it
    return not approval_without_place(sent)  # "X was approved in 2012" alone reads as everywhere


@lru_cache(maxsize=4096)
def _sentences(passage_text: str) -> tuple[str, ...]:
    """Statements of a passage: whole sentences, a leaning sentence joined to the one before."""
    out: list[str] = []
    with_labels = to_plain(passage_text, tables=False).split("\n")
    without = to_plain(passage_text, tables=False, lead_ins=False).split("\n")
    if len(without) != len(with_labels):
        without = with_labels  # an item that is only a label: no labels this time
    for para, bare in zip(with_labels, without, strict=True):
        para = para.removeprefix("- ").strip()
        bare = bare.removeprefix("- ").strip()
        name = _item_name(para, bare)
        chain = ""  # a sentence that stands alone, with the ones after it that lean on it
        for raw in split_sentences(bare):
            sent = _XREF.sub("", raw).strip()
            if not leans_on_previous(sent) or (
                not chain and name and _UNNAMED_SUBJECT.match(sent) and name[0] not in sent
            ):
                chain = sent  # (an item's "The trial missed..." is named below)
            elif chain and len(chain) + len(sent) < _MAX_CHAIN:
                chain = f"{chain} {sent}"  # "A man had cells put in his spine. He lost ..."
            else:
                chain = ""
            unit = chain
            if name and unit and _UNNAMED_SUBJECT.match(unit) and name[0] not in unit:
                first = unit[0].lower() if unit[1:2].islower() else unit[0]
                unit = f"{name[1]}: {first}{unit[1:]}"  # "NurOwn (US, phase 3): the trial..."
            if unit and _usable(unit) and stands_alone(unit):
                out.append(unit)
    return tuple(out)


def _item_name(para: str, bare: str) -> tuple[str, str] | None:
    """The named thing a list item or paragraph is about, from its bold label ("**NurOwn (US,
    phase 3).** ..." -> ("NurOwn", "NurOwn (US, phase 3)")); None for plain labels ("Safety:")."""
    if not bare or bare == para or not para.endswith(bare):
        return None
    label = para[: len(para) - len(bare)].strip().rstrip(".:").strip()
    if not label or len(label.split()) > 10 or not label[0].isupper():
        return None
    key = label.split(" (")[0].split()[0].strip(",")
    if not (any(ch.isupper() for ch in key[1:]) or any(ch.isdigit() for ch in key) or "-" in key):
        return None  # "Safety", "Evidence": a plain label, not a named trial or product
    return key, label


def sentences(passage_text: str) -> list[str]:
    """Statements of a passage body in order: whole sentences that stand on their own (a sentence
    that leans on the one before comes with it), never labels, tables or fragments."""
    return list(_sentences(passage_text))


def _terms(text: str) -> set[str]:
    return {w[:6] for w in normalize(text).split() if w not in _STOP and len(w) > 2}


_ITEM_LABEL = re.compile(r"^[^:.]{2,60}\):\s+")


def says_the_same(a: set[str], b: set[str]) -> bool:
    """Two statements that share nearly all their content words ("BrainStorm withdrew its
    application on 18 October 2023" / "BrainStorm withdrew its request ... 18 October 2023")."""
    if not a or not b:
        return False
    shared = len(a & b)
    return shared / min(len(a), len(b)) >= 0.8 and shared / len(a | b) >= 0.5


def expand_query(query: str) -> str:
    """Add the words sources use for what patients ask ("dose" -> "million cells per kilogram")."""
    words = set(normalize(query).split())
    extra = [EXPANSIONS[w] for w in _RETRIEVAL_EXPANSIONS if w in words]
    return f"{query} {' '.join(extra)}" if extra else query


def pick_sentences(
    question: str,
    passages: Sequence[Passage],
    conditions: Sequence[Condition],
    limit: int = 5,
    *,
    extra_terms: str = "",
    want_negative: bool = False,
    per_passage: int = 2,
    aspect: str = "",
    require_aspect: bool = False,
    exclude: Callable[[str], bool] | None = None,
    exclude_shared: Callable[[str], bool] | None = None,
    own: set[str] | frozenset[str] = frozenset(),
) -> list[tuple[str, Passage]]:
    """Choose the statements that best answer the question (and its aspect); keep a null or
    negative result if any. Weights come from composer.yaml.

    `require_aspect`: only statements about the aspect (its words, or under its headings).
    `exclude`: statements it accepts are never chosen (another condition's story).
    `exclude_shared`: the same, in passages of documents not only about the `own` conditions."""
    from stemchat.composer_config import aspect_sources, composer_config

    config = composer_config()
    w = config.weights
    sources = aspect_sources(current_language()).get(aspect) if aspect else None
    heading_re = re.compile(sources.headings, re.I) if sources else None
    words_re = re.compile(sources.words, re.I) if sources else None
    q_terms = _terms(question) | _terms(extra_terms)
    for word in normalize(question).split():
        if word in EXPANSIONS:
            q_terms |= _terms(EXPANSIONS[word])
    for c in conditions:
        q_terms |= _terms(c.name)
    scored: list[tuple[float, int, int, str, Passage]] = []
    background_re = re.compile(config.background_headings, re.I)
    for rank, passage in enumerate(passages):
        under_heading = bool(heading_re and heading_re.search(passage.heading))
        shared = not passage.conditions or not set(passage.conditions) <= own
        background = aspect not in ("definition", "difference") and bool(
            background_re.search(passage.heading.split(" > ")[-1])
        )
        for pos, sent in enumerate(sentences(passage.body)):
            has_word = words_re is not None and found(words_re, sent)
            on_aspect = under_heading or has_word
            if require_aspect and not on_aspect:
                continue
            if exclude is not None and exclude(sent):
                continue
            if shared and exclude_shared is not None and exclude_shared(sent):
                continue
            overlap = len(q_terms & _terms(sent))
            # with no shared words, the opening sentences of the best passages still count
            score = (
                w.base
                + w.overlap * overlap
                + (w.number if found(_DIGIT, sent) else 0.0)
                - w.rank * rank
                - w.position * pos
            )
            if under_heading:
                score += w.aspect_heading
            if background:
                score -= w.background
            if has_word:
                score += w.aspect_word
            if want_negative and found(NEGATIVE_CUES, sent):
                score += w.negative_result
            scored.append((score, rank, pos, sent, passage))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    chosen: list[tuple[int, int, str, Passage]] = []
    counts: dict[str, int] = {}
    seen: set[str] = set()
    seen_terms: list[set[str]] = []

    def take(item: tuple[float, int, int, str, Passage]) -> bool:
        score, rank, pos, sent, passage = item
        # "NurOwn (US, phase 3): the main goal ..." and "The main goal ..." are one statement
        key = normalize(_ITEM_LABEL.sub("", sent))
        if key in seen or counts.get(passage.chunk_id, 0) >= per_passage or score <= 0:
            return False
        if any(key in s or s in key for s in seen):
            return False  # one statement holds the other (a pair and its first sentence)
        terms = _terms(sent) | set(re.findall(r"\d+", sent))  # every figure counts
        if any(says_the_same(terms, t) for t in seen_terms):
            return False  # two documents telling one fact in nearly the same words
        seen.add(key)
        seen_terms.append(terms)
        counts[passage.chunk_id] = counts.get(passage.chunk_id, 0) + 1
        chosen.append((rank, pos, sent, passage))
        return True

    for item in scored:
        if len(chosen) >= limit:
            break
        take(item)
    if want_negative and chosen and not any(NEGATIVE_CUES.search(s) for _, _, s, _ in chosen):
        negative = next((i for i in scored if NEGATIVE_CUES.search(i[3]) and i[0] > 0), None)
        if negative is not None:
            if len(chosen) >= limit:
                chosen.pop()
            take(negative)
    chosen.sort(key=lambda t: (t[0], t[1]))
    return [(s, p) for _, _, s, p in chosen]


class CitationBook:
    """Numbers passages in the order they are first cited."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_chunk: dict[str, int] = {}

    def marker(self, p: Passage) -> int:
        if p.chunk_id not in self._by_chunk:
            self._by_chunk[p.chunk_id] = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=self._by_chunk[p.chunk_id],
                    doc_id=p.doc_id,
                    chunk_id=p.chunk_id,
                    title=p.title,
                    url=p.url,
                    passage=clean_passage(p.body),
                    kind=p.kind,
                    date=p.date,
                    heading=p.heading,
                )
            )
        return self._by_chunk[p.chunk_id]
