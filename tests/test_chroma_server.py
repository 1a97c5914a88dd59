"""The same ingest and retrieval against a real `chroma run` server on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stemchat.engine import Engine
from stemchat.ingest import ingest, status
from tests.conftest import copy_corpus, free_port, make_settings, wait_for_http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `chroma run` on a free loopback port; stop it afterwards."""
    exe = Path(sys.executable).parent / "chroma"
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/api/v2/heartbeat", proc, path / "server.log", timeout=60)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_ingest_and_answer_through_server(chroma_server: str, tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"), chroma_url=chroma_server)
    report = ingest(settings, embeddings)
    assert report.documents == 4
    st = status(settings)
    assert st["mode"] == "server" and st["location"] == chroma_server
    assert st["chunks"] == st["stored_chunks"] == report.chunks
    assert not (tmp_path / "data" / "chroma").exists()  # nothing written to an embedded store
    again = ingest(settings, embeddings)
    assert again.chunks_embedded == 0
    answer = Engine(settings).answer("What happened in the NurOwn ALS trial?")
    assert answer.conditions == ["als"]
    assert any(c.doc_id == "overview-als" for c in answer.citations)


# One OS process of chat sessions against the server: warm up, wait for "go", then rounds of N
# sessions at once on one shared Engine until told "stop"; prints every answer as JSON.
LOAD_WORKER = """
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor
import stemchat
from stemchat.engine import Conversation, Engine
from stemchat.settings import load_settings

plan = json.loads(sys.argv[1])
engine = Engine(load_settings())
engine.answer("Do stem cells help lupus?", Conversation())  # model, indexes: loaded once
print("ready", flush=True)
sys.stdin.readline()
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()

def chat(item):
    cond, turns = item
    conv = Conversation()
    try:
        answers = [engine.answer(q, conv).to_json() for q in turns]
        return {"cond": cond, "answers": answers, "carried": conv.conditions}
    except Exception as exc:
        return {"cond": cond, "error": f"{type(exc).__name__}: {exc}"}

results = []
with ThreadPoolExecutor(max_workers=len(plan)) as pool:
    while not stop.is_set():
        results.extend(pool.map(chat, plan))
print(json.dumps(results), flush=True)
"""

LOAD_QUESTIONS = {
    "lupus": ["Do stem cells help lupus?", "what did the trial find?"],
    "als": ["stem cells for Lou Gehrig's disease?", "what about the risks?"],
    "gvhd": ["Is Ryoncil approved for GVHD?", "who can get it?"],
}
CARE = "guide-keep-established-care"


