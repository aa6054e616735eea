"""Job state: what makes a run into an output folder resumable, kept outside that folder.

One folder per job, under a random name in the per-user state folder (or where ``--state``
says): a SQLite database, a lock, a random secret and the job's owner (a keyed hash of the
output folder's path, so that the next run into that folder finds its job). Nothing in it
names an original: inputs, outputs and contents are keyed by HMAC-SHA256 with the secret,
and messages are kept without the files' names. `forget` removes every job's state.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from filelock import BaseFileLock

DB_NAME = "jobs.sqlite"
SECRET_NAME = "secret"
LOCK_NAME = "lock"
OWNER_NAME = "owner"
SCHEMA_VERSION = 2
_OUR_FILES = (DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm", SECRET_NAME,
              OWNER_NAME, LOCK_NAME)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    dest TEXT PRIMARY KEY,        -- HMAC of the planned output, relative to the output folder
    source TEXT NOT NULL,         -- HMAC of the input's resolved path
    content TEXT NOT NULL,        -- HMAC of the input's bytes
    settings_key TEXT NOT NULL,
    state TEXT NOT NULL,          -- written, failed, unsafe
    written TEXT,                 -- HMAC of the output actually written, relative
    kind TEXT,
    faces INTEGER,
    verdict TEXT,
    error TEXT,                   -- why it failed, without the file's names
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
NOT_REGULAR = N_("not a regular file: not read")


def default_state_root() -> Path:
    """The per-user folder holding every job's state (``~/.local/state/unseen/jobs`` on
    Linux, as ``platformdirs`` decides per system)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("unseen", appauthor=False)) / "jobs"


def owner_key(secret: bytes, output: Path) -> str:
    """Which output folder a job writes into, keyed by the job's secret: its state
    folder is found again by it, and it names nothing without the secret."""
    path = os.fsencode(os.path.realpath(output))
    return hmac.new(secret, b"unseen output folder\0" + path, hashlib.sha256).hexdigest()


def read_secret(folder: Path) -> bytes | None:
    """The secret of the job state in ``folder``, if there is one."""
    try:
        key = (folder / SECRET_NAME).read_bytes()
    except OSError:
        return None
    return key if len(key) >= 32 else None


def _owner(folder: Path) -> str | None:
    try:
        return (folder / OWNER_NAME).read_text(encoding="ascii").strip() or None
    except (OSError, ValueError):
        return None


def _belongs(folder: Path, output: Path) -> bool:
    secret, owner = read_secret(folder), _owner(folder)
    return secret is not None and owner is not None and hmac.compare_digest(
        owner, owner_key(secret, output))


def find_state(output: Path, state: Path | None = None) -> Path | None:
    """The state folder of the job writing into ``output``, if there is one: ``state``
    (``--state DIR``) when it holds a job, else the per-user one whose owner is
    ``output``. Nothing is made."""
    if state is not None:
        return state if read_secret(state) is not None else None
    root = default_state_root()
    if not root.is_dir():
        return None
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.is_symlink() and _belongs(child, output):
            return child
    return None


@contextlib.contextmanager
def _root_lock(root: Path) -> Iterator[None]:
    """Finding, making and removing job state folders, one process at a time."""
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = FileLock(root / LOCK_NAME, timeout=60, thread_local=False,
                    preserve_lock_file=True, fallback_to_soft=False)
    try:
        lock.acquire()
    except OSError as exc:
        raise UnseenError(N_("the job states are busy (another unseen is starting); try "
                             "again")) from exc
    try:
        yield
    finally:
        lock.release()


def job_secret(state: Path, secret: bytes | None = None) -> bytes:
    """The state folder's random secret (made on first use from ``secret`` or new
    random bytes; readable by the user only)."""
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
    key = secret if secret is not None and len(secret) >= 32 else secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def open_state(output: Path, state: Path | None = None, secret: bytes | None = None) -> Path:
    """The state folder of the job writing into ``output``, made if there is none
    (a new one under a random name, with ``secret`` if given)."""
    if state is not None:
        job_secret(state, secret)
        return state
    root = default_state_root()
    with _root_lock(root):
        found = find_state(output)
        if found is not None:
            return found
        folder = root / secrets.token_hex(16)
        folder.mkdir(mode=0o700)
        key = job_secret(folder, secret)
        (folder / OWNER_NAME).write_text(owner_key(key, output), encoding="ascii")
        return folder


def remove_state(folder: Path) -> None:
    """Delete a job's state: unseen's own files in ``folder``, then the folder if it
    is empty (a ``--state DIR`` may hold other things, which stay)."""
    root = default_state_root()
    if folder.parent == root:
        with _root_lock(root):
            shutil.rmtree(folder, ignore_errors=True)
        return
    for name in _OUR_FILES:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


