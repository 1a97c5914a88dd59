"""The pages in the chosen language: the evidence map's rows, approval records and download, and
the conversation download, in Spanish and in English (plain functions, no Streamlit)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from stemchat.answer import Answer, Citation, Section, Statement
from stemchat.corpus.loader import load_evidence_map
from stemchat.corpus.models import EvidenceMap
from stemchat.corpus.translations import translated_rows
from stemchat.markup import link_targets
from stemchat.render import export_markdown
from stemchat.texts import disclaimer, texts, use_language
from stemchat.ui.present import (
    APPROVAL_COLUMNS,
    MAP_COLUMNS,
    approval_rows,
    evidence_map_markdown,
    map_row,
    map_rows,
    tier_badge_text,
)

from .conftest import REPO

pytestmark = pytest.mark.unit

CORPUS = REPO / "corpus"
WHEN = dt.datetime(2026, 11, 26, 9, 0)


@pytest.fixture(scope="module")
def evidence() -> EvidenceMap:
    loaded, _ = load_evidence_map(CORPUS / "conditions.yaml")
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def spanish() -> dict[str, dict[str, object]]:
    return translated_rows(CORPUS, "es")


def test_english_rows_keep_their_keys_codes_and_wording(evidence) -> None:  # type: ignore[no-untyped-def]
    rows = map_rows(evidence, lang="en")
    assert [r["id"] for r in rows] == list(evidence.conditions)
    assert all(list(r) == MAP_COLUMNS for r in rows)
    knee = next(r for r in rows if r["id"] == "knee-osteoarthritis")
    assert (
        knee["evidence"] == "mixed"
        and knee["condition"] == evidence.conditions["knee-osteoarthritis"].name
    )
    assert (
        "South Korea only" in knee["approvals"]
        and "Not approved in the US or EU" in knee["approvals"]
    )
    assert knee["what it means"] == texts("en")["tier_descriptions"]["mixed"]


def test_spanish_rows_come_from_the_reviewed_statements(evidence, spanish) -> None:  # type: ignore[no-untyped-def]
    english = {r["id"]: r for r in map_rows(evidence, lang="en")}
    rows = map_rows(evidence, spanish, "es")
    for r in rows:
        cid = r["id"]
        assert r["evidence"] == english[cid]["evidence"]  # tier codes never translated
        assert r["as of"] == english[cid]["as of"]
        assert r["condition"] == spanish[cid]["name"]
        assert r["what it means"] == texts("es")["tier_descriptions"][r["evidence"]]
        assert str(spanish[cid]["tier_label"]).rstrip(". ") in r["why"]
        assert r["established care"] == spanish[cid]["established_care"]
        # the approval sentence always says where: EE. UU. and la UE, in Spanish words
        assert "EE. UU." in r["approvals"] and "UE" in r["approvals"], cid
        for english_word in ("Approved", "Not approved", "Withdrawn", "Expired", " Dec ", " Jan "):
            assert english_word not in r["approvals"], (cid, r["approvals"])
    gvhd = next(r for r in rows if r["id"] == "gvhd")
    assert "dic 2024" in gvhd["approvals"] and "No está aprobado en la UE" in gvhd["approvals"]


def test_a_cell_without_a_spanish_version_is_wholly_english(evidence, spanish) -> None:  # type: ignore[no-untyped-def]
    gvhd = evidence.conditions["gvhd"]
    partial = {k: v for k, v in spanish["gvhd"].items() if k not in ("tier_note", "approval_note")}
    row = map_row(gvhd, partial, "es")
    english = map_row(gvhd, None, "en")
    assert row["condition"] == spanish["gvhd"]["name"]  # translated fields stay Spanish
    assert row["why"] == english["why"]  # label and note are one cell: never half and half
    assert row["approvals"] == english["approvals"]  # the English note: the English sentence
    assert row["what it means"] == texts("es")["tier_descriptions"]["mixed"]
    # no translation at all: English throughout, same keys and codes
    assert map_row(gvhd, None, "es")["why"] == english["why"]


def test_approval_records_in_spanish_and_english(evidence, spanish) -> None:  # type: ignore[no-untyped-def]
    gvhd = evidence.conditions["gvhd"]
    en = approval_rows(gvhd, "en")
    es = approval_rows(gvhd, "es", spanish["gvhd"])
    assert all(list(r) == APPROVAL_COLUMNS for r in en + es)
    assert [r["product"] for r in en] == [r["product"] for r in es]
    assert {r["where"] for r in en} >= {"US", "Japan"} and en[0]["status"] == "active"
    assert {r["where"] for r in es} >= {"EE. UU.", "Japón"} and es[0]["status"] == "vigente"
    assert es[0]["kind"] == "aprobación completa" and en[0]["kind"] == "full approval"
    assert [r["decided"] for r in en] == [r["decided"] for r in es]
    assert all(r["for whom"] for r in es)  # Spanish where reviewed, else the English record


def test_evidence_map_download_in_spanish(evidence, spanish) -> None:  # type: ignore[no-untyped-def]
    md = evidence_map_markdown(map_rows(evidence, spanish, "es"), "es", WHEN)
    words = texts("es")["ui"]["map"]
    assert md.startswith(f"# {words['export_title']}\n")
    assert "2026-11-26 09:00" in md and disclaimer("es") in md
    assert f"## {spanish['lupus']['name']}" in md
    assert "- **Solidez de la evidencia:** inicial — " in md
    assert "- **Aprobaciones:** " in md and "- **Tratamiento establecido:** " in md
    # the machine-readable part is the same in every language
    assert "`lupus`" in md and "`early`" in md and "`knee-osteoarthritis`" in md
    for english in ("Evidence strength", "Approvals:", "Established care", "not medical advice"):
        assert english not in md, english
    assert md.count("\n## ") == len(evidence.conditions)


def test_evidence_map_download_in_english(evidence) -> None:  # type: ignore[no-untyped-def]
    md = evidence_map_markdown(map_rows(evidence, lang="en"), "en", WHEN)
    assert md.startswith("# stemchat evidence map\n")
    assert "- **Evidence strength:** early — only small or uncontrolled studies so far" in md
    assert "Condition id `lupus`, evidence code `early`" in md and disclaimer("en") in md
    assert "Solidez" not in md


def test_evidence_map_download_escapes_corpus_text(evidence) -> None:  # type: ignore[no-untyped-def]
    row = map_row(evidence.conditions["lupus"], None, "en")
    row["condition"] = "<img src=x onerror=alert(1)> [x](https://evil.example)"
    md = evidence_map_markdown([row], "en", WHEN)
    assert "<img" not in md.replace("\\<img", "") and not link_targets(md)


def test_the_tier_badge_says_the_strength_in_words_in_each_language() -> None:
    assert tier_badge_text("mixed") == "evidence: mixed (trials disagree)"
    with use_language("es"):
        badge = tier_badge_text("negative")
    assert badge == "evidencia: negativa (los ensayos no encontraron beneficio)"


def _turn() -> Answer:
    return Answer(
        question="¿Las células madre ayudan en el lupus?",
        sections=[Section("evidence", "Lo que encontraron", (Statement("Texto", (1,)),))],
        citations=[
            Citation(1, "trial-x", "c", "Ensayo X", "https://doi.org/x", "p", "trial", "2026")
        ],
        language="es",
    )


def test_conversation_download_follows_the_page_language() -> None:
    with use_language("es"):
        md = export_markdown([_turn()], when=WHEN)
    for part in (
        "# Conversación con stemchat",
        "Exportada el 2026-11-26 09:00 UTC",
        "## Pregunta 1",
        "### Respuesta",
        "Fuentes:",
        "(ensayo clínico, 2026)",
        disclaimer("es"),
    ):
        assert part in md, part
    for english in ("Question 1", "### Answer", "Sources:", "not medical advice"):
        assert english not in md, english
    english_md = export_markdown([_turn()], when=WHEN)  # English outside a Spanish page
    assert "## Question 1" in english_md and "(trial, 2026)" in english_md
    assert english_md.startswith("# stemchat conversation\n\nExported 2026-11-26 09:00 UTC.")


def test_every_page_word_has_a_spanish_version() -> None:
    def leaves(d: dict, prefix: str = "") -> dict[str, object]:  # type: ignore[type-arg]
        out: dict[str, object] = {}
        for k, v in d.items():
            out |= leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
        return out

    en, es = leaves(texts("en")["ui"]), leaves(texts("es")["ui"])
    assert set(en) <= set(es)
    same = {k for k in en if en[k] == es[k]}
    # words that are the same in both languages (names, the switch's own bilingual label)
    assert same <= {"language", "pages.Chat", "doc_kinds.review", "map.places"}, same


def test_presenting_imports_no_streamlit() -> None:
    code = (
        "import sys, stemchat.ui.present, stemchat.render, stemchat.texts;"
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
