"""Keep the index in line with the corpus before answering: used by the CLI, the app and the bench.

`ensure_index` ingests first when the store is empty or behind the corpus, and says so on stderr.
An ingest refused to protect stored data (a missing or emptied corpus folder) does not stop the
caller: answers keep coming from what is stored, and the refusal is printed.
"""

from __future__ import annotations

import contextlib
import sys

from stemchat.errors import IngestLockedError, PruneRefusedError, StemchatError
from stemchat.settings import Settings
from stemchat.store import Store, open_store


def stamp(settings: Settings, store: Store) -> None:
    """An up-to-date store from before corpus keys: a no-op ingest records the key (no model
    load, nothing embedded), so later starts skip parsing the corpus."""
    from stemchat.embeddings import make_embeddings
    from stemchat.ingest import ingest

    # Only an optimization: another ingest running, or a read-only data folder, just means the
    # next start parses the corpus again.
    with contextlib.suppress(IngestLockedError, StemchatError, OSError):
        ingest(settings, make_embeddings(settings, "ingest"), store=store)


def ensure_index(settings: Settings, *, quiet: bool = False) -> Store:
    """Ingest first when the store is empty or behind the corpus, saying so on stderr.

    Returns the open store, so the caller's engine does not open it a second time.
    """
    from stemchat.embeddings import ensure_onnx, make_embeddings
    from stemchat.ingest import ingest, is_current, status

    store = open_store(settings)
    if is_current(settings, store):  # the common case, without parsing the corpus
        ensure_onnx(settings)
        return store
    st = status(settings, store)
    if st["documents"] and not st["pending"]:
        stamp(settings, store)
        ensure_onnx(settings)  # a no-op once exported; the first time it imports torch
        return store
    reason = "empty" if not st["documents"] else f"behind the corpus ({st['pending']} changes)"
    print(f"stemchat: the index is {reason}; ingesting first...", file=sys.stderr)
    try:
        ingest(settings, make_embeddings(settings, "ingest"), progress=not quiet, store=store)
    except PruneRefusedError as refused:
        if not st["documents"]:
            raise
        print(f"stemchat: {refused}; answering from the stored index", file=sys.stderr)
    ensure_onnx(settings)
    return store
