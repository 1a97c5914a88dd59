"""Many chat sessions at once through one shared engine: no errors, no cross-talk."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from stemchat.engine import Conversation

pytestmark = pytest.mark.integration

QUESTIONS = {
    "lupus": ["Do stem cells help lupus?", "is it approved for that?"],
    "als": ["stem cells for Lou Gehrig's disease?", "what about the risks?"],
    "knee-osteoarthritis": [
        "do stem cell injections work for bad knees?",
        "how much does it cost?",
    ],
    "parkinsons": ["any stem cell treatment for Parkinson's?", "is it approved for that?"],
    "gvhd": ["Is Ryoncil approved for GVHD?", "what dose was used in the trial?"],
}


def test_twenty_concurrent_sessions(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    sessions = [(cond, QUESTIONS[cond]) for cond in list(QUESTIONS) * 4]

    def chat(item):  # type: ignore[no-untyped-def]
        cond, turns = item
        conv = Conversation()
        return cond, [shipped_engine.answer(q, conv) for q in turns], conv

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(chat, sessions))
    assert len(results) == 20
    for cond, answers, conv in results:
        assert len(conv.turns) == 2
        for answer in answers:
            assert [e.condition for e in answer.evidence] == [cond]  # nobody else's topic
            assert answer.disclaimer in answer.answer
        assert conv.conditions == [cond]
