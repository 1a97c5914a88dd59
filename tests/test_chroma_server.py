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
