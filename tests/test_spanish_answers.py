"""Spanish answers (issue 14): a patient who writes Spanish is answered in Spanish, from the
reviewed Spanish documents and statements, with the same guarantees. Shipped corpus, real store."""

from __future__ import annotations

import pytest

from stemchat.answer import Answer
from stemchat.engine import Conversation
from stemchat.guard import check
from stemchat.texts import disclaimer, text, texts

pytestmark = pytest.mark.integration


def ask(engine, *questions: str) -> tuple[Answer, Conversation]:  # type: ignore[no-untyped-def]
    conv = Conversation()
    answers = [engine.answer(q, conv) for q in questions]
    return answers[-1], conv


def test_a_spanish_question_gets_a_spanish_answer_from_spanish_sources(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, conv = ask(shipped_engine, "mi mamá tiene ELA, ¿le sirven las células madre?")
    assert a.language == "es" and conv.language == "es"
    assert a.conditions == ["als"]
    assert a.disclaimer == disclaimer("es") and a.disclaimer in a.answer
    line = a.evidence[0]
    assert line.tier == "negative" and line.condition_name.startswith("ELA")
    assert "EE. UU." in line.approval_line and "la UE" in line.approval_line
    assert "Solidez de la evidencia para ELA" in a.answer and "Evidence strength" not in a.answer
    # cited passages are the Spanish documents, whose sources are the originals'
    english_titles = {c.title for c in ask(shipped_engine, "do stem cells help ALS?")[0].citations}
    assert a.citations and not {c.title for c in a.citations} & english_titles
    assert any("ELA" in c.passage for c in a.citations)
    assert check(a, shipped_engine.snapshot.for_language("es")[1]).ok
    assert a.to_json()["language"] == "es"


def test_the_conversation_keeps_its_language_and_its_aspect_follow_ups(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, conv = ask(
        shipped_engine,
        "¿Las células madre curan la esclerosis múltiple?",
        "¿y los riesgos?",
    )
    assert a.language == "es" and a.aspect == "risks"
    assert set(a.conditions) == {"ms-ahsct", "ms-msc"}
    titles = [s.title for s in a.sections]
    assert titles[0] == texts("es")["section_titles"]["risks"]
    assert "infecciones" in a.answer
    ok = shipped_engine.answer("ok", conv)
    assert ok.language == "es"


def test_a_spanish_approval_question_says_where_and_the_us_and_eu(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, _ = ask(shipped_engine, "artrosis de rodilla: ¿hay algo aprobado en Estados Unidos?")
    assert a.aspect == "approval" and a.conditions == ["knee-osteoarthritis"]
    reply = " ".join(s.text for s in a.reply)
    assert "Corea del Sur" in reply and "EE. UU." in reply
    assert "South Korea" not in a.answer


def test_a_spanish_crisis_gets_the_spanish_crisis_message_first(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, _ = ask(shipped_engine, "Ya no quiero vivir, nada funciona para mi ELA")
    assert a.safety == "crisis" and a.language == "es"
    assert a.notices[0].text == text("crisis", "es")
    assert "988" in a.answer and "oprima el 2" in a.answer


def test_english_is_unchanged_beside_spanish(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    ask(shipped_engine, "¿el lupus se cura con células madre?")
    a, conv = ask(shipped_engine, "Do stem cells help lupus?")
    assert a.language == "en" and conv.language == "en"
    assert a.disclaimer == disclaimer("en")
    assert "Evidence strength for Lupus" in a.answer and "Solidez" not in a.answer
    # a patient who switches language is answered in the new one
    conv2 = Conversation()
    shipped_engine.answer("¿el lupus se cura con células madre?", conv2)
    assert shipped_engine.answer("what about the risks of the drips?", conv2).language == "en"


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("¿y cuánto tarda en recuperarse uno?", "evidence"),  # recovery, not "when available"
        ("cuanto tarda en hacer efecto?", "evidence"),
        ("¿cuánto falta para que lo aprueben?", "timing"),
        ("¿y en Europa?", "approval"),  # a place alone asks where it is approved
        ("and in the US?", "approval"),
        ("vivo en Europa y tengo esclerosis múltiple", "evidence"),  # near miss: a place in passing
        ("¿es más barato en México?", "cost"),
    ],
)
def test_spanish_and_place_only_turns_read_their_aspect(question: str, aspect: str) -> None:
    from stemchat.composer_config import aspect_of

    assert aspect_of(question) == aspect


def test_a_place_only_follow_up_answers_where_it_is_approved(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, _ = ask(
        shipped_engine,
        "¿Hay algún tratamiento de células madre aprobado para la ELA?",
        "¿y en Europa?",
    )
    assert a.language == "es" and a.aspect == "approval" and a.conditions == ["als"]
    reply = " ".join(s.text for s in a.reply)
    assert "la UE" in reply and "Corea del Sur" in reply


def test_a_cost_reply_gives_the_products_price_and_no_bare_yes(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    for question, price, yes in (
        ("¿Casgevy cuánto cuesta y lo cubre Medicaid?", "2.2 millones", "Sí"),
        ("How much does Casgevy cost and does Medicaid cover it?", "2.2 million", "Yes"),
    ):
        a, _ = ask(shipped_engine, question)
        reply = [s.text for s in a.reply]
        assert a.aspect == "cost" and price in reply[0], reply
        # "Yes, for some people." after "does Medicaid cover it?" would read as a yes to that
        assert not any(s.startswith(yes) for s in reply), reply


def test_spanish_sentences_keep_eeuu_whole_and_several_specialists_agree(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    a, _ = ask(
        shipped_engine, "mi hermano tiene una fístula por Crohn, ¿le sirven las células madre?"
    )
    assert "que conocen su historia y pueden" in a.answer  # "gastroenterólogo y cirujano"
    for s in (s for sec in a.sections for s in sec.statements):
        assert not s.text.startswith("UU.") and not s.text.endswith("EE."), s.text
