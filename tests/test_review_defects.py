"""Defects found in review (issue 15), each reproduced here first, then fixed at its cause."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stemchat.errors import PruneRefusedError
from stemchat.ingest import ingest
from stemchat.store import open_store
from tests.conftest import REPO, copy_corpus, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, embeddings):  # type: ignore[no-untyped-def]
    """The test corpus ingested once; each test works on its own copy of the data folder."""
    tmp = tmp_path_factory.mktemp("stored")
    settings = make_settings(tmp, copy_corpus(tmp / "corpus"))
    ingest(settings, embeddings)
    return settings


@pytest.fixture
def own(stored, tmp_path: Path):  # type: ignore[no-untyped-def]
    shutil.copytree(stored.data_dir, tmp_path / "data")
    return make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))


# -- 1. a missing or empty corpus folder never wipes the index -----------------------------------


@pytest.mark.parametrize("damage", ["missing", "empty", "most"])
def test_a_missing_or_emptied_corpus_folder_is_refused(own, embeddings, damage: str) -> None:  # type: ignore[no-untyped-def]
    docs = own.documents_dir
    before = open_store(own).read_manifest()
    if damage == "missing":
        shutil.rmtree(docs)
    elif damage == "empty":
        for path in docs.iterdir():
            path.unlink()
    else:
        for path in sorted(docs.iterdir())[:2]:  # 2 of 4 gone: more than the allowed 25%
            path.unlink()
    with pytest.raises(PruneRefusedError) as refused:
        ingest(own, embeddings)
    message = str(refused.value)
    assert str(docs) in message and "--prune" in message and "\n" not in message
    after = open_store(own).read_manifest()
    assert after.documents == before.documents and after.corpus_key == before.corpus_key
    assert len(open_store(own).all_ids()) == before.chunk_count  # nothing stored is lost
    report = ingest(own, embeddings, prune=True)  # the maintainer means it
    assert len(report.removed) == len(before.documents) - report.documents


def test_the_cli_and_the_app_start_keep_the_stored_index(own) -> None:  # type: ignore[no-untyped-def]
    from stemchat.engine import Engine
    from stemchat.index import ensure_index

    shutil.rmtree(own.documents_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(STEMCHAT_CORPUS_DIR=str(own.corpus_dir), STEMCHAT_DATA_DIR=str(own.data_dir))
    proc = subprocess.run(
        [sys.executable, "-m", "stemchat.cli", "ingest", "--if-stale"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "--prune" in proc.stderr
    assert "Traceback" not in proc.stderr
    store = ensure_index(own, quiet=True)  # what `ask` and the chat page do at start
    assert len(store.read_manifest().documents) == 4
    answer = Engine(own, store).answer("Do stem cells help lupus?")
    assert answer.citations and answer.evidence[0].condition == "lupus"


# -- 2. "&", "<" and ">" in the evidence map and titles never fail an answer --------------------


def test_special_characters_in_every_evidence_field_and_title(own, embeddings) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from stemchat.engine import Engine

    conditions = own.conditions_file
    data = yaml.safe_load(conditions.read_text())
    for entry in data["conditions"]:
        entry["name"] = f"{entry['name']} & <2 others>1"
        entry["tier_label"] = f"Fewer than <5% & more than >1% {entry['tier_label']}"
        entry["tier_note"] = f"R&D <3 notes> a > b. {entry['tier_note']}"
    conditions.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    lupus = own.documents_dir / "overview-lupus.md"
    title = 'title: "Lupus: R&D <draft> & results > 0"'
    lupus.write_text(re.sub(r"^title: .*$", title, lupus.read_text(), count=1, flags=re.M))
    ingest(own, embeddings)
    engine = Engine(own)
    for question in ("Do stem cells help lupus?", "stem cells for ALS?", "GVHD in children"):
        answer = engine.answer(question)
        assert answer.answered_by == "extractive" and answer.evidence, question
        assert "& \\<2 others\\>1" in answer.answer  # shown as text, escaped at the edge
    lupus_answer = engine.answer("Do stem cells help lupus?")
    assert any("R&D <draft>" in c.title for c in lupus_answer.citations)


# -- 4. shared caches under concurrent use ------------------------------------------------------


def test_eight_threads_six_hundred_distinct_questions(shipped_engine) -> None:  # type: ignore[no-untyped-def]
    topics = ["lupus", "ALS", "MS", "knee arthritis", "Parkinson's", "heart failure", "GVHD"]
    asks = ["Do stem cells help {}?", "risks of stem cells for {}", "cost of {} stem cells"]
    questions = [
        f"{asks[i % 3].format(topics[i % 7])} (case {i})" for i in range(600)
    ]  # distinct texts: every cache fills, evicts and overlaps
    errors: list[BaseException] = []

    def one(q: str) -> None:
        try:
            a = shipped_engine.answer(q)
            assert a.disclaimer in a.answer
        except BaseException as exc:
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, questions))
    assert errors == []


def test_the_corpus_cache_is_thread_safe(tmp_path: Path) -> None:
    from stemchat.corpus import load_corpus

    corpora = [copy_corpus(tmp_path / f"c{i}") for i in range(6)]  # more than the cache holds
    errors: list[BaseException] = []

    def load(i: int) -> None:
        try:
            assert load_corpus(corpora[i % 6]).documents
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- 7. feedback ---------------------------------------------------------------------------------


def test_feedback_csv_never_starts_a_cell_with_a_formula(tmp_path: Path) -> None:
    from stemchat.feedback import feedback_store

    store = feedback_store(tmp_path)
    store.add(
        rating=0,
        question="=HYPERLINK('https://evil.example','click')",
        answer="+1 and -2",
        corpus_version="@version",
        comment="-cmd|' /C calc'!A0",
    )
    rows = list(csv.DictReader(io.StringIO(store.to_csv())))
    for key in ("question", "answer", "corpus_version", "comment"):
        assert not rows[0][key].startswith(("=", "+", "-", "@")), key
        assert rows[0][key].startswith("'")
    assert rows[0]["rating"] == "0"


def test_feedback_closes_its_connections(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stemchat import feedback

    opened: list[sqlite3.Connection] = []
    real = sqlite3.connect

    def tracking(*a, **k):  # type: ignore[no-untyped-def]
        con = real(*a, **k)
        opened.append(con)
        return con

    monkeypatch.setattr(feedback.sqlite3, "connect", tracking)
    store = feedback.feedback_store(tmp_path)
    store.add(rating=1, question="q", answer="a", corpus_version="v")
    store.rows()
    store.to_csv()
    assert len(opened) == 4
    for con in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            con.execute("select 1")


# -- 9. smaller ----------------------------------------------------------------------------------


def test_import_sets_defaults_and_keeps_the_hosts_values() -> None:
    code = "import os, stemchat; print(os.environ['HF_HUB_OFFLINE'], os.environ['HF_HUB_DISABLE_TELEMETRY'])"
    env = {**os.environ, "HF_HUB_OFFLINE": "0"}
    env.pop("HF_HUB_DISABLE_TELEMETRY", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["0", "1"], out.stderr


def test_ask_into_a_closed_pipe_ends_quietly(stored) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(
        STEMCHAT_CORPUS_DIR=str(stored.corpus_dir),
        STEMCHAT_DATA_DIR=str(stored.data_dir),
        STEMCHAT_QUERY_EMBEDDINGS="torch",
    )
    cmd = (
        f"{sys.executable} -m stemchat.cli ask 'Do stem cells help lupus?' 'and ALS?' "
        "'and GVHD?' | head -n 1"
    )
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_model_tag_reads_the_whole_file_and_caches_it(tmp_path: Path) -> None:
    from stemchat.embeddings import model_tag

    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(b"\0" * (3 << 20))
    first = model_tag(model, tmp_path / "cache")
    with weights.open("r+b") as fh:  # a change past the first MiB, same size and mtime
        fh.seek(2 << 20)
        fh.write(b"\1")
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    model_tag.cache_clear()
    assert model_tag(model, None) != first
    assert (tmp_path / "cache" / "model-tags.json").exists()


def test_maintainer_page_is_off_unless_asked(shipped, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("STEMCHAT_CORPUS_DIR", str(shipped.corpus_dir))
    monkeypatch.setenv("STEMCHAT_DATA_DIR", str(shipped.data_dir))
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    assert list(at.sidebar.radio[0].options) == ["Chat", "Evidence map"]
    st.cache_resource.clear()


def test_evidence_map_page_without_a_map_says_so(shipped, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    empty = tmp_path / "corpus"
    shutil.copytree(shipped.corpus_dir, empty)
    (empty / "conditions.yaml").unlink()
    monkeypatch.setenv("STEMCHAT_CORPUS_DIR", str(empty))
    monkeypatch.setenv("STEMCHAT_DATA_DIR", str(shipped.data_dir))
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.sidebar.radio[0].set_value("Evidence map").run()
    assert not at.exception
    assert any("evidence map is missing" in i.value for i in at.info)
    st.cache_resource.clear()
