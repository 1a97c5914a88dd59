"""Embeddings behind LangChain's `Embeddings` interface, from local weights only."""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from stemchat.settings import Settings

_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def model_tag(model_path: Path) -> str:
    """A cheap fingerprint of the weights: a changed model re-embeds the corpus."""
    weights = model_path / "model.safetensors"
    if not weights.exists():
        weights = model_path / "config.json"
    h = hashlib.sha256()
    with weights.open("rb") as fh:
        h.update(fh.read(1 << 20))
    h.update(str(weights.stat().st_size).encode())
    return f"{model_path.name}-{h.hexdigest()[:12]}"


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
        if is_current(
            settings.resolved_model_path, folder, model_tag(settings.resolved_model_path)
        ):
            return OnnxEmbeddings(folder, settings.embed_batch_size)
    return SentenceTransformerEmbeddings(settings.resolved_model_path, settings.embed_batch_size)


def prewarm_query_embeddings(settings: Settings) -> bool:
    """Start loading the ONNX query model in the background (never torch); False if not exported."""
    if settings.query_embeddings != "onnx":
        return False
    from stemchat.onnx_embeddings import is_current, onnx_dir, warm_up

    path = settings.resolved_model_path
    folder = onnx_dir(settings.data_dir)
    if not is_current(path, folder, model_tag(path)):
        return False
    warm_up(folder)
    return True


def ensure_onnx(settings: Settings) -> bool:
    """Export the model to ONNX once (imports torch); False when the export is not possible."""
    if settings.query_embeddings != "onnx":
        return False
    from stemchat.onnx_embeddings import export, is_current, onnx_dir

    path = settings.resolved_model_path
    tag = model_tag(path)
    if is_current(path, onnx_dir(settings.data_dir), tag):
        return True
    try:
        export(path, onnx_dir(settings.data_dir), tag)
    except ImportError:
        return False  # `onnx` missing: questions use sentence-transformers instead
    return True
