"""The Chroma vector store (embedded or `chroma run` server) and the manifest of committed documents.

Ingest writes a document's new chunks first, then flips the manifest in one write, then deletes
the old chunks. Readers trust only chunks whose `doc_key` matches the manifest, so an interrupted
ingest never shows a half-written document.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from stemchat.errors import StoreError
from stemchat.settings import Settings

_MANIFEST_ID = "manifest"
_PAGE = 2000


@dataclass
class DocEntry:
    """A committed document: the content key of its chunks and how many there are."""

    key: str
    chunks: int
    title: str = ""
    sha256: str = ""
    reviewed: str = ""  # the document's last_reviewed date (shown without parsing the corpus)

    def chunk_ids(self, doc_id: str) -> list[str]:
        return [f"{doc_id}::{self.key}::{i:03d}" for i in range(self.chunks)]


@dataclass
class Manifest:
    """Which documents are committed, under which model and chunking."""

    documents: dict[str, DocEntry] = field(default_factory=dict)
    model: str = ""
    updated: str = ""
    # The corpus files and settings a *completed* ingest saw ("" while one is in progress): equal
    # to the current key, the store is up to date without parsing the corpus (a fast cold start).
    corpus_key: str = ""

    @property
    def version(self) -> str:
        """Short hash naming this exact set of committed chunks."""
        h = hashlib.sha256(self.model.encode())
        for doc_id in sorted(self.documents):
            entry = self.documents[doc_id]
            h.update(f"{doc_id}:{entry.key}:{entry.chunks};".encode())
        return h.hexdigest()[:12]

    @property
    def chunk_count(self) -> int:
        return sum(e.chunks for e in self.documents.values())

    def all_chunk_ids(self) -> list[str]:
        return [cid for doc_id, e in sorted(self.documents.items()) for cid in e.chunk_ids(doc_id)]

    def owns(self, chunk_id: str) -> bool:
        """Is this chunk id part of a committed document? (ids carry the doc id and content key)"""
        parts = chunk_id.rsplit("::", 2)
        if len(parts) != 3:
            return False
        entry = self.documents.get(parts[0])
        return entry is not None and entry.key == parts[1]

    def is_committed(self, metadata: dict[str, Any] | None) -> bool:
        if not metadata:
            return False
        entry = self.documents.get(str(metadata.get("doc_id")))
        return entry is not None and entry.key == metadata.get("doc_key")

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "updated": self.updated,
                "corpus_key": self.corpus_key,
                "documents": {k: vars(v) for k, v in sorted(self.documents.items())},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        docs = {k: DocEntry(**v) for k, v in data.get("documents", {}).items()}
        return cls(
            documents=docs,
            model=data.get("model", ""),
            updated=data.get("updated", ""),
            corpus_key=data.get("corpus_key", ""),
        )


@dataclass(frozen=True)
class Hit:
    """One dense search result."""

    id: str
    distance: float
    text: str
    metadata: dict[str, Any]


class _Aliases:
    """Spellings of one folder ("db", "db/./", "db/././"...) for embedded clients of their own.

    chromadb keeps one in-process state (`System`) per path string and shares it between every
    client opened on that string. A long-lived reader needs a state of its own, to see what other
    processes wrote and to be closed without stopping anyone else's: it opens the folder under a
    spelling no live client uses. Spellings are reused once released, so they stay short.
    """

    def __init__(self) -> None:
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            n = next(i for i in range(1, len(self._used) + 2) if i not in self._used)
            self._used.add(n)
            return n

    def release(self, n: int) -> None:
        with self._lock:
            self._used.discard(n)


_ALIASES = _Aliases()


def make_client(settings: Settings, alias: int = 0) -> Any:
    """A Chroma client: embedded persistent store by default, HTTP client when a URL is set.

    `alias` > 0 opens the embedded folder with a Chroma state of its own (see `_Aliases`)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        path = str(settings.chroma_path) + "/." * alias
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.chroma_path)
        raise StoreError(
            f"cannot open the Chroma store at {where} ({type(exc).__name__}: {exc}); "
            "check STEMCHAT_CHROMA_URL / STEMCHAT_DATA_DIR, or start `chroma run`"
        ) from exc


