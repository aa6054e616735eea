"""Many files: which inputs go where, and running them resumably in parallel.

`prepare_batch` (or `plan_jobs`) maps inputs (files and folders) to output paths,
keeping each file's path relative to its input folder (with neutral names for names
that tell when or with what) and refusing any mapping that would write onto an input.
`run_batch` runs the jobs on an engine (`unseen.batch.engines`), recording each in the
job state (`unseen.batch.jobdb`, outside the output folder) so a re-run skips what is
already done.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media import MEDIA_SUFFIXES, PHOTO_SUFFIXES, VIDEO_SUFFIXES
from unseen.media.atomic import TEMP_PREFIX, TEMP_SUFFIX
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from unseen.metadata.names import NamePlan
    from unseen.pipeline.video import ProgressCallback as VideoProgressCallback


@dataclass(frozen=True)
class Job:
    """One input file and where its anonymized copy goes."""

    source: Path
    dest: Path
    skip_reason: str | None = None
    name: str = ""
    """The input relative to the folder it was found in (its file name, for a file
    given directly): what reports and the job state call it."""
    renamed: str | None = None
    """Why the output got a neutral name (the input's name told when, or with what)."""

    @property
    def display_name(self) -> str:
        return self.name or self.source.name


@dataclass(frozen=True)
class BatchPlan:
    """The jobs of a run, the folder receiving the outputs and the job's state folder."""

    jobs: list[Job]
    output: Path
    state: Path


def output_folder(inputs: Sequence[Path], out: Path) -> Path:
    """The folder that receives the outputs: ``out``, or its parent when a single
    file is written to exactly ``out``."""
    return out.parent if _out_is_file(inputs, out) else out


def prepare_batch(
    inputs: Sequence[Path], out: Path, state: Path | None = None, keep_names: bool = False
) -> BatchPlan:
    """Plan a run into ``out``: the state folder (`unseen.batch.jobdb.state_folder`;
    ``state``: ``--state DIR``) and the jobs, where outputs whose names tell when or
    with what they were made get neutral names unless ``keep_names``."""
    from unseen.batch.jobdb import job_secret, state_folder
    from unseen.metadata.names import NamePlan

    _check_inputs(inputs)
    output = output_folder(inputs, out)
    folder = state_folder(output, state)
    if _inside(folder, output):
        raise UnseenError(N_("the job state would go into the output folder ({state}); give "
                             "--state DIR outside it").format(state=folder))
    names = None if keep_names else NamePlan(job_secret(folder))
    return BatchPlan(plan_jobs(inputs, out, names), output, folder)


def plan_jobs(inputs: Sequence[Path], out: Path, names: NamePlan | None = None) -> list[Job]:
    """Decide every output path before anything is read or written.

    A single file with an ``out`` that has a media suffix and is not a folder
    is written to exactly ``out``; otherwise ``out`` is a folder. With ``names``,
    files and folders whose names tell when or with what they were made get
    the neutral names of that plan (`unseen.metadata.names.NamePlan`).
    """
    _check_inputs(inputs)
    out_is_file = _out_is_file(inputs, out)
    jobs: list[Job] = []
    out_resolved = out.resolve()
    for p in inputs:
        if p.is_file():
            if out_is_file:
                jobs.append(Job(p, out, name=p.name))
            else:
                jobs.append(_job(p, out, PurePosixPath(p.name), names))
            continue
        for f in _walk(p, skip=out_resolved):
            rel = PurePosixPath(f.relative_to(p).as_posix())
            skip = None if f.suffix.lower() in MEDIA_SUFFIXES else "not a photo or video"
            jobs.append(_job(f, out, rel, names, skip))
    if names is not None:
        jobs = _longer_names_on_collision(jobs, out, names)
    _check_collisions(jobs)
    return jobs


def _job(source: Path, out: Path, rel: PurePosixPath, names: NamePlan | None,
         skip: str | None = None, longer: bool = False) -> Job:
    dest, reasons = names.neutral(rel, longer=longer) if names else (rel, [])
    return Job(source, out / dest, skip, name=rel.as_posix(), renamed="; ".join(reasons) or None)


def _longer_names_on_collision(jobs: list[Job], out: Path, names: NamePlan) -> list[Job]:
    by_dest: dict[Path, list[int]] = {}
    for i, j in enumerate(jobs):
        if not j.skip_reason:
            by_dest.setdefault(j.dest.resolve(), []).append(i)
    for idx in by_dest.values():
        if len(idx) < 2:
            continue
        for i in idx:
            j = jobs[i]
            if j.renamed:
                jobs[i] = _job(j.source, out, PurePosixPath(j.name), names, j.skip_reason, True)
    return jobs


def _check_inputs(inputs: Sequence[Path]) -> None:
    if not inputs:
        raise UnseenError(N_("no input given"))
    for p in inputs:
        if not p.exists():
            raise UnseenError(N_("{path}: no such file or folder").format(path=p))


def _out_is_file(inputs: Sequence[Path], out: Path) -> bool:
    return (
        len(inputs) == 1
        and inputs[0].is_file()
        and not out.is_dir()
        and not str(out).endswith(os.sep)
        and out.suffix.lower() in (PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    )


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def check_report_path(report: Path, output: Path) -> None:
    """Reports never go into the output folder: refuse a ``--report`` path inside it."""
    from unseen.report_html import html_path

    for p in (report, html_path(report)):
        if _inside(p, output):
            raise UnseenError(
                N_("{path}: the report must not go into the output folder, which should hold "
                   "the safe files only; choose a path outside it").format(path=report)
            )


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
                N_("{file}: its output would overwrite an input file; choose another output "
                   "folder").format(file=j.source)
            )
        if d in seen:
            raise OutputError(N_("{first} and {second} would both be written to {dest}").format(
                first=j.source, second=seen[d], dest=j.dest))
        seen[d] = j.source


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
    if _inside(state, output):
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
