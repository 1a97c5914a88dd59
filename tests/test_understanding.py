"""Condition detection from the evidence map: synonyms, lay words, misspellings, overlaps."""

import pytest

from stemchat.corpus import load_corpus
from stemchat.understanding import ConditionDetector, normalize
from tests.conftest import TEST_CORPUS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def detector() -> ConditionDetector:
    evidence = load_corpus(TEST_CORPUS).evidence
    assert evidence is not None
    return ConditionDetector(evidence)


def test_normalize() -> None:
    assert normalize("Lou Gehrig’s  Disease!") == "lou gehrigs disease"
    assert normalize("Crohn's") == "crohns"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Can stem cells cure lupus?", ["lupus"]),
        ("my mom has lupis, do stem cells help", ["lupus"]),
        ("what about Lou Gehrig's disease", ["als"]),
        ("what about Lou Gehrigs diesase", ["als"]),
        ("ALS and SLE", ["als", "lupus"]),
        ("graft versus host disease after transplant", ["gvhd"]),
        ("is Ryoncil approved", ["gvhd"]),
        ("what is a stem cell?", []),
        ("I also take pills daily", []),
    ],
)
def test_detects(detector: ConditionDetector, question: str, expected: list[str]) -> None:
    assert detector.detect(question) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("¿Las células madre sirven para mi esclerosis múltiple?", []),
        ("mi papá tuvo un infarto", []),
        ("Can stem cells repair the heart after an MI?", ["heart-attack"]),
        ("stem cells after a heart attack", ["heart-attack"]),
    ],
)
def test_acronyms_that_are_words_elsewhere(question: str, expected: list[str]) -> None:
    from tests.conftest import REPO

    shipped = ConditionDetector(load_corpus(REPO / "corpus").evidence)
    assert [c for c in shipped.detect(question) if c == "heart-attack"] == expected
