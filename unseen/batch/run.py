"""Running a plan's jobs resumably, in parallel, on an engine.

`run_batch` checks the output folder before any file is read (it can be written, has
room, and holds nothing this job did not write unless asked), then runs the jobs on an
engine (`unseen.batch.engines`), recording each in the job state (`unseen.batch.jobdb`,
outside the output folder) so that an unfinished job resumes where it stopped. The state
is removed when the job is done, unless it is to be kept (``resume``); one run per
output folder at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unseen.batch.engines import JobProgress, make_engine
from unseen.batch.jobdb import (
    LOCK_NAME,
    JobDatabase,
    exclusive_lock,
    find_state,
    open_state,
    output_candidates,
    remove_state,
    settings_key,
)
from unseen.batch.plan import Job, inside
from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media.atomic import TEMP_PREFIX, TEMP_SUFFIX
from unseen.metadata.names import shown
from unseen.report import FileResult
from unseen.settings import Settings

MIN_FREE_BYTES = 16 << 20
"""Less free space than this in the output folder refuses the run before any file."""
TAKEN = N_("not written: {name} is already in the output folder and this job did not "
           "write it (nothing is overwritten; choose another output folder)")
OS_DROPPINGS = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory"})
"""Files a desktop puts into any folder it shows: not counted as someone else's files."""


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
    state_kept: Path | None = None
    """Where the job state stays (unfinished, or kept with ``resume``); None: removed."""


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
    on_progress: JobProgress | None = None,
    debug: bool = False,
    *,
    secret: bytes | None = None,
    resume: bool = False,
    add_to_output: bool = False,
    to_file: bool = False,
    on_stop: Callable[[], None] | None = None,
) -> BatchRun:
    """Run ``jobs`` into the folder ``output``, skipping those an earlier run of the job
    finished.

    Before any file is read: the output folder must take files (one line otherwise)
    and have some room, and hold no file this job did not write unless
    ``add_to_output`` (``to_file``: only the one output file is checked); a job whose
    output name is taken by such a file fails, nothing is overwritten. The job state
    lives in ``state`` (default: a folder of its own under
    `unseen.batch.jobdb.default_state_root`, made with ``secret``), never in
    ``output``; it is removed once every file is written, unless ``resume``. A first
    SIGINT/SIGTERM stops starting new files (``on_stop`` is told) and lets running
    ones finish (outputs are atomic); a second one stops at once. Either way no partial
    output is left and the state stays for the next run. ``debug``: workers log
    tracebacks of unexpected errors to stderr.
    """
    start = time.perf_counter()
    if state is not None and inside(state, output):
        raise UnseenError(N_("the job state would go into the output folder ({state}); give "
                             "another state folder").format(state=state))
    existed = find_state(output, state)
    check_writable(output)
    folder = open_state(output, state, secret)
    results: list[FileResult] = []
    with _exclusive(folder):  # another run holds it: refused, and nothing is removed
        try:
            legacy = _remove_legacy_state(output)
            _remove_stale_temporaries(output, jobs)
            db = JobDatabase(folder, output)
            try:
                ours = db.written()
                if not to_file and not add_to_output:
                    _refuse_foreign_files(output, db, ours)
                run = _run(db, ours, jobs, settings, output, workers, engine, address,
                           on_result, on_start, on_progress, debug, on_stop, results,
                           make_engine, settings_key(settings))
            finally:
                db.close()
        except BaseException:
            # A run that stopped on an error keeps a state it found, or one it has
            # recorded files in; one it made for nothing goes.
            if existed is None and not results:
                remove_state(folder)
            raise
        unfinished = run.interrupted or any(r.status in ("failed", "unsafe") for r in results)
        keep = resume or unfinished
        if not keep:
            remove_state(folder)  # still locked: no other run is starting on it
    run.seconds = time.perf_counter() - start
    run.removed_legacy_state = legacy
    run.state_kept = folder if keep else None
    return run


def _run(db: JobDatabase, ours: set[str], jobs: Sequence[Job], settings: Settings,
         output: Path, workers: int, engine: str, address: str | None,
         on_result: Callable[[FileResult], None] | None,
         on_start: Callable[[int], None] | None, on_progress: JobProgress | None,
         debug: bool, on_stop: Callable[[], None] | None, results: list[FileResult],
         make_engine: Any, skey: str) -> BatchRun:
    run_id = db.start_run(settings)
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
        except UnseenError as exc:
            emit(job, FileResult(input=str(job.source), status="skipped", error=str(exc)))
            continue
        except OSError as exc:
            emit(job, FileResult(input=str(job.source), status="failed",
                                 error=N_("cannot be read: {reason}").format(
                                     reason=exc.strerror or exc)))
            continue
        written = db.done_output(job.dest, content, skey)
        if written is not None:
            emit(job, FileResult(input=str(job.source), output=str(written), status="done"))
            continue
        taken = _taken(job, output, db, ours)
        if taken is not None:
            emit(job, FileResult(input=str(job.source), status="failed",
                                 error=TAKEN.format(name=taken)))
            continue
        contents[job.source] = content
        todo.append(job)
    if on_start:
        on_start(len(todo))
    workers = max(1, min(workers, len(todo)))
    runner = (make_engine(settings, workers, engine, address, on_progress, debug)
              if todo else None)
    finished = 0
    try:
        with _graceful_stop(runner, on_stop) as stop_state:
            if runner is not None:
                for job, result in runner.run(todo):
                    finished += 1
                    _name_result(result, job, output)
                    try:
                        db.record(job.source, job.dest, contents[job.source], skey, result,
                                  names=(job.display_name, job.name))
                    except Exception as exc:  # sqlite3.Error: the disk of the state is full
                        raise UnseenError(N_("cannot write the job state: {reason}").format(
                            reason=exc)) from exc
                    if result.status == "written":
                        with contextlib.suppress(OSError):  # removed meanwhile
                            nbytes += job.source.stat().st_size
                    emit(job, result)
            # A stop that came once every file was done stopped nothing.
            interrupted = stop_state["stopped"] and finished < len(todo)
    finally:
        if runner is not None:
            runner.close()
        from unseen.report import summarize

        db.finish_run(run_id, summarize(results))
    return BatchRun(results, 0.0, nbytes, interrupted)


