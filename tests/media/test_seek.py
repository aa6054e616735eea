"""unseen.media.seek: a frame found by seeking is the very frame a decode from the
start gives (same pixels, same timestamp), on a clip with short groups of
pictures and B-frames and on a real clip from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from unseen.media.seek import FrameSeeker, frame_timestamps
from unseen.media.video import read_frames


def _clip(path: Path, frames: int = 40) -> Path:
    """Moving gradients, H.264 with a key frame every 6 frames and B-frames."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        v.options = {"g": "6", "bf": "2", "sc_threshold": "0"}
        y, x = np.mgrid[0:64, 0:96]
        for i in range(frames):
            img = np.stack([(x * 2 + i * 7) % 256, (y * 3 + i * 5) % 256,
                            (x + y + i * 11) % 256], axis=-1).astype(np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


def _check(path: Path, picks: list[int], pts: list[int] | None = None) -> FrameSeeker:
    decoded = [(vf.pts, vf.rgb()) for vf in read_frames(path)]
    n = len(decoded)
    assert frame_timestamps(path) == [p for p, _ in decoded]
    seeker = FrameSeeker(path, pts)
    for i in [*picks, n - 1, 0]:
        vf = seeker.frame(i)
        assert vf is not None and vf.index == i
        assert vf.pts == decoded[i][0], i
        assert np.array_equal(vf.rgb(), decoded[i][1]), i
    assert seeker.frame(n) is None and seeker.frame(-1) is None
    return seeker


def test_seek_equals_decode_from_start(tmp_path: Path) -> None:
    path = _clip(tmp_path / "gop.mp4")
    keys = 0
    with av.open(str(path)) as c:
        keys = sum(1 for p in c.demux(c.streams.video[0]) if p.size and p.is_keyframe)
    assert keys >= 5  # the test means something only with several key frames
    # Out of order, both sides of key frames, the last frame.
    seeker = _check(path, [17, 5, 6, 7, 30, 12, 38, 1, 24])
    assert seeker.seeks == 11  # every frame was found by seeking, none by the fallback


def test_seek_with_pass_one_timestamps(tmp_path: Path) -> None:
    path = _clip(tmp_path / "gop.mp4", 25)
    pts = [vf.pts for vf in read_frames(path)]
    _check(path, [13, 3, 20], pts)


def test_seek_on_a_real_clip(shared_data: Path) -> None:
    _check(shared_data / "video" / "short_hamilton_clip.mp4", [137, 9, 250, 91, 273])


def test_wrong_timestamps_fall_back_to_decoding(tmp_path: Path) -> None:
    path = _clip(tmp_path / "gop.mp4", 20)
    decoded = [vf.rgb() for vf in read_frames(path)]
    seeker = FrameSeeker(path, [7] * 20)  # no frame has these: seeking cannot find them
    vf = seeker.frame(11)
    assert vf is not None and np.array_equal(vf.rgb(), decoded[11])
    assert seeker.seeks == 0
