"""Broad words name a family, not one condition: phrasings that must not land on a wrong entry.

Each case gives what the turn must be about (`expected`, exact) and, where a wrong landing was
seen or is likely, what it must never be about. A broad word with no cue leads to every member
of its family plus a "which one do you mean?" line (understanding.yaml `groups`).
"""

from __future__ import annotations

import pytest

from stemchat.corpus import load_corpus
from stemchat.engine import Conversation, Engine
from stemchat.understanding import ConditionDetector, refine, unresolved
from tests.conftest import REPO

pytestmark = pytest.mark.unit

NC = "not_covered"
CASES: list[tuple[str, set[str], set[str]]] = [
    # joints
    ("stem cells for hip arthritis", {"hip-osteoarthritis"}, {"knee-osteoarthritis"}),
    (
        "my arthritic hip hurts, would an injection help",
        {"hip-osteoarthritis"},
        {"knee-osteoarthritis"},
    ),
    ("can stem cells regrow cartilage in my knee?", {"knee-osteoarthritis"}, set()),
    ("bone on bone in my right knee", {"knee-osteoarthritis"}, {"hip-osteoarthritis"}),
    (
        "do stem cells help arthritis?",
        {"knee-osteoarthritis", "hip-osteoarthritis", "rheumatoid-arthritis"},
        set(),
    ),
    (
        "osteoarthritis stem cell shots, worth it?",
        {"knee-osteoarthritis", "hip-osteoarthritis"},
        {"rheumatoid-arthritis"},
    ),
    ("rheumatoid arthritis and stem cells", {"rheumatoid-arthritis"}, {"knee-osteoarthritis"}),
    ("arthritis, I'm on methotrexate for it", {"rheumatoid-arthritis"}, {"knee-osteoarthritis"}),
    ("psoriatic arthritis stem cells", {NC}, {"rheumatoid-arthritis", "knee-osteoarthritis"}),
    ("torn rotator cuff, clinic offers stem cells", {"tendon-injuries"}, {"knee-osteoarthritis"}),
    ("tennis elbow injection with stem cells", {"tendon-injuries"}, set()),
    ("torn meniscus stem cell injection", {NC}, {"knee-osteoarthritis", "tendon-injuries"}),
    # paralysis
    ("my husband is paralyzed after a stroke", {"stroke"}, {"spinal-cord-injury"}),
    ("my son is paralysed after a diving accident", {"spinal-cord-injury"}, {"stroke"}),
    ("he is a paraplegic since the car crash", {"spinal-cord-injury"}, {"stroke"}),
    ("stem cells for paralysis?", {"spinal-cord-injury", "stroke"}, set()),
    (
        "stroke survivor with weakness on one side, any stem cell trial?",
        {"stroke"},
        {"spinal-cord-injury"},
    ),
    # circulation
    (
        "poor circulation in my legs, stem cells?",
        {"peripheral-artery-disease", "critical-limb-ischemia"},
        set(),
    ),
    (
        "calf pain when I walk, stem cells for my arteries?",
        {"peripheral-artery-disease"},
        {"critical-limb-ischemia"},
    ),
    (
        "leg pain when walking, any stem cell help",
        {"peripheral-artery-disease"},
        {"critical-limb-ischemia"},
    ),
    (
        "my foot has gangrene, they talk about amputation, can stem cells save it",
        {"critical-limb-ischemia"},
        {"peripheral-artery-disease"},
    ),
    ("Buerger's disease stem cells", {"critical-limb-ischemia"}, {"peripheral-artery-disease"}),
    # GVHD
    ("chronic GVHD after my transplant, do stem cells help?", {"chronic-gvhd"}, {"gvhd"}),
    ("is Ryoncil approved for GVHD in children?", {"gvhd"}, {"chronic-gvhd"}),
    ("graft versus host disease, any stem cell treatment?", {"gvhd", "chronic-gvhd"}, set()),
    ("acute GVHD not responding to steroids", {"gvhd"}, {"chronic-gvhd"}),
    # diabetes and its complications
    ("diabetic foot ulcer stem cells", {NC}, {"type-1-diabetes", "type-2-diabetes"}),
    ("stem cells for diabetic neuropathy", {NC}, {"type-1-diabetes", "type-2-diabetes"}),
    (
        "diabetic retinopathy stem cell injection",
        {NC},
        {"type-1-diabetes", "type-2-diabetes", "eye-disease"},
    ),
    (
        "diabetic kidney disease and stem cells",
        {"chronic-kidney-disease"},
        {"type-1-diabetes", "type-2-diabetes"},
    ),
    ("my son has type 1 diabetes", {"type-1-diabetes"}, {"type-2-diabetes"}),
    ("can stem cells cure diabetes?", {"type-1-diabetes", "type-2-diabetes"}, set()),
    # covid and lungs
    ("long covid fatigue, will stem cells help", {"long-covid"}, {"ards-covid"}),
    (
        "my dad was on a ventilator with covid, were stem cells tested?",
        {"ards-covid"},
        {"long-covid"},
    ),
    ("COPD, on oxygen at home", {"copd"}, {"ards-covid"}),
    ("pulmonary fibrosis stem cell treatment", {"copd"}, set()),
    # heart
    ("stem cells after a heart attack", {"heart-attack"}, {"heart-failure"}),
    ("congestive heart failure stem cells", {"heart-failure"}, {"heart-attack"}),
    ("stem cells for heart disease?", {"heart-failure", "heart-attack"}, set()),
    # eyes
    (
        "macular degeneration stem cell injection",
        {"eye-disease"},
        {"glaucoma", "retinitis-pigmentosa"},
    ),
    ("retinitis pigmentosa trials", {"retinitis-pigmentosa"}, {"eye-disease"}),
    ("glaucoma stem cells", {"glaucoma"}, {"eye-disease"}),
    ("chemical burn to the eye, Holoclar?", {"limbal-stem-cell-deficiency"}, {"eye-disease"}),
    # others
    ("my mom is getting frail at 82", {"frailty"}, {"anti-aging"}),
    ("anti-aging stem cell IV for longevity", {"anti-aging"}, {"frailty"}),
    ("Crohn's fistula near the anus", {"crohns-perianal-fistula"}, {"crohns-luminal"}),
    ("Crohn's flares in my bowel", {"crohns-luminal"}, {"crohns-perianal-fistula"}),
    ("HSCT for MS", {"ms-ahsct"}, {"ms-msc"}),
    ("umbilical cord stem cell drips for MS", {"ms-msc"}, {"ms-ahsct"}),
    ("stemm cell therapy for lupis?", {"lupus"}, {"heart-attack", "heart-failure"}),
    ("I went to the ED last week for my knee", {"knee-osteoarthritis"}, {"erectile-dysfunction"}),
    (
        "heating pad for my back, do stem cells help back pain",
        {"back-pain"},
        {"peripheral-artery-disease"},
    ),
    ("alzheimer's disease stem cells", {"alzheimers"}, set()),
    ("sickle cell anemia gene therapy", {"sickle-cell-disease"}, set()),
]


