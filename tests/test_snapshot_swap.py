"""A running chat follows a full re-ingest: the next index snapshot is built off the request path,
swapped in whole once the ingest has completed, and the old one is closed and evicted."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from stemchat.engine import Engine
from stemchat.ingest import ingest
from stemchat.lexical import _CACHE
from tests.conftest import DATA, TEST_CORPUS, copy_corpus, make_settings

pytestmark = pytest.mark.integration

PASSAGES = 1000
QUESTIONS = [
    "Do stem cells help lupus?",
    "What happened in the NurOwn ALS trial?",
    "Is Ryoncil approved for GVHD in children?",
    "what are the risks of an abdominal CT scan?",
    "is alcohol safe to drink?",
    "how is anemia treated?",
]


def _write_documents(folder: Path, edition: int) -> None:
    """PASSAGES one-chunk documents made from real MedQuAD passages (plus the test corpus)."""
    rows = [json.loads(line) for line in (DATA / "medquad-sample" / "corpus.jsonl").open()]
    for i in range(PASSAGES):
        row = rows[i % len(rows)]
        words = (row["text"] + " " + rows[(i + 1) % len(rows)]["text"]).split()
        # bare addresses would (rightly) refuse a document: keep plain words only
        body = " ".join(w for w in words if not any(m in w for m in ("www", "://", "@")))
        body = " ".join(body.split()[:60])
        text = (
            f"---\nid: medquad-{i:04d}\ntitle: {json.dumps(row['title'][:80])}\nkind: review\n"
            "conditions: []\nsources:\n  - title: MedlinePlus\n    url: https://medlineplus.gov/\n"
            '    date: "2024"\nas_of: "2026-11-30"\nlast_reviewed: "2026-11-30"\n'
            "reviewed_by: tests\n---\n"
            f"{body}\n\nRecord {i} of edition {edition}, kept for the snapshot test.\n"
        )
        (folder / f"medquad-{i:04d}.md").write_text(text)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_full_reingest_while_eight_threads_answer(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    corpus = copy_corpus(tmp_path / "corpus", TEST_CORPUS)
    _write_documents(corpus / "documents", 1)
    settings = make_settings(tmp_path, corpus)
    ingest(settings, embeddings)
    engine = Engine(settings)
    engine.refresh_seconds = 0.2
    old = engine.snapshot
    v1 = set(old.manifest.all_chunk_ids())
    assert len(v1) >= PASSAGES, "every generated document loads"
    old_folder = old.lexical_folder
    for q in QUESTIONS * 2:  # warm every path before measuring
        engine.answer(q)
    gc.collect()
    before = _rss_mb()
    old_ref = weakref.ref(old)
    del old

    errors: list[str] = []
    cited: list[set[str]] = []
    stop = threading.Event()

    def chat(n: int) -> None:
        i = n
        while not stop.is_set():
            try:
                answer = engine.answer(QUESTIONS[i % len(QUESTIONS)] + f" ({i})")
                cited.append({c.chunk_id for c in answer.citations})
                if answer.disclaimer not in answer.answer:
                    errors.append("disclaimer missing")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 8

    threads = [threading.Thread(target=chat, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    try:
        _write_documents(corpus / "documents", 2)  # every passage changes: a full re-ingest
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
        env.update(
            STEMCHAT_CORPUS_DIR=str(corpus),
            STEMCHAT_DATA_DIR=str(settings.data_dir),
            STEMCHAT_QUERY_EMBEDDINGS="torch",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "stemchat.cli", "ingest", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert len(report["updated"]) == PASSAGES
        deadline = time.monotonic() + 120
        while engine.snapshot.manifest.version != report["version"]:
            assert time.monotonic() < deadline, "the running engine never moved to the new index"
            time.sleep(0.2)
        time.sleep(1.0)  # answers keep flowing on the new snapshot
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    new = engine.snapshot
    v2 = set(new.manifest.all_chunk_ids())
    assert errors == []
    assert len(cited) > 50
    only_old, only_new = v1 - v2, v2 - v1
    for chunks in cited:  # every answer comes from one whole version, never a half-built one
        assert not (chunks & only_old and chunks & only_new), chunks
        assert chunks <= v1 or chunks <= v2
    assert any(c & only_new for c in cited)

    gc.collect()
    assert old_ref() is None  # the old snapshot is gone: store closed, indexes released
    assert str(old_folder) not in _CACHE and not old_folder.exists()
    assert new.lexical_folder.exists()
    after = _rss_mb()
    assert after < before + 150, (before, after)  # back to its level, not one index per version
