"""Answers that answer (issue 13): the direct reply first, the asked aspect, sentences that stand
on their own, next steps for the person asked about. Real shipped corpus, real model and store."""

from __future__ import annotations

import re

import pytest

from stemchat.answer import Answer, Section, Statement
from stemchat.compose import stands_alone
from stemchat.composer_config import aspect_of, aspects_of
from stemchat.corpus.approvals import product_fact
from stemchat.engine import Conversation
from stemchat.evaluation import Expect, answer_quality
from stemchat.guard import check
from stemchat.texts import text


def ask(engine, *questions: str) -> Answer:  # type: ignore[no-untyped-def]
    conv = Conversation()
    answers = [engine.answer(q, conv) for q in questions]
    return answers[-1]


def reply_of(a: Answer) -> str:
    return " ".join(s.text for s in a.reply)


def body_sentences(a: Answer) -> list[Statement]:
    return [s for sec in a.sections for s in sec.statements if s.origin == "passage"]


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("what are the risks of stem cells for knee arthritis?", "risks"),
        ("how much does a stem cell treatment for MS cost", "cost"),
        ("is it worth paying $9,000 for MSC infusions for my RA?", "worth"),
        ("how do we get our daughter into a proper trial?", "trial"),
        ("when will stem cells for dry macular degeneration be available?", "timing"),
        ("cord blood vs bone marrow transplant for leukemia - whats the difference?", "difference"),
        (
            "is any stem cell product approved for chronic graft versus host disease in the US?",
            "approval",
        ),
        ("should he just stop his insulin pump once he gets the cells?", "care"),
        ("what is an exosome?", "definition"),
        # near misses: the words that used to flip the aspect
        (
            "I read the CLEAR MIND trial showed the brain shrinking slower. Is that real?",
            "evidence",
        ),
        ("what happened with jCell? I thought the phase 2 results were good", "evidence"),
        ("is there any real trial showing stem cells help frailty?", "evidence"),
        ("do stem cell injections for ED work, or do they just mask it instead?", "evidence"),
        ("how do we get her into a trial", "trial"),
        ("any stem cell trials i could join?", "trial"),
        ("what trials are recruiting for heart failure", "trial"),
        ("what are the dangers", "risks"),
        ("how long is recovery after a myeloma transplant", "evidence"),
        ("my mum wants a $30k clinic for her parkinsons. should i stop her", "worth"),
        ("any trials show it works for knee?", "evidence"),
        # "coming" is a timing word only as "coming soon / out / to the US"
        ("my brother's crohn's fistula keeps coming back, would stem cells help?", "evidence"),
        ("is the parkinson's cell treatment coming to the US soon?", "timing"),
    ],
)
def test_the_asked_aspect_is_read(question: str, aspect: str) -> None:
    assert aspect_of(question) == aspect


def test_a_risk_question_opens_with_the_risks_and_keeps_to_its_condition(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine, "My mother has heart failure. What are the risks of stem cell injections?"
    )
    hf = shipped_engine.evidence.get("heart-failure")
    assert a.aspect == "risks" and a.conditions == ["heart-failure"]
    assert reply_of(a).startswith(hf.risks)
    # no clinic's eye injuries or another disease's story in a heart answer
    for s in body_sentences(a):
        assert not re.search(r"\b(?:eyes?|vision|retina)\b", s.text, re.I), s.text
    assert "Talk it over with her cardiologist" in a.answer
    assert check(a, shipped_engine.snapshot.rules).ok


def test_a_follow_up_answers_its_aspect_for_the_condition_in_play(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "Can stem cells help my husband's ALS?", "and the side effects?")
    als = shipped_engine.evidence.get("als")
    assert a.conditions == ["als"] and a.aspect == "risks"
    assert reply_of(a).startswith(als.risks)
    assert "his neurologist" in a.answer


def test_an_aspect_asked_without_a_condition_keeps_the_conversations_condition(
    shipped_engine,
) -> None:  # type: ignore[no-untyped-def]
    first = "My dad has heart failure, a clinic wants 25k for stem cell IVs. Is it worth it?"
    a = ask(shipped_engine, first, "What are the risks of the shots?")
    assert a.conditions == ["heart-failure"] and a.aspect == "risks"
    assert reply_of(a).startswith(shipped_engine.evidence.get("heart-failure").risks)
    # a benefit of proven care told as a lower risk is not one of the shots' risks
    assert not any("lower the risk" in s.text for s in body_sentences(a))
    # near miss: a turn that says it means the general case is not tied to the condition
    general = ask(shipped_engine, first, "What are the risks of stem cell treatments in general?")
    assert general.conditions != ["heart-failure"]


