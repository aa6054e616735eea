"""The per-stage budget: waiting for an iterator's items is counted to its stage."""

from __future__ import annotations

import time
from collections.abc import Iterator

from unseen.stopwatch import Stopwatch


def test_each_counts_the_wait_for_items_and_not_the_loop_body() -> None:
    def slow() -> Iterator[int]:
        for i in range(3):
            time.sleep(0.01)
            yield i

    clock = Stopwatch()
    seen = []
    for i in clock.each(slow(), "decode"):
        with clock.time("work"):
            time.sleep(0.05)
        seen.append(i)
    assert seen == [0, 1, 2]
    # the producer slept 3 x 10 ms, the body 3 x 50 ms: had the body been
    # counted to "decode", it would be at least 180 ms
    assert 0.029 <= clock.seconds["decode"] < 0.15
    assert clock.seconds["work"] >= 0.149
    assert list(clock.seconds) == ["decode", "work"]
