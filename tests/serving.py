"""The review app's server on a thread for a test: started, waited for, stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from unseen.web.server import ReviewServer


def serve(review: ReviewServer, timeout: float = 10.0) -> Callable[[], None]:
    """Run ``review`` on a daemon thread until it accepts connections (or fail
    the test); returns the function that stops it and waits for the thread."""
    thread = threading.Thread(target=review.run, daemon=True, name="unseen-test-server")
    thread.start()
    deadline = time.monotonic() + timeout
    while not review.server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert review.server.started, f"the test server did not start within {timeout:.0f} s"

    def stop() -> None:
        review.server.should_exit = True
        thread.join(30)

    return stop
