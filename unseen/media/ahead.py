"""Reading ahead: a decoder runs on a thread of its own while the caller works.

FFmpeg's decoders and swscale release the GIL, so decoding the next frames
(and converting them to RGB) overlaps detection, cover drawing and encoding
of the current one. At most ``depth`` items wait (memory stays bounded);
an error of the reader reaches the caller at the item where it happened,
after every item before it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

T = TypeVar("T")
U = TypeVar("U")

@contextmanager
def read_ahead(items: Iterable[T], prepare: Callable[[T], U], depth: int = 3
               ) -> Iterator[Iterator[U]]:
    """``prepare(item)`` for each of ``items``, made on a thread up to ``depth``
    ahead of the caller. Leaving the block stops and joins the thread, so the
    source can be closed right after it (the thread never outlives the block)."""
    waiting: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(value: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                waiting.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", prepare(item))):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the caller, raised there
            put(("error", exc))

    thread = threading.Thread(target=produce, name="unseen-read-ahead", daemon=True)

    def consume() -> Iterator[U]:
        while True:
            kind, value = waiting.get()
            if kind == "end":
                return
            if kind == "error":
                raise cast(BaseException, value)
            yield cast(U, value)

    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):  # a blocked put then sees the stop
                waiting.get(timeout=0.05)
        thread.join()


class InOrder:
    """Calls run one after another, in the order given, on a thread of their own
    (an encoder and its muxer: FFmpeg releases the GIL while it encodes). At most
    ``depth`` calls wait; the first error stops the rest and is raised to the
    caller at its next call or at `close`."""

    def __init__(self, depth: int = 4, name: str = "unseen-in-order") -> None:
        self._waiting: queue.Queue[tuple[Callable[..., object], tuple[Any, ...]] | None] = (
            queue.Queue(maxsize=max(1, depth)))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __call__(self, fn: Callable[..., object], *args: Any) -> None:
        self._raise()
        self._waiting.put((fn, args))

    def close(self) -> None:
        """Wait until every call has run; raise the first error."""
        self._waiting.put(None)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Drop the calls still waiting and wait for the running one (no error raised)."""
        if self._error is None:
            self._error = _Aborted()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._waiting.get(timeout=0.05)
            with contextlib.suppress(queue.Full):
                self._waiting.put_nowait(None)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None and not isinstance(self._error, _Aborted):
            error, self._error = self._error, _Aborted()
            raise error

    def _run(self) -> None:
        while (task := self._waiting.get()) is not None:
            if self._error is not None:
                continue  # failed or aborted: the rest is dropped
            fn, args = task
            try:
                fn(*args)
            except BaseException as exc:  # raised to the caller
                self._error = exc


class _Aborted(Exception):
    pass