@dataclass(frozen=True)
class Forgotten:
    """What `forget` did: job states removed, and those a running unseen holds."""

    removed: int
    busy: int


def exclusive_lock(path: Path) -> BaseFileLock:
    """Lock the file ``path`` for this process, without waiting: OSError
    (`filelock.Timeout`) when another process holds it. flock on Unix, LockFileEx
    on Windows (filelock); the file stays empty and in place after `release`, and
    any thread may release it."""
    from filelock import FileLock

    # preserve_lock_file also turns off filelock's soft fallback, whose marker
    # file would hold this process's id and host name.
    lock = FileLock(path, thread_local=False, preserve_lock_file=True, fallback_to_soft=False)
    lock.acquire(blocking=False)
    return lock


def forget(root: Path | None = None, extra: Iterable[Path] = ()) -> Forgotten:
    """Remove every job's state under ``root`` (default: the per-user one), and the
    job states in ``extra`` (``--state DIR``), except those a running unseen holds."""
    root = root if root is not None else default_state_root()
    removed = busy = 0
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.is_symlink()] \
        if root.is_dir() else []
    with contextlib.ExitStack() as stack:
        if root.is_dir():
            stack.enter_context(_root_lock(root))
        for folder in [*folders, *(p for p in extra if p.is_dir())]:
            try:
                lock = exclusive_lock(folder / LOCK_NAME)
            except OSError:
                busy += 1
                continue
            try:
                if folder.parent == root:
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    for name in _OUR_FILES:
                        with contextlib.suppress(FileNotFoundError):
                            (folder / name).unlink()
                    with contextlib.suppress(OSError):
                        folder.rmdir()
            finally:
                with contextlib.suppress(OSError):
                    lock.release()
            removed += 1
    if root.is_dir() and not busy:
        with contextlib.suppress(OSError):
            (root / LOCK_NAME).unlink()
        with contextlib.suppress(OSError):
            root.rmdir()
    return Forgotten(removed, busy)


def settings_key(settings: Settings) -> str:
    """Hash of every setting that changes the output."""
    d = {k: v for k, v in settings.as_dict().items() if k not in _NOT_OUTPUT_AFFECTING}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def output_candidates(dest: Path) -> list[Path]:
    """Where the output planned as ``dest`` may be: as planned, as MP4 (a video whose
    container unseen does not write), ``*.PARTIAL.*`` and ``*.UNSAFE.*``."""
    found: list[Path] = []
    for p in (dest, dest.with_suffix(".mp4")):
        for q in (p, p.with_name(f"{p.stem}.PARTIAL{p.suffix}"),
                  p.with_name(f"{p.stem}.UNSAFE{p.suffix}")):
            if q not in found:
                found.append(q)
    return found


@dataclass(frozen=True)
class FileState:
    """What the state says about one input."""

    state: str
    faces: int | None
    verdict: str | None
    error: str | None


@dataclass(frozen=True)
class JobStatus:
    """What `unseen status OUT` shows: counts and reasons, never a name."""

    counts: dict[str, int]
    runs: int
    last_started: float | None
    last_finished: float | None
    reasons: list[tuple[str, int]]
    """Why files failed or were withheld, with how many."""


