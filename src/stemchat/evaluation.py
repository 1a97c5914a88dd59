"""`stemchat eval`: gold questions through stemchat, a tutorial-RAG baseline and ablations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from stemchat.answer import Answer, Citation, Section, Statement
from stemchat.engine import Conversation, Engine
from stemchat.errors import ConfigError
from stemchat.guard import Rules, check, supported
from stemchat.metrics import hit_at_k, mean, percentile, precision_recall, reciprocal_rank
from stemchat.readability import reading_grade
from stemchat.settings import Settings
from stemchat.texts import disclaimer, texts

SAFETY_CLASSES = ("emergency", "crisis", "personal_advice", "out_of_scope", "injection")
REFUSALS = {"emergency", "crisis", "out_of_scope", "injection"}


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    safety: str = "none"
    conditions: list[str] | None = None
    tiers: dict[str, str] = Field(default_factory=dict)
    intent: str | None = None
    cite_any: list[str] = Field(default_factory=list)
    must_include: list[str] = Field(default_factory=list)
    must_not_include: list[str] = Field(default_factory=list)
    # what the last turn asks (evidence, approval, worth, risks, cost, trial, timing, difference,
    # definition, clinic, care) and the facts a good answer gives for it; each fact is a list of
    # acceptable short phrasings (any one, case-insensitive)
    aspect: str | None = None
    reply_facts: list[list[str]] = Field(default_factory=list)
    aspect_facts: list[list[str]] = Field(default_factory=list)


class GoldCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    turns: list[str] = Field(min_length=1)
    expect: Expect
    tags: list[str] = Field(default_factory=list)


def load_gold(path: Path) -> list[GoldCase]:
    """Read and validate the gold file; a bad case names its id and field."""
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read gold questions ({exc}); fix the file") from None
    cases = []
    for i, raw in enumerate((data or {}).get("cases", [])):
        try:
            cases.append(GoldCase.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            cid = raw.get("id", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
            raise ConfigError(f"{path}: case {cid}: field {where}: {err['msg']}") from None
    if not cases:
        raise ConfigError(f"{path}: no cases found under 'cases:'")
    return cases


@dataclass
class CaseResult:
    case: GoldCase
    answer: Answer
    ranked_docs: list[str]
    latency_ms: float
    guard_ok: bool = True
    problems: list[str] = field(default_factory=list)


System = Callable[[str, Conversation], Answer]


def got_tiers(answer: Answer) -> dict[str, str]:
    return {
        ("not_covered" if e.tier == "not_covered" else e.condition): e.tier for e in answer.evidence
    }


def run_system(
    answer_fn: System,
    rank_fn: Callable[[str, Conversation], list[str]],
    cases: list[GoldCase],
    rules: Rules | None = None,
) -> list[CaseResult]:
    """Run every case's turns in one conversation; score the last turn."""
    results = []
    for case in cases:
        conv = Conversation()
        for turn in case.turns[:-1]:
            answer_fn(turn, conv)
        ranked = rank_fn(case.turns[-1], conv)
        started = time.perf_counter()
        answer = answer_fn(case.turns[-1], conv)
        latency = (time.perf_counter() - started) * 1000
        result = check(answer, rules)
        results.append(CaseResult(case, answer, ranked, latency, result.ok, list(result.problems)))
    return results


def _has(text: str, phrasings: list[str]) -> bool:
    low = text.lower().replace("\\", "")
    return any(p.lower() in low for p in phrasings)


def answer_quality(
    answer: Answer, expect: Expect, doc_conditions: dict[str, tuple[str, ...]] | None = None
) -> dict[str, float | None]:
    """How well one answer answers (None: the case does not measure it).

    direct_answer: the reply (the answer's opening) states every expected reply fact.
    aspect_coverage: the answer states every expected fact of the asked aspect.
    self_contained: share of passage sentences that read on their own (no "it", "the trial"
    left hanging, no label fragments).
    off_topic: share of passage sentences cited from documents about other conditions only.
    generic_closing: neither the next steps nor the reply name the condition's own specialist.
    """
    from stemchat.compose import stands_alone

    reply = " ".join(s.text for s in answer.reply)
    out: dict[str, float | None] = {
        "direct_answer": (
            float(all(_has(reply, f) for f in expect.reply_facts)) if expect.reply_facts else None
        ),
        "aspect_coverage": (
            float(all(_has(answer.answer, f) for f in expect.aspect_facts))
            if expect.aspect_facts
            else None
        ),
        "aspect_accuracy": (
            float(answer.aspect == expect.aspect)
            if expect.aspect and answer.intent not in ("safety", "greeting")
            else None
        ),
    }
    passage = [
        st
        for sec in answer.sections
        for st in sec.statements
        if st.origin in ("passage", "rephrased")
    ]
    out["self_contained"] = (
        mean([float(stands_alone(st.text)) for st in passage]) if passage else None
    )
    if doc_conditions is not None and passage and answer.conditions:
        own = set(answer.conditions)
        off = [
            float(bool(doc_conditions.get(st.doc_id)) and not own & set(doc_conditions[st.doc_id]))
            for st in passage
        ]
        out["off_topic"] = mean(off)
    else:
        out["off_topic"] = None
    nxt = next((sec for sec in answer.sections if sec.key == "next"), None)
    if nxt is not None and answer.conditions:
        # the specialist line may have moved up into the reply ("should I stop...?")
        text = " ".join(st.text for st in [*answer.reply, *nxt.statements])
        opening = str(texts(answer.language)["next_steps"]["specialist"]).split("{")[0]
        out["generic_closing"] = float(opening.strip().lower() not in text.lower())
    else:
        out["generic_closing"] = None
    return out