def test_a_loosely_named_trial_is_found_among_the_conditions_documents(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "lupus stem cells?", "what did the placebo-controlled trial find?")
    assert a.conditions == ["lupus"]
    assert re.search(r"75%|83%|no added benefit|stopped early", reply_of(a)), reply_of(a)
    assert all(c.doc_id.endswith("lupus") or c.doc_id.startswith("guide-") for c in a.citations)


def test_a_named_product_gets_its_own_approval_record(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "ryoncil vs ruxolitinib for steroid-refractory acute GVHD, whats the difference?",
    )
    ryoncil = next(
        x for x in shipped_engine.evidence.get("gvhd").approvals if x.product == "Ryoncil"
    )
    assert reply_of(a).startswith(product_fact(ryoncil))
    assert "ruxolitinib" in reply_of(a)  # the proven drug it is compared with
    assert check(a, shipped_engine.snapshot.rules).ok


def test_stopping_a_medicine_is_answered_with_keep_it_first(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "my son (15) might get into the islet cell study. once he gets the cells should he "
        "just stop his insulin pump?",
    )
    assert a.safety == "personal_advice" and a.conditions == ["type-1-diabetes"]
    assert a.reply[0].text == text("personal_advice")
    assert "his diabetes specialist" in reply_of(a)


def test_a_personal_dose_request_never_gets_a_trials_dose(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    for question in (
        "how many million cells per kilogram should I ask my clinic for?",
        "what dose of MSCs should my mum get for her lupus?",
    ):
        a = ask(shipped_engine, question)
        assert a.safety == "personal_advice"
        assert not re.search(r"per kilogram|/kg|million cells|\bdoses?\b", a.answer, re.I), question


def test_a_complication_or_an_outcome_is_not_its_own_condition(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    assert ask(
        shipped_engine, "kidney disease from diabetes - any stem cell results?"
    ).conditions == ["chronic-kidney-disease"]
    assert ask(
        shipped_engine, "in the heart attack stem cell trials did the cells cause any strokes?"
    ).conditions == ["heart-attack"]
    # and the near misses still name their own conditions
    both = ask(shipped_engine, "I have type 2 diabetes and kidney disease, can stem cells help?")
    assert set(both.conditions) == {"type-2-diabetes", "chronic-kidney-disease"}
    assert ask(
        shipped_engine, "my dad had a stroke last year, can stem cells help?"
    ).conditions == ["stroke"]


def test_a_comparison_with_the_earlier_condition_keeps_both(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "stem cells after a heart attack, does it work?",
        "is that different from the heart failure stem cell stuff?",
    )
    assert set(a.conditions) == {"heart-attack", "heart-failure"} and a.aspect == "difference"


def test_an_uncovered_condition_opens_with_saying_so(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "husband has a diabetic foot ulcer that hasnt healed. can stem cells heal it?",
    )
    assert a.conditions == [] and a.reply[0].text == text("not_covered")
    assert a.evidence[0].tier == "not_covered"
    assert a.sections[0].key == "clinic"  # no findings to give: how to judge a clinic


def test_every_passage_sentence_of_many_answers_stands_alone(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    questions = [
        "Can stem cells cure my husband's ALS?",
        "is stem cell therapy for autism a scam",
        "what are the risks of stem cell knee injections?",
        "how much does casgevy cost?",
        "theres a clinic in mexico doing HSCT for MS for $55k, how do i know if its a good one?",
        "when will stem cells for dry macular degeneration be available?",
    ]
    for q in questions:
        a = ask(shipped_engine, q)
        for s in [*a.reply, *body_sentences(a)]:
            if s.origin == "passage":
                assert stands_alone(s.text), (q, s.text)
                assert not re.search(r"\b(?:guide|overview|trial|reg)-[a-z0-9]+-", s.text), s.text


def test_answer_quality_measures_what_it_says() -> None:
    reply = [
        Statement(
            "Cells did not help lupus in the blinded trial.", (1,), "passage", "overview-lupus"
        )
    ]
    sections = [
        Section(
            "evidence",
            "What the trials found",
            (
                Statement("It was stopped early.", (1,), "passage", "overview-lupus"),
                Statement(
                    "MIST cut relapses in 110 people with MS.", (1,), "passage", "trial-mist"
                ),
            ),
        ),
        Section(
            "next",
            "What you can do next",
            (Statement("Keep your current treatment.", (), "fixed"),),
        ),
    ]
    a = Answer(
        question="q", reply=reply, sections=sections, conditions=["lupus"], aspect="evidence"
    )
    expect = Expect(aspect="evidence", reply_facts=[["blinded"]], aspect_facts=[["placebo"]])
    docs = {"overview-lupus": ("lupus",), "trial-mist": ("ms-ahsct",)}
    q = answer_quality(a, expect, docs)
    assert q["direct_answer"] == 1.0 and q["aspect_coverage"] == 0.0
    assert q["self_contained"] == 0.5  # "It was stopped early." leans on what came before
    assert q["off_topic"] == 0.5  # the MS trial in a lupus answer
    assert q["generic_closing"] == 1.0  # no specialist named
    assert answer_quality(a, Expect(), docs)["direct_answer"] is None


def test_a_two_part_question_answers_both_parts(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    assert aspects_of("how much would it cost and is it safe?") == ["cost", "risks"]
    a = ask(
        shipped_engine, "how much would stem cells cost for my son's cerebral palsy and is it safe"
    )
    keys = [sec.key for sec in a.sections]
    assert a.aspect == "cost" and "cost" in keys and "risks" in keys
    assert keys.index("cost") < keys.index("risks") < keys.index("next")
    assert check(a, shipped_engine.snapshot.rules).ok


def test_a_product_with_no_approval_record_is_not_read_as_approved(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "Is NurOwn approved?")
    opening = a.reply[0].text
    assert "NurOwn" in opening and "withdrawn" in opening
    assert not opening.startswith("Only in one country")
    # another condition's product never appears in a shared document's sentences
    assert not any("Alofisel" in s.text for s in body_sentences(a))
    texts = [s.text for s in body_sentences(a)]
    assert len(texts) == len({t.split(":")[-1].strip().lower() for t in texts})


def test_several_conditions_each_reply_names_its_condition(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "chronic gvhd - is ryoncil approved for it")
    reply = reply_of(a)
    assert "Chronic graft-versus-host disease: No." in reply
    assert "not chronic GVHD" in reply  # Ryoncil's own record says what it is for


def test_a_withdrawn_approval_is_part_of_the_approval_reply(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "my son has a crohns fistula. what is alofisel",
        "is it still available in europe",
    )
    assert "Withdrawn: EU (Alofisel" in reply_of(a)
    # about her son: no sentence that speaks to the reader as the patient
    assert not any(re.match(r"(?i)if you\b|your\b", s.text) for s in body_sentences(a))


def test_a_risk_answer_keeps_to_the_treatments_own_risks(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "hsct for relapsing ms, what are the risks of it")
    body = " ".join(s.text for s in body_sentences(a))
    assert "was much lower" not in body  # a benefit told as a lower risk is not a risk
    assert "Texas" not in body and "Nebraska" not in body  # no clinic-harm padding
    assert "2 in 100" in reply_of(a)
    # a risk question about a clinic abroad: the harms seen at clinics are part of its answer
    clinic = ask(
        shipped_engine, "what are the risks of knee stem cell shots at a clinic in mexico?"
    )
    assert clinic.aspect == "risks"
    assert any(s.doc_id == "guide-harms-unapproved-clinics" for s in body_sentences(clinic))


def test_the_persons_own_condition_leads_an_advert_list(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(
        shipped_engine,
        "a facebook ad says their stem cells treat autism, MS, parkinsons and lupus. "
        "my sister wants to go for her MS. is it real?",
    )
    assert a.conditions[0].startswith("ms-")
    steps = " ".join(s.text for sec in a.sections if sec.key == "next" for s in sec.statements)
    assert "paediatrician" not in steps and "her" in steps


def test_a_general_difference_question_says_what_each_one_is(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a = ask(shipped_engine, "difference between exosomes and stem cells")
    assert any(sec.key == "definition" and sec.statements for sec in a.sections)
    assert any("exosome" in s.text.lower() for s in body_sentences(a))
