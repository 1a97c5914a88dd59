"""The single-writer lease, held in the store itself.

A file lock only protects one machine. Several machines can ingest into one `chroma run` server,
so the writer also takes a lease: one record in the collection `<name>-lease` with an owner, a
random token and an expiry. Taking it is atomic in Chroma: `add` of an id that exists is a no-op,
so of two writers only the first record is stored, and each reads back whose it is. The holder
renews it in the background and checks it before every commit of the manifest; a lease whose
holder died (expired, or a dead process on this host) is removed with a delete conditioned on its
token, so two writers cannot both take over the same stale lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from stemchat.errors import IngestLockedError, StoreError

LEASE_ID = "writer"
TTL_SECONDS = 30.0


@dataclass(frozen=True)
class Holder:
    """Who holds the lease, and until when (seconds since the epoch)."""

    token: str
    host: str
    pid: int
    expires: float

    def describe(self) -> str:
        until = dt.datetime.fromtimestamp(self.expires, dt.UTC).strftime("%H:%M:%S UTC")
        return f"process {self.pid} on {self.host}, lease until {until}"

    def dead(self, now: float) -> bool:
        """Expired, or a process of this host that no longer exists (a crashed ingest)."""
        if self.expires < now:
            return True
        if self.host == socket.gethostname():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return False


class WriterLease:
    """Take, renew, check and release the store's writer lease."""

    def __init__(self, store: Any, ttl: float = TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = ""

    # -- the record -------------------------------------------------------------------------
    def _collection(self) -> Any:
        return self.store.lease_collection()

    def holder(self) -> Holder | None:
        got = self._collection().get(ids=[LEASE_ID], include=["documents"])
        if not got["ids"]:
            return None
        data = json.loads(got["documents"][0])
        return Holder(data["token"], data["host"], int(data["pid"]), float(data["expires"]))

    def _record(self) -> dict[str, Any]:
        doc = json.dumps(
            {
                "token": self.token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "expires": time.time() + self.ttl,
            }
        )
        return {
            "ids": [LEASE_ID],
            "embeddings": [[0.0]],
            "documents": [doc],
            "metadatas": [{"token": self.token}],
        }

    # -- the protocol -----------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lease or raise IngestLockedError naming who holds it."""
        current = self.holder()
        if current is not None and current.token != self.token:
            if not current.dead(time.time()):
                raise IngestLockedError(
                    f"another ingest is writing to the store at {self.store.location} "
                    f"({current.describe()}); wait for it to finish and retry"
                )
            # remove that stale lease only if it is still the same one (token-conditioned)
            self._collection().delete(ids=[LEASE_ID], where={"token": current.token})
        self._collection().add(**self._record())  # a no-op if someone else got there first
        mine = self.holder()
        if mine is None or mine.token != self.token:
            who = mine.describe() if mine else "unknown"
            raise IngestLockedError(
                f"another ingest took the store at {self.store.location} first ({who}); "
                "wait for it to finish and retry"
            )
        self._thread = threading.Thread(target=self._renew_loop, name="lease-renew", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.renew()
            except Exception as exc:  # a store hiccup: the next check before a commit decides
                self._lost = self._lost or f"renewal failed ({type(exc).__name__})"

    def renew(self) -> None:
        current = self.holder()
        if current is None or current.token != self.token:
            self._lost = "another writer holds it now"
            return
        self._collection().upsert(**self._record())

    def check(self) -> None:
        """Before a commit: raise StoreError unless this process still holds a live lease."""
        current = self.holder()
        if current is None or current.token != self.token or current.expires < time.time():
            reason = self._lost or "it expired or was taken over"
            raise StoreError(
                f"this ingest lost the writer lease on {self.store.location} ({reason}); "
                "stopped before committing; run `stemchat ingest` again"
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # an expired lease is harmless to leave behind
            self._collection().delete(ids=[LEASE_ID], where={"token": self.token})

    def __enter__(self) -> WriterLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
