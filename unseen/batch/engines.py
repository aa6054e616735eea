"""Where jobs run: in this process, in a local process pool, or on a Ray cluster.

Every engine loads the models once per worker and yields each job's
`FileResult` as it finishes. Workers only read inputs and write outputs;
the job database stays with the driver.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from multiprocessing import get_context
from typing import TYPE_CHECKING, Protocol

from unseen.errors import UnseenError
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.batch import Job
    from unseen.pipeline import Anonymizer
    from unseen.video import ProgressCallback as VideoProgressCallback


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


class InlineEngine:
    """One worker: this process."""

    def __init__(self, settings: Settings, progress: VideoProgressCallback | None = None) -> None:
        from unseen.pipeline import Anonymizer

        self.anonymizer = Anonymizer(settings)
        self.progress = progress  # per video frame; only this engine can report it
        self._stopped = False

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        for job in jobs:
            if self._stopped:
                return
            yield job, self.anonymizer.file(job.source, job.dest, self.progress)

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        pass


_WORKER: Anonymizer | None = None


def _worker_init(settings: Settings) -> None:
    # The driver decides when to stop: a Ctrl-C in the terminal reaches the
    # whole process group, and a worker dying mid-file would waste the file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _WORKER
    from unseen.pipeline import Anonymizer

    _WORKER = Anonymizer(settings)


def _worker_run(job: Job) -> FileResult:
    assert _WORKER is not None
    return _WORKER.file(job.source, job.dest)


class PoolEngine:
    """N worker processes on this machine (``--jobs N``)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_worker_init,
            initargs=(per_worker_settings(settings, workers),),
        )
        self._stopped = False

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        # Keep only a few jobs queued per worker, so stopping is quick and a
        # stop never leaves thousands of cancelled futures behind.
        todo = list(jobs)[::-1]
        running: dict[Future[FileResult], Job] = {}
        while (todo and not self._stopped) or running:
            while todo and not self._stopped and len(running) < self.workers * 2:
                job = todo.pop()
                running[self._pool.submit(_worker_run, job)] = job
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # a worker died (e.g. out of memory)
                    result = FileResult(
                        input=str(job.source), status="failed",
                        error=f"worker process failed ({type(exc).__name__})",
                    )
                yield job, result

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayWorker:
    def __init__(self, settings: Settings) -> None:
        from unseen.pipeline import Anonymizer

        self.anonymizer = Anonymizer(settings)

    def run(self, job: Job) -> FileResult:
        return self.anonymizer.file(job.source, job.dest)


class RayEngine:
    """Actors on a Ray cluster (``--engine ray [--address ADDR]``).

    Inputs and outputs must be on paths every node sees (a shared file
    system); without an address a local Ray instance is started.
    """

    def __init__(self, settings: Settings, workers: int, address: str | None) -> None:
        # Ray collects usage statistics unless told not to: unseen is offline.
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        try:
            import ray
            from ray.util import ActorPool
        except ImportError as exc:
            raise UnseenError("the Ray engine needs the extra: pip install 'unseen[ray]'") from exc
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address or None,
                    num_cpus=None if address else workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except Exception as exc:
                raise UnseenError(f"cannot start or reach Ray ({exc})") from exc
        actor = ray.remote(num_cpus=1)(_RayWorker)
        s = per_worker_settings(settings, workers)
        self._pool = ActorPool([actor.remote(s) for _ in range(workers)])
        self._stopped = False

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, FileResult]]:
        by_source = {str(j.source): j for j in jobs}
        for job in jobs:
            if self._stopped:
                break
            self._pool.submit(lambda a, j: a.run.remote(j), job)
        while self._pool.has_next():
            result: FileResult = self._pool.get_next_unordered()
            yield by_source[result.input], result

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        self._ray.shutdown()


def make_engine(
    settings: Settings, workers: int, engine: str = "local", address: str | None = None,
    progress: VideoProgressCallback | None = None,
) -> Engine:
    if engine == "ray":
        return RayEngine(settings, workers, address)
    if engine != "local":
        raise UnseenError(f"unknown engine {engine!r} (local or ray)")
    if workers <= 1:
        return InlineEngine(settings, progress)
    return PoolEngine(settings, workers)
