"""The Chroma vector store (embedded or `chroma run` server) and the manifest of committed documents.

Ingest writes a document's new chunks first, then flips the manifest in one write, then deletes
the old chunks. Readers trust only chunks whose `doc_key` matches the manifest, so an interrupted
ingest never shows a half-written document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
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

    def chunk_ids(self, doc_id: str) -> list[str]:
        return [f"{doc_id}::{self.key}::{i:03d}" for i in range(self.chunks)]


@dataclass
class Manifest:
    """Which documents are committed, under which model and chunking."""

    documents: dict[str, DocEntry] = field(default_factory=dict)
    model: str = ""
    updated: str = ""

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
                "documents": {k: vars(v) for k, v in sorted(self.documents.items())},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        docs = {k: DocEntry(**v) for k, v in data.get("documents", {}).items()}
        return cls(documents=docs, model=data.get("model", ""), updated=data.get("updated", ""))


@dataclass(frozen=True)
class Hit:
    """One dense search result."""

    id: str
    distance: float
    text: str
    metadata: dict[str, Any]


def make_client(settings: Settings) -> Any:
    """A Chroma client: embedded persistent store by default, HTTP client when a URL is set."""
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
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:
        where = settings.chroma_url or str(settings.chroma_path)
        raise StoreError(
            f"cannot open the Chroma store at {where} ({type(exc).__name__}: {exc}); "
            "check STEMCHAT_CHROMA_URL / STEMCHAT_DATA_DIR, or start `chroma run`"
        ) from exc


class Store:
    """One collection of chunks plus its manifest collection."""

    def __init__(self, client: Any, name: str, location: str) -> None:
        self.client = client
        self.name = name
        self.location = location
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

    # -- manifest -----------------------------------------------------------------------------
    def read_manifest(self) -> Manifest:
        got = self._manifest.get(ids=[_MANIFEST_ID], include=["documents"])
        if not got["ids"]:
            return Manifest()
        return Manifest.from_json(got["documents"][0])

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest in one write: this is the commit point of an ingest step."""
        manifest.updated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._manifest.upsert(
            ids=[_MANIFEST_ID], embeddings=[[0.0]], documents=[manifest.to_json()]
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
            end = start + batch
            self.collection.upsert(
                ids=list(ids[start:end]),
                embeddings=[list(v) for v in vectors[start:end]],
                documents=list(texts[start:end]),
                metadatas=[dict(m) for m in metadatas[start:end]],
            )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), _PAGE):
            self.collection.delete(ids=ids[start : start + _PAGE])

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=_PAGE, offset=offset)
            ids.extend(got["ids"])
            if len(got["ids"]) < _PAGE:
                return ids
            offset += _PAGE

    def get(self, ids: Sequence[str]) -> list[Hit]:
        hits: list[Hit] = []
        for start in range(0, len(ids), _PAGE):
            got = self.collection.get(
                ids=list(ids[start : start + _PAGE]), include=["documents", "metadatas"]
            )
            hits.extend(
                Hit(i, 0.0, d or "", dict(m or {}))
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )
        return hits

    def count(self) -> int:
        return int(self.collection.count())

    def query(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Nearest chunk ids by cosine distance (texts are fetched later, for the winners only)."""
        if k <= 0:
            return []
        got = self.collection.query(
            query_embeddings=[list(vector)], n_results=k, where=where, include=["distances"]
        )
        return [
            Hit(i, float(d), "", {})
            for i, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def metadata(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata only (no texts), by chunk id."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _PAGE):
            got = self.collection.get(ids=list(ids[start : start + _PAGE]), include=["metadatas"])
            out.update(
                {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
            )
        return out


def open_store(settings: Settings, name: str | None = None) -> Store:
    """Open (creating if needed) the configured collection."""
    client = make_client(settings)
    location = settings.chroma_url or str(settings.chroma_path)
    return Store(client, name or settings.collection, location)
