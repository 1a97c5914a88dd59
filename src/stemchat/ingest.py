"""Incremental, single-writer ingest of the corpus into the store.

Order of writes for each changed document: new chunks, then the manifest (commit), then the
old chunks are deleted. A crash at any point leaves the store readable and the next run repairs it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from stemchat.chunking import CHUNKER_VERSION, chunk_document, content_key
from stemchat.corpus import Corpus, CorpusDocument, load_corpus
from stemchat.corpus.loader import corpus_fingerprint
from stemchat.embeddings import settings_model_tag
from stemchat.errors import IngestLockedError, PruneRefusedError, StoreError
from stemchat.lease import WriterLease
from stemchat.retrieval import lexical_index_for, prune_lexical
from stemchat.settings import Settings
from stemchat.store import DocEntry, Manifest, Store, open_store

COMMIT_BATCH = 64


@dataclass
class Plan:
    """What an ingest would do."""

    add: list[CorpusDocument] = field(default_factory=list)
    update: list[CorpusDocument] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_on_error: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return len(self.add) + len(self.update) + len(self.remove)


@dataclass
class IngestReport:
    """What an ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_embedded: int = 0
    orphans_removed: int = 0
    documents: int = 0
    chunks: int = 0
    version: str = ""
    issues: list[str] = field(default_factory=list)


def plan_ingest(corpus: Corpus, manifest: Manifest, settings: Settings, tag: str) -> Plan:
    """Compare the corpus on disk with the manifest in the store."""
    plan = Plan()
    present = {d.id for d in corpus.documents}
    broken = {i.path.stem for i in corpus.errors if i.path.suffix == ".md"}
    for doc in corpus.documents:
        key = content_key(doc, settings.chunk_size, settings.chunk_overlap, tag)
        entry = manifest.documents.get(doc.id)
        if entry is None:
            plan.add.append(doc)
        elif entry.key != key:
            plan.update.append(doc)
        else:
            plan.unchanged.append(doc.id)
    for doc_id in manifest.documents:
        if doc_id in present:
            continue
        if doc_id in broken:
            # The file is there but invalid now: keep what is stored until it is fixed.
            plan.kept_on_error.append(doc_id)
        else:
            plan.remove.append(doc_id)
    return plan


def refuse_mass_removal(plan: Plan, stored: int, settings: Settings) -> None:
    """Stop before an ingest removes every stored document, or more than the allowed share:
    the usual cause is a wrong, missing or emptied corpus folder, not a real deletion."""
    removing = len(plan.remove)
    if not removing or not stored:
        return
    folder = settings.documents_dir
    if not folder.is_dir():
        why = f"the corpus folder {folder} does not exist"
    elif removing == stored:
        why = f"no document in {folder} matches the {stored} stored ones"
    elif removing / stored > settings.max_removed_share:
        why = (
            f"{removing} of the {stored} stored documents are missing from {folder} "
            f"(more than {settings.max_removed_share:.0%})"
        )
    else:
        return
    raise PruneRefusedError(
        f"refusing to remove {removing} documents from the index: {why}; check "
        "STEMCHAT_CORPUS_DIR, or run `stemchat ingest --prune` if the removal is meant"
    )


def ingest_lock(settings: Settings) -> FileLock:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.data_dir / "ingest.lock"), timeout=0)


def ingest(
    settings: Settings,
    embeddings: Embeddings,
    *,
    store: Store | None = None,
    progress: bool = False,
    on_step: Callable[[str], None] | None = None,
    prune: bool = False,
) -> IngestReport:
    """Bring the store in line with the corpus; refuse to run beside another ingest, and refuse
    to remove all or most stored documents unless `prune` (see `refuse_mass_removal`)."""
    lock = ingest_lock(settings)
    try:
        lock.acquire()
    except Timeout:
        raise IngestLockedError(
            f"another ingest is running (lock {lock.lock_file}); wait for it to finish and retry"
        ) from None
    try:
        store = store or open_store(settings)
        with WriterLease(store) as lease:  # one writer per store, across machines
            return _ingest_locked(settings, embeddings, store, lease, progress, on_step, prune)
    finally:
        lock.release()


