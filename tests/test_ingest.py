"""Incremental ingest into a real embedded Chroma store with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from stemchat.errors import IngestLockedError
from stemchat.ingest import ingest, ingest_lock, status
from stemchat.store import open_store
from tests.conftest import copy_corpus, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))


def test_second_run_embeds_nothing_and_store_does_not_grow(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    first = ingest(fresh, embeddings)
    assert sorted(first.added) == [
        "guide-keep-established-care",
        "overview-als",
        "overview-gvhd",
        "overview-lupus",
    ]
    store = open_store(fresh)
    count = store.count()
    assert count == first.chunks == first.chunks_embedded > 0
    second = ingest(fresh, embeddings)
    assert second.chunks_embedded == 0 and second.added == [] and second.unchanged == 4
    assert store.count() == count
    st = status(fresh)
    assert st["documents"] == 4 and st["chunks"] == count and st["pending"] == 0
    assert st["mode"] == "embedded"


def test_change_replaces_and_delete_removes(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    ingest(fresh, embeddings)
    store = open_store(fresh)
    before = set(store.all_ids())
    lupus = fresh.corpus_dir / "documents" / "overview-lupus.md"
    lupus.write_text(
        lupus.read_text().replace("stopped after 18 patients", "stopped early after 18 patients")
    )
    assert status(fresh)["pending_documents"] == ["overview-lupus"]
    report = ingest(fresh, embeddings)
    assert report.updated == ["overview-lupus"] and report.added == []
    after = set(store.all_ids())
    assert {i for i in before if i.startswith("overview-lupus")}.isdisjoint(after)
    assert {i for i in before if not i.startswith("overview-lupus")} <= after
    texts = [h.text for h in store.get(sorted(after)) if h.metadata["doc_id"] == "overview-lupus"]
    assert any("stopped early" in t for t in texts)

    (fresh.corpus_dir / "documents" / "overview-als.md").unlink()
    report = ingest(fresh, embeddings)
    assert report.removed == ["overview-als"]
    assert not [i for i in store.all_ids() if i.startswith("overview-als")]
    assert "overview-als" not in store.read_manifest().documents


def test_invalid_edit_keeps_stored_version(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    ingest(fresh, embeddings)
    store = open_store(fresh)
    als_ids = sorted(i for i in store.all_ids() if i.startswith("overview-als"))
    path = fresh.corpus_dir / "documents" / "overview-als.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = ingest(fresh, embeddings)
    assert any("overview-als.md" in i and "byte-order mark" in i for i in report.issues)
    assert report.removed == []
    assert sorted(i for i in store.all_ids() if i.startswith("overview-als")) == als_ids


def test_interrupted_ingest_is_repaired_and_hidden(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    """Chunks written without a manifest commit stay invisible and are removed next run."""
    ingest(fresh, embeddings)
    store = open_store(fresh)
    clean = sorted(store.all_ids())
    vec = embeddings.embed_query("half written lupus chunk")
    store.upsert(
        ["overview-lupus::deadbeef::000"],
        [vec],
        ["Stem cells for lupus\n\nhalf written lupus chunk"],
        [{"doc_id": "overview-lupus", "doc_key": "deadbeef", "conditions": ",lupus,"}],
    )
    from stemchat.engine import Engine

    hits = Engine(fresh).retriever.search("half written lupus chunk", k=20)
    assert "overview-lupus::deadbeef::000" not in [p.chunk_id for p in hits]
    report = ingest(fresh, embeddings)
    assert report.orphans_removed == 1 and report.chunks_embedded == 0
    assert sorted(store.all_ids()) == clean


def test_concurrent_ingest_is_refused(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    lock = ingest_lock(fresh)
    with lock, pytest.raises(IngestLockedError, match="another ingest is running"):
        ingest(fresh, embeddings)
    assert ingest(fresh, embeddings).documents == 4


def _ingest_in_another_process(settings) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(
        STEMCHAT_CORPUS_DIR=str(settings.corpus_dir),
        STEMCHAT_DATA_DIR=str(settings.data_dir),
        STEMCHAT_QUERY_EMBEDDINGS="torch",
    )
    subprocess.run(
        [sys.executable, "-m", "stemchat.cli", "ingest"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )


def test_running_engine_follows_an_ingest_by_another_process(fresh, embeddings) -> None:  # type: ignore[no-untyped-def]
    """The chat page stays up while a maintainer ingests: answers move to the new version."""
    from stemchat.engine import Engine

    ingest(fresh, embeddings)
    engine = Engine(fresh)
    engine.refresh_seconds = 0.0
    question = "What did the lupus nephritis trial find?"
    before = engine.answer(question)
    old = {c.chunk_id for c in before.citations if c.doc_id == "overview-lupus"}
    assert old and "Lupus (SLE) and lupus nephritis: early" in before.answer
    path = fresh.corpus_dir / "documents" / "overview-lupus.md"
    path.write_text(
        path.read_text()
        + "\nA registry of 412 patients with lupus nephritis followed for five years after stem "
        "cell infusions reported no new safety signal and no clear benefit.\n"
    )
    _ingest_in_another_process(fresh)
    # the next snapshot is built off the request path; here we wait for it instead of polling
    assert engine.refresh() and not engine.refresh()  # swapped once, then current
    after = engine.answer(question)
    new = {c.chunk_id for c in after.citations if c.doc_id == "overview-lupus"}
    assert new and not new & old  # every lupus passage comes from the new version
    assert all(engine.searcher.manifest.owns(c.chunk_id) for c in after.citations)
    assert after.disclaimer in after.answer

    # a change to the evidence map alone (a tier) reaches the running engine too
    conditions = fresh.corpus_dir / "conditions.yaml"
    text = conditions.read_text()
    lupus_tier = '    tier: early\n    tier_label: "Small or conflicting studies only"'
    assert lupus_tier in text
    conditions.write_text(
        text.replace(lupus_tier, '    tier: negative\n    tier_label: "Trials failed"', 1)
    )
    _ingest_in_another_process(fresh)
    assert engine.refresh()
    assert "Lupus (SLE) and lupus nephritis: negative" in engine.answer(question).answer
