"""Shared fixtures: the test data folder beside the repository, and one
loaded engine per test session (models take a moment to load)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.paths import SHARED_DATA

# Job state (unseen.batch.jobdb.default_state_root) goes to the per-user state
# folder; tests, and the CLI runs they start, keep theirs in a folder of their own.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="unseen-test-state-")
# Tests read English output whatever the machine's locale (tests/test_i18n.py sets
# the language itself).
os.environ["UNSEEN_LANG"] = "en"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository; tests needing it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"test data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def face_boxes(shared_data: Path) -> dict[str, list[list[float]]]:
    """Ground-truth face boxes ``{relative path: [[x, y, w, h], ...]}``."""
    return json.loads((shared_data / "faces" / "boxes.json").read_text())


@pytest.fixture(scope="session")
def engine():  # type: ignore[no-untyped-def]
    from unseen.pipeline import Anonymizer

    return Anonymizer()


class RememberedSearch:
    """The engine's photo search (the real models), each answer kept by the
    exact pixels and threshold it was given, for tests that run the same
    photos: the crowd photos are searched once for the pipeline's recall test
    (tests/pipeline/test_photo.py) and the cover modes' (tests/test_cover.py).
    A picture not seen before is searched."""

    def __init__(self, search: Any) -> None:
        self.search = search
        self.answers: dict[tuple[Any, ...], Any] = {}

    def detect(self, pixels: np.ndarray, threshold: float) -> Any:
        digest = hashlib.blake2b(np.ascontiguousarray(pixels).data, digest_size=16).digest()
        key = (pixels.shape, pixels.dtype.str, float(threshold), digest)
        if key not in self.answers:
            self.answers[key] = self.search.detect(pixels, threshold)
        return self.answers[key]  # Detections are frozen: sharing is safe

    def __getattr__(self, name: str) -> Any:
        return getattr(self.search, name)

    @contextmanager
    def used_by(self, engine: Any) -> Iterator[None]:
        """``engine``'s pipeline asks this search for the block."""
        before = engine.models.faces
        engine.models._faces = self
        try:
            yield
        finally:
            engine.models._faces = before


@pytest.fixture(scope="session")
def photo_search(engine: Any) -> RememberedSearch:
    return RememberedSearch(engine.models.faces)
