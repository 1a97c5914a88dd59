"""Markdown-aware chunking: sections by heading, long sections split, titles kept in the text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from stemchat.corpus.models import CorpusDocument

CHUNKER_VERSION = "1"
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage with the metadata the store keeps beside it."""

    id: str
    doc_id: str
    index: int
    text: str
    heading: str
    metadata: dict[str, str | int | bool] = field(default_factory=dict)


def content_key(doc: CorpusDocument, chunk_size: int, chunk_overlap: int, model_tag: str) -> str:
    """Hash of everything that decides a document's chunks and vectors."""
    h = hashlib.sha256()
    for part in (doc.sha256, str(chunk_size), str(chunk_overlap), CHUNKER_VERSION, model_tag):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def split_markdown(body: str, chunk_size: int, chunk_overlap: int) -> list[tuple[str, str]]:
    """Split a Markdown body into (heading path, text) pieces no longer than chunk_size."""
    sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(body)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
    )
    pieces: list[tuple[str, str]] = []
    for section in sections:
        heading = " > ".join(
            section.metadata[k] for k in ("h1", "h2", "h3") if k in section.metadata
        )
        for text in splitter.split_text(section.page_content):
            text = text.strip()
            if text:
                pieces.append((heading, text))
    return pieces


def chunk_document(
    doc: CorpusDocument, *, chunk_size: int, chunk_overlap: int, model_tag: str
) -> list[Chunk]:
    """Chunk one document; ids are stable for the same content and settings."""
    key = content_key(doc, chunk_size, chunk_overlap, model_tag)
    meta = doc.meta
    conditions = ",".join(meta.conditions)
    chunks: list[Chunk] = []
    for index, (heading, text) in enumerate(split_markdown(doc.body, chunk_size, chunk_overlap)):
        prefix = f"{meta.title} — {heading}" if heading else meta.title
        metadata: dict[str, str | int | bool] = {
            "doc_id": meta.id,
            "doc_key": key,
            "title": meta.title,
            "heading": heading,
            "kind": meta.kind,
            "date": meta.date,
            "url": meta.primary_link or "",
            "conditions": f",{conditions}," if conditions else "",
            "chunk_index": index,
        }
        for condition in meta.conditions:
            metadata[f"cond_{condition}"] = True
        chunks.append(
            Chunk(
                id=f"{meta.id}::{key}::{index:03d}",
                doc_id=meta.id,
                index=index,
                text=f"{prefix}\n\n{text}",
                heading=heading,
                metadata=metadata,
            )
        )
    return chunks
