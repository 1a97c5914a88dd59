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
    q = "placebo controlled trial results"  # unboosted, lupus leads and ALS follows
    plain = retriever.search(q, k=10)
    boosted = retriever.search(q, conditions=["als"], k=10)

    def rank(passages, doc_id):  # type: ignore[no-untyped-def]
        return next(i for i, p in enumerate(passages) if p.doc_id == doc_id)

    # the boost moves ALS passages up against the unboosted order, and only them
    assert rank(plain, "overview-als") > 0, "pick a query where ALS does not already lead"
    assert rank(boosted, "overview-als") == 0
    als = {p.chunk_id: p.score for p in plain if p.doc_id == "overview-als"}
    for p in boosted:
        if p.chunk_id in als:
            assert p.score == pytest.approx(als[p.chunk_id] * 1.5)
    other_plain = [p.chunk_id for p in plain if p.doc_id != "overview-als"]
    other_boosted = [p.chunk_id for p in boosted if p.doc_id != "overview-als"]
    assert other_boosted == other_plain[: len(other_boosted)]


def test_bm25_index_is_persisted_and_reused(indexed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stemchat import lexical

    folders = [f for f in (indexed.data_dir / "bm25").iterdir() if f.is_dir()]
    assert len(folders) == 1 and (folders[0] / "ids.json").exists()
    monkeypatch.setattr(lexical, "_CACHE", type(lexical._CACHE)(maxsize=4))  # a fresh process
    loads: list[str] = []
    real_load = LexicalIndex.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls, folder):  # type: ignore[no-untyped-def]
        loads.append(str(folder))
        return real_load(cls, folder)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("BM25 index rebuilt")

    monkeypatch.setattr(LexicalIndex, "build", classmethod(boom))
    monkeypatch.setattr(LexicalIndex, "load", classmethod(counting_load))
    engine = Engine(indexed)
    for q in ("lupus", "ALS trial", "GVHD children"):
        assert engine.retriever.search(q, mode="bm25")
    assert loads == [str(folders[0])]  # read from disk once, then kept


def test_answer_cites_retrieved_passages(indexed) -> None:  # type: ignore[no-untyped-def]
    from stemchat.engine import Conversation

    engine = Engine(indexed)
    conv = Conversation()
    first = engine.answer("Do stem cells help lupis?", conv)
    assert first.conditions == ["lupus"]
    assert "Evidence strength for Lupus (SLE) and lupus nephritis: early" in first.answer
    assert first.disclaimer in first.answer
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", first.answer)}
    assert markers == {c.n for c in first.citations}
    assert all(c.passage and c.doc_id for c in first.citations)
    follow = engine.answer("is anything approved for it?", conv)
    assert follow.conditions == ["lupus"]