def test_two_processes_of_concurrent_sessions_while_ingesting(
    chroma_server: str, tmp_path: Path, embeddings
) -> None:  # type: ignore[no-untyped-def]
    """Two OS processes, 12 concurrent sessions each, against one `chroma run` while this
    process ingests; the sessions run in rounds until the ingests are done.

    The ingest edits the lupus overview twice and adds then removes a document. Every answer:
    no error, the disclaimer, the tier line of the condition asked and no other, citations only
    from that condition's documents (or the care guide), each cited passage from a version of
    its document that was committed at some point (never half of one).
    """
    import json
    import os
    import time

    from stemchat.store import open_store

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server, collection="load")
    ingest(settings, embeddings)
    store = open_store(settings)
    committed = {h.id: h.text for h in store.get(store.read_manifest().all_chunk_ids())}

    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(
        STEMCHAT_CHROMA_URL=chroma_server,
        STEMCHAT_COLLECTION="load",
        STEMCHAT_CORPUS_DIR=str(corpus),
        STEMCHAT_DATA_DIR=str(settings.data_dir),  # shared, as two app instances on one host
        STEMCHAT_QUERY_EMBEDDINGS="torch",
    )
    plan = [[cond, LOAD_QUESTIONS[cond]] for cond in sorted(LOAD_QUESTIONS) * 4]  # 12 sessions
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_WORKER, json.dumps(plan)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr
    started = time.monotonic()
    for w in workers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()

    # Meanwhile this process ingests: edit lupus, add a document, edit again, remove it.
    lupus = corpus / "documents" / "overview-lupus.md"
    extra = corpus / "documents" / "overview-lupus-note.md"
    steps = [
        lambda: lupus.write_text(lupus.read_text() + "\nA later note on kidney remission.\n"),
        lambda: extra.write_text(
            lupus.read_text().replace("id: overview-lupus", "id: overview-lupus-note", 1)
        ),
        lambda: lupus.write_text(lupus.read_text() + "\nAnd one more note on relapse.\n"),
        lambda: extra.unlink(),
    ]
    for step in steps:
        step()
        ingest(settings, embeddings)
        manifest = store.read_manifest()
        committed.update({h.id: h.text for h in store.get(manifest.all_chunk_ids())})
    for w in workers:
        assert w.poll() is None, "a worker ended before the ingests did"
        w.stdin.write("stop\n")  # type: ignore[union-attr]
        w.stdin.flush()  # type: ignore[union-attr]

    results = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err[-3000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started
    assert len(results) >= 24 and len(results) % 12 == 0
    lupus_uncited = 0
    for session in results:
        cond = session["cond"]
        assert "error" not in session, session
        assert session["carried"] == [cond]
        for answer in session["answers"]:
            assert [e["condition"] for e in answer["evidence"]] == [cond]  # nobody else's topic
            assert answer["disclaimer"] in answer["answer"]
            docs = {c["doc_id"] for c in answer["citations"]}
            assert docs <= {f"overview-{cond}", "overview-lupus-note", CARE}, (cond, docs)
            if cond != "lupus":
                assert f"overview-{cond}" in docs, answer["answer"]
            elif "overview-lupus" not in docs:
                lupus_uncited += 1  # its chunks were replaced under a running engine
            for c in answer["citations"]:
                assert c["chunk_id"] in committed, c["chunk_id"]
                assert c["passage"].strip()[:40] in committed[c["chunk_id"]]
    print(
        f"\n2 processes x 12 concurrent sessions, {len(results)} sessions in {elapsed:.1f} s "
        f"during 4 ingests; {lupus_uncited} lupus answers without a lupus citation"
    )


# A writer on "another machine": its own data folder (so its own file lock), the same server.
HOLDER = """
import sys
from stemchat.lease import WriterLease
from stemchat.settings import load_settings
from stemchat.store import open_store

lease = WriterLease(open_store(load_settings()))
lease.acquire()
print("held", flush=True)
sys.stdin.readline()
lease.release()
print("released", flush=True)
"""


def _env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(
        STEMCHAT_CORPUS_DIR=str(settings.corpus_dir),
        STEMCHAT_DATA_DIR=str(settings.data_dir),
        STEMCHAT_CHROMA_URL=str(settings.chroma_url),
        STEMCHAT_COLLECTION=settings.collection,
        STEMCHAT_QUERY_EMBEDDINGS="torch",
    )
    return env


def test_one_writer_per_server_across_lock_folders(chroma_server: str, tmp_path: Path) -> None:
    """Two processes with different data folders (different file locks) on one server: the lease
    in the store lets only one ingest write; a dead holder's lease is taken over."""
    corpus = copy_corpus(tmp_path / "corpus")
    one = make_settings(tmp_path / "one", corpus, chroma_url=chroma_server, collection="shared")
    two = make_settings(tmp_path / "two", corpus, chroma_url=chroma_server, collection="shared")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        env=_env(one),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = subprocess.run(
            [sys.executable, "-m", "stemchat.cli", "ingest"],
            env=_env(two),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert refused.returncode == 1
        assert "another ingest is writing to the store" in refused.stderr
        assert f"process {holder.pid}" in refused.stderr and refused.stderr.count("\n") == 1
        from stemchat.store import open_store

        assert open_store(two).read_manifest().documents == {}  # nothing was written
        holder.kill()  # the holder dies without releasing: its lease names a dead process
        holder.wait(timeout=30)
        done = subprocess.run(
            [sys.executable, "-m", "stemchat.cli", "ingest", "--json"],
            env=_env(two),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert len(open_store(one).read_manifest().documents) == 4
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_lease_held_elsewhere_waits_for_its_expiry(chroma_server: str, tmp_path: Path) -> None:
    import json
    import time

    from stemchat.errors import IngestLockedError, StoreError
    from stemchat.lease import LEASE_ID, WriterLease
    from stemchat.store import open_store

    settings = make_settings(
        tmp_path, copy_corpus(tmp_path / "corpus"), chroma_url=chroma_server, collection="leased"
    )
    store = open_store(settings)

    def plant(expires: float, token: str = "theirs") -> None:
        doc = json.dumps({"token": token, "host": "other-host", "pid": 1, "expires": expires})
        store.lease_collection().upsert(
            ids=[LEASE_ID], embeddings=[[0.0]], documents=[doc], metadatas=[{"token": token}]
        )

    plant(time.time() + 60)  # alive on another machine
    with pytest.raises(IngestLockedError, match="other-host"):
        WriterLease(store).acquire()
    plant(time.time() - 1)  # expired
    lease = WriterLease(store)
    lease.acquire()
    lease.check()
    plant(time.time() + 60, token="usurper")  # taken over behind our back
    with pytest.raises(StoreError, match="lost the writer lease"):
        lease.check()
    lease.release()
    assert WriterLease(store).holder() is not None  # release never deletes someone else's lease