# the output folder --------------------------------------------------------------------


def check_writable(output: Path) -> None:
    """Before any file is read: the output folder can be made and written into, and
    its disk has some room (one line otherwise, `OutputError`)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=output)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputError(N_("{folder}: cannot write into the output folder: {reason}").format(
            folder=shown(str(output)), reason=exc.strerror or exc)) from exc
    free = shutil.disk_usage(output).free
    if free < MIN_FREE_BYTES:
        raise OutputError(N_("{folder}: the output folder's disk is full ({free} MB free)").format(
            folder=shown(str(output)), free=f"{free / 1e6:.1f}"))


def _output_files(output: Path) -> Iterator[str]:
    """Every file under ``output`` (relative), not following links, not unseen's own
    temporaries nor what a desktop leaves in a folder it shows."""
    for root, dirs, files in os.walk(output, followlinks=False):
        rel_root = Path(root).relative_to(output)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in links]
        for name in [*files, *links]:
            if name in OS_DROPPINGS or (name.startswith(TEMP_PREFIX)
                                        and name.endswith(TEMP_SUFFIX)):
                continue
            yield (rel_root / name).as_posix()


def _refuse_foreign_files(output: Path, db: JobDatabase, ours: set[str]) -> None:
    foreign = [rel for rel in _output_files(output) if not db.ours(rel, ours)]
    if foreign:
        raise OutputError(N_(
            "{folder}: the output folder already holds {n} file(s) this job did not write "
            "(for example {name}); choose a new or empty folder, or give --add-to-output to "
            "write beside them (nothing is ever overwritten)").format(
                folder=shown(str(output)), n=len(foreign), name=shown(foreign[0])))


def _taken(job: Job, output: Path, db: JobDatabase, ours: set[str]) -> str | None:
    """The name of a file already where ``job`` would write, that this job did not write."""
    root = os.path.realpath(output)
    for p in output_candidates(job.dest):
        if not os.path.lexists(p):
            continue
        real = os.path.realpath(p)
        rel = os.path.relpath(real, root) if real.startswith(root + os.sep) else p.name
        if not db.ours(Path(rel).as_posix(), ours):
            return shown(Path(rel).as_posix())
    return None


def _name_result(r: FileResult, job: Job, output: Path) -> None:
    """Give the result the names reports use (relative to the input and output
    folders, printable) and keep paths out of its messages."""
    r.name = job.display_name
    r.renamed = job.renamed
    r.output_name = None
    if r.output:
        out = Path(os.path.realpath(r.output))
        root = Path(os.path.realpath(output))
        r.output_name = shown(out.relative_to(root).as_posix() if out.is_relative_to(root)
                              else out.name)
    if r.error:
        r.error = shown(_scrub(r.error, job, output))
    r.warnings = [shown(_scrub(w, job, output)) for w in r.warnings]


def _scrub(text: str, job: Job, output: Path) -> str:
    """Messages name files relative to the input and output folders, never by path."""
    root = Path(os.path.realpath(output))
    swaps: dict[str, str] = {}
    for p in (job.source, job.source.absolute(), Path(os.path.realpath(job.source))):
        swaps[str(p)] = job.display_name
    for p in (job.dest, job.dest.absolute(), Path(os.path.realpath(job.dest))):
        d = Path(os.path.realpath(p))
        swaps[str(p)] = shown(d.relative_to(root).as_posix() if d.is_relative_to(root)
                              else d.name)
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
def _graceful_stop(runner: object, on_stop: Callable[[], None] | None = None
                   ) -> Iterator[dict[str, bool]]:
    state = {"stopped": False}

    def handler(signum: int, frame: object) -> None:
        if state["stopped"]:
            raise KeyboardInterrupt
        state["stopped"] = True
        stop = getattr(runner, "stop", None)
        if stop:
            stop()
        if on_stop is not None:
            on_stop()

    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _exclusive(state: Path) -> Iterator[None]:
    """One run per output folder (per state folder) at a time."""
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
        if not folder.is_dir() or folder.is_symlink():
            continue
        for p in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            if p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)

