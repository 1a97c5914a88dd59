"""Embeddings behind LangChain's `Embeddings` interface, from local weights only."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from stemchat.settings import Settings

_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def model_tag(model_path: Path, cache_dir: Path | None = None) -> str:
    """The fingerprint of the weights (SHA-256 of the whole file): a changed model re-embeds the
    corpus. Hashing 90 MB takes a tenth of a second, so the result is kept in `cache_dir` under
    the file's size, mtime and inode, and a fresh process reads it instead."""
    weights = model_path / "model.safetensors"
    if not weights.exists():
        weights = model_path / "config.json"
    stat = weights.stat()
    key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    cache = cache_dir / "model-tags.json" if cache_dir is not None else None
    known: dict[str, str] = {}
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(cache.read_text())
        if isinstance(known.get(key), str):
            return known[key]
    h = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    tag = f"{model_path.name}-{h.hexdigest()[:12]}"
    if cache is not None:
        with contextlib.suppress(OSError):  # a read-only data folder only costs the next start
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({**known, key: tag}))
            tmp.replace(cache)
    return tag


def settings_model_tag(settings: Settings) -> str:
    """`model_tag` of the configured model, cached in the data folder."""
    return model_tag(settings.resolved_model_path, settings.data_dir)


class SentenceTransformerEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 through sentence-transformers (torch), normalized for cosine search."""

    def __init__(self, model_path: Path, batch_size: int = 32) -> None:
        self.model_path = model_path
        self.batch_size = batch_size

    @property
    def model(self):  # type: ignore[no-untyped-def]
        return _load_sentence_transformer(str(self.model_path))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return vectors.tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=2)
def _load_sentence_transformer(path: str):  # type: ignore[no-untyped-def]
    """Load the model once per process (thread-safe)."""
    with _LOCK:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(path, device="cpu", local_files_only=True)


def make_embeddings(settings: Settings, purpose: str = "query") -> Embeddings:
    """Embeddings for questions (ONNX when exported: no torch) or for ingest (torch, faster on batches)."""
    if purpose == "query" and settings.query_embeddings == "onnx":
        from stemchat.onnx_embeddings import OnnxEmbeddings, is_current, onnx_dir

        folder = onnx_dir(settings.data_dir)
        if is_current(settings.resolved_model_path, folder, settings_model_tag(settings)):
            return OnnxEmbeddings(folder, settings.embed_batch_size)
    return SentenceTransformerEmbeddings(settings.resolved_model_path, settings.embed_batch_size)


def prewarm_query_embeddings(settings: Settings) -> bool:
    """Start loading the ONNX query model in the background (never torch); False if not exported."""
    if settings.query_embeddings != "onnx":
        return False
    from stemchat.onnx_embeddings import is_current, onnx_dir, warm_up

    path = settings.resolved_model_path
    folder = onnx_dir(settings.data_dir)
    if not is_current(path, folder, settings_model_tag(settings)):
        return False
    warm_up(folder)
    return True


def ensure_onnx(settings: Settings) -> bool:
    """Export the model to ONNX once (imports torch); False when the export is not possible."""
    if settings.query_embeddings != "onnx":
        return False
    from stemchat.onnx_embeddings import export, is_current, onnx_dir

    path = settings.resolved_model_path
    tag = settings_model_tag(settings)
    if is_current(path, onnx_dir(settings.data_dir), tag):
        return True
    try:
        export(path, onnx_dir(settings.data_dir), tag)
    except ImportError:
        return False  # `onnx` missing: questions use sentence-transformers instead
    return True
