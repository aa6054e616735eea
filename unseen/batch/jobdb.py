"""The job database: one SQLite file in the output folder that makes runs resumable.

Each input is recorded with its content hash, the hash of the settings that
change the output, its state and verdict. Paths, hashes, counts and error
messages only: never pixels, never original metadata.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import UnseenError
from unseen.report import FileResult
from unseen.settings import Settings

DB_NAME = ".unseen-jobs.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    dest TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    settings_key TEXT NOT NULL,
    state TEXT NOT NULL,          -- written, failed, unsafe
    kind TEXT,
    faces INTEGER,
    verdict TEXT,
    error TEXT,
    seconds REAL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    settings TEXT NOT NULL,
    summary TEXT
);
"""
# Settings that do not change what is written.
_NOT_OUTPUT_AFFECTING = {"threads"}


def settings_key(settings: Settings) -> str:
    """Hash of every setting that changes the output."""
    d = {k: v for k, v in settings.as_dict().items() if k not in _NOT_OUTPUT_AFFECTING}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def content_hash(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class JobStatus:
    """What `unseen status OUT` shows."""

    counts: dict[str, int]
    runs: int
    last_started: float | None
    last_finished: float | None
    failures: list[tuple[str, str]]


class JobDatabase:
    """The driver's record of a batch (workers never write to it)."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UnseenError(f"{self.path}: job database unreadable ({exc})") from exc

    @classmethod
    def open_existing(cls, out_dir: Path) -> JobDatabase:
        if not (out_dir / DB_NAME).is_file():
            raise UnseenError(f"{out_dir}: no unseen job here (no {DB_NAME})")
        return cls(out_dir)

    def close(self) -> None:
        self._db.close()

    def is_done(self, source: Path, dest: Path, chash: str, skey: str) -> bool:
        row = self._db.execute(
            "SELECT dest, content_hash, settings_key, state FROM files WHERE source = ?",
            (str(source.resolve()),),
        ).fetchone()
        if row is None:
            return False
        same = row[0] == str(dest.resolve()) and row[1] == chash and row[2] == skey
        return same and row[3] == "written" and dest.is_file()

    def record(
        self, source: Path, dest: Path, chash: str, skey: str, result: FileResult
    ) -> None:
        verdict = None
        if result.verdict is not None:
            verdict = "safe" if getattr(result.verdict, "safe", False) else "unsafe"
        self._db.execute(
            "INSERT INTO files (source, dest, content_hash, settings_key, state, kind, faces, "
            "verdict, error, seconds, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(source) DO UPDATE SET dest = excluded.dest, "
            "content_hash = excluded.content_hash, settings_key = excluded.settings_key, "
            "state = excluded.state, kind = excluded.kind, faces = excluded.faces, "
            "verdict = excluded.verdict, error = excluded.error, seconds = excluded.seconds, "
            "updated = excluded.updated",
            (str(source.resolve()), str(dest.resolve()), chash, skey, result.status, result.kind,
             result.faces, verdict, result.error, result.seconds, time.time()),
        )

    def start_run(self, settings: Settings) -> int:
        cur = self._db.execute(
            "INSERT INTO runs (started, settings) VALUES (?, ?)",
            (time.time(), json.dumps(settings.as_dict(), default=str)),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: dict[str, int]) -> None:
        self._db.execute(
            "UPDATE runs SET finished = ?, summary = ? WHERE id = ?",
            (time.time(), json.dumps(summary), run_id),
        )

    def status(self) -> JobStatus:
        counts = dict(self._db.execute("SELECT state, COUNT(*) FROM files GROUP BY state"))
        runs, started, finished = self._db.execute(
            "SELECT COUNT(*), MAX(started), MAX(finished) FROM runs"
        ).fetchone()
        failures = list(self._db.execute(
            "SELECT source, COALESCE(error, state) FROM files "
            "WHERE state IN ('failed', 'unsafe') ORDER BY source"
        ))
        return JobStatus(counts, runs, started, finished, failures)