def score(
    results: list[CaseResult], doc_conditions: dict[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """Every metric of the report, from per-case results."""
    quality: dict[str, list[float]] = {}
    tiers, conds, recall, rr, phrases, grounding, grades, lat = [], [], [], [], [], [], [], []
    reply_grades: list[float] = []
    pairs: list[tuple[str, str]] = []
    over_refused = []
    for r in results:
        e, a = r.case.expect, r.answer
        pairs.append((e.safety, a.safety))
        got = got_tiers(a)
        if e.tiers:
            tiers.append(float(all(got.get(k) == v for k, v in e.tiers.items())))
        if e.conditions is not None:
            expected = {c for c in e.conditions}
            conds.append(float(expected == set(got)))
        if e.cite_any:
            recall.append(hit_at_k(r.ranked_docs, set(e.cite_any), 5))
            rr.append(reciprocal_rank(r.ranked_docs, set(e.cite_any)))
        body = a.answer.lower()
        phrases.append(
            float(
                all(p.lower() in body for p in e.must_include)
                and not any(p.lower() in body for p in e.must_not_include)
            )
        )
        by_n = {c.n: c for c in a.citations}
        for st in a.statements():
            if st.cites and st.origin in ("passage", "rephrased"):
                grounding.append(
                    float(any(m in by_n and supported(st.text, by_n[m].passage) for m in st.cites))
                )
        for key, value in answer_quality(a, e, doc_conditions).items():
            if value is not None:
                quality.setdefault(key, []).append(value)
        grades.append(reading_grade(a.answer, a.language))
        if a.reply:
            reply_grades.append(reading_grade(" ".join(st.text for st in a.reply), a.language))
        lat.append(r.latency_ms)
        if "over_refusal" in r.case.tags:
            over_refused.append(float(a.safety in REFUSALS))
    return {
        "guard_compliance": mean([float(r.guard_ok) for r in results]),
        "tier_accuracy": mean(tiers),
        "recall@5": mean(recall),
        "mrr": mean(rr),
        "condition_accuracy": mean(conds),
        "safety": {c: precision_recall(pairs, c) for c in SAFETY_CLASSES},
        "over_refusal": mean(over_refused),
        "grounding_rate": mean(grounding),
        "phrase_pass_rate": mean(phrases),
        "readability_grade": mean(grades),
        "reply_readability_grade": mean(reply_grades),
        **{
            key: round(mean(quality.get(key, [])), 4)
            for key in (
                "direct_answer",
                "aspect_coverage",
                "aspect_accuracy",
                "self_contained",
                "off_topic",
                "generic_closing",
            )
        },
        "latency_p50_ms": round(percentile(lat, 50), 2) if lat else 0.0,
        "latency_p95_ms": round(percentile(lat, 95), 2) if lat else 0.0,
    }


def failures(results: list[CaseResult], limit: int = 200) -> list[dict[str, Any]]:
    out = []
    for r in results:
        e, a = r.case.expect, r.answer
        got = got_tiers(a)
        why = []
        if e.safety != a.safety:
            why.append(f"safety {a.safety} (expected {e.safety})")
        if e.conditions is not None and set(e.conditions) != set(got):
            why.append(f"conditions {sorted(got)} (expected {sorted(e.conditions)})")
        if e.tiers and any(got.get(k) != v for k, v in e.tiers.items()):
            why.append(f"tiers {got} (expected {e.tiers})")
        if e.cite_any and not hit_at_k(r.ranked_docs, set(e.cite_any), 5):
            why.append(f"none of {e.cite_any} in top 5 {r.ranked_docs[:5]}")
        body = a.answer.lower()
        missing = [p for p in e.must_include if p.lower() not in body]
        banned = [p for p in e.must_not_include if p.lower() in body]
        if missing:
            why.append(f"missing phrases {missing}")
        if banned:
            why.append(f"forbidden phrases {banned}")
        if not r.guard_ok:
            why.append(f"guard: {r.problems[0]}")
        reply = " ".join(st.text for st in a.reply)
        if e.aspect and a.intent not in ("safety", "greeting") and a.aspect != e.aspect:
            why.append(f"aspect {a.aspect} (expected {e.aspect})")
        missed = [f for f in e.reply_facts if not _has(reply, f)]
        if missed:
            why.append(f"reply lacks {missed}")
        uncovered = [f for f in e.aspect_facts if not _has(a.answer, f)]
        if uncovered:
            why.append(f"answer lacks {uncovered}")
        if why:
            out.append({"id": r.case.id, "question": r.case.turns[-1][:300], "problems": why})
    return out[:limit]


def by_condition(results: list[CaseResult]) -> dict[str, dict[str, float]]:
    """Tier accuracy and recall@5 per expected condition (for the report's chart)."""
    acc: dict[str, list[float]] = {}
    rec: dict[str, list[float]] = {}
    for r in results:
        got = got_tiers(r.answer)
        for cond, tier in r.case.expect.tiers.items():
            acc.setdefault(cond, []).append(float(got.get(cond) == tier))
            if r.case.expect.cite_any:
                rec.setdefault(cond, []).append(
                    hit_at_k(r.ranked_docs, set(r.case.expect.cite_any))
                )
    return {
        c: {"tier_accuracy": mean(v), "recall@5": mean(rec.get(c, []))}
        for c, v in sorted(acc.items())
    }


class TutorialRag:
    """The baseline: LangChain's Chroma retriever, dense top-k, answer = the top passages."""

    def __init__(self, engine: Engine, k: int = 5) -> None:
        from langchain_chroma import Chroma

        store = engine.store
        self.k = k
        self.vectorstore = Chroma(
            client=store.client,
            collection_name=store.name,
            embedding_function=engine.searcher.embeddings,
        )
        self.retriever = self.vectorstore.as_retriever(search_kwargs={"k": k})

    def answer(self, question: str, conv: Conversation) -> Answer:
        docs = self.retriever.invoke(question or " ")
        citations = [
            Citation(
                i,
                str(d.metadata.get("doc_id", "")),
                str(d.id or ""),
                str(d.metadata.get("title", "")),
                str(d.metadata.get("url", "")),
                d.page_content,
            )
            for i, d in enumerate(docs, start=1)
        ]
        items = tuple(
            Statement(d.page_content, (i,), "passage") for i, d in enumerate(docs, start=1)
        )
        return Answer(
            question=question,
            sections=[Section("findings", "What the sources say", items)],
            citations=citations,
            disclaimer="",
            intent="baseline",
        )

    def rank(self, question: str, conv: Conversation) -> list[str]:
        ranked: list[str] = []
        for d in self.vectorstore.similarity_search(question or " ", k=10):
            doc_id = str(d.metadata.get("doc_id", ""))
            if doc_id not in ranked:
                ranked.append(doc_id)
        return ranked


def evaluate(settings: Settings, gold: Path, *, ablations: bool = True) -> dict[str, Any]:
    """Score stemchat, the baseline and the ablations on the same gold cases in one run."""
    from stemchat.corpus.loader import load_corpus

    cases = load_gold(gold)
    engine = Engine(settings)
    docs = {d.meta.id: tuple(d.meta.conditions) for d in load_corpus(settings.corpus_dir).documents}
    results = run_system(engine.answer, engine.rank_documents, cases, engine.snapshot.rules)
    report: dict[str, Any] = {
        "cases": len(cases),
        "metrics": score(results, docs),
        "by_condition": by_condition(results),
        "failures": failures(results),
    }
    base = TutorialRag(engine)
    report["baseline"] = {
        "metrics": score(run_system(base.answer, base.rank, cases, engine.snapshot.rules))
    }
    if ablations:
        report["ablations"] = {}
        variants = {
            "without_bm25": Engine(settings.model_copy(update={"lexical_weight": 0.0})),
            "without_condition_boost": Engine(settings.model_copy(update={"condition_boost": 1.0})),
            "without_guard": Engine(settings, guarded=False),
        }
        for name, eng in variants.items():
            report["ablations"][name] = {
                "metrics": score(
                    run_system(eng.answer, eng.rank_documents, cases, eng.snapshot.rules)
                )
            }
    report["disclaimer"] = disclaimer()
    return report


def load_thresholds(path: Path) -> dict[str, float]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data["thresholds"].items()}


def gate(report: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Which thresholds the report misses (empty list = pass)."""
    m = report["metrics"]
    misses = []
    checks = {
        "guard_compliance": m["guard_compliance"],
        "tier_accuracy": m["tier_accuracy"],
        "recall@5": m["recall@5"],
        "emergency_recall": m["safety"]["emergency"]["recall"],
        "crisis_recall": m["safety"]["crisis"]["recall"],
    }
    for key, value in checks.items():
        if key in thresholds and value < thresholds[key]:
            misses.append(f"{key} {value} < {thresholds[key]}")
    for key in ("direct_answer", "aspect_coverage", "aspect_accuracy", "self_contained"):
        if key in thresholds and m.get(key, 0.0) < thresholds[key]:
            misses.append(f"{key} {m.get(key, 0.0)} < {thresholds[key]}")
    for key in ("over_refusal", "off_topic", "generic_closing", "reply_readability_grade"):
        limit = thresholds.get(f"max_{key}")
        if limit is not None and m.get(key, 0.0) > limit:
            misses.append(f"{key} {m.get(key, 0.0)} > {limit}")
    return misses