@pytest.fixture(scope="module")
def engine(shipped) -> Engine:  # type: ignore[no-untyped-def]
    return Engine(shipped)


@pytest.mark.integration
@pytest.mark.parametrize(("question", "expected", "never"), CASES)
def test_lands_on_the_right_entries(
    engine, question: str, expected: set[str], never: set[str]
) -> None:  # type: ignore[no-untyped-def]
    conditions, uncovered = engine.understand(question, Conversation())
    got = {c.id for c in conditions} | ({NC} if uncovered else set())
    assert got == expected, (question, got)
    assert not got & never


def test_there_are_at_least_forty_near_misses() -> None:
    assert len(CASES) >= 40
    assert sum(1 for _, _, never in CASES if never) >= 40


def test_an_open_broad_word_asks_which_one_and_a_reply_picks_it() -> None:
    evidence = load_corpus(REPO / "corpus").evidence
    detector = ConditionDetector(evidence)
    text = "do stem cells help arthritis?"
    mentions = refine(detector.mentions(text), text)
    assert unresolved(mentions, text) == ["arthritis"]
    text = "my husband is paralyzed after a stroke"
    assert unresolved(refine(detector.mentions(text), text), text) == []


@pytest.mark.integration
def test_the_follow_up_reply_picks_the_member(engine) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    first = engine.answer("do stem cells help arthritis?", conv)
    assert {e.condition for e in first.evidence} == {
        "knee-osteoarthritis",
        "hip-osteoarthritis",
        "rheumatoid-arthritis",
    }
    assert any(s.key == "clarify" for s in first.notices)
    second = engine.answer("the hip", conv)
    assert second.conditions == ["hip-osteoarthritis"]
    assert not any(s.key == "clarify" for s in second.notices)


@pytest.mark.parametrize(
    "word",
    [
        "important",
        "impatient",
        "strike",
        "crown",
        "kneel",
        "artistic",
        "cardia",
        "fragility",
        "lapis",
        "loops",
        "regina",
        "rheumatic",
    ],
)
def test_english_words_are_not_typos_of_a_condition(word: str) -> None:
    detector = ConditionDetector(load_corpus(REPO / "corpus").evidence)
    assert detector.detect(f"is it {word} to know this about stem cells?") == []


@pytest.mark.parametrize(
    ("typo", "condition"),
    [
        ("altzheimer", "alzheimers"),
        ("parkinson", "parkinsons"),
        ("lupis", "lupus"),
        ("strokes", "stroke"),
        ("mutiple sclerosis", "ms-msc"),
    ],
)
def test_real_typos_still_match(typo: str, condition: str) -> None:
    detector = ConditionDetector(load_corpus(REPO / "corpus").evidence)
    assert condition in detector.detect(f"stem cells for {typo}")
