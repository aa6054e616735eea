"""Shared fixtures: the test data folder beside the repository, and one
loaded engine per test session (models take a moment to load)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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