def _ingest_locked(
    settings: Settings,
    embeddings: Embeddings,
    store: Store,
    lease: WriterLease,
    progress: bool,
    on_step: Callable[[str], None] | None,
    prune: bool,
) -> IngestReport:
    tag = settings_model_tag(settings)
    key = corpus_key(settings, tag)  # before loading: a file changed meanwhile shows up next time
    corpus = load_corpus(settings.corpus_dir)
    report = IngestReport(issues=[str(i) for i in corpus.issues])
    manifest = store.read_manifest()
    if manifest.model and manifest.model != tag:
        manifest = Manifest(model=tag)  # a new model: every document is re-embedded
    manifest.model = tag
    previous = manifest.version
    plan = plan_ingest(corpus, manifest, settings, tag)
    if not prune:
        refuse_mass_removal(plan, len(manifest.documents), settings)  # before any write
    finished_key, manifest.corpus_key = manifest.corpus_key, ""  # set again only on completion
    report.orphans_removed = _repair(store, manifest)

    todo = plan.add + plan.update
    stale: list[str] = []
    bar = _progress(sum(1 for _ in todo), progress)
    for start in range(0, len(todo), COMMIT_BATCH):
        batch = todo[start : start + COMMIT_BATCH]
        chunked = [
            (
                doc,
                chunk_document(
                    doc,
                    chunk_size=settings.chunk_size,
                    chunk_overlap=settings.chunk_overlap,
                    model_tag=tag,
                ),
            )
            for doc in batch
        ]
        chunks = [c for _, cs in chunked for c in cs]
        vectors = embed_in_batches(
            embeddings, [c.text for c in chunks], settings.embed_batch_size * 4, False
        )
        report.chunks_embedded += len(chunks)
        # 1) new chunks (ids carry the content key, so old ones stay untouched)
        store.upsert(
            [c.id for c in chunks], vectors, [c.text for c in chunks], [c.metadata for c in chunks]
        )
        # 2) commit: one manifest write makes the whole batch visible at once
        for doc, cs in chunked:
            old = manifest.documents.get(doc.id)
            manifest.documents[doc.id] = DocEntry(
                key=content_key(doc, settings.chunk_size, settings.chunk_overlap, tag),
                chunks=len(cs),
                title=doc.meta.title,
                sha256=doc.sha256,
                reviewed=doc.meta.last_reviewed,
            )
            if old is None:
                report.added.append(doc.id)
            else:
                report.updated.append(doc.id)
                stale.extend(set(old.chunk_ids(doc.id)) - {c.id for c in cs})
        lease.check()
        store.write_manifest(manifest)
        if bar is not None:
            bar.update(len(batch))
        if on_step:
            for doc, _ in chunked:
                on_step(doc.id)
    if bar is not None:
        bar.close()
    for doc_id in plan.remove:
        stale.extend(manifest.documents.pop(doc_id).chunk_ids(doc_id))
        report.removed.append(doc_id)
    manifest.corpus_key = key
    if not manifest.updated or todo or plan.remove or finished_key != key:
        lease.check()
        store.write_manifest(manifest)  # the last commit: the completed version, with its key
    # 3) only now drop replaced and removed chunks: until this point every earlier committed
    # version stays whole, so a running chat keeps answering from it while the ingest runs
    store.delete(sorted(stale))
    report.unchanged = len(plan.unchanged)
    report.documents = len(manifest.documents)
    report.chunks = manifest.chunk_count
    report.version = manifest.version
    lexical_index_for(store, manifest, settings.data_dir)
    # older BM25 versions on disk: keep the new one and the one a running chat may still serve
    prune_lexical(settings.data_dir, store.name, keep={manifest.version, previous})
    return report


def _progress(total: int, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled or total < 20:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", desc="ingesting", file=sys.stderr)


def _repair(store: Store, manifest: Manifest) -> int:
    """Delete chunks the manifest does not own (left by an interrupted ingest)."""
    owned = set(manifest.all_chunk_ids())
    orphans = [i for i in store.all_ids() if i not in owned]
    if orphans:
        store.delete(orphans)
    return len(orphans)


def embed_in_batches(
    embeddings: Embeddings, texts: list[str], batch: int, progress: bool
) -> list[list[float]]:
    """Embed with a progress bar on long runs."""
    if not texts:
        return []
    bar = None
    if progress and len(texts) > batch:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), unit="chunk", desc="embedding", file=sys.stderr)
    out: list[list[float]] = []
    for start in range(0, len(texts), batch):
        out.extend(embeddings.embed_documents(texts[start : start + batch]))
        if bar:
            bar.update(min(batch, len(texts) - start))
    if bar:
        bar.close()
    return out


def corpus_key(settings: Settings, tag: str) -> str:
    """Every corpus byte plus the settings that decide chunks and vectors, as one hash."""
    h = hashlib.sha256(corpus_fingerprint(settings.corpus_dir).encode())
    h.update(f"{settings.chunk_size}:{settings.chunk_overlap}:{CHUNKER_VERSION}:{tag}".encode())
    return h.hexdigest()[:16]


def is_current(settings: Settings, store: Store) -> bool:
    """Does the store hold a completed ingest of exactly the corpus on disk? (no parsing)"""
    manifest = store.read_manifest()
    tag = settings_model_tag(settings)
    return bool(manifest.documents) and manifest.corpus_key == corpus_key(settings, tag)


def status(settings: Settings, store: Store | None = None) -> dict[str, object]:
    """Store location and mode, model, what is indexed and what is pending."""
    store = store or open_store(settings)
    corpus = load_corpus(settings.corpus_dir)
    tag = settings_model_tag(settings)
    manifest = store.read_manifest()
    stale_model = bool(manifest.model) and manifest.model != tag
    plan = plan_ingest(corpus, manifest if not stale_model else Manifest(model=tag), settings, tag)
    return {
        "mode": settings.store_mode,
        "location": store.location,
        "collection": store.name,
        "model": str(settings.resolved_model_path),
        "model_tag": tag,
        "documents": len(manifest.documents),
        "chunks": manifest.chunk_count,
        "stored_chunks": store.count(),
        "version": manifest.version,
        "updated": manifest.updated,
        "pending": plan.pending,
        "pending_documents": sorted([d.id for d in plan.add + plan.update] + plan.remove),
        "corpus_errors": len(corpus.errors),
        "evidence_map_version": corpus.evidence.version if corpus.evidence else None,
    }


__all__ = ["IngestReport", "Plan", "StoreError", "ingest", "plan_ingest", "status"]
