"""Where jobs run: in this process, in a local process pool, or on a Ray cluster.

Every engine loads the models once per worker and yields each job's
`FileResult` as it finishes; the local ones also tell where each video is (a
pool's workers send it over a queue). Workers only read inputs and write outputs;
the job database stays with the driver.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Protocol

from unseen.batch.plan import Job
from unseen.errors import UnseenError, not_processed
from unseen.i18n import N_
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.pipeline import Anonymizer


class FrameProgress(Protocol):
    """Where a video is (`unseen.pipeline.VideoProgress`): ``stage`` detect or redact."""

    @property
    def stage(self) -> str: ...

    @property
    def frame(self) -> int: ...

    @property
    def total(self) -> int: ...


JobProgress = Callable[[Job, FrameProgress], None]
"""Called with a video's job and where it is, from every engine that can tell."""


class Engine(Protocol):
    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]: ...

    def stop(self) -> None:
        """Stop starting new jobs; running ones finish (their output is atomic)."""

    def close(self) -> None: ...


def per_worker_settings(settings: Settings, workers: int) -> Settings:
    """Split the cores between workers so they do not fight over them."""
    if settings.threads or workers <= 1:
        return settings
    return replace(settings, threads=max(1, (os.cpu_count() or 1) // workers))


@dataclass(frozen=True)
class Progress:
    """Where a video is, as it crosses from a worker process (`FrameProgress`)."""

    stage: str
    frame: int
    total: int


class InlineEngine:
    """One worker: this process."""

    def __init__(self, settings: Settings, progress: JobProgress | None = None) -> None:
        from unseen.pipeline import Anonymizer

        self.anonymizer = Anonymizer(settings)
        self.progress = progress  # per video frame
        self._stopped = False

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        for job in jobs:
            if self._stopped:
                return
            yield job, self.anonymizer.file(job.source, job.dest, self._told(job))

    def _told(self, job: Job) -> Callable[[FrameProgress], None] | None:
        tell = self.progress
        if tell is None:
            return None
        return lambda p: tell(job, p)

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        pass


DEBUG_FORMAT = "%(processName)s %(name)s: %(message)s"


def enable_debug_log() -> None:
    """Send the ``unseen`` logger's debug records (tracebacks of unexpected errors)
    to stderr; without this nothing of them is printed. Idempotent."""
    log = logging.getLogger("unseen")
    log.setLevel(logging.DEBUG)
    if not any(getattr(h, "_unseen_debug", False) for h in log.handlers):
        handler = logging.StreamHandler()  # stderr
        handler.setFormatter(logging.Formatter(DEBUG_FORMAT))
        handler._unseen_debug = True  # type: ignore[attr-defined]
        log.addHandler(handler)


_WORKER: Anonymizer | None = None
_PROGRESS: Any = None  # the worker's end of the pool's progress queue
PROGRESS_EVERY = 0.25
"""Seconds between two progress messages of one worker."""


def _worker_init(settings: Settings, debug: bool = False, progress: Any = None) -> None:
    # The driver decides when to stop: a Ctrl-C in the terminal reaches the
    # whole process group, and a worker dying mid-file would waste the file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if debug:
        enable_debug_log()
    global _WORKER, _PROGRESS
    from unseen.pipeline import Anonymizer

    _PROGRESS = progress
    _WORKER = Anonymizer(settings)


def _worker_run(job: Job) -> FileResult:
    assert _WORKER is not None
    tell = None
    if _PROGRESS is not None:
        key, last = str(job.source), [0.0]

        def tell(p: FrameProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or p.frame in (1, p.total):
                last[0] = now
                _PROGRESS.put((key, p.stage, p.frame, p.total))

    return _WORKER.file(job.source, job.dest, tell)


WORKER_DIED = N_("the worker process processing it stopped (out of memory, or a crash in a "
                 "decoder); nothing was written")


def _lost(job: Job, exc: BaseException) -> FileResult:
    """A job whose result never came back, as one line (the traceback to the debug log)."""
    logging.getLogger("unseen").debug("worker failed on a file", exc_info=exc)
    return FileResult(input=str(job.source), status="failed", error=not_processed(exc))


class PoolEngine:
    """N worker processes on this machine (``--jobs N``).

    A worker that dies (killed for memory, a crash in native code) breaks the
    pool: a new one is started, and the files that were in flight are run again
    one at a time, so the one that kills its worker fails alone and the run goes on.
    """

    def __init__(self, settings: Settings, workers: int, debug: bool = False,
                 progress: JobProgress | None = None) -> None:
        self.workers = workers
        context = get_context("spawn")
        self._progress = progress
        self._queue = context.Queue() if progress is not None else None
        self._initargs = (per_worker_settings(settings, workers), debug, self._queue)
        self._pool = self._new_pool()
        self._stopped = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=get_context("spawn"),
            initializer=_worker_init,
            initargs=self._initargs,
        )

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        # Keep only a few jobs queued per worker, so stopping is quick and a
        # stop never leaves thousands of cancelled futures behind.
        todo = list(jobs)[::-1]
        suspects: list[Job] = []  # in flight when a worker died: each is run alone
        running: dict[Future[FileResult], Job] = {}
        alone: Job | None = None
        while ((todo or suspects) and not self._stopped) or running:
            if not self._stopped and not running and suspects:
                alone = suspects.pop(0)
                running[self._pool.submit(_worker_run, alone)] = alone
            while not self._stopped and not suspects and alone is None and todo \
                    and len(running) < self.workers * 2:
                job = todo.pop()
                running[self._pool.submit(_worker_run, job)] = job
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED,
                           timeout=PROGRESS_EVERY if self._queue is not None else None)
            self._tell(running)
            broken = False
            for fut in done:
                job = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if job is alone:
                        yield job, FileResult(input=str(job.source), status="failed",
                                              error=WORKER_DIED)
                    else:
                        suspects.append(job)
                    continue
                except Exception as exc:  # the result could not come back (e.g. pickling)
                    result = _lost(job, exc)
                yield job, result
            if alone is not None and alone not in running.values():
                alone = None
            if broken:
                # The other jobs in flight went down with the pool: try them again.
                for fut, job in running.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        yield job, fut.result()
                    else:
                        suspects.append(job)
                running.clear()
                alone = None
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = self._new_pool()

    def _tell(self, running: dict[Future[FileResult], Job]) -> None:
        """Hand on what the workers said about their videos."""
        if self._queue is None or self._progress is None:
            return
        by_source = {str(j.source): j for j in running.values()}
        while True:
            try:
                key, stage, frame, total = self._queue.get_nowait()
            except queue.Empty:
                return
            job = by_source.get(key)
            if job is not None:
                self._progress(job, Progress(stage, frame, total))

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._queue is not None:
            self._queue.close()


class _RayWorker:
    def __init__(self, settings: Settings, debug: bool = False) -> None:
        if debug:
            enable_debug_log()
        from unseen.pipeline import Anonymizer

        self.anonymizer = Anonymizer(settings)

    def run(self, job: Job) -> FileResult:
        return self.anonymizer.file(job.source, job.dest)


class RayEngine:
    """Actors on a Ray cluster (``--engine ray [--address ADDR]``).

    Inputs and outputs must be on paths every node sees (a shared file
    system); without an address a local Ray instance is started. An actor
    that dies fails its file alone and is replaced.
    """

    def __init__(self, settings: Settings, workers: int, address: str | None,
                 debug: bool = False) -> None:
        # Ray collects usage statistics unless told not to: unseen is offline.
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        try:
            import ray
        except ImportError as exc:
            raise UnseenError(
                N_("the Ray engine needs the extra: pip install 'unseen[ray]'")) from exc
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address or None,
                    num_cpus=None if address else workers,
                    include_dashboard=False,
                    log_to_driver=debug,  # workers' debug log reaches this terminal
                    logging_level=logging.ERROR,
                )
            except Exception as exc:
                raise UnseenError(N_("cannot start or reach Ray ({reason})").format(
                    reason=exc)) from exc
        self._actor = ray.remote(num_cpus=1)(_RayWorker)
        self._args = (per_worker_settings(settings, workers), debug)
        self._actors = [self._actor.remote(*self._args) for _ in range(workers)]
        self._stopped = False

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        from ray.exceptions import RayActorError

        todo = list(jobs)[::-1]
        idle: list[Any] = list(self._actors)
        running: dict[Any, tuple[Job, Any]] = {}
        while (todo and not self._stopped) or running:
            while idle and todo and not self._stopped:
                actor, job = idle.pop(), todo.pop()
                running[actor.run.remote(job)] = (job, actor)
            if not running:
                break
            done, _ = self._ray.wait(list(running), num_returns=1)
            job, actor = running.pop(done[0])
            try:
                result: FileResult = self._ray.get(done[0])
            except RayActorError:
                logging.getLogger("unseen").debug("Ray worker died", exc_info=True)
                result = FileResult(input=str(job.source), status="failed", error=WORKER_DIED)
                actor = self._actor.remote(*self._args)
            except Exception as exc:
                result = _lost(job, exc)
            idle.append(actor)
            yield job, result

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._ray.shutdown()


def make_engine(
    settings: Settings, workers: int, engine: str = "local", address: str | None = None,
    progress: JobProgress | None = None, debug: bool = False,
) -> Engine:
    """The engine for ``--engine`` and ``--jobs`` (``debug``: workers log tracebacks)."""
    if engine == "ray":
        return RayEngine(settings, workers, address, debug)
    if engine != "local":
        raise UnseenError(N_("unknown engine {engine} (local or ray)").format(
            engine=repr(engine)))
    if workers <= 1:
        return InlineEngine(settings, progress)
    return PoolEngine(settings, workers, debug, progress)
