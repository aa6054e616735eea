"""Video as people shoot and export it (issue 15): broken timestamps, raw
streams, odd geometry, colour tags and HDR, extra streams, long clips.

Every clip is made here (PyAV, or the ffmpeg of the test machine) from the
real clips in ../shared/data/video, and every output is checked by reading it
back: frame count, timestamps, display size, colour tags, pictures.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from unseen.media.video import read_frames
from unseen.pipeline import Anonymizer
from unseen.settings import Settings

HAMILTON = "short_hamilton_clip.mp4"  # 640x360, BT.709 tags, AAC sound
MOT20 = "MOT20-05-raw_even_shorter.mp4"  # 826x540, untagged, motion in every frame
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="the ffmpeg program is not installed")

RGB = np.ndarray


# clips made from the shared ones ------------------------------------------------------
def shared_frames(shared_data: Path, name: str, n: int) -> list[RGB]:
    """The first ``n`` frames of a shared clip, RGB."""
    return [vf.rgb() for vf in read_frames(shared_data / "video" / name, limit=n)]


def encode(dest: Path, frames: list[RGB], codec: str = "libx264", fmt: str | None = None,
           rate: Fraction | int = 25, options: dict[str, str] | None = None,
           pix_fmt: str = "yuv420p", **frame_args: Any) -> Path:
    """``frames`` encoded into ``dest``. Frames are made fresh from pixels, so the
    encoder picks its own picture types (B-frames with ``bf``)."""
    with av.open(str(dest), "w", format=fmt) as out:
        v = out.add_stream(codec, rate=rate, options=options or {})
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = pix_fmt
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in v.encode(frame.reformat(format=pix_fmt, **frame_args)):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return dest


def ffmpeg(*args: str | Path) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *map(str, args)], check=True, timeout=300)


def seconds(path: Path) -> list[Fraction]:
    return [Fraction(vf.pts) * vf.time_base for vf in read_frames(path)]


def thumb(img: RGB) -> np.ndarray:
    return cv2.resize(img, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)


def source_index(out: RGB, sources: list[np.ndarray]) -> int:
    """Which source thumbnail the written frame shows (filled regions left out)."""
    t = thumb(out)
    seen = t.max(axis=2) > 24  # a solid black cover hides the picture
    return int(np.argmin([np.abs(s - t)[seen].mean() for s in sources]))


@pytest.fixture(scope="module")
def engine() -> Anonymizer:
    """Verified, as by default (the read-back checks frame count and timestamps)."""
    return Anonymizer(Settings(video_verify_every=5))


@pytest.fixture(scope="module")
def plain() -> Anonymizer:
    """Unverified, for cases whose outputs this file reads back itself."""
    return Anonymizer(Settings(verify="off"))


# 1. broken timestamps -------------------------------------------------------------------
@needs_ffmpeg
def test_remuxed_raw_stream_plays_in_display_order(
    shared_data: Path, tmp_path: Path, engine: Anonymizer
) -> None:
    """``ffmpeg -r 25 -i clip.h264 -c copy clip.mp4``: every packet pts = dts, so
    with B-frames the decoded frames' times go backwards (the muxer raised
    av.error.ArgumentError). The output plays the same pictures in display
    order with strictly increasing times, the same frame count and duration,
    verified (the read-back compares the rebuilt times), and says so."""
    pictures = shared_frames(shared_data, MOT20, 30)
    raw = encode(tmp_path / "cam.h264", pictures, fmt="h264", options={"bf": "3"})
    clip = tmp_path / "cam.mp4"
    ffmpeg("-r", "25", "-i", raw, "-c", "copy", clip)
    times = seconds(clip)
    assert times != sorted(times), "the clip must have out-of-order frame timestamps"
    with av.open(str(clip)) as c:
        duration_in = c.duration

    res = engine.file(clip, tmp_path / "out" / "cam.mp4")
    assert res.status == "written", res.error
    assert res.verdict is not None and res.verdict.safe, res.verdict.reasons
    assert any("rebuilt in display order" in w for w in res.warnings), res.warnings
    out = Path(res.output or "")
    got = seconds(out)
    assert got == sorted(times) and len(got) == len(times)
    assert all(b > a for a, b in pairwise(got))
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == len(times)
        assert abs(c.duration - duration_in) <= 40_000  # microseconds: one frame
    # The pictures are in display order: each written frame shows a later
    # source picture than the one before.
    sources = [thumb(p) for p in pictures]
    shown = [source_index(vf.rgb(), sources) for vf in read_frames(out)]
    assert all(b > a for a, b in pairwise(shown)), shown


# 2. raw elementary streams ----------------------------------------------------------
def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "-m", "unseen", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_raw_h264_stream_timed_from_the_stream(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """A raw H.264 stream (B-frames, 30000/1001 in its SPS) is accepted and written
    as MP4 at that rate, every picture in display order."""
    pictures = shared_frames(shared_data, MOT20, 24)
    raw = encode(tmp_path / "cam.264", pictures, fmt="h264", rate=Fraction(30000, 1001),
                 options={"bf": "3"})
    res = plain.file(raw, tmp_path / "out" / "cam.264")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    assert out.name == "cam.mp4"
    with av.open(str(out)) as c:
        assert c.format.name.startswith("mov,mp4")
        assert c.streams.video[0].average_rate == Fraction(30000, 1001)
    assert seconds(out) == [k * Fraction(1001, 30000) for k in range(len(pictures))]
    assert any("raw H.264 stream" in w and "29.97" in w for w in res.warnings), res.warnings
    sources = [thumb(p) for p in pictures]
    shown = [source_index(vf.rgb(), sources) for vf in read_frames(out)]
    assert shown == list(range(len(pictures)))


def test_raw_hevc_stream_without_a_frame_rate_needs_fps(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """An H.265 stream whose VPS/SPS state no timing is refused with a one-line
    reason naming --fps; with ``--fps 12`` it is written as MP4 at 12 frames/s."""
    pictures = shared_frames(shared_data, HAMILTON, 24)
    folder = tmp_path / "export"
    folder.mkdir()
    raw = encode(folder / "ch01.hevc", pictures, codec="libx265", fmt="hevc", rate=12,
                 options={"x265-params": "log-level=error:vui-timing-info=0"})
    with av.open(str(raw)) as c:
        assert c.streams.video[0].codec_context.framerate is None  # states no rate
    res = plain.file(raw, tmp_path / "lib" / "ch01.hevc")
    assert res.status == "failed" and res.error is not None
    assert "frame rate" in res.error and "--fps" in res.error and "\n" not in res.error
    assert not (tmp_path / "lib").exists() or not any((tmp_path / "lib").iterdir())
    out = tmp_path / "safe"
    p = run_cli(folder, "-o", out, "--verify", "off", "--fps", "bogus")
    assert p.returncode == 1 and "--fps" in p.stderr and "Traceback" not in p.stderr
    p = run_cli(folder, "-o", out, "--verify", "off", "--fps", "12", "--state", tmp_path / "st")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stdout + p.stderr
    assert [q.name for q in out.iterdir()] == ["ch01.mp4"]
    assert seconds(out / "ch01.mp4") == [Fraction(k, 12) for k in range(len(pictures))]


# 3. geometry ---------------------------------------------------------------------------
def set_matrix(path: Path, a: int, b: int, c: int, d: int) -> None:
    """Write the display matrix (a b; c d) into the MP4 track header, as phones
    and editing apps do: a stored pixel (x, y) is shown at (a x + c y, b x + d y)."""
    import struct

    one = 1 << 16
    matrix = [a * one, b * one, 0, c * one, d * one, 0, 0, 0, 1 << 30]
    data = bytearray(path.read_bytes())
    i = data.find(b"tkhd")
    offset = i - 4 + (60 if data[i + 4] == 1 else 48)
    data[offset:offset + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


def open_diff(out: RGB, want: RGB) -> float:
    """Mean difference where the output is not a solid black cover."""
    seen = out.max(axis=2) > 24
    return float(np.abs(out.astype(np.float32) - want.astype(np.float32))[seen].mean())


def test_non_square_pixels_keep_their_display_shape(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """642x362 stored with 4:3 pixels (shown 856x362): the output keeps the
    stored size and says 4:3 in the stream and the container, so it plays with
    the same shape; turned a quarter (a phone's matrix) it is 362x642 at 3:4."""
    pictures = [cv2.resize(p, (642, 362), interpolation=cv2.INTER_AREA)
                for p in shared_frames(shared_data, HAMILTON, 12)]
    src = tmp_path / "anamorphic.mp4"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 642, 362, "yuv420p"
        v.codec_context.sample_aspect_ratio = Fraction(4, 3)
        for img in pictures:
            for pkt in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in v.encode():
            c.mux(pkt)
    turned = tmp_path / "turned.mp4"
    shutil.copy(src, turned)
    set_matrix(turned, 0, 1, -1, 0)
    for clip, size, sar in ((src, (642, 362), Fraction(4, 3)),
                            (turned, (362, 642), Fraction(3, 4))):
        res = plain.file(clip, tmp_path / "out" / clip.name)
        assert res.status == "written", res.error
        assert res.faces >= 1
        with av.open(res.output or "") as c:
            v = c.streams.video[0]
            assert (v.width, v.height) == size
            assert v.sample_aspect_ratio == sar and v.codec_context.sample_aspect_ratio == sar
            assert v.display_aspect_ratio == Fraction(size[0], size[1]) * sar
        assert len(list(read_frames(Path(res.output or "")))) == len(pictures)


@pytest.mark.parametrize(("matrix", "shown"), [
    ((-1, 0, 0, 1), lambda p: p[:, ::-1]),  # mirrored left to right (a front camera)
    ((0, 1, 1, 0), lambda p: p.transpose(1, 0, 2)),  # mirrored and turned a quarter
])
def test_mirrored_video_is_unmirrored(
    shared_data: Path, tmp_path: Path, plain: Anonymizer, matrix: tuple[int, int, int, int],
    shown: Any,
) -> None:
    """A display matrix with a flip is applied to the pixels like a rotation: the
    output (with no matrix) shows what the input's matrix asked players to show."""
    pictures = shared_frames(shared_data, HAMILTON, 8)
    src = encode(tmp_path / "selfie.mp4", pictures)
    set_matrix(src, *matrix)
    res = plain.file(src, tmp_path / "out" / "selfie.mp4")
    assert res.status == "written", res.error
    frames = list(read_frames(Path(res.output or "")))
    assert len(frames) == len(pictures)
    assert (frames[0].quarter_turns, frames[0].mirrored) == (0, False)  # no matrix left
    for vf, picture in zip(frames, pictures, strict=True):
        out, want = vf.rgb(), np.ascontiguousarray(shown(picture))
        assert out.shape == want.shape
        assert open_diff(out, want) < 4 < open_diff(out, np.ascontiguousarray(want[:, ::-1]))
