"""Reviews kept with the job state, outside the output folder: boxes and choices
per file, keyed by the job's HMAC of its path relative to the reviewed folder and
of its content (never a name, nor a hash of the original)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unseen.errors import UnseenError
from unseen.i18n import N_

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_edits (
    source TEXT PRIMARY KEY,      -- HMAC of the path relative to the reviewed folder
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,           -- photo or video
    doc TEXT NOT NULL,            -- JSON: boxes, edits, choices; never pixels
    updated REAL NOT NULL
);
"""


@dataclass
class ReviewStore:
    """Reviews kept in the job state folder (`unseen.batch.jobdb.open_state`),
    never in the output folder: boxes and choices, keyed by ``key`` of the path
    relative to the reviewed folder (`unseen.batch.jobdb.JobDatabase.name_key`) and
    the job's content key (an HMAC, not a hash of the original)."""

    state: Path
    key: Callable[[str], str]
    _db: sqlite3.Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from unseen.batch.jobdb import DB_NAME

        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.state / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UnseenError(N_("{path}: job database unreadable ({reason})").format(
                path=self.path, reason=exc)) from exc

    def close(self) -> None:
        self._db.close()

    def load(self, source: str, chash: str) -> dict[str, Any] | None:
        """The stored review of ``source`` if the file is still the one reviewed."""
        row = self._db.execute(
            "SELECT content_hash, doc FROM review_edits WHERE source = ?", (self.key(source),)
        ).fetchone()
        if row is None or row[0] != chash:
            return None
        doc: dict[str, Any] = json.loads(row[1])
        return doc

    def save(self, source: str, chash: str, kind: str, doc: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO review_edits (source, content_hash, kind, doc, updated) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
            "content_hash = excluded.content_hash, kind = excluded.kind, doc = excluded.doc, "
            "updated = excluded.updated",
            (self.key(source), chash, kind, json.dumps(doc), time.time()),
        )

    def delete(self, source: str) -> None:
        self._db.execute("DELETE FROM review_edits WHERE source = ?", (self.key(source),))

    def reviewed(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored reviews of ``names`` (paths relative to the reviewed folder)."""
        keys = {self.key(n): n for n in names}
        return {keys[src]: json.loads(doc) for src, doc in
                self._db.execute("SELECT source, doc FROM review_edits") if src in keys}
