"""Shared fixtures: the test data folder beside the repository, and one
loaded engine per test session (models take a moment to load)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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


def trimmed_clip(src: Path, dest: Path, frames: int, key_every: int | None = None) -> Path:
    """The first ``frames`` frames of a real clip, re-encoded with no audio;
    ``key_every``: a key frame every this many frames (so scrubbing seeks)."""
    import av

    from unseen.media.video import read_frames

    with av.open(str(dest), "w") as c:
        v = c.add_stream("libx264", rate=30)
        if key_every:
            v.options = {"g": str(key_every), "sc_threshold": "0"}
        for i, vf in enumerate(read_frames(src, limit=frames)):
            img = vf.rgb()
            if i == 0:
                v.width, v.height, v.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return dest
