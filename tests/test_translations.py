"""Reviewed translations (issue 14): Spanish documents and condition statements are checked
against their English originals; a changed original marks them for review until stamped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stemchat.corpus.approvals import approval_line, product_fact
from stemchat.corpus.lint import check_corpus
from stemchat.corpus.loader import load_corpus
from stemchat.corpus.report import corpus_report
from stemchat.corpus.translations import (
    load_translations,
    stamp,
    translated_map,
    translated_synonyms,
)
from stemchat.understanding import ConditionDetector

from .conftest import REPO, copy_corpus

pytestmark = pytest.mark.unit

CORPUS = REPO / "corpus"

SPANISH_BODY = """## Qué se probó
Investigadores en China dieron células mesenquimales de cordón umbilical por vía intravenosa a
personas con lupus que no respondían a los fármacos habituales.

## Lo que encontraron los mejores ensayos
El único ensayo doble ciego con placebo en nefritis lúpica se detuvo tras 18 pacientes. La
remisión llegó en 9 de 12 personas con células y en 5 de 6 con placebo, así que las células no
añadieron un beneficio claro.

## Qué está aprobado
Ningún producto de células madre está aprobado para el lupus en ningún lugar.
"""


def spanish_lupus(corpus: Path, **changes: str) -> Path:
    """A Spanish version of the test corpus's lupus overview (front matter from the English)."""
    english = (corpus / "documents" / "overview-lupus.md").read_text()
    front = english.split("---\n")[1]
    front = front.replace('title: "Stem cells for lupus"', 'title: "Células madre para el lupus"')
    front += 'language: es\ntranslation_of: overview-lupus\noriginal_sha256: ""\n'
    for key, value in changes.items():
        front = re.sub(rf"^{key}:.*$", f"{key}: {value}", front, flags=re.M)
    folder = corpus / "es" / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "overview-lupus.md"
    path.write_text(f"---\n{front}---\n{SPANISH_BODY}")
    return path


def test_every_overview_and_guide_has_a_current_spanish_version() -> None:
    corpus = load_corpus(CORPUS)
    es = load_translations(corpus, CORPUS, "es")
    assert es.issues == []
    assert es.missing_documents == [] and es.stale_documents == []
    assert es.missing_conditions == [] and es.stale_conditions == []
    assert len(es.documents) >= 58
    for doc in es.documents:
        original = corpus.by_id()[doc.id]
        assert doc.meta.sources == original.meta.sources, doc.id
        assert doc.meta.language == "es"
    # the Spanish statements render the English ones: same figures in the bottom lines
    for cid, row in es.conditions.items():
        english = corpus.evidence.conditions[cid].bottom_line  # type: ignore[union-attr]
        figures = set(re.findall(r"\d+", english.replace(",", "")))
        spanish = str(row.get("bottom_line", "")).replace(",", "").replace(" ", "")
        assert figures <= set(re.findall(r"\d+", spanish)), cid


def test_a_translation_is_checked_then_stamped_then_marked_when_its_original_changes(
    tmp_path: Path,
) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    path = spanish_lupus(corpus_dir)
    issues = check_corpus(corpus_dir).issues
    assert [i.severity for i in issues if i.path == path] == ["warning"]
    assert "not been checked" in str(issues[-1]) and "stemchat corpus stamp es" in str(issues[-1])

    stamped = stamp(load_corpus(corpus_dir), corpus_dir, "es")
    assert stamped == ["overview-lupus.md"]
    assert not [i for i in check_corpus(corpus_dir).issues if i.path == path]

    english = corpus_dir / "documents" / "overview-lupus.md"
    english.write_text(english.read_text().replace("18 patients", "19 patients"))
    stale = [i for i in check_corpus(corpus_dir).issues if i.path == path]
    assert len(stale) == 1 and "changed after this translation" in stale[0].message
    report = corpus_report(corpus_dir)
    assert report["translations"]["es"]["stale_documents"] == ["overview-lupus"]
    assert "overview-als" in report["translations"]["es"]["missing_documents"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"language": "en"}, "language"),
        ({"translation_of": "overview-als"}, "translation_of"),
        ({"conditions": "[als]"}, "conditions"),
    ],
)
def test_a_translation_that_does_not_match_its_original_is_refused(
    tmp_path: Path, changes: dict[str, str], field: str
) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    path = spanish_lupus(corpus_dir, **changes)
    errors = [i for i in check_corpus(corpus_dir).errors if i.path == path]
    assert len(errors) == 1 and errors[0].field == field, errors


def test_sources_must_be_the_originals(tmp_path: Path) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    path = spanish_lupus(corpus_dir)
    path.write_text(path.read_text().replace("NCT01539902", "NCT01539903"))
    errors = [i for i in check_corpus(corpus_dir).errors if i.path == path]
    assert [e.field for e in errors] == ["sources"]
    assert "copy the sources block of overview-lupus.md" in errors[0].fix


