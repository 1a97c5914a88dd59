"""BM25 over the committed chunks (bm25s), built once per corpus version and kept on disk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from cachetools import LRUCache

# Loaded indexes by folder (one per corpus version): a running engine needs one, two while it
# swaps to a newer version; older ones are evicted by the engine or by this bound.
_CACHE: LRUCache[str, LexicalIndex] = LRUCache(maxsize=4)
_CACHE_LOCK = threading.Lock()


_STEMMERS = {"en": "english", "es": "spanish"}


def _stemmer(language: str = "en"):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(_STEMMERS[language])


def fold(text: str) -> str:
    """Spanish text without accents ("múltiple" and "multiple" are one word to patients)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class LexicalIndex:
    """A bm25s index plus the chunk ids it ranks (English, or Spanish with accents folded)."""

    def __init__(self, retriever, ids: list[str], language: str = "en") -> None:  # type: ignore[no-untyped-def]
        self._retriever = retriever
        self.ids = ids
        self.language = language
        self._stem = _stemmer(language)
        self._lock = threading.Lock()

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], language: str = "en") -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        if texts:
            tokens = bm25s.tokenize(
                [cls._prepare(t, language) for t in texts],
                stopwords=language,
                stemmer=_stemmer(language),
                show_progress=False,
            )
            retriever.index(tokens, show_progress=False)
        return cls(retriever, list(ids), language)

    @staticmethod
    def _prepare(text: str, language: str) -> str:
        return fold(text) if language != "en" else text

    def save(self, folder: Path) -> None:
        """Write atomically: build in a folder of this process's own, then rename.

        Two processes may build the same corpus version at once; each writes its own temporary
        folder, and whichever renames second keeps the first one's (identical) index.
        """
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self._retriever.save(str(tmp))
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        if folder.exists():  # a broken earlier save: move it aside rather than mix the two
            aside = folder.with_name(f"{folder.name}.old-{os.getpid()}-{threading.get_ident()}")
            with contextlib.suppress(OSError):
                folder.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        try:
            tmp.rename(folder)
        except OSError:  # another process saved the same version in between: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        ids = json.loads((folder / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(folder)) if ids else bm25s.BM25()
        return cls(retriever, ids)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first; empty when nothing matches."""
        import bm25s

        if not self.ids or k <= 0:
            return []
        tokens = bm25s.tokenize(
            [self._prepare(query, self.language)],
            stopwords=self.language,
            stemmer=self._stem,
            show_progress=False,
            return_ids=False,
        )
        vocab = self._retriever.vocab_dict
        known = [[t for t in tokens[0] if t in vocab]]
        if not known[0]:
            return []
        k = min(k, len(self.ids))
        with self._lock:
            docs, scores = self._retriever.retrieve(known, k=k, show_progress=False, n_threads=1)
        out = []
        for d, s in zip(docs[0], scores[0], strict=True):
            if s > 0:
                out.append((self.ids[int(d)], float(s)))
        return out

    def scores_for(self, query: str) -> np.ndarray:  # pragma: no cover - diagnostics
        import bm25s

        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False
        )
        return self._retriever.get_scores(tokens[0])


def evict_index(folder: Path) -> None:
    """Forget a loaded index (its corpus version is no longer served)."""
    with _CACHE_LOCK:
        _CACHE.pop(str(folder), None)


def cached_index(folder: Path, build) -> LexicalIndex:  # type: ignore[no-untyped-def]
    """Load the index for one corpus version once per process, building and saving it if absent."""
    key = str(folder)
    with _CACHE_LOCK:
        index = _CACHE.get(key)
        if index is not None:
            return index
        if (folder / "ids.json").exists():
            try:
                index = LexicalIndex.load(folder)
            except Exception:
                index = None
        if index is None:
            index = build()
            index.save(folder)
        _CACHE[key] = index
        return index
