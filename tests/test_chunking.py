"""Markdown-aware chunking: heading paths, title prefixes, stable ids, bounded length."""

from __future__ import annotations

from pathlib import Path

import pytest

from stemchat.chunking import chunk_document, split_markdown
from stemchat.corpus.loader import load_document
from tests.conftest import TEST_CORPUS

pytestmark = pytest.mark.unit


def _doc(path: Path = TEST_CORPUS / "documents" / "overview-gvhd.md"):  # type: ignore[no-untyped-def]
    return load_document(path)


def test_sections_keep_heading_and_title() -> None:
    chunks = chunk_document(_doc(), chunk_size=900, chunk_overlap=100, model_tag="m")
    headings = [c.heading for c in chunks]
    assert headings == ["What was tried", "What the best trials found", "What is approved"]
    for chunk in chunks:
        assert chunk.text.startswith("Stem cells for graft-versus-host disease — " + chunk.heading)
        assert chunk.metadata["doc_id"] == "overview-gvhd"
        assert chunk.metadata["conditions"] == ",gvhd,"
        assert chunk.metadata["cond_gvhd"] is True
    assert "16 of the 54" in chunks[1].text


def test_ids_are_stable_and_change_with_content(tmp_path: Path) -> None:
    first = chunk_document(_doc(), chunk_size=900, chunk_overlap=100, model_tag="m")
    again = chunk_document(_doc(), chunk_size=900, chunk_overlap=100, model_tag="m")
    assert [c.id for c in first] == [c.id for c in again]
    changed = tmp_path / "overview-gvhd.md"
    changed.write_text(_doc().path.read_text().replace("54 children", "55 children"))
    other = chunk_document(load_document(changed), chunk_size=900, chunk_overlap=100, model_tag="m")
    assert not set(c.id for c in other) & set(c.id for c in first)
    other_model = chunk_document(_doc(), chunk_size=900, chunk_overlap=100, model_tag="m2")
    assert [c.id for c in other_model] != [c.id for c in first]


def test_long_sections_are_split_within_size() -> None:
    body = "## Intro\n\n" + " ".join(
        f"Sentence number {i} says something plain." for i in range(200)
    )
    body += "\n\n## Next\n\nShort part."
    pieces = split_markdown(body, chunk_size=400, chunk_overlap=50)
    assert len(pieces) > 5
    assert all(len(text) <= 400 for _, text in pieces)
    assert pieces[0][0] == "Intro" and pieces[-1] == ("Next", "Short part.")


def test_nested_heading_path() -> None:
    pieces = split_markdown("# A\n\n## B\n\n### C\n\nText here.", chunk_size=400, chunk_overlap=0)
    assert pieces == [("A > B > C", "Text here.")]
