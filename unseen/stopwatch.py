"""Where the time of one file goes: wall seconds per stage, added up.

Reports and ``bench/video.py`` show it as the per-stage budget. It holds
names of stages and seconds only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class Stopwatch:
    """Seconds per stage, in the order the stages first ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def each(self, items: Iterable[T], stage: str) -> Iterator[T]:
        """The items, the time spent waiting for each one added to ``stage``
        (a decoder's frames: the wait is the decoding the loop did not hide)."""
        it = iter(items)
        while True:
            with self.time(stage):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}