class JobDatabase:
    """The driver's record of the job writing into ``output`` (workers never write to it).

    ``state`` is the job's state folder (`open_state`); a state folder belongs to
    one output folder, and is refused for another.
    """

    def __init__(self, state: Path, output: Path) -> None:
        self.state = state
        self.output = Path(os.path.realpath(output))
        self._secret = job_secret(state)
        self._claim(output)
        self.path = state / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._forget_older_schema()
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UnseenError(N_("{path}: job database unreadable ({reason})").format(
                path=self.path, reason=exc)) from exc

    @classmethod
    def for_output(cls, output: Path, state: Path | None = None) -> JobDatabase:
        """The database of the job writing into ``output`` (made if new)."""
        return cls(open_state(output, state), output)

    @classmethod
    def open_existing(cls, output: Path, state: Path | None = None) -> JobDatabase:
        folder = find_state(output, state)
        if folder is None or not (folder / DB_NAME).is_file():
            raise UnseenError(N_("{output}: no unseen job for this output folder (a job's "
                                 "state is kept only while it is unfinished, or with "
                                 "--resume)").format(output=output))
        return cls(folder, output)

    def _claim(self, output: Path) -> None:
        key = owner_key(self._secret, output)
        owner = _owner(self.state)
        if owner is None:
            (self.state / OWNER_NAME).write_text(key, encoding="ascii")
        elif not hmac.compare_digest(owner, key):
            raise UnseenError(N_("{state}: this job state belongs to another output "
                                 "folder").format(state=self.state))

    def _forget_older_schema(self) -> None:
        """Versions before 0.3 kept the originals' names in plain text: drop them."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= SCHEMA_VERSION:
            return
        for table in ("files", "runs", "meta", "review_edits"):
            self._db.execute(f"DROP TABLE IF EXISTS {table}")
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.execute("VACUUM")  # the dropped pages, names and all, are overwritten

    def close(self) -> None:
        self._db.close()

    # keys -------------------------------------------------------------------
    def name_key(self, rel: str) -> str:
        """HMAC of a name relative to the output or input folder."""
        return self._mac(b"name\0" + os.fsencode(rel)).hexdigest()

    def source_key(self, source: Path) -> str:
        """HMAC of an input's resolved path: the same input, the same key, in this job only."""
        return self._mac(b"source\0" + os.fsencode(os.path.realpath(source))).hexdigest()

    def content_key(self, path: Path, chunk: int = 1 << 20) -> str:
        """HMAC of a file's bytes: equal for equal files, in this job only. Only a
        regular file is read (a FIFO or a device named like a photo never is)."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnseenError(NOT_REGULAR)
            mac = self._mac(b"content\0")
            while block := f.read(chunk):
                mac.update(block)
        return mac.hexdigest()

    def _mac(self, start: bytes) -> hmac.HMAC:
        return hmac.new(self._secret, start, hashlib.sha256)

    def _rel(self, path: Path | str) -> str:
        p = Path(os.path.realpath(path))
        try:
            return p.relative_to(self.output).as_posix()
        except ValueError:
            return p.name

    # records ----------------------------------------------------------------
    def done_output(self, dest: Path, content: str, skey: str) -> Path | None:
        """The output an earlier run wrote for ``dest`` from the same content with the
        same settings, if it is still there."""
        row = self._db.execute(
            "SELECT content, settings_key, state, written FROM files WHERE dest = ?",
            (self.name_key(self._rel(dest)),),
        ).fetchone()
        if row is None or row[3] is None:
            return None
        if not (row[0] == content and row[1] == skey and row[2] == "written"):
            return None
        for p in output_candidates(dest):
            if self.name_key(self._rel(p)) == row[3] and p.is_file():
                return p
        return None

    def written(self) -> set[str]:
        """The keys (`name_key`) of every output this job wrote, safe or kept unsafe."""
        return {w for (w,) in self._db.execute(
            "SELECT written FROM files WHERE written IS NOT NULL")}

    def ours(self, rel: str, written: set[str] | None = None) -> bool:
        """Whether this job wrote the file ``rel`` (relative to the output folder)."""
        return self.name_key(rel) in (written if written is not None else self.written())

    def record(self, source: Path, dest: Path, content: str, skey: str, result: FileResult,
               names: Iterable[str] = ()) -> None:
        """Record what happened to ``source``; its error is kept without ``names``
        (the file's names, as reports give them)."""
        verdict = None
        if result.verdict is not None:
            verdict = "safe" if getattr(result.verdict, "safe", False) else "unsafe"
        written = self.name_key(self._rel(result.output)) if result.output else None
        self._db.execute(
            "INSERT INTO files (dest, source, content, settings_key, state, written, "
            "kind, faces, verdict, error, seconds, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(dest) DO UPDATE SET source = excluded.source, "
            "content = excluded.content, settings_key = excluded.settings_key, "
            "state = excluded.state, written = excluded.written, kind = excluded.kind, "
            "faces = excluded.faces, verdict = excluded.verdict, error = excluded.error, "
            "seconds = excluded.seconds, updated = excluded.updated",
            (self.name_key(self._rel(dest)), self.source_key(source), content, skey,
             result.status, written, result.kind, result.faces, verdict,
             nameless(result.error, [*names, source.name, dest.name]), result.seconds,
             time.time()),
        )

    def file_state(self, source: Path) -> FileState | None:
        """The latest record of the input ``source``, if any."""
        row = self._db.execute(
            "SELECT state, faces, verdict, error FROM files "
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
        reasons = list(self._db.execute(
            "SELECT COALESCE(error, state), COUNT(*) FROM files "
            "WHERE state IN ('failed', 'unsafe') GROUP BY 1 ORDER BY 2 DESC, 1"
        ))
        return JobStatus(counts, runs, started, finished, reasons)


THE_FILE = N_("this file")


def nameless(text: str | None, names: Iterable[str]) -> str | None:
    """``text`` with every one of ``names`` (a file's names, its path) taken out: what
    the job state may keep of a message."""
    if not text:
        return text
    from unseen.metadata.names import shown

    for name in sorted({n for n in names if n and n not in (".", os.sep)}, key=len,
                       reverse=True):
        text = text.replace(name, THE_FILE)
        text = text.replace(shown(name), THE_FILE)
    return shown(text)
