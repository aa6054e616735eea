"""Job state: what makes a run into an output folder resumable, kept outside that folder.

One folder per output folder (`state_folder`), in the per-user state folder or where
``--state`` says: a SQLite database, a lock and a random secret. Sources and contents
are keyed by HMAC-SHA256 with that secret, and files are named relative to the input
and output folders, so nothing in it matches an original's path or hash elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.report import FileResult
from unseen.settings import Settings

DB_NAME = "jobs.sqlite"
SECRET_NAME = "secret"
LOCK_NAME = "lock"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    dest TEXT PRIMARY KEY,        -- planned output, relative to the output folder
    source TEXT NOT NULL,         -- HMAC of the input's resolved path
    name TEXT NOT NULL,           -- the input relative to its input folder
    content TEXT NOT NULL,        -- HMAC of the input's bytes
    settings_key TEXT NOT NULL,
    state TEXT NOT NULL,          -- written, failed, unsafe
    written TEXT,                 -- the output actually written, relative
    renamed TEXT,                 -- why the output got a neutral name
    kind TEXT,
    faces INTEGER,
    verdict TEXT,
    error TEXT,
    seconds REAL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_source ON files (source);
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


def default_state_root() -> Path:
    """The per-user folder holding every job's state (``~/.local/state/unseen/jobs`` on
    Linux, as ``platformdirs`` decides per system)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("unseen", appauthor=False)) / "jobs"


def output_key(output: Path) -> str:
    """The name of an output folder's state folder: a hash of its resolved path."""
    path = os.fsencode(output.resolve())
    return hashlib.sha256(b"unseen output folder\0" + path).hexdigest()[:32]


def state_folder(output: Path, state: Path | None = None) -> Path:
    """Where the job writing into the folder ``output`` keeps its state: ``state`` if
    given (``--state DIR``), else the per-user state folder keyed by ``output``."""
    if state is not None:
        return state
    return default_state_root() / output_key(output)


def job_secret(state: Path) -> bytes:
    """The state folder's random secret (made on first use; readable by the user only)."""
    if state.exists() and not state.is_dir():
        raise UnseenError(N_("{state}: the job state needs a folder, and this is a "
                             "file").format(state=state))
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state / SECRET_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 32:
            raise UnseenError(N_("{path}: job secret damaged; remove {state} to start the "
                                 "job afresh").format(path=path, state=state)) from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def settings_key(settings: Settings) -> str:
    """Hash of every setting that changes the output."""
    d = {k: v for k, v in settings.as_dict().items() if k not in _NOT_OUTPUT_AFFECTING}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FileState:
    """What the state says about one input."""

    name: str
    dest: str
    state: str
    written: str | None
    renamed: str | None
    faces: int | None
    verdict: str | None
    error: str | None


@dataclass(frozen=True)
class JobStatus:
    """What `unseen status OUT` shows."""

    counts: dict[str, int]
    runs: int
    last_started: float | None
    last_finished: float | None
    failures: list[tuple[str, str]]
    renamed: list[tuple[str, str]]