def test_a_new_translation_without_a_hash_line_gets_one_when_stamped(tmp_path: Path) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    path = spanish_lupus(corpus_dir)
    path.write_text(re.sub(r"^original_sha256:.*\n", "", path.read_text(), flags=re.M))
    assert "original_sha256" not in path.read_text()
    assert stamp(load_corpus(corpus_dir), corpus_dir, "es") == ["overview-lupus.md"]
    front = path.read_text().split("---\n")[1]
    assert re.search(
        r"^translation_of: overview-lupus\noriginal_sha256: \"[0-9a-f]{64}\"$", front, re.M
    )
    assert not [i for i in check_corpus(corpus_dir).issues if i.path == path]


def test_stamp_from_the_command_line(tmp_path: Path) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    spanish_lupus(corpus_dir)
    env = {"STEMCHAT_CORPUS_DIR": str(corpus_dir), "STEMCHAT_DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.run(
        [sys.executable, "-m", "stemchat.cli", "corpus", "stamp", "es"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "stamped 1 file(s): overview-lupus.md" in proc.stdout


@pytest.mark.parametrize(
    ("question", "condition"),
    [
        ("¿Las células madre curan la esclerosis múltiple?", "ms-"),
        ("mi mamá tiene ELA, sirven las celulas madre?", "als"),
        ("celulas madre para la artrosis de rodilla", "knee-osteoarthritis"),
        ("mi hijo tiene diabetes tipo 1", "type-1-diabetes"),
        ("lupus eritematoso y celulas madre", "lupus"),
        ("mi papa tiene parkinson", "parkinsons"),
    ],
)
def test_spanish_words_name_their_condition(question: str, condition: str) -> None:
    corpus = load_corpus(CORPUS)
    detector = ConditionDetector(corpus.evidence, more_synonyms=translated_synonyms(CORPUS))
    found = detector.detect(question)
    assert found and found[0].startswith(condition), found
    # English stays as it was: the Spanish words add no condition to an English question
    plain = ConditionDetector(corpus.evidence)
    english = "do stem cells help knee arthritis or MS?"
    assert detector.detect(english) == plain.detect(english)


def test_every_approval_record_has_a_reviewed_spanish_description() -> None:
    corpus = load_corpus(CORPUS)
    es = load_translations(corpus, CORPUS, "es")
    assert corpus.evidence is not None
    spanish = translated_map(corpus.evidence, es.conditions)
    for cid, english in corpus.evidence.conditions.items():
        for en, tr in zip(english.approvals, spanish.conditions[cid].approvals, strict=True):
            assert (tr.product, tr.where, tr.status, tr.date) == (
                en.product,
                en.where,
                en.status,
                en.date,
            )
            assert tr.who and tr.who != en.who and (tr.what != en.what or not en.what), (
                cid,
                en.product,
            )
    # the Spanish line says who a product is for in Spanish, and never in English
    line = approval_line(spanish.conditions["sickle-cell-disease"], "es")
    assert "editadas genéticamente" in line and "gene-edited" not in line
    assert "No está aprobado" not in line  # approved in both the US and the EU
    fact = product_fact(spanish.conditions["gvhd"].approvals[0], "es")
    assert fact.startswith("Ryoncil: aprobación completa en EE. UU.") and "Es para niños" in fact


def test_a_record_without_a_spanish_description_shows_none_rather_than_english(
    tmp_path: Path,
) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    corpus = load_corpus(corpus_dir)
    assert corpus.evidence is not None
    gvhd = translated_map(corpus.evidence, {"gvhd": {"name": "EICH aguda"}}).conditions["gvhd"]
    line = approval_line(gvhd, "es")
    assert "Ryoncil" in line and "EE. UU." in line and "children" not in line
    assert product_fact(gvhd.approvals[0], "es").endswith("desde dic 2024.")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '{product: "Ryoncil", where: "EU", status: active, who: "niños"}',
            "no English approval record",
        ),
        (
            '{product: "Ryoncil", where: "US", status: active, whom: "niños", who: "niños"}',
            "unknown fields",
        ),
        (
            '{product: "Ryoncil", where: "US", status: active}',
            "needs product, where, status and who",
        ),
    ],
)
def test_a_spanish_approval_description_must_match_a_record(
    tmp_path: Path, entry: str, message: str
) -> None:
    corpus_dir = copy_corpus(tmp_path / "corpus")
    path = corpus_dir / "conditions.es.yaml"
    path.write_text(f'conditions:\n  gvhd:\n    name: "EICH"\n    approvals:\n      - {entry}\n')
    errors = [i for i in check_corpus(corpus_dir).errors if i.path == path]
    assert len(errors) == 1 and message in errors[0].message and "gvhd" in errors[0].message, errors