class Store:
    """One collection of chunks plus its manifest collection.

    An embedded Chroma client keeps per-store state in its process that writes by another process
    (a `stemchat ingest` while the app runs) do not update: its reads may then fail ("Error
    finding id") or serve old chunks. Every call gets one retry on a freshly opened client; a
    second failure is a StoreError that names the recovery. A long-lived reader that sees the
    manifest's version change calls `reopen()`.
    """

    def __init__(
        self,
        client: Any,
        name: str,
        location: str,
        reopen: Callable[[int], Any] | None = None,
        alias: int = 0,
    ) -> None:
        self.client = client
        self.name = name
        self.location = location
        self._reopen = reopen
        self._reopen_lock = threading.Lock()
        self._aliases = [alias] if alias else []
        self._retired: list[Any] = []
        self._generation = 0
        self._open_collections()

    def _open_collections(self) -> None:
        client, name, location = self.client, self.name, self.location
        try:
            self.collection = client.get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self._manifest = client.get_or_create_collection(
                f"{name}-manifest", embedding_function=None
            )
        except Exception as exc:
            raise StoreError(
                f"cannot open collection '{name}' at {location} ({type(exc).__name__}: {exc})"
            ) from exc

    def _call(self, what: str, collection: str, method: str, **kwargs: Any) -> Any:
        """`self.<collection>.<method>(**kwargs)`; on an internal error reopen once and retry."""
        from chromadb.errors import ChromaError

        generation = self._generation
        try:
            return getattr(getattr(self, collection), method)(**kwargs)
        except ChromaError as exc:
            if self._reopen is None or _caller_error(exc):
                raise
        self._reopen_client(generation)
        try:
            return getattr(getattr(self, collection), method)(**kwargs)
        except ChromaError as exc:
            if _caller_error(exc):
                raise
            raise StoreError(
                f"the Chroma store at {self.location} failed to {what} twice "
                f"({type(exc).__name__}: {exc}); {self.recovery}"
            ) from exc

    def reopen(self) -> None:
        """Start a new client: what a long-lived reader does when another process has written
        (the manifest's version changed), since an embedded client may keep serving old data."""
        self._reopen_client(self._generation)

    def _reopen_client(self, generation: int) -> None:
        """Swap in a client with a Chroma state of its own. The old one may still be in use by
        another thread, so it is only closed with the store (`close()`), never under a query."""
        with self._reopen_lock:
            if generation != self._generation or self._reopen is None:
                return  # another thread reopened it already
            alias = _ALIASES.take() if not self.location.startswith(("http://", "https://")) else 0
            try:
                client = self._reopen(alias)
            except Exception:
                _ALIASES.release(alias)
                raise
            if alias:
                self._aliases.append(alias)
            self._retired.append(self.client)
            self.client = client
            self._open_collections()
            self._generation += 1

    def close(self) -> None:
        """Release this store's clients (when no thread can be using it any more)."""
        with self._reopen_lock:
            for client in [*self._retired, self.client]:
                with contextlib.suppress(Exception):  # a broken client may fail to close
                    client.close()
            self._retired.clear()
            for alias in self._aliases:
                _ALIASES.release(alias)
            self._aliases.clear()

    @property
    def recovery(self) -> str:
        """How to rebuild the store from the corpus (the corpus is the source of truth)."""
        if self.location.startswith(("http://", "https://")):
            return (
                f"if it persists, delete the collections '{self.name}' and '{self.name}-manifest' "
                "on the server (or restart `chroma run` with a new --path) and run `stemchat ingest`"
            )
        return (
            "if it persists, stop every stemchat process, move the folder "
            f"{self.location} aside and run `stemchat ingest` to rebuild it from the corpus"
        )

    def lease_collection(self) -> Any:
        """The collection holding the writer lease (lease.py); created on first use by a writer."""
        try:
            return self.client.get_or_create_collection(
                f"{self.name}-lease", embedding_function=None
            )
        except Exception as exc:
            raise StoreError(
                f"cannot open the writer lease at {self.location} ({type(exc).__name__}: {exc})"
            ) from exc

    # -- manifest -----------------------------------------------------------------------------
    def read_manifest(self) -> Manifest:
        got = self._call(
            "read the manifest", "_manifest", "get", ids=[_MANIFEST_ID], include=["documents"]
        )
        if not got["ids"]:
            return Manifest()
        return Manifest.from_json(got["documents"][0])

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest in one write: this is the commit point of an ingest step."""
        manifest.updated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._call(
            "write the manifest",
            "_manifest",
            "upsert",
            ids=[_MANIFEST_ID],
            embeddings=[[0.0]],
            documents=[manifest.to_json()],
        )

    # -- chunks -------------------------------------------------------------------------------
    def upsert(
        self,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        batch: int = 1000,
    ) -> None:
        for start in range(0, len(ids), batch):
            page = {
                "ids": list(ids[start : start + batch]),
                "embeddings": [list(v) for v in vectors[start : start + batch]],
                "documents": list(texts[start : start + batch]),
                "metadatas": [dict(m) for m in metadatas[start : start + batch]],
            }
            self._call("write chunks", "collection", "upsert", **page)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), _PAGE):
            page = ids[start : start + _PAGE]
            self._call("delete chunks", "collection", "delete", ids=page)

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            got = self._call(
                "list chunk ids", "collection", "get", include=[], limit=_PAGE, offset=offset
            )
            ids.extend(got["ids"])
            if len(got["ids"]) < _PAGE:
                return ids
            offset += _PAGE

    def get(self, ids: Sequence[str]) -> list[Hit]:
        hits: list[Hit] = []
        for start in range(0, len(ids), _PAGE):
            page = list(ids[start : start + _PAGE])
            got = self._call(
                "read chunks", "collection", "get", ids=page, include=["documents", "metadatas"]
            )
            hits.extend(
                Hit(i, 0.0, d or "", dict(m or {}))
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )
        return hits

    def count(self) -> int:
        return int(self._call("count chunks", "collection", "count"))

    def query(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Nearest chunk ids by cosine distance (texts are fetched later, for the winners only)."""
        if k <= 0:
            return []
        got = self._call(
            "search",
            "collection",
            "query",
            query_embeddings=[list(vector)],
            n_results=k,
            where=where,
            include=["distances"],
        )
        return [
            Hit(i, float(d), "", {})
            for i, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def metadata(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata only (no texts), by chunk id."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _PAGE):
            page = list(ids[start : start + _PAGE])
            got = self._call(
                "read chunk metadata", "collection", "get", ids=page, include=["metadatas"]
            )
            out.update(
                {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
            )
        return out


def open_store(settings: Settings, name: str | None = None, *, own: bool = False) -> Store:
    """Open (creating if needed) the configured collection.

    `own=True`: an embedded store gets a Chroma state of its own, current with what other
    processes wrote and closed with the store (what a long-lived reader such as the chat needs).
    """
    alias = _ALIASES.take() if own and not settings.chroma_url else 0
    try:
        client = make_client(settings, alias)
    except StoreError:
        _ALIASES.release(alias)
        raise
    location = settings.chroma_url or str(settings.chroma_path)
    reopen = functools.partial(make_client, settings)
    return Store(client, name or settings.collection, location, reopen, alias)


def _caller_error(exc: Exception) -> bool:
    """Errors in the request itself (bad ids, arguments): a new client cannot help."""
    from chromadb.errors import (
        DuplicateIDError,
        InvalidArgumentError,
        InvalidDimensionException,
        NotFoundError,
    )

    return isinstance(
        exc, DuplicateIDError | InvalidArgumentError | InvalidDimensionException | NotFoundError
    )