class JobDatabase:
    """The driver's record of the job writing into ``output`` (workers never write to it).

    ``state`` is the job's state folder (`state_folder`); a state folder belongs to
    one output folder, and is refused for another.
    """

    def __init__(self, state: Path, output: Path) -> None:
        self.state = state
        self.output = output.resolve()
        self._secret = job_secret(state)
        self.path = state / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.executescript(_SCHEMA)
            self._claim(output_key(output))
        except sqlite3.DatabaseError as exc:
            raise UnseenError(N_("{path}: job database unreadable ({reason})").format(
                path=self.path, reason=exc)) from exc

    @classmethod
    def for_output(cls, output: Path, state: Path | None = None) -> JobDatabase:
        """The database of the job writing into ``output`` (made if new)."""
        return cls(state_folder(output, state), output)

    @classmethod
    def open_existing(cls, output: Path, state: Path | None = None) -> JobDatabase:
        folder = state_folder(output, state)
        if not (folder / DB_NAME).is_file():
            raise UnseenError(N_("{output}: no unseen job for this output folder (no job "
                                 "state in {folder})").format(output=output, folder=folder))
        return cls(folder, output)

    def _claim(self, key: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('output', ?)", (key,))
        (owner,) = self._db.execute("SELECT value FROM meta WHERE key = 'output'").fetchone()
        if owner != key:
            self._db.close()
            raise UnseenError(N_("{state}: this job state belongs to another output "
                                 "folder").format(state=self.state))

    def close(self) -> None:
        self._db.close()

    # keys -------------------------------------------------------------------
    def source_key(self, source: Path) -> str:
        """HMAC of an input's resolved path: the same input, the same key, in this job only."""
        return self._mac(b"source\0" + os.fsencode(source.resolve())).hexdigest()

    def content_key(self, path: Path, chunk: int = 1 << 20) -> str:
        """HMAC of a file's bytes: equal for equal files, in this job only."""
        mac = self._mac(b"content\0")
        with open(path, "rb") as f:
            while block := f.read(chunk):
                mac.update(block)
        return mac.hexdigest()

    def _mac(self, start: bytes) -> hmac.HMAC:
        return hmac.new(self._secret, start, hashlib.sha256)

    def _rel(self, path: Path | str) -> str:
        p = Path(path).resolve()
        try:
            return p.relative_to(self.output).as_posix()
        except ValueError:
            return p.name

    # records ----------------------------------------------------------------
    def done_output(self, dest: Path, content: str, skey: str) -> str | None:
        """The output (relative to the output folder) an earlier run wrote for ``dest``
        from the same content with the same settings, if it is still there."""
        row = self._db.execute(
            "SELECT content, settings_key, state, written FROM files WHERE dest = ?",
            (self._rel(dest),),
        ).fetchone()
        if row is None or row[3] is None:
            return None
        same = row[0] == content and row[1] == skey and row[2] == "written"
        return row[3] if same and (self.output / row[3]).is_file() else None

    def record(
        self, source: Path, dest: Path, content: str, skey: str, result: FileResult,
        name: str | None = None, renamed: str | None = None,
    ) -> None:
        """Record what happened to ``source`` (``name``: relative to its input folder)."""
        verdict = None
        if result.verdict is not None:
            verdict = "safe" if getattr(result.verdict, "safe", False) else "unsafe"
        written = self._rel(result.output) if result.output else None
        self._db.execute(
            "INSERT INTO files (dest, source, name, content, settings_key, state, written, "
            "renamed, kind, faces, verdict, error, seconds, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(dest) DO UPDATE SET source = excluded.source, name = excluded.name, "
            "content = excluded.content, settings_key = excluded.settings_key, "
            "state = excluded.state, written = excluded.written, renamed = excluded.renamed, "
            "kind = excluded.kind, faces = excluded.faces, verdict = excluded.verdict, "
            "error = excluded.error, seconds = excluded.seconds, updated = excluded.updated",
            (self._rel(dest), self.source_key(source), name or source.name, content, skey,
             result.status, written, renamed, result.kind, result.faces, verdict, result.error,
             result.seconds, time.time()),
        )

    def file_state(self, source: Path) -> FileState | None:
        """The latest record of the input ``source``, if any."""
        row = self._db.execute(
            "SELECT name, dest, state, written, renamed, faces, verdict, error FROM files "
            "WHERE source = ? ORDER BY updated DESC LIMIT 1",
            (self.source_key(source),),
        ).fetchone()
        return FileState(*row) if row else None

    def start_run(self, settings: Settings) -> int:
        cur = self._db.execute(
            "INSERT INTO runs (started, settings) VALUES (?, ?)",
            (time.time(), json.dumps(settings.as_dict(), default=str)),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: dict[str, int]) -> None:
        with contextlib.suppress(sqlite3.Error):
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
            "SELECT name, COALESCE(error, state) FROM files "
            "WHERE state IN ('failed', 'unsafe') ORDER BY name"
        ))
        renamed = list(self._db.execute(
            "SELECT name, COALESCE(written, dest) FROM files WHERE renamed IS NOT NULL "
            "ORDER BY name"
        ))
        return JobStatus(counts, runs, started, finished, failures, renamed)
