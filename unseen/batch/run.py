"""Running a plan's jobs resumably, in parallel, on an engine.

`run_batch` runs the jobs on an engine (`unseen.batch.engines`), recording each
in the job state (`unseen.batch.jobdb`, outside the output folder) so a re-run
skips what is already done; one run per output folder at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from unseen.batch.plan import Job, inside
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.media.atomic import TEMP_PREFIX, TEMP_SUFFIX
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from unseen.pipeline import ProgressCallback as VideoProgressCallback


@dataclass
class BatchRun:
    """Everything a run produced, for the summary."""

    results: list[FileResult]
    seconds: float
    bytes_processed: int
    interrupted: bool = False
    removed_legacy_state: bool = False
    """An old job database (``OUT/.unseen-jobs.sqlite``, which held the originals'
    paths and hashes) was found in the output folder and deleted."""


def run_batch(
    jobs: Sequence[Job],
    settings: Settings,
    output: Path,
    state: Path | None = None,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: VideoProgressCallback | None = None,
    debug: bool = False,
) -> BatchRun:
    """Run ``jobs`` into the folder ``output``, skipping those an earlier run finished.

    The job state lives in ``state`` (default: `unseen.batch.jobdb.state_folder`),
    never in ``output``. A first SIGINT/SIGTERM stops starting new files and lets
    running ones finish (outputs are atomic); a second one stops at once. Either
    way no partial output is left and the job state stays consistent. ``debug``:
    workers log tracebacks of unexpected errors to stderr.
    """
    from unseen.batch.engines import make_engine
    from unseen.batch.jobdb import JobDatabase, settings_key, state_folder

    start = time.perf_counter()
    state = state_folder(output, state)
    if inside(state, output):
        raise UnseenError(N_("the job state would go into the output folder ({state}); give "
                             "another state folder").format(state=state))
    with _exclusive(state):
        _remove_stale_temporaries(output, jobs)
        legacy = _remove_legacy_state(output)
        db = JobDatabase(state, output)
        run_id = db.start_run(settings)
        skey = settings_key(settings)
        results: list[FileResult] = []
        todo: list[Job] = []
        contents: dict[Path, str] = {}
        nbytes = 0

        def emit(job: Job, r: FileResult) -> None:
            _name_result(r, job, output)
            results.append(r)
            if on_result:
                on_result(r)

        for job in jobs:
            if job.skip_reason:
                emit(job, FileResult(input=str(job.source), status="skipped",
                                     error=job.skip_reason))
                continue
            try:
                content = db.content_key(job.source)
            except OSError as exc:
                emit(job, FileResult(input=str(job.source), status="failed",
                                     error=N_("cannot be read: {reason}").format(
                                         reason=exc.strerror or exc)))
                continue
            written = db.done_output(job.dest, content, skey)
            if written is not None:
                emit(job, FileResult(input=str(job.source), output=str(output / written),
                                     status="done"))
                continue
            contents[job.source] = content
            todo.append(job)
        if on_start:
            on_start(len(todo))
        interrupted = False
        workers = max(1, min(workers, len(todo)))
        runner = (make_engine(settings, workers, engine, address, on_progress, debug)
                  if todo else None)
        try:
            with _graceful_stop(runner) as stop_state:
                if runner is not None:
                    for job, result in runner.run(todo):
                        _name_result(result, job, output)
                        db.record(job.source, job.dest, contents[job.source], skey, result,
                                  name=job.display_name, renamed=job.renamed)
                        if result.status == "written":
                            with contextlib.suppress(OSError):  # removed meanwhile
                                nbytes += job.source.stat().st_size
                        emit(job, result)
                interrupted = stop_state["stopped"]
        finally:
            if runner is not None:
                runner.close()
            from unseen.report import summarize

            db.finish_run(run_id, summarize(results))
            db.close()
    return BatchRun(results, time.perf_counter() - start, nbytes, interrupted, legacy)


def _name_result(r: FileResult, job: Job, output: Path) -> None:
    """Give the result the names reports use (relative to the input and output
    folders) and keep paths out of its messages."""
    r.name = job.display_name
    r.renamed = job.renamed
    r.output_name = None
    if r.output:
        out = Path(r.output).resolve()
        root = output.resolve()
        r.output_name = out.relative_to(root).as_posix() if out.is_relative_to(root) else out.name
    if r.error:
        r.error = _scrub(r.error, job, output)


def _scrub(text: str, job: Job, output: Path) -> str:
    """Messages name files relative to the input and output folders, never by path."""
    root = output.resolve()
    swaps: dict[str, str] = {}
    for p in (job.source, job.source.absolute(), job.source.resolve()):
        swaps[str(p)] = job.display_name
    for p in (job.dest, job.dest.absolute(), job.dest.resolve()):
        d = p.resolve()
        swaps[str(p)] = d.relative_to(root).as_posix() if d.is_relative_to(root) else d.name
    for p in (output, output.absolute(), root):
        if str(p) not in (".", ""):
            swaps[str(p) + os.sep] = ""  # a path inside the output folder: relative to it
            swaps[str(p)] = "the output folder"
    for old in sorted(swaps, key=len, reverse=True):
        if old not in (".", "", os.sep):
            new = swaps[old].replace("\\", "\\\\")  # literal in a replacement template
            text = re.sub(r"(?<![\w.-])" + re.escape(old), new, text)
    return text


@contextmanager
def _graceful_stop(runner: object) -> Iterator[dict[str, bool]]:
    state = {"stopped": False}

    def handler(signum: int, frame: object) -> None:
        if state["stopped"]:
            raise KeyboardInterrupt
        state["stopped"] = True
        stop = getattr(runner, "stop", None)
        if stop:
            stop()

    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in old.items():
            signal.signal(s, h)


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


@contextmanager
def _exclusive(state: Path) -> Iterator[None]:
    """One run per output folder (per state folder) at a time."""
    from unseen.batch.jobdb import LOCK_NAME

    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # a lock file of its own: separate from SQLite's locks on the database
        lock = exclusive_lock(state / LOCK_NAME)
    except OSError as exc:
        raise UnseenError(N_("another unseen run is writing to this output folder")) from exc
    try:
        yield
    finally:
        lock.release()


LEGACY_DB_NAMES = (".unseen-jobs.sqlite", ".unseen-jobs.sqlite-journal",
                   ".unseen-jobs.sqlite-wal", ".unseen-jobs.sqlite-shm")


def _remove_legacy_state(output: Path) -> bool:
    """Versions before 0.2 kept the job database in the output folder, with the
    originals' absolute paths and SHA-256: an output folder must not carry it."""
    found = False
    for name in LEGACY_DB_NAMES:
        p = output / name
        if p.is_file() and not p.is_symlink():
            p.unlink()
            found = True
    return found


def _remove_stale_temporaries(output: Path, jobs: Sequence[Job]) -> None:
    """A killed run can leave temporary outputs; only unseen's own are removed."""
    folders = {j.dest.parent for j in jobs} | {output}
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            p.unlink(missing_ok=True)
