"""Many files: which inputs go where, and running them resumably in parallel.

`plan_jobs` maps inputs (files and folders) to output paths, keeping each
file's name and its path relative to an input folder, and refuses any
mapping that would write onto an input. `run_batch` runs the jobs on an
engine (`unseen.batch.engines`), recording each in the job database
(`unseen.batch.jobdb`) so that a re-run skips what is already done.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from unseen.errors import OutputError, UnseenError
from unseen.media import MEDIA_SUFFIXES, PHOTO_SUFFIXES, VIDEO_SUFFIXES
from unseen.media.atomic import TEMP_PREFIX, TEMP_SUFFIX
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.video import ProgressCallback as VideoProgressCallback


@dataclass(frozen=True)
class Job:
    """One input file and where its anonymized copy goes."""

    source: Path
    dest: Path
    skip_reason: str | None = None


def plan_jobs(inputs: Sequence[Path], out: Path) -> list[Job]:
    """Decide every output path before anything is read or written.

    A single file with an ``out`` that has a media suffix and is not a folder
    is written to exactly ``out``; otherwise ``out`` is a folder.
    """
    if not inputs:
        raise UnseenError("no input given")
    for p in inputs:
        if not p.exists():
            raise UnseenError(f"{p}: no such file or folder")
    single_file = len(inputs) == 1 and inputs[0].is_file()
    out_is_file = (
        single_file
        and not out.is_dir()
        and not str(out).endswith(os.sep)
        and out.suffix.lower() in (PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    )
    jobs: list[Job] = []
    out_resolved = out.resolve()
    for p in inputs:
        if p.is_file():
            dest = out if out_is_file else out / p.name
            jobs.append(Job(p, dest))
            continue
        for f in _walk(p, skip=out_resolved):
            rel = f.relative_to(p)
            if f.suffix.lower() in MEDIA_SUFFIXES:
                jobs.append(Job(f, out / rel))
            else:
                jobs.append(Job(f, out / rel, skip_reason="not a photo or video"))
    _check_collisions(jobs)
    return jobs


def _walk(folder: Path, skip: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        rootp = Path(root)
        # Never descend into the output folder (it may sit inside the input)
        # nor into hidden folders.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (rootp / d).resolve() != skip)
        for name in sorted(files):
            if name.startswith(".") or name.startswith(TEMP_PREFIX):
                continue
            yield rootp / name


def _check_collisions(jobs: list[Job]) -> None:
    sources = {j.source.resolve() for j in jobs}
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.skip_reason:
            continue
        d = j.dest.resolve()
        if d in sources:
            raise OutputError(
                f"{j.source}: its output would overwrite an input file; "
                "choose another output folder"
            )
        if d in seen:
            raise OutputError(f"{j.source} and {seen[d]} would both be written to {j.dest}")
        seen[d] = j.source


@dataclass
class BatchRun:
    """Everything a run produced, for the summary."""

    results: list[FileResult]
    seconds: float
    bytes_processed: int
    interrupted: bool = False


def run_batch(
    jobs: Sequence[Job],
    settings: Settings,
    state_dir: Path,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: VideoProgressCallback | None = None,
) -> BatchRun:
    """Run ``jobs``, skipping those an earlier run in ``state_dir`` finished.

    A first SIGINT/SIGTERM stops starting new files and lets running ones
    finish (outputs are atomic); a second one stops at once. Either way no
    partial output is left and the job database stays consistent.
    """
    from unseen.batch.engines import make_engine
    from unseen.batch.jobdb import JobDatabase, content_hash, settings_key

    start = time.perf_counter()
    with _exclusive(state_dir):
        _remove_stale_temporaries(state_dir, jobs)
        db = JobDatabase(state_dir)
        run_id = db.start_run(settings)
        skey = settings_key(settings)
        results: list[FileResult] = []
        todo: list[Job] = []
        hashes: dict[Path, str] = {}
        nbytes = 0

        def emit(r: FileResult) -> None:
            results.append(r)
            if on_result:
                on_result(r)

        for job in jobs:
            if job.skip_reason:
                emit(FileResult(input=str(job.source), status="skipped", error=job.skip_reason))
                continue
            try:
                chash = content_hash(job.source)
            except OSError as exc:
                emit(FileResult(input=str(job.source), status="failed",
                                error=f"cannot be read: {exc.strerror or exc}"))
                continue
            if db.is_done(job.source, job.dest, chash, skey):
                emit(FileResult(input=str(job.source), output=str(job.dest), status="done"))
                continue
            hashes[job.source] = chash
            todo.append(job)
        if on_start:
            on_start(len(todo))
        interrupted = False
        workers = max(1, min(workers, len(todo)))
        runner = make_engine(settings, workers, engine, address, on_progress) if todo else None
        try:
            with _graceful_stop(runner) as stop_state:
                if runner is not None:
                    for job, result in runner.run(todo):
                        db.record(job.source, job.dest, hashes[job.source], skey, result)
                        if result.status == "written":
                            nbytes += job.source.stat().st_size
                        emit(result)
                interrupted = stop_state["stopped"]
        finally:
            if runner is not None:
                runner.close()
            from unseen.report import summarize

            db.finish_run(run_id, summarize(results))
            db.close()
    return BatchRun(results, time.perf_counter() - start, nbytes, interrupted)


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


@contextmanager
def _exclusive(state_dir: Path) -> Iterator[None]:
    """One run per output folder at a time."""
    import fcntl

    state_dir.mkdir(parents=True, exist_ok=True)
    from unseen.batch.jobdb import DB_NAME

    lock_path = state_dir / DB_NAME  # flock is separate from SQLite's own locks
    with open(lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise UnseenError(f"another unseen run is writing to {state_dir}") from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_stale_temporaries(state_dir: Path, jobs: Sequence[Job]) -> None:
    """A killed run can leave temporary outputs; only unseen's own are removed."""
    folders = {j.dest.parent for j in jobs} | {state_dir}
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            p.unlink(missing_ok=True)
