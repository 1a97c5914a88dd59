"""Hybrid retrieval over a real store: fusion, condition boost and filter, LangChain interface."""

from __future__ import annotations

import pytest
from langchain_core.retrievers import BaseRetriever

from stemchat.engine import Engine
from stemchat.lexical import LexicalIndex

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def retriever(indexed):  # type: ignore[no-untyped-def]
    return Engine(indexed).retriever


def test_each_mode_finds_the_right_document(retriever) -> None:  # type: ignore[no-untyped-def]
    for mode in ("dense", "bm25", "hybrid"):
        top = retriever.search("did the NurOwn phase 3 trial work for ALS?", mode=mode, k=3)
        assert top and top[0].doc_id == "overview-als", mode


def test_is_a_langchain_retriever(retriever) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("placebo controlled trial in lupus nephritis")
    assert docs[0].metadata["doc_id"] == "overview-lupus"
    assert docs[0].metadata["title"] == "Stem cells for lupus"
    assert len(docs) <= retriever.k


def test_condition_filter_and_boost(retriever) -> None:  # type: ignore[no-untyped-def]
    q = "what did the trials find"
    filtered = retriever.search(q, conditions=["gvhd"], filter_conditions=True, k=10)
    assert filtered and {p.doc_id for p in filtered} == {"overview-gvhd"}
    plain = retriever.search(q, k=10)
    boosted = retriever.search(q, conditions=["als"], k=10)
    assert boosted[0].doc_id == "overview-als"
    assert len(plain) >= len(filtered)


def test_bm25_index_is_persisted_and_reused(indexed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folders = list((indexed.data_dir / "bm25").iterdir())
    assert len(folders) == 1 and (folders[0] / "ids.json").exists()

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("BM25 index rebuilt")

    monkeypatch.setattr(LexicalIndex, "build", classmethod(boom))
    engine = Engine(indexed)
    for q in ("lupus", "ALS trial", "GVHD children"):
        assert engine.retriever.search(q, mode="bm25")


def test_answer_cites_retrieved_passages(indexed) -> None:  # type: ignore[no-untyped-def]
    from stemchat.engine import Conversation

    engine = Engine(indexed)
    conv = Conversation()
    first = engine.answer("Do stem cells help lupis?", conv)
    assert first.conditions == ["lupus"]
    assert "Evidence tier for Lupus (SLE) and lupus nephritis: early" in first.answer
    assert first.disclaimer in first.answer
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", first.answer)}
    assert markers == {c.n for c in first.citations}
    assert all(c.passage and c.doc_id for c in first.citations)
    follow = engine.answer("is anything approved for it?", conv)
    assert follow.conditions == ["lupus"]
