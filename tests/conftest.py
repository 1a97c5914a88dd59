"""Shared fixtures: the real model loaded once per session, real Chroma stores in temp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import stemchat  # noqa: F401  (sets the offline environment before anything else loads)
from stemchat.embeddings import make_embeddings
from stemchat.settings import Settings

DATA = Path(__file__).parent / "data"
TEST_CORPUS = DATA / "corpus"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's STEMCHAT_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("STEMCHAT_"):
            monkeypatch.delenv(key, raising=False)


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc, log: Path, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Poll url until it answers; kill proc and show its log if it dies or times out."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not start: {log.read_text()}") from exc
            time.sleep(0.3)


def make_settings(tmp: Path, corpus: Path, **extra: object) -> Settings:
    return Settings(corpus_dir=corpus, data_dir=tmp / "data", **extra)  # type: ignore[arg-type]


def copy_corpus(dest: Path, source: Path = TEST_CORPUS) -> Path:
    shutil.copytree(source, dest)
    return dest


@pytest.fixture(scope="session")
def embeddings():  # type: ignore[no-untyped-def]
    """The bundled MiniLM, loaded once for the whole session."""
    settings = Settings()
    emb = make_embeddings(settings, "ingest")
    emb.embed_query("warm up")
    return emb


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """The real shipped corpus, ingested once per session into a temp store; read-only."""
    from stemchat.ingest import ingest

    tmp = tmp_path_factory.mktemp("shipped")
    settings = make_settings(tmp, REPO / "corpus")
    ingest(settings, embeddings)
    yield settings


@pytest.fixture(scope="session")
def shipped_engine(shipped):  # type: ignore[no-untyped-def]
    from stemchat.engine import Engine

    return Engine(shipped)


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """The test corpus ingested once into a real embedded Chroma store; treat as read-only."""
    from stemchat.ingest import ingest

    tmp = tmp_path_factory.mktemp("indexed")
    settings = make_settings(tmp, copy_corpus(tmp / "corpus"))
    ingest(settings, embeddings)
    yield settings


def fresh_process(shipped, code: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run `code` in a new interpreter on the indexed shipped store (no STEMCHAT_ settings of
    this session), and require it to succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMCHAT_")}
    env.update(STEMCHAT_CORPUS_DIR=str(shipped.corpus_dir), STEMCHAT_DATA_DIR=str(shipped.data_dir))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc
