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
           pix_fmt: str = "yuv420p", colour: tuple[int, int, int, int] | None = None) -> Path:
    """``frames`` encoded into ``dest``. Frames are made fresh from pixels, so the
    encoder picks its own picture types (B-frames with ``bf``). ``colour``:
    (primaries, transfer, matrix, range) as FFmpeg codes, converted and tagged."""
    from av.video.reformatter import Colorspace

    with av.open(str(dest), "w", format=fmt) as out:
        v = out.add_stream(codec, rate=rate, options=options or {})
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = pix_fmt
        cc = v.codec_context
        if colour:
            cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = colour
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if colour:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=Colorspace(colour[2]),
                                       dst_color_range=colour[3])
                frame.color_primaries, frame.color_trc = colour[:2]
            for p in v.encode(frame):
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
    pictures = shared_frames(shared_data, MOT20, 20)
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
    pictures = shared_frames(shared_data, MOT20, 16)
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
    pictures = shared_frames(shared_data, HAMILTON, 12)
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
                for p in shared_frames(shared_data, HAMILTON, 8)]
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


# 4. colour -----------------------------------------------------------------------------
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433],  # ITU-R BT.2087, linear light
                            [0.0691, 0.9195, 0.0114],
                            [0.0164, 0.0880, 0.8956]])
HDR_WHITE_NITS = 203.0  # ITU-R BT.2408: SDR white sits at HDR reference white


def hdr_from_sdr(rgb: RGB, transfer: str) -> np.ndarray:
    """SDR BT.709 pixels as HDR BT.2020 R'G'B' (0..1), the reference way: BT.1886
    display light, BT.2087 primaries, white at 203 cd/m2, then the PQ inverse
    EOTF (SMPTE ST 2084) or HLG's inverse OOTF and OETF (BT.2100, 1000 cd/m2)."""
    light = (rgb / 255.0) ** 2.4 @ BT709_TO_BT2020.T * HDR_WHITE_NITS
    if transfer == "pq":
        y = np.clip(light / 10000.0, 0, 1) ** (2610 / 16384)
        return ((0.8359375 + 18.8515625 * y) / (1 + 18.6875 * y)) ** 78.84375
    peak, gamma = 1000.0, 1.2
    ys = np.maximum(light @ np.array([0.2627, 0.6780, 0.0593]) / peak, 1e-9) ** (1 / gamma)
    scene = light / peak / ys[..., None] ** (gamma - 1)
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(scene <= 1 / 12, np.sqrt(3 * scene),
                    a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)


def yuv420p10(rgb: np.ndarray) -> np.ndarray:
    """BT.2020 R'G'B' (0..1) as limited-range 10-bit Y'CbCr 4:2:0 planes (BT.2020 NCL)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2627 * r + 0.6780 * g + 0.0593 * b
    h, w = y.shape
    cb = ((b - y) / 1.8814).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cr = ((r - y) / 1.4746).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    planes = [64 + 876 * y, 512 + 896 * cb, 512 + 896 * cr]
    return np.concatenate([np.round(p).astype(np.uint16).reshape(-1) for p in planes]
                          ).reshape(h * 3 // 2, w)


def hdr_clip(dest: Path, pictures: list[RGB], transfer: str) -> Path:
    """A 10-bit HEVC (Main 10) clip of ``pictures`` in BT.2020 with PQ or HLG, tagged
    as phones tag them."""
    from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc

    trc = ColorTrc.SMPTE2084 if transfer == "pq" else ColorTrc.ARIB_STD_B67
    with av.open(str(dest), "w") as out:
        v = out.add_stream("libx265", rate=25, options={"x265-params": "log-level=error"})
        v.height, v.width = pictures[0].shape[:2]
        v.pix_fmt = "yuv420p10le"
        cc = v.codec_context
        cc.color_primaries, cc.color_trc = ColorPrimaries.BT2020, trc
        cc.colorspace, cc.color_range = 9, ColorRange.MPEG  # BT.2020 NCL, limited
        for img in pictures:
            frame = av.VideoFrame.from_ndarray(yuv420p10(hdr_from_sdr(img, transfer)),
                                               format="yuv420p10le")
            frame.color_primaries, frame.color_trc, frame.colorspace = 9, trc, 9
            frame.color_range = ColorRange.MPEG
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return dest


def sdr_reference(frame: Any, transfer: str) -> RGB:
    """The reference conversion of one decoded HDR frame to SDR BT.709: the
    inverse of `hdr_from_sdr` (BT.2100 EOTFs, BT.2087 primaries, 203 cd/m2 white
    to SDR white, BT.1886), in numpy; chroma repeated, nothing above white kept."""
    planes = frame.to_ndarray(format="yuv420p10le").astype(np.float64).reshape(-1)
    h, w = frame.height, frame.width
    def up(p: np.ndarray) -> np.ndarray:
        return (np.repeat(np.repeat(p.reshape(h // 2, w // 2), 2, 0), 2, 1) - 512) / 896
    y = (planes[:h * w].reshape(h, w) - 64) / 876
    cb, cr = up(planes[h * w:h * w * 5 // 4]), up(planes[h * w * 5 // 4:])
    r, b = y + 1.4746 * cr, y + 1.8814 * cb
    e = np.clip(np.stack([r, (y - 0.2627 * r - 0.0593 * b) / 0.6780, b], -1), 0, 1)
    if transfer == "pq":
        p = e ** (1 / 78.84375)
        nits = 10000 * (np.maximum(p - 0.8359375, 0) / (18.8515625 - 18.6875 * p)) ** (
            16384 / 2610)
    else:
        a, bb, c = 0.17883277, 0.28466892, 0.55991073
        scene = np.where(e <= 0.5, e * e / 3, (np.exp((e - c) / a) + bb) / 12)
        nits = 1000 * (scene @ np.array([0.2627, 0.6780, 0.0593]))[..., None] ** 0.2 * scene
    light = nits / HDR_WHITE_NITS @ np.linalg.inv(BT709_TO_BT2020).T
    return np.round(255 * np.clip(light, 0, 1) ** (1 / 2.4)).astype(np.uint8)


def colour_tags(path: Path) -> tuple[int, int, int, int, str]:
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return (int(cc.color_primaries), int(cc.color_trc), int(cc.colorspace),
                int(cc.color_range), cc.pix_fmt)


def kept_diff(out: RGB, want: RGB) -> float:
    """Mean difference over the pixels that were not covered: not turned black in
    the output, and not further off than compression takes them (most pixels)."""
    d = np.abs(out.astype(np.float32) - want.astype(np.float32)).max(axis=2)
    kept = ~((out.max(axis=2) < 12) & (d > 6)) & (d < 48)
    assert kept.mean() > 0.3
    return float(np.abs(out.astype(np.float32) - want.astype(np.float32))[kept].mean())


@pytest.mark.parametrize("full_range", [False, True])
def test_bt709_tags_and_colours_kept(
    shared_data: Path, tmp_path: Path, plain: Anonymizer, full_range: bool
) -> None:
    """BT.709 input (the Hamilton clip's own stream, limited range; and the same
    pictures in full range) keeps its primaries, transfer, matrix and range tags,
    and its colours: RGB goes back to YUV with the input's matrix and range."""
    src = tmp_path / "bt709.mp4"
    want = (1, 1, 1, 2 if full_range else 1)
    if full_range:
        encode(src, shared_frames(shared_data, HAMILTON, 20), colour=want)
    else:
        with av.open(str(shared_data / "video" / HAMILTON)) as inp, \
                av.open(str(src), "w") as out:  # its first 20 frames, stream copied
            s = out.add_stream_from_template(inp.streams.video[0])
            for k, p in enumerate(inp.demux(inp.streams.video[0])):
                if k == 20:
                    break
                p.stream = s
                out.mux(p)
    assert colour_tags(src)[:4] == want
    res = plain.file(src, tmp_path / "out" / "bt709.mp4")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    tags = colour_tags(out)
    assert tags[:4] == want and tags[4] in ("yuv420p", "yuvj420p")  # j: full range, H.264
    pairs = list(zip(read_frames(src), read_frames(out), strict=True))
    errors = [kept_diff(b.rgb(), a.rgb()) for a, b in pairs]
    assert max(errors) < 2.5, errors


def test_hdr_hlg_becomes_sdr_bt709_converted_properly(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """10-bit HEVC, BT.2020, HLG (a phone's HDR) is converted to SDR BT.709 (tone
    and gamut mapping) for detection and output, and tagged so: the written
    pictures match the reference conversion of the same frames."""
    pictures = shared_frames(shared_data, MOT20, 8)
    src = hdr_clip(tmp_path / "phone.mp4", pictures, "hlg")
    assert colour_tags(src) == (9, 18, 9, 1, "yuv420p10le")
    with av.open(str(src)) as c:
        reference = [sdr_reference(f, "hlg") for f in c.decode(video=0)]
    res = plain.file(src, tmp_path / "out" / "phone.mp4")
    assert res.status == "written", res.error
    assert any("HDR" in w and "HLG" in w and "SDR" in w for w in res.warnings), res.warnings
    assert res.faces >= 1
    out = Path(res.output or "")
    assert colour_tags(out) == (1, 1, 1, 1, "yuv420p")
    # Written (after covering and H.264 at the default quality) against the reference
    # conversion: about what an SDR clip of the same pictures loses (2.6 on MOT20).
    errors = [kept_diff(vf.rgb(), ref) for vf, ref in zip(read_frames(out), reference,
                                                          strict=True)]
    assert float(np.mean(errors)) < 3.5, errors
    with av.open(str(src)) as c:  # not converting is far off: the test can tell
        naive = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert np.mean([kept_diff(n, ref) for n, ref in zip(naive, reference, strict=True)]) > 6


def test_hdr_pq_frames_are_seen_converted(shared_data: Path, tmp_path: Path) -> None:
    """What detection sees of PQ (HDR10) video: the SDR conversion of each frame,
    within a level or so of the reference conversion."""
    pictures = shared_frames(shared_data, MOT20, 6)
    src = hdr_clip(tmp_path / "hdr10.mp4", pictures, "pq")
    with av.open(str(src)) as c:
        reference = [sdr_reference(f, "pq") for f in c.decode(video=0)]
    seen = [vf.rgb() for vf in read_frames(src)]
    errors = [float(np.abs(a.astype(np.float32) - b).mean())
              for a, b in zip(seen, reference, strict=True)]
    assert float(np.mean(errors)) < 1.5, errors


# 5. more containers and streams ---------------------------------------------------------
def test_second_video_stream_dropped_main_kept(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """A Matroska file whose first video stream is a small preview of the second
    (as some cameras and editors write them): the main (largest) stream is the
    one anonymized and written, alone, and the result says the other was removed."""
    main = shared_frames(shared_data, MOT20, 12)
    src = tmp_path / "angles.mkv"
    with av.open(str(src), "w") as c:
        preview = c.add_stream("libx264", rate=25)
        preview.width, preview.height, preview.pix_fmt = 160, 104, "yuv420p"
        full = c.add_stream("libx264", rate=25)
        full.width, full.height, full.pix_fmt = 826, 540, "yuv420p"
        for img in main:
            small = cv2.resize(img, (160, 104), interpolation=cv2.INTER_AREA)
            for stream, pixels in ((preview, small), (full, img)):
                for p in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    c.mux(p)
        for stream in (preview, full):
            for p in stream.encode():
                c.mux(p)
    with av.open(str(src)) as c:
        assert [s.width for s in c.streams.video] == [160, 826]
    res = plain.file(src, tmp_path / "out" / "angles.mkv")
    assert res.status == "written", res.error
    assert any("1 more video stream" in w for w in res.warnings), res.warnings
    out = Path(res.output or "")
    with av.open(str(out)) as c:
        assert len(c.streams) == 1 and (c.streams.video[0].width, c.streams.video[0].height) \
            == (826, 540)
    frames = [vf.rgb() for vf in read_frames(out)]
    assert len(frames) == len(main)
    assert np.mean([kept_diff(f, m) for f, m in zip(frames, main, strict=True)]) < 4


@needs_ffmpeg
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_cover_picture_dropped(shared_data: Path, tmp_path: Path, plain: Anonymizer,
                               suffix: str) -> None:
    """A video with a cover picture (a JPEG of a face, larger than the video, as
    downloads and gallery exports carry; in Matroska it comes first, as a
    one-frame video stream): only the video is anonymized and written."""
    pictures = shared_frames(shared_data, MOT20, 10)
    clip = encode(tmp_path / "clip.mp4", pictures)
    cover = tmp_path / "cover.jpg"
    big = cv2.resize(shared_frames(shared_data, HAMILTON, 1)[0], (1280, 720))
    cv2.imwrite(str(cover), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    src = tmp_path / f"with-cover{suffix}"
    ffmpeg("-i", cover, "-i", clip, "-map", "0", "-map", "1", "-c", "copy",
           "-disposition:v:0", "attached_pic", src)
    with av.open(str(src)) as c:
        assert sorted(s.codec_context.name for s in c.streams.video) == ["h264", "mjpeg"]
    res = plain.file(src, tmp_path / "out" / src.name)
    assert res.status == "written", res.error
    assert any("cover picture" in w for w in res.warnings), res.warnings
    with av.open(res.output or "") as c:
        assert [(s.codec_context.name, s.width) for s in c.streams] == [("h264", 826)]
    assert len(list(read_frames(Path(res.output or "")))) == len(pictures)


def test_audio_only_file_is_one_clear_line(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """The Hamilton clip's sound alone, in MP4 (what a voice memo or an export of
    the sound gives): refused in one line that says what it is; nothing written."""
    src = tmp_path / "sound.mp4"
    with av.open(str(shared_data / "video" / HAMILTON)) as inp, av.open(str(src), "w") as out:
        a = out.add_stream_from_template(inp.streams.audio[0])
        for p in inp.demux(inp.streams.audio[0]):
            if p.dts is not None:
                p.stream = a
                out.mux(p)
    res = plain.file(src, tmp_path / "out" / "sound.mp4")
    assert res.status == "failed" and res.error is not None
    assert "audio-only" in res.error and "\n" not in res.error, res.error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_phone_vfr_timing_kept_exactly(shared_data: Path, tmp_path: Path,
                                       plain: Anonymizer) -> None:
    """Variable frame rate as phones record it (a 1/600 s time base, frames 33 ms
    apart that stretch to 50-83 ms in low light and a dropped frame): every
    frame keeps its time to the tick."""
    pictures = shared_frames(shared_data, MOT20, 14)
    ticks = np.cumsum([0, 20, 20, 20, 30, 30, 50, 20, 20, 40, 20, 20, 30, 20]).tolist()
    src = tmp_path / "phone.mov"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 826, 540, "yuv420p"
        v.time_base = v.codec_context.time_base = Fraction(1, 600)
        for img, t in zip(pictures, ticks, strict=True):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 600)
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    want = [Fraction(t, 600) for t in ticks]
    assert seconds(src) == want
    res = plain.file(src, tmp_path / "out" / "phone.mov")
    assert res.status == "written", res.error
    assert seconds(Path(res.output or "")) == want


def test_still_image_sequence_in_a_video_container(
    shared_data: Path, tmp_path: Path, plain: Anonymizer
) -> None:
    """A time-lapse of JPEG stills in MOV (MJPEG, full range 4:2:2, two per second,
    every picture different): each still is searched and covered, the times and
    the full range are kept."""
    everything = shared_frames(shared_data, HAMILTON, 200)
    stills = everything[20::25]
    src = tmp_path / "timelapse.mov"
    with av.open(str(src), "w") as c:
        v = c.add_stream("mjpeg", rate=2)
        v.width, v.height, v.pix_fmt = 640, 360, "yuvj422p"
        for img in stills:
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    res = plain.file(src, tmp_path / "out" / "timelapse.mov")
    assert res.status == "written", res.error
    assert res.faces >= len(stills) // 2  # a face in each still: tracks do not span cuts
    out = Path(res.output or "")
    assert seconds(out) == [Fraction(k, 2) for k in range(len(stills))]
    assert colour_tags(out)[3] == 2  # full range, as JPEG
    got = [vf.rgb() for vf in read_frames(out)]
    assert np.mean([kept_diff(g, s) for g, s in zip(got, stills, strict=True)]) < 4


# 6. long and large -------------------------------------------------------------------
def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_memory_stays_flat_and_progress_knows_the_length(
    shared_data: Path, tmp_path: Path
) -> None:
    """600 frames (24 s) of the Hamilton clip, at 320x180 in Matroska (which does
    not declare a frame count): resident memory does not grow within either pass
    (one held frame per frame would add 100 MB), and progress reports the length
    of the video from its duration in pass 1, exactly in pass 2. (A light search
    setting: memory does not depend on it.)"""
    pictures = [cv2.resize(p, (320, 180), interpolation=cv2.INTER_AREA)
                for p in shared_frames(shared_data, HAMILTON, 60)]
    src = encode(tmp_path / "long.mkv", [pictures[k % 60] for k in range(600)])
    seen: dict[str, list[tuple[int, int, float]]] = {"detect": [], "redact": []}

    def progress(p: Any) -> None:
        if p.frame % 150 == 0:
            seen[p.stage].append((p.frame, p.total, resident_mb()))

    engine = Anonymizer(Settings(verify="off", detectors=("centerface",),
                                 video_keyframe_interval=60, video_detect_stride=60))
    res = engine.file(src, tmp_path / "out" / "long.mkv", progress)
    assert res.status == "written" and res.frames == 600, res.error
    for stage, samples in seen.items():
        assert [f for f, _, _ in samples] == list(range(150, 601, 150))
        totals = {t for _, t, _ in samples}
        assert totals == {600} or (stage == "detect" and max(abs(t - 600) for t in totals) <= 1)
        rss = [m for _, _, m in samples]
        assert max(rss) - rss[0] < 12, (stage, rss)
