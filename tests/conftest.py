"""Shared fixtures: the test data folder beside the repository, and one
loaded engine per test session (models take a moment to load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
