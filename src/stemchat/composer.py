"""The answer composer: a turn plan in, a structured answer out.

Every answer opens with a direct reply to what was asked, built from reviewed statements (the
evidence map's bottom line, risks, proven care and outlook; the approval records; fixed replies
for general questions), each with its citation. Then the evidence strength and approvals of each
condition, the facts for the asked aspect (sentences from passages under the matching headings of
the condition's documents, or of the guidance documents), and next steps for the person asked
about: their specialist, proven care, and how to find a real trial.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from stemchat.answer import Answer, EvidenceLine, Section, Statement
from stemchat.claims import red_flags
from stemchat.compose import (
    NEGATIVE_CUES,
    CitationBook,
    expand_query,
    found,
    pick_sentences,
    split_sentences,
)
from stemchat.composer_config import aspect_sources, composer_config
from stemchat.corpus import approvals
from stemchat.corpus.approvals import (
    approval_line,
    approval_reply,
    approvals_summary,
    named_products,
    product_fact,
)
from stemchat.corpus.models import Approval, Condition, EvidenceMap
from stemchat.plan import Plan
from stemchat.retrieval import HybridSearch, Passage
from stemchat.texts import current_language, text, texts
from stemchat.understanding import normalize

POSSESSIVES = ("your", "her", "his", "their")
# a question about stopping or changing a treatment someone is on
_CHANGES_CARE = re.compile(
    r"\b(?:stop|stopping|quit|quitting|skip|skipping|come off|coming off|go off|drop|dropping|"
    r"give up|taper|cut down|reduce|halve|lower|replace|instead of|"
    # Spanish: "¿puedo dejar la insulina?", "¿bajo la dosis a la mitad?"
    r"dejar|dejo|deje|suspender|suspendo|suspenda|parar|paro|quitar(?:me|le)?|me quito|bajar(?:me|le)?|"
    r"bajo|me bajo|le bajo|reducir|reduzco|saltar(?:me|le)?|en vez de|en lugar de)\b"
    # "should I stop her?" is about a person's plan, not a medicine
    r"(?!\s+(?:her|him|them|you|us|me|going|from|my (?:mum|mom|mother|dad|father|wife|husband|"
    r"son|daughter|sister|brother|friend|partner|parents?)|a (?:mi|su) \w+|de (?:ir|viajar|pagar|buscar))\b)",
    re.I,
)
_DOSE = re.compile(
    r"\b(?:doses?|dosing|dosage|million cells|billion cells|cells per|per (?:kilogram|kg)|/kg|"
    r"mg|milligrams?)\b"
)
_SKIP_HEADINGS = re.compile(r"publish|sources|references|reading", re.I)
UNPROVEN = ("mixed", "early", "negative", "preclinical")
# aspects whose section holds only statements about them (risks, not just any finding)
# a price in a sentence, in English or Spanish ("$5,000", "2.2 millones de dólares")
_PRICE = re.compile(
    r"[$€£]\s?\d|\d\s?(?:million|dollars|euros|pounds|mill[oó]n(?:es)?|d[oó]lares|libras)\b",
    re.I,
)
FOCUSED = ("approval", "risks", "cost", "trial", "timing", "difference", "care", "clinic")


def evidence_line(c: Condition) -> EvidenceLine:
    """The two facts of one condition: how strong the evidence is, and what is approved where."""
    return EvidenceLine(
        c.id,
        c.name,
        c.tier.value,
        c.tier_label,
        c.tier_note,
        c.as_of,
        approvals=tuple(a.model_dump(exclude_none=True) for a in c.approvals),
        approval_line=approval_line(c),
    )


def not_covered_line(name: str) -> EvidenceLine:
    slug = normalize(name).replace(" ", "-") or "unknown"
    return EvidenceLine(
        slug,
        name,
        "not_covered",
        "Not covered by stemchat's sources",
        "",
        "",
        approval_line=approvals.not_covered_line(),
    )


def fixed(key: str) -> Statement:
    return Statement(text(key), (), "fixed", key=key)


def next_step_texts(c: Condition | None, possessive: str) -> dict[str, str]:
    """The next-step lines for one condition and person (templates in texts.yaml)."""
    words = texts()
    templates = words["next_steps"]
    values = {
        "possessive": words["possessives"].get(possessive, possessive),
        "possessive_object": words["objects"].get(possessive, words["objects"]["your"]),
        "specialist": c.specialist if c else words["objects"]["specialist"],
    }
    verbs = words.get("verbs") or {}
    several = f" {verbs.get('and', 'and')} " in values["specialist"]  # "neurologist and team"
    for verb in ("knows", "can"):
        values[verb] = str(verbs.get(f"{verb}_plural" if several else verb, verb))
    out = {k: str(v).format(**values) for k, v in templates.items()}
    return {k: v[0].upper() + v[1:] for k, v in out.items()}


def curated_texts(evidence: EvidenceMap) -> list[str]:
    """Every reviewed statement an answer may show as it is (the guard's allow-list)."""
    out: list[str] = [str(v) for v in texts()["replies"].values()]
    for region in (None, "US", "EU"):
        out.append(approvals_summary(evidence, region))
    out.append(evidence_summary(evidence))
    for c in evidence.conditions.values():
        for value in (c.bottom_line, c.risks, c.established_care, c.outlook):
            if value:
                out.append(value)
                parts = split_sentences(value)
                out += [parts[0], " ".join(parts[:2]), *parts[1:2]]
        out += [approval_reply(c), named_reply(c)]
        out += [product_fact(a) for a in c.approvals]
        for sentence in split_sentences(c.approval_note or ""):
            out += [sentence, _line_without(c, sentence)]
        for possessive in POSSESSIVES:
            out += next_step_texts(c, possessive).values()
    for possessive in POSSESSIVES:
        out += next_step_texts(None, possessive).values()
    return out


def evidence_summary(evidence: EvidenceMap) -> str:
    """Which conditions have proven or randomized evidence, from the evidence map."""
    established = [c.name for c in evidence.conditions.values() if c.tier.value == "established"]
    randomized = [c.name for c in evidence.conditions.values() if c.tier.value == "randomized"]
    words = texts()["evidence_summary"]
    parts = []
    if established:
        parts.append(str(words["established"]).format(names="; ".join(established)))
    if randomized:
        parts.append(str(words["randomized"]).format(names="; ".join(randomized)))
    parts.append(str(words["others"]))
    return " ".join(parts)


@dataclass
class Composer:
    """Builds the structured answer for a plan from one snapshot's search and evidence map."""

    searcher: HybridSearch
    evidence: EvidenceMap
    # both depend only on this snapshot's data: built once per statement or set of conditions
    _supports: dict[tuple[str, tuple[str, ...]], Passage | None] = field(
        default_factory=dict, repr=False
    )
    _exclusions: dict[tuple[str, tuple[str, ...]], Exclusion] = field(
        default_factory=dict, repr=False
    )

    def compose(self, plan: Plan) -> Answer:
        # the conditions as this composer's map words them (a translation's statements)
        plan = replace(
            plan, conditions=[self.evidence.conditions.get(c.id, c) for c in plan.conditions]
        )
        asked = plan.aspect
        if plan.uncovered and not plan.conditions and asked == "evidence":
            # no findings to give for a condition the sources do not cover: how to judge a clinic
            plan = replace(plan, aspect="clinic")
        book = CitationBook()
        notices: list[Statement] = []
        if plan.safety == "injection":
            notices.append(fixed("injection"))
        if plan.uncovered and plan.conditions:
            notices.append(fixed("not_covered"))
        notices += [
            Statement(str(texts()["clarify"][key]), (), "fixed", key="clarify")
            for key in plan.clarify
        ]
        evidence = [evidence_line(c) for c in plan.conditions]
        evidence += [not_covered_line(name) for name in plan.uncovered]
        if not evidence:
            notices.append(fixed("general_tier_line"))
        reply = self._reply(plan, book)
        sections: list[Section] = []
        if plan.intent == "clinic_claim":
            sections.append(self._claim(plan, book))
        findings = self._findings(plan)
        reply_text = {normalize(s.text) for s in reply}
        statements = tuple(
            Statement(s, (book.marker(p),), "passage", doc_id=p.doc_id)
            for s, p in findings
            if normalize(s) not in reply_text
        )
        titles = texts()["section_titles"]
        sections.append(
            Section(plan.aspect, str(titles[plan.aspect]), statements or (fixed("no_passages"),))
        )
        if plan.also and plan.also != plan.aspect and plan.conditions:
            # a two-part question ("how much is it, and is it safe?"): the second part too
            said = reply_text | {normalize(s.text) for s in statements}
            second = tuple(
                Statement(s, (book.marker(p),), "passage", doc_id=p.doc_id)
                for s, p in self._findings(replace(plan, aspect=plan.also, also=""))[:3]
                if normalize(s) not in said
            )
            if second:
                sections.append(Section(plan.also, str(titles[plan.also]), second))
        if (
            not statements
            and plan.aspect in FOCUSED
            and (plan.conditions or plan.aspect == "difference")
        ):
            # nothing on this aspect in the sources: say so, then what they do say (for "X or
            # Y?" about no condition, what each one is)
            fallback = "evidence" if plan.conditions else "definition"
            general = tuple(
                Statement(s, (book.marker(p),), "passage", doc_id=p.doc_id)
                for s, p in self._findings(replace(plan, aspect=fallback))
                if normalize(s) not in reply_text
            )
            if general:
                sections.append(Section(fallback, str(titles[fallback]), general))
        steps = tuple(
            s for s in self._next_steps(plan, book) if normalize(s.text) not in reply_text
        )
        sections.append(Section("next", str(titles["next"]), steps))
        return Answer(
            question=plan.question,
            notices=notices,
            evidence=evidence,
            reply=reply,
            sections=sections,
            citations=book.citations,
            safety=plan.safety,
            conditions=plan.condition_ids,
            intent=plan.intent,
            aspect=asked,
        )

    # -- the direct reply ---------------------------------------------------------------------
    def _reply(self, plan: Plan, book: CitationBook) -> list[Statement]:
        out: list[Statement] = []
        conditions = plan.conditions
        if plan.uncovered and not conditions:
            out.append(fixed("not_covered"))
        personal: list[Statement] = []
        if plan.safety == "personal_advice":
            if _CHANGES_CARE.search(plan.query):
                # "should I stop my insulin?": keep the treatment is the first thing said
                out.append(fixed("personal_advice"))
            else:
                personal.append(self._general("personal", book, ("guide-keep-established-care",)))
            if conditions and conditions[0].specialist:
                line = next_step_texts(conditions[0], plan.possessive)["specialist"]
                personal.append(self._curated(line, book, tuple(composer_config().care_guides)))
        if plan.aspect in ("approval", "difference", "definition", "evidence"):
            for a in _main_records(named_products(plan.query, self.evidence)):
                out.append(self._curated(product_fact(a), book, (a.document,)))
        return out + self._main_reply(plan, book) + personal

    def _main_reply(self, plan: Plan, book: CitationBook) -> list[Statement]:
        out: list[Statement] = []
        conditions = plan.conditions
        if not conditions:
            return self._general_reply(plan, book)
        several = len(conditions) > 1
        if plan.aspect in ("cost", "trial", "clinic"):
            # the question is about money, trials or clinics: that reply first, once, then where
            # each condition's evidence stands
            out += self._aspect_reply(plan, book)
            for c in conditions[:3]:
                if c.bottom_line:
                    # without its "Yes, for some people." opener, which would read as the answer
                    # to "does Medicaid cover it?"
                    first = self._first(c.bottom_line, True, bare=True)
                    out.append(self._curated(first, book, tuple(c.key_documents)))
            return out
        if plan.aspect == "difference":
            out += self._passage_reply(plan, book, conditions, 2)
            out += self._named_care(plan, book)
        if plan.trial_hint and plan.aspect == "evidence" and not several:
            out += self._passage_reply(plan, book, conditions, 2, want_result=True)
        for c in conditions[:3]:
            out += self._condition_reply(plan, c, book, short=several)
        return out

    def _aspect_reply(self, plan: Plan, book: CitationBook) -> list[Statement]:
        """The reply to a cost, trial or clinic question about named conditions."""
        aspect = plan.aspect
        guides = tuple(composer_config().aspect_sources[aspect].guides)  # type: ignore[index]
        c = plan.conditions[0]
        unproven = all(x.tier.value in UNPROVEN for x in plan.conditions)
        out: list[Statement] = []
        if aspect == "cost":
            # the condition's own prices first (a proven treatment's cost is not a clinic's)
            priced = [(s, p) for s, p in self._aspect_sentences(plan, 3) if _PRICE.search(s)]
            out += [self._passage(s, p, book) for s, p in priced[:2]]
            if unproven or not priced:
                out.append(self._general("cost", book, guides))
            return out
        out.append(self._general(aspect, book, guides))
        if aspect == "trial" and c.specialist:
            line = next_step_texts(c, plan.possessive)["trial_specialist"]
            out.append(self._curated(line, book, ("guide-finding-a-trial",)))
        return out

    def _keep_out(self, plan: Plan) -> dict[str, object]:
        """The keyword arguments that keep other conditions' stories out of pick_sentences."""
        exclude = self._other_conditions(plan)
        if plan.safety == "personal_advice":
            # a personal request ("how many cells should I ask for?") never gets a trial's dose,
            # which would read as the answer to it
            exclude = Exclusion.dose(exclude)
        if plan.possessive != "your":
            exclude = Exclusion.adding(exclude, _TO_THE_READER)
        return {
            "exclude": exclude,
            "exclude_shared": self._other_products(plan),
            "own": set(plan.condition_ids),
        }

    def _aspect_sentences(self, plan: Plan, limit: int) -> list[tuple[str, Passage]]:
        """The best statements about the asked aspect in the conditions' own documents."""
        docs = tuple(d for c in plan.conditions for d in c.key_documents)
        passages = self.searcher.search(turn_query(plan), k=6, doc_ids=docs)
        return pick_sentences(
            plan.query,
            passages,
            plan.conditions,
            limit=limit,
            aspect=plan.aspect,
            require_aspect=True,
            **self._keep_out(plan),  # type: ignore[arg-type]
        )

    def _passage_reply(
        self,
        plan: Plan,
        book: CitationBook,
        conditions: Sequence[Condition],
        limit: int,
        *,
        want_result: bool = False,
    ) -> list[Statement]:
        """Statements that answer the turn itself: how two things differ, what a named trial
        found. Drawn from the conditions' own documents (a named trial's record first)."""
        docs = [d for c in conditions for d in c.key_documents]
        if plan.trial_hint:
            docs.sort(key=lambda d: not d.startswith("trial-"))
        q = turn_query(plan)
        passages = self.searcher.search(q, k=6, doc_ids=tuple(dict.fromkeys(docs)))
        picked = pick_sentences(
            plan.query,
            passages,
            conditions,
            limit=limit + 2,
            extra_terms=plan.trial_hint,
            aspect=plan.aspect,
            require_aspect=plan.aspect in FOCUSED,
            want_negative=want_result,
            **self._keep_out(plan),  # type: ignore[arg-type]
        )
        if want_result and passages:
            # what the named trial found: results from the document that matched it best
            best = passages[0].doc_id
            picked = [
                (s, p)
                for s, p in picked
                if p.doc_id == best and (NEGATIVE_CUES.search(s) or re.search(r"\d", s))
            ] or picked
        return [self._passage(s, p, book) for s, p in picked[:limit]]

    def _named_care(self, plan: Plan, book: CitationBook) -> list[Statement]:
        """A comparison with a proven treatment the question names ("Ryoncil vs ruxolitinib"):
        the condition's reviewed proven-care statement names it."""
        asked = {w for w in normalize(plan.query).split() if len(w) >= 6}
        out = []
        for c in plan.conditions:
            named = asked - set(normalize(c.name).split())
            if c.established_care and named & set(normalize(c.established_care).split()):
                out.append(self._curated(c.established_care, book, tuple(c.key_documents)))
        return out

    def _passage(self, sentence: str, passage: Passage, book: CitationBook) -> Statement:
        return Statement(sentence, (book.marker(passage),), "passage", doc_id=passage.doc_id)

    def _condition_reply(
        self, plan: Plan, c: Condition, book: CitationBook, *, short: bool
    ) -> list[Statement]:
        aspect = plan.aspect
        docs = tuple(c.key_documents)
        if aspect == "approval":
            document = next((a.document for a in c.approvals), None)
            where = (document,) if document else docs
            named = _named_in_note(c, plan.query)
            if named and not named_products(plan.query, self.evidence):
                # "is NurOwn approved?": what the record says of that product, then the
                # condition's approvals (not "only in South Korea", which reads as NurOwn's)
                rest = _line_without(c, named)
                return [self._curated(named, book, docs), self._curated(rest, book, where)]
            # several conditions: each reply names its own ("Chronic GVHD: No. ...")
            reply = named_reply(c) if short else approval_reply(c)
            return [self._curated(reply, book, where)]
        if aspect == "risks" and c.risks:
            return [self._curated(self._first(c.risks, short), book, docs)]
        if aspect == "care" and c.established_care:
            return [self._curated(self._first(c.established_care, short), book, docs)]
        if aspect == "timing" and c.outlook:
            status = approval_reply(c)
            document = next((a.document for a in c.approvals), None)
            return [
                self._curated(self._first(c.outlook, short), book, docs),
                self._curated(status, book, (document,) if document else docs),
            ]
        out = (
            [self._curated(self._first(c.bottom_line, short), book, docs)] if c.bottom_line else []
        )
        if aspect == "worth" and not short:
            if c.risks:
                out.append(self._curated(self._first(c.risks, True), book, docs))
            key = "worth_unproven" if c.tier.value in UNPROVEN else "worth_proven"
            out.append(
                self._general(key, book, ("guide-evaluating-a-clinic", "guide-costs-and-refunds"))
            )
        return out

    def _general_reply(self, plan: Plan, book: CitationBook) -> list[Statement]:
        aspect = plan.aspect
        config = composer_config()
        if plan.uncovered:
            return [self._general("clinic", book, tuple(config.not_covered_guides))]
        if aspect == "approval":
            region = _region(plan.query)
            summary = approvals_summary(self.evidence, region)
            return [self._curated(summary, book, _approval_docs(self.evidence, region))]
        if aspect in ("cost", "trial", "clinic", "timing", "worth"):
            key = "worth_unproven" if aspect == "worth" else aspect
            guides = tuple(config.aspect_sources[aspect].guides)  # type: ignore[index]
            return [self._general(key, book, guides)]
        if aspect in ("definition", "difference"):
            guides = tuple(config.aspect_sources[aspect].guides)  # type: ignore[index]
            passages = self.searcher.search(turn_query(plan), k=4, doc_ids=guides)
            picked = pick_sentences(plan.query, passages, [], limit=2, aspect=aspect)
            return [self._passage(s, p, book) for s, p in picked]
        summary = evidence_summary(self.evidence)
        return [
            self._curated(summary, book, ("guide-what-is-a-stem-cell", "overview-blood-cancers"))
        ]

    def _first(self, value: str, short: bool, bare: bool = False) -> str:
        """The whole statement, or its opening when space is short ("Yes, for some people." is
        no opening on its own: it keeps the sentence after it, or gives way to it when `bare`)."""
        if not short:
            return value
        parts = split_sentences(value)
        if len(parts[0].split()) < 6 and len(parts) > 1:
            return parts[1] if bare else " ".join(parts[:2])
        return parts[0]

    def _support(self, statement: str, docs: Iterable[str | None]) -> Passage | None:
        ids = tuple(d for d in docs if d)
        if not ids:
            return None
        key = (statement, ids)
        if key not in self._supports:  # reviewed statements recur answer after answer
            # words, not meaning: the statement paraphrases its source, and no embedding is spent
            hits = self.searcher.search(statement, k=1, doc_ids=ids, mode="bm25")
            self._supports[key] = hits[0] if hits else None
        return self._supports[key]

    def _curated(self, statement: str, book: CitationBook, docs: Iterable[str | None]) -> Statement:
        p = self._support(statement, docs)
        return Statement(
            statement, (book.marker(p),) if p else (), "curated", p.doc_id if p else ""
        )

    def _general(self, key: str, book: CitationBook, docs: Sequence[str]) -> Statement:
        statement = str(texts()["replies"][key])
        p = self._support(statement, docs)
        cites = (book.marker(p),) if p else ()
        return Statement(statement, cites, "curated", p.doc_id if p else "", key=key)

    # -- the facts for the aspect ---------------------------------------------------------------
    def _findings(self, plan: Plan) -> list[tuple[str, Passage]]:
        chosen: list[tuple[str, Passage]] = []
        seen: set[str] = set()
        exclusions = self._keep_out(plan)
        own_risks = 0
        for passages, limit in self.pools(plan):
            guide = bool(passages) and not passages[0].conditions
            if (
                plan.aspect == "risks"
                and plan.conditions
                and guide
                and own_risks >= 2
                and not _CLINIC_CONTEXT.search(plan.query)
            ):
                # the condition's own documents name its risks: no general clinic-harm stories
                # (infections in Texas, an exosome warning) padded onto every risk answer
                continue
            for sent, passage in pick_sentences(
                plan.query,
                passages,
                plan.conditions,
                limit=limit,
                extra_terms=plan.trial_hint,
                want_negative=bool(plan.conditions) and plan.aspect in ("evidence", "worth"),
                per_passage=composer_config().limits.per_passage,
                aspect=plan.aspect,
                require_aspect=plan.aspect in FOCUSED,
                **exclusions,  # type: ignore[arg-type]
            ):
                key = normalize(sent)
                if key not in seen:
                    seen.add(key)
                    chosen.append((sent, passage))
                    own_risks += not guide
        return chosen

    def _other_conditions(self, plan: Plan) -> Exclusion | None:
        """Sentences about conditions the turn is not about: one naming another condition ("a
        survey of heart failure clinics") or a body part only others concern (a clinic's eye
        injuries in a heart answer) is another condition's story, not this answer's."""
        if not plan.conditions:
            return None
        key = ("conditions", tuple(plan.condition_ids))
        if key not in self._exclusions:
            wanted = set(plan.condition_ids)
            own = [n for c in plan.conditions for n in _names(c)]
            names = frozenset(
                n
                for c in self.evidence.conditions.values()
                if c.id not in wanted
                for n in _names(c)
                if not any(n in o or o in n for o in own)
            )
            topics = tuple(
                re.compile(t.words, re.I)
                for t in composer_config().topics
                if not wanted & set(t.conditions)
            )
            self._exclusions[key] = Exclusion(self._names, names, topics)
        return self._exclusions[key]

    def _other_products(self, plan: Plan) -> Exclusion | None:
        """Products approved for conditions the turn is not about ("Alofisel" in a knee answer):
        a shared document's sentence about one is another condition's story."""
        if not plan.conditions:
            return None
        key = ("products", tuple(plan.condition_ids))
        if key not in self._exclusions:
            wanted = set(plan.condition_ids)
            own = {_product(a.product) for c in plan.conditions for a in c.approvals}
            names = frozenset(
                _product(a.product)
                for c in self.evidence.conditions.values()
                if c.id not in wanted
                for a in c.approvals
            )
            self._exclusions[key] = Exclusion(self._names, names - own, ())
        return self._exclusions[key]

    @cached_property
    def _names(self) -> NameIndex:
        """Every condition's and product's plain names, found in sentences by word n-grams."""
        names = {n for c in self.evidence.conditions.values() for n in _names(c)}
        names |= {
            _product(a.product) for c in self.evidence.conditions.values() for a in c.approvals
        }
        return NameIndex(frozenset(names))

    def pools(self, plan: Plan) -> list[tuple[list[Passage], int]]:
        """The passage pools an answer draws from, each with how many sentences it may give."""
        config = composer_config()
        limits = config.limits
        search = self.searcher.search
        aspect = plan.aspect
        sources = aspect_sources(current_language())[aspect]
        query = turn_query(plan)
        vector = self.searcher.embed(query)  # one meaning for every pool of the turn
        pools: list[tuple[list[Passage], int]] = []
        if plan.uncovered and not plan.conditions:
            docs = tuple(config.not_covered_guides)
            pools.append((search(query, k=4, doc_ids=docs), limits.guidance))
        wanted = set(plan.condition_ids)
        for cond in plan.conditions:
            q = turn_query(plan, cond)
            hits = search(q, k=6, conditions=[cond.id], filter_conditions=True, query_vector=vector)
            key = search(q, k=4, doc_ids=tuple(cond.key_documents), query_vector=vector)
            about = [p for p in _merge(key, hits) if not p.conditions or wanted & set(p.conditions)]
            trials = tuple(d for d in cond.key_documents if d.startswith("trial-"))
            if plan.trial_hint and trials:
                # "which trial was that?", "the placebo trial": the trial's own record first
                named = _merge(search(q, k=3, doc_ids=trials, query_vector=vector))
                about = named + [p for p in about if p.chunk_id not in {n.chunk_id for n in named}]
            n = (
                limits.findings_one_condition
                if len(plan.conditions) == 1
                else limits.findings_per_condition
            )
            pools.append((about, n))
        if (
            sources.guides
            and plan.intent != "clinic_claim"
            and (not plan.conditions or aspect not in ("evidence", "approval", "care"))
        ):
            n = limits.guidance if not plan.conditions else max(1, limits.guidance - 1)
            pools.append((search(query, k=4, doc_ids=tuple(sources.guides)), n))
        if not plan.conditions and not plan.uncovered:
            # a general question: the whole corpus, not only the aspect's guidance documents
            pools.append((search(query), 2 if sources.guides else 4))
        return pools

    # -- red flags of a pasted claim ------------------------------------------------------------
    def _claim(self, plan: Plan, book: CitationBook) -> Section:
        items = [fixed("claim_intro")]
        flags = red_flags(plan.query)
        for flag in flags:
            hits = self.searcher.search(
                flag.query, k=1, doc_ids=tuple(composer_config().claim_guides)
            )
            cites = (book.marker(hits[0]),) if hits else ()
            items.append(Statement(flag.label, cites, "fixed", key="red_flag"))
        if not flags:
            items.append(fixed("no_claim_flags"))
        return Section("claim", text("claim_heading"), tuple(items))

    # -- next steps for this person -------------------------------------------------------------
    def _next_steps(self, plan: Plan, book: CitationBook) -> tuple[Statement, ...]:
        c = plan.conditions[0] if plan.conditions else None
        lines = next_step_texts(c, plan.possessive)
        care = tuple(composer_config().care_guides)
        out: list[Statement] = []
        if c is not None and c.specialist:
            out.append(self._curated(lines["specialist"], book, care))
            if c.established_care and plan.aspect != "care":
                out.append(self._curated(c.established_care, book, tuple(c.key_documents)))
        unproven = c is None or c.tier.value in UNPROVEN
        if unproven and plan.aspect in ("timing", "evidence", "worth", "risks"):
            out.append(self._curated(lines["trial"], book, ("guide-finding-a-trial",)))
        if plan.aspect in ("worth", "clinic", "cost") or plan.intent == "clinic_claim":
            out.append(self._curated(lines["clinic"], book, ("guide-evaluating-a-clinic",)))
        out.append(self._curated(lines["keep_care"], book, care))
        return tuple(out)


def _names(c: Condition) -> list[str]:
    """The plain names that identify a condition in a sentence (long enough to be unambiguous),
    normalized ("Crohn's disease" -> "crohns disease")."""
    short = re.split(r" \(|: ", c.name)[0]
    out = [short] + [s for s in c.synonyms if len(s) >= 6 and " " in s.strip()]
    return [n for n in (normalize(x) for x in out) if len(n) >= 6]


_POSSESSIVE_S = re.compile(r"['’]s\b")


class NameIndex:
    """Finds known names in a sentence by its normalized word n-grams (no giant regex)."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.longest = max((len(n.split()) for n in names), default=1)
        self._found: dict[str, frozenset[str]] = {}

    def found(self, sentence: str) -> frozenset[str]:
        got = self._found.get(sentence)
        if got is None:
            # a possessive names the product too ("Alofisel's authorisation")
            words = normalize(_POSSESSIVE_S.sub("", sentence)).split()
            got = frozenset(
                gram
                for size in range(1, self.longest + 1)
                for i in range(len(words) - size + 1)
                if (gram := " ".join(words[i : i + size])) in self.names
            )
            if len(self._found) < 65536:
                self._found[sentence] = got
        return got


@dataclass(frozen=True)
class Exclusion:
    """Which sentences belong to another condition's story: they name one of `names`, or use
    a body-part word of `topics`; `extra` adds a pattern of its own (doses)."""

    index: NameIndex
    names: frozenset[str]
    topics: tuple[re.Pattern[str], ...]
    extra: re.Pattern[str] | None = None

    def __call__(self, sentence: str) -> bool:
        if self.names and self.index.found(sentence) & self.names:
            return True
        if self.extra is not None and self.extra.search(sentence):
            return True
        return any(found(t, sentence) for t in self.topics)

    @staticmethod
    def dose(other: Exclusion | None) -> Exclusion:
        """`other`, and any sentence that gives a dose."""
        return Exclusion.adding(other, _DOSE)

    @staticmethod
    def adding(other: Exclusion | None, pattern: re.Pattern[str]) -> Exclusion:
        """`other`, and any sentence `pattern` finds."""
        if other is None:
            return Exclusion(NameIndex(frozenset()), frozenset(), (), pattern)
        return replace(other, extra=_either(other.extra, pattern))


@lru_cache(maxsize=16)
def _either(a: re.Pattern[str] | None, b: re.Pattern[str]) -> re.Pattern[str]:
    return b if a is None or a is b else re.compile(f"(?:{a.pattern})|(?:{b.pattern})", re.I)


# A risk question about a clinic or a trip abroad: the harms seen at clinics are its answer
_CLINIC_CONTEXT = re.compile(
    r"\b(?:clinics?|abroad|overseas|offshore|mexico|tijuana|cancun|panama|costa rica|colombia|"
    r"bahamas|cayman|dominican|ukraine|thailand|china|india|turkey|germany|wellness|spa|med ?spa)\b",
    re.I,
)

# Advice addressed to the reader ("If you have a Crohn's fistula, your surgeon ..."): in an
# answer about someone else it speaks to the wrong person, and next steps say it for them
_TO_THE_READER = re.compile(r"^(?:if you\b|you (?:can|should|may|might)\b|your\b)", re.I)


# Capitalised words of an approval note that are places, regulators or months, not products
_NOT_PRODUCTS = frozenset(
    [
        "fda",
        "ema",
        "us",
        "eu",
        "uk",
        "japan",
        "japans",
        "korea",
        "south",
        "india",
        "europe",
        "european",
        "switzerland",
        "israel",
        "canada",
        "china",
        "taiwan",
        "australia",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "these",
        "this",
        "the",
        "in",
        "one",
        "licensed",
    ]
)
_PRODUCT_WORD = re.compile(r"\b[A-Z][\w-]{3,}|\b[a-z]+cel(?:-[A-Z])?\b")


def named_reply(c: Condition) -> str:
    """The approval reply led by the condition's short name, for answers about several."""
    return f"{c.name.split(' (')[0]}: {approval_reply(c)}"


def _line_without(c: Condition, sentence: str) -> str:
    """A condition's approval line without one sentence of its note (said just before it)."""
    return re.sub(r"\s{2,}", " ", approval_line(c).replace(sentence, "")).strip()


def _named_in_note(c: Condition, query: str) -> str | None:
    """The sentence of a condition's approval note about a product the question names, when
    that product has no approval record ("NurOwn's application was withdrawn ...")."""
    asked = set(normalize(_POSSESSIVE_S.sub("", query)).split())
    for sentence in split_sentences(c.approval_note or ""):
        for word in _PRODUCT_WORD.findall(_POSSESSIVE_S.sub("", sentence)):
            name = normalize(word)
            if (
                name not in _NOT_PRODUCTS
                and set(name.split()) <= asked
                and name not in normalize(c.name)
            ):
                return sentence
    return None


def _main_records(records: list[Approval]) -> list[Approval]:
    """A named product's records to show: the US and EU ones first, at most three."""
    order = {"US": 0, "EU": 1}
    return sorted(records, key=lambda a: order.get(a.where, 2))[:3]


def _product(name: str) -> str:
    """A product's own name, without its maker or form ("Alofisel (darvadstrocel)" -> "alofisel")."""
    return re.split(r"[\s(,]", name.strip(), maxsplit=1)[0].lower()


def turn_query(plan: Plan, cond: Condition | None = None) -> str:
    """The one search text of a turn (one embedding serves every pool): the question, the words
    sources use for it, a loosely named trial, the aspect's words, and the condition's name when
    the question does not carry it (a follow-up) or names several."""
    parts = [expand_query(plan.query)]
    if plan.trial_hint:
        parts.append(f"{plan.trial_hint} trial")
    parts.append(aspect_terms(plan.aspect))
    if cond is not None and (plan.carried or len(plan.conditions) > 1):
        parts.append(cond.name)
    return " ".join(p for p in parts if p)


def aspect_terms(aspect: str) -> str:
    """Words that pull the aspect's passages up in retrieval (composer.yaml, `search`)."""
    sources = aspect_sources(current_language()).get(aspect)
    return sources.search if sources else ""


def _region(query: str) -> str | None:
    q = f" {query} "
    if re.search(
        r"\b(?:fda|us|u\.s\.|usa|united states|america|estados unidos|ee\.? ?uu\.?|eeuu)\b", q, re.I
    ):
        return "US"
    if re.search(r"\b(?:ema|eu|europe|european|europa|europea|ue|uni[oó]n europea)\b", q, re.I):
        return "EU"
    return None


def _approval_docs(evidence: EvidenceMap, region: str | None) -> tuple[str, ...]:
    docs = [
        a.document
        for c in evidence.conditions.values()
        for a in c.approvals
        if a.status == "active" and (region is None or a.where == region)
    ]
    return tuple(dict.fromkeys(docs))


def _merge(*lists: list[Passage]) -> list[Passage]:
    """Passages from several searches, best score first, without repeats or citation-only sections."""
    best: dict[str, Passage] = {}
    for passages in lists:
        for p in passages:
            if _SKIP_HEADINGS.search(p.heading):
                continue
            if p.chunk_id not in best or p.score > best[p.chunk_id].score:
                best[p.chunk_id] = p
    return sorted(best.values(), key=lambda p: (-p.score, p.chunk_id))
