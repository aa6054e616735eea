"""Reading ahead and encoding behind on threads (unseen.media.ahead): order kept,
errors raised where they happened, and no thread outlives its block."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from unseen.media.ahead import InOrder, read_ahead


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_items_come_in_order_and_an_error_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield from range(50)
        raise ValueError("damaged after frame 50")

    got: list[int] = []
    with pytest.raises(ValueError, match="frame 50"), \
            read_ahead(source(), lambda i: i * 2, depth=3) as items:
        for value in items:
            got.append(value)
    assert got == [2 * i for i in range(50)]
    assert not _threads("unseen-read-ahead")


def test_leaving_early_stops_the_reader() -> None:
    made: list[int] = []

    def slow(i: int) -> int:
        made.append(i)
        return i

    with read_ahead(iter(range(10_000)), slow, depth=2) as items:
        assert next(items) == 0
        time.sleep(0.1)  # the reader fills its slots, then waits
    assert not _threads("unseen-read-ahead")
    assert len(made) <= 5  # bounded: it never ran far ahead


def test_calls_run_in_order_and_the_first_error_reaches_the_caller() -> None:
    done: list[int] = []
    later = InOrder(depth=2, name="unseen-test-order")
    for i in range(20):
        later(done.append, i)
    later.close()
    assert done == list(range(20))

    def fail(i: int) -> None:
        if i == 3:
            raise OSError(28, "No space left on device")
        done.append(i)

    done.clear()
    later = InOrder(depth=2, name="unseen-test-order")
    with pytest.raises(OSError, match="No space"):
        for i in range(1000):
            later(fail, i)
            time.sleep(0.001)
        later.close()
    later.abort()
    assert done == [0, 1, 2]  # nothing after the failed call ran
    assert not _threads("unseen-test-order")
