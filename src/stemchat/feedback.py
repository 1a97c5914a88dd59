"""Thumbs up/down with an optional comment, stored locally in SQLite; nothing else about the person."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (0, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    corpus_version TEXT NOT NULL
)
"""
COLUMNS = ("id", "created_at", "rating", "comment", "question", "answer", "corpus_version")


class FeedbackStore:
    """One SQLite file in the data dir; each call opens its own connection (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work: committed on success, rolled back on error, and
        always closed (sqlite3's own context manager only commits)."""
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            with con:
                yield con
        finally:
            con.close()

    def add(
        self, *, rating: int, question: str, answer: str, corpus_version: str, comment: str = ""
    ) -> int:
        """Store one rating (1 = helpful, 0 = not helpful); returns its id."""
        if rating not in (0, 1):
            raise ValueError("rating must be 0 (thumbs down) or 1 (thumbs up)")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO feedback (created_at, rating, comment, question, answer, corpus_version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, rating, comment[:2000], question[:20000], answer[:100000], corpus_version),
            )
            return int(cur.lastrowid or 0)

    def rows(self) -> list[dict[str, object]]:
        with self._connect() as con:
            cur = con.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS)
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return buf.getvalue()


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote
    (OWASP's advice for CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def feedback_store(data_dir: Path) -> FeedbackStore:
    return FeedbackStore(data_dir / "feedback.sqlite3")
