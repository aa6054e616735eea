"""Video: timing, orientation, streams and tags of outputs; no face left in any frame.

Generated clips (PyAV, in a temporary folder) carry a rotation matrix,
variable frame rate, audio, a subtitle track with GPS text, a data stream and
identifying tags; the real clips in ../shared/data/video are checked frame by
frame with an independent detector.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bench.evaluate import leaked_frames
from tests.clips import (
    ALLOWED_CONTAINER_TAGS,
    ALLOWED_STREAM_TAGS,
    GPS_TEXT,
    SECRET_TAGS,
    make_clip,
)
from unseen.errors import CorruptMediaError
from unseen.media.atomic import TEMP_PREFIX
from unseen.media.video import probe_video, read_frames
from unseen.pipeline import Anonymizer
from unseen.settings import Settings
from unseen.track import CoverPolicy, FaceTracker, SceneCutDetector, cover_boxes


def set_rotation(path: Path, degrees: int) -> None:
    """Write a display matrix into the MP4 track header, as phones do."""
    c, s = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    matrix = [c << 16, s << 16, 0, -s << 16, c << 16, 0, 0, 0, 1 << 30]
    data = bytearray(path.read_bytes())
    i = data.find(b"tkhd")
    offset = i - 4 + (60 if data[i + 4] == 1 else 48)
    data[offset:offset + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


def timestamps(path: Path) -> list[Fraction]:
    return [Fraction(f.pts) * f.time_base for f in read_frames(path)]


def all_tags(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    with av.open(str(path)) as c:
        return dict(c.metadata), [dict(s.metadata) for s in c.streams]


LEAK_BUDGET = {"short_hamilton_clip.mp4": 9, "MOT20-05-raw_even_shorter.mp4": 16}
VFR_MS = [0, 33, 66, 100, 200, 233, 266, 400, 433, 466, 500, 533, 700, 733, 766, 800]


@pytest.fixture(scope="module")
def video_engine() -> Anonymizer:
    return Anonymizer(Settings())


@pytest.fixture(scope="module")
def audio_engine() -> Anonymizer:
    return Anonymizer(Settings(keep_audio=True))


def test_vfr_timestamps_frames_and_size_kept(tmp_path: Path, video_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "vfr.mkv", VFR_MS, audio=True, subtitle=True)
    res = video_engine.file(src, tmp_path / "out" / "vfr.mkv")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    assert timestamps(out) == timestamps(src)
    assert res.frames == len(VFR_MS)
    info = probe_video(out)
    assert (info.width, info.height) == (160, 96)


def test_only_video_stream_and_no_tags_by_default(tmp_path: Path, video_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "tagged.mkv", VFR_MS, audio=True, subtitle=True)
    res = video_engine.file(src, tmp_path / "out" / "tagged.mkv")
    out = Path(res.output or "")
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]
    container, streams = all_tags(out)
    # Matroska's MuxingApp/WritingApp elements are mandatory: bare "Lavf", no version.
    assert container in ({}, {"encoder": "Lavf"}), container
    for tags in streams:
        assert set(tags) <= ALLOWED_STREAM_TAGS | {"DURATION"}, tags
    raw = out.read_bytes()
    for secret in [GPS_TEXT, "x264 - core", "Lavf6", *SECRET_TAGS.values()]:
        assert secret.encode() not in raw, secret
    assert any("sound track was removed" in w for w in res.warnings)
    assert any("subtitle/data/attachment" in w for w in res.warnings)


def test_data_stream_dropped_and_written_as_mp4(tmp_path: Path, video_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "telemetry.ts", VFR_MS[:8], fmt="mpegts", data=True)
    with av.open(str(src)) as c:
        assert "data" in [s.type for s in c.streams]
    res = video_engine.file(src, tmp_path / "out" / "telemetry.ts")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    assert out.suffix == ".mp4"
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert set(c.metadata) <= ALLOWED_CONTAINER_TAGS
    assert GPS_TEXT.encode() not in out.read_bytes()
    assert timestamps(out) == timestamps(src)


def test_keep_audio_adds_exactly_one_audio_stream(tmp_path: Path, audio_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "sound.mp4", VFR_MS, audio=True)
    res = audio_engine.file(src, tmp_path / "out" / "sound.mp4")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    with av.open(str(out)) as c:
        assert sorted(s.type for s in c.streams) == ["audio", "video"]
        assert set(c.metadata) <= ALLOWED_CONTAINER_TAGS, dict(c.metadata)
        for s in c.streams:
            assert set(s.metadata) <= ALLOWED_STREAM_TAGS, dict(s.metadata)
        audio_packets = sum(1 for p in c.demux(audio=0) if p.size)
    assert audio_packets > 10
    assert any("voices" in w for w in res.warnings)


@pytest.mark.parametrize("degrees", [90, 270])
def test_rotation_applied_display_orientation_kept(
    tmp_path: Path, video_engine: Anonymizer, degrees: int
) -> None:
    src = make_clip(tmp_path / "phone.mp4", VFR_MS[:6], size=(160, 96), tags=False)
    set_rotation(src, degrees)
    upright_in = [f.rgb() for f in read_frames(src)]
    assert upright_in[0].shape[:2] == (160, 96)  # displayed portrait
    res = video_engine.file(src, tmp_path / "out" / "phone.mp4")
    out = Path(res.output or "")
    frames = list(read_frames(out))
    assert frames[0].quarter_turns == 0  # applied to the pixels, no matrix left
    assert len(frames) == len(upright_in)
    for a, b in zip(upright_in, frames, strict=True):
        shown = b.rgb()
        assert shown.shape == a.shape
        assert np.abs(shown.astype(int) - a.astype(int)).mean() < 6  # same picture, same way up


def test_exiftool_finds_nothing_identifying(tmp_path: Path, video_engine: Anonymizer) -> None:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    src = make_clip(tmp_path / "tagged.mp4", VFR_MS, audio=True)
    res = video_engine.file(src, tmp_path / "out" / "tagged.mp4")
    out = Path(res.output or "")
    text = subprocess.run([exiftool, "-a", "-u", "-G1", str(out)], capture_output=True,
                          text=True, check=True).stdout
    lowered = text.lower()
    for word in ["gps", "serial", "jane", "iphone", "2024", "encoder", "x264", "lavf"]:
        assert word not in lowered, [line for line in text.splitlines() if word in line.lower()]


def test_gopro_telemetry_and_location_removed(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "metadata" / "gopro" / "max-heromode.mp4"
    # Tags, streams and timing are what this test measures, not faces: the deep
    # key frames' photo search (13 of 28 s here) gets a smaller pixel budget.
    res = Anonymizer(Settings(max_pass_megapixels=2.0)).file(src, tmp_path / "gopro.mp4")
    assert res.status == "written", res.error
    out = Path(res.output or "")
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]
        assert set(c.metadata) <= ALLOWED_CONTAINER_TAGS, dict(c.metadata)
    assert b"+33.1268" not in out.read_bytes()
    assert timestamps(out) == timestamps(src)


# failing closed ----------------------------------------------------------------
def test_damaged_video_writes_nothing(tmp_path: Path, video_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "ok.mp4", list(range(0, 3000, 33)), tags=False)
    data = src.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[: len(data) * 2 // 3])
    out_dir = tmp_path / "out"
    res = video_engine.file(broken, out_dir / "broken.mp4")
    assert res.status == "failed"
    assert res.output is None
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_partial_option_names_the_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "ok.mp4", list(range(0, 3000, 33)), tags=False)
    data = src.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[: len(data) * 2 // 3])
    engine = Anonymizer(Settings(partial_output=True))
    res = engine.file(broken, tmp_path / "out" / "broken.mp4")
    if res.status == "failed":
        # The demuxer may refuse the whole file (no index): nothing to save.
        assert res.output is None
        return
    out = Path(res.output or "")
    assert out.name == "broken.PARTIAL.mp4"
    assert any("PARTIAL" in w for w in res.warnings)
    assert 0 < res.frames < 91


def test_interrupt_leaves_nothing(tmp_path: Path, video_engine: Anonymizer) -> None:
    src = make_clip(tmp_path / "long.mp4", list(range(0, 2000, 33)), tags=False)
    out_dir = tmp_path / "out"

    def interrupt(p: object) -> None:
        if getattr(p, "stage", "") == "redact" and getattr(p, "frame", 0) == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        video_engine.file(src, out_dir / "long.mp4", progress=interrupt)
    leftovers = list(out_dir.iterdir()) if out_dir.exists() else []
    assert not [p for p in leftovers if p.name.startswith(TEMP_PREFIX) or p.suffix == ".mp4"]


def test_not_a_video_is_a_clear_error(tmp_path: Path, video_engine: Anonymizer) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 100)
    res = video_engine.file(bad, tmp_path / "out" / "notes.mp4")
    assert res.status == "failed" and res.error


# tracking ----------------------------------------------------------------------
def test_tracker_fills_gaps_and_pads_within_shot() -> None:
    tracker = FaceTracker(max_gap=10)
    box = np.array([[10, 10, 30, 30]], np.float32)
    for f in (2, 6):
        tracker.update(f, box + f)
    tracks = tracker.finish()
    assert len(tracks) == 1 and tracks[0].frames == (2, 6)
    shots = [0] * 8 + [1] * 4
    extra = cover_boxes(tracks, shots, CoverPolicy(pad_before=3, pad_after=3, max_fill_gap=10))
    # The face moves 1 px a frame: padding holds the first (last) box and also
    # covers where it was heading; filled frames get one box.
    assert [len(e) for e in extra] == [2, 2, 0, 1, 1, 1, 0, 2, 0, 0, 0, 0]
    # filled frames lie between the two detections
    mid = extra[4][0]
    assert 10 + 2 < (mid[0] + mid[2]) / 2 - 10 < 10 + 6
    centre_x = [float(b[0] + b[2]) / 2 for b in extra[7]]
    assert centre_x == [20 + 6, 20 + 7]  # held at frame 6's box, and moved on one frame
    assert sorted(float(b[0] + b[2]) / 2 for b in extra[0]) == [20 + 0, 20 + 2]
    still = FaceTracker(max_gap=10)
    for f in (2, 6):
        still.update(f, box)
    padded = cover_boxes(still.finish(), shots, CoverPolicy(pad_before=3, pad_after=3,
                                                              max_fill_gap=10))
    assert [len(e) for e in padded] == [1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0]  # in place only


def test_tracker_never_crosses_a_cut() -> None:
    tracker = FaceTracker(max_gap=10)
    tracker.update(0, np.array([[10, 10, 30, 30]], np.float32))
    tracker.cut()
    tracker.update(1, np.array([[10, 10, 30, 30]], np.float32))
    assert len(tracker.finish()) == 2


def test_tracker_links_small_fast_face() -> None:
    tracker = FaceTracker(max_gap=10)
    for f in range(5):
        tracker.update(f, np.array([[10 + 12 * f, 10, 20 + 12 * f, 20]], np.float32))
    assert len(tracker.finish()) == 1


def test_scene_cut_detector() -> None:
    det = SceneCutDetector()
    dark = np.full((36, 64, 3), 20, np.uint8)
    bright = np.zeros((36, 64, 3), np.uint8)
    bright[..., 0] = 230
    assert not det.is_cut(dark)
    assert not det.is_cut(dark)
    assert det.is_cut(bright)


# the real clips: no face left in any frame --------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["short_hamilton_clip.mp4", "MOT20-05-raw_even_shorter.mp4"])
def test_real_clip_no_leaked_face(
    shared_data: Path, tmp_path: Path, video_engine: Anonymizer, name: str
) -> None:
    from unseen.detect.retinaface import RetinaFace

    src = shared_data / "video" / name
    res = video_engine.file(src, tmp_path / name)
    assert res.status == "written", res.error
    # Verified (every 10th frame and track ends), repaired where the adversary saw more.
    assert res.verdict is not None and res.verdict.safe
    assert res.verdict.seconds["frames_checked"] >= res.frames / 10
    out = Path(res.output or "")
    assert timestamps(out) == timestamps(src)
    assert probe_video(out).width == probe_video(src).width
    leaks = [i for i, _ in leaked_frames(src, out, RetinaFace())]
    # Target is 0. The remaining hits, inspected by eye, are hands and backs of
    # heads that the sensitive detector also fires on in the input (see
    # docs/benchmarks.md, Video); the budget stops regressions until the adversary is sharper.
    assert len(leaks) <= LEAK_BUDGET[name], f"faces still found in output frames {leaks}"


def faststart_copy(src: Path, dest: Path) -> Path:
    """The video stream of ``src`` remuxed with the index (moov) at the front, as
    web and messenger videos are: a cut copy of it still opens."""
    with av.open(str(src)) as i, av.open(str(dest), "w", options={"movflags": "faststart"}) as o:
        out = o.add_stream_from_template(i.streams.video[0])
        for pkt in i.demux(i.streams.video[0]):
            if pkt.dts is not None:
                pkt.stream = out
                o.mux(pkt)
    return dest


@pytest.mark.parametrize("damage", [
    "cut",  # a copy or download that stopped: the index at the end is lost
    "overwritten",  # 20 kB of the picture data replaced (a bad sector, a broken transfer)
    "cut-faststart",  # the same, with the index in front: decodes cleanly up to the cut
])
def test_damaged_real_video_is_a_one_line_corrupt_media_failure(
    shared_data: Path, tmp_path: Path, video_engine: Anonymizer, damage: str
) -> None:
    src = shared_data / "video" / "short_hamilton_clip.mp4"
    if damage == "cut-faststart":
        src = faststart_copy(src, tmp_path / "faststart.mp4")
    data = bytearray(src.read_bytes())
    if damage == "overwritten":
        start = len(data) // 10
        data[start:start + 20_000] = (bytes(range(256)) * 79)[:20_000]
    else:
        data = data[: len(data) // 2]
    bad = tmp_path / "in" / "damaged.mp4"
    bad.parent.mkdir()
    bad.write_bytes(bytes(data))
    # The library's reader says what is wrong with a CorruptMediaError ...
    with pytest.raises(CorruptMediaError) as exc:
        for _ in read_frames(bad):
            pass
    # ... and the whole pipeline turns it into this file's one-line failure.
    out_dir = tmp_path / "out"
    res = video_engine.file(bad, out_dir / "damaged.mp4")
    assert (res.status, res.output) == ("failed", None), res
    assert res.error == str(exc.value) and "\n" not in res.error
    assert re.search(r"cannot (open|be decoded)", res.error), res.error
    assert not out_dir.exists() or not any(out_dir.rglob("*"))


# verification of videos (unseen.verify.check_video / verify_video) ---------------
def portrait_clip(path: Path, shared_data: Path, frames: int = 12,
                  hide: range | None = None) -> tuple[Path, list[float]]:
    """A clip of a still portrait; with ``hide``, the face is filled black on those
    frames only (an output that leaves the face uncovered on the others)."""
    import cv2

    from unseen.media.image import read_photo
    from unseen.verify import Adversary

    img = read_photo(shared_data / "reid" / "face_recognition" / "kit_harington" / "john2.jpeg")
    h, w = img.pixels.shape[:2]
    scale = 320 / max(h, w)
    pixels = cv2.resize(img.pixels, (round(w * scale) // 2 * 2, round(h * scale) // 2 * 2))
    face = max(Adversary("fast").detect(pixels), key=lambda f: f.height).box
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = pixels.shape[1], pixels.shape[0], "yuv420p"
        for i in range(frames):
            img_i = pixels.copy()
            if hide is not None and i in hide:
                x1, y1, x2, y2 = (round(x) for x in face)
                img_i[max(0, y1 - 10):y2 + 10, max(0, x1 - 10):x2 + 10] = 0
            for p in v.encode(av.VideoFrame.from_ndarray(img_i, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path, list(face)


def test_video_left_face_is_unsafe_with_frame_number(shared_data: Path, tmp_path: Path) -> None:
    from unseen.verify import Adversary, check_video, video_frames_to_check

    orig, _ = portrait_clip(tmp_path / "orig.mp4", shared_data)
    # Covered on frames 0-5 only: the face is back from frame 6 on.
    out, face = portrait_clip(tmp_path / "out.mp4", shared_data, hide=range(6))
    picks = video_frames_to_check(12, 5)
    assert picks == [0, 5, 10, 11]
    verdict = check_video(Adversary("fast"), out, orig, picks)
    assert not verdict.safe
    # (The hand-made output also keeps PyAV's encoder tag: a metadata finding.)
    faces = [r for r in verdict.reasons if not r.startswith("metadata: ")]
    assert faces and all(r.startswith(("frame 10: ", "frame 11: ")) for r in faces), faces
    assert any(re.match(r"frame 10: a face at \d+,\d+ \(\d+ px\) is still detectable", r)
               for r in verdict.reasons)
    assert {f.frame for f in verdict.findings if f.severity == "unsafe"} - {11} == {10, None}
    cx = (face[0] + face[2]) / 2
    hit = next(f for f in verdict.findings if f.severity == "unsafe")
    assert hit.box is not None and abs((hit.box[0] + hit.box[2]) / 2 - cx) < 20
    assert "4 of 12 frames checked" in " ".join(verdict.notes)


def _miss_from(engine: Anonymizer, first: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the redactor lose every face from frame ``first`` on."""
    from unseen.detections import Detections

    passes = engine.videos
    real = passes.find_faces

    def find_faces(*args: object, **kw: object) -> object:
        timeline = real(*args, **kw)  # type: ignore[arg-type]
        n = timeline.frames
        return dataclasses.replace(
            timeline,
            detections=timeline.detections[:first] + (Detections.empty(),) * (n - first),
            padded=timeline.padded[:first] + ((),) * (n - first))

    monkeypatch.setattr(passes, "find_faces", find_faces)


def test_video_missed_face_is_repaired_or_withheld(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = portrait_clip(tmp_path / "in.mp4", shared_data)
    engine = Anonymizer(Settings(video_verify_every=5))
    _miss_from(engine, 6, monkeypatch)
    # Default: the adversary's find is covered and judged again.
    res = engine.file(src, tmp_path / "a" / "in.mp4")
    assert res.status == "written" and res.verdict is not None and res.verdict.safe
    assert res.verdict.repaired and res.verdict.repaired[0].startswith("frame 10: a face at")
    # Without repair: not delivered, exit code 3; or kept as *.UNSAFE.mp4 when allowed.
    monkeypatch.setattr("unseen.verify.video.MAX_REPAIRS", 0)
    res = engine.file(src, tmp_path / "b" / "in.mp4")
    assert res.status == "unsafe" and res.output is None
    assert "frame 10: a face at" in (res.error or "")
    assert not any((tmp_path / "b").iterdir())
    engine.settings = dataclasses.replace(engine.settings, allow_unsafe=True)
    res = engine.file(src, tmp_path / "c" / "in.mp4")
    assert res.status == "unsafe" and (res.output or "").endswith("in.UNSAFE.mp4")
    assert Path(res.output or "").is_file()


def test_video_read_back_catches_a_wrong_frame(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The judge checks the written file against what it judged: a frame that
    the write path got wrong (here frame 5 replaced by grey) makes it unsafe."""
    from unseen.media.video import VideoWriter

    src, _ = portrait_clip(tmp_path / "in.mp4", shared_data)
    engine = Anonymizer(Settings(video_verify_every=5))
    real = VideoWriter.write

    def write(self: VideoWriter, pixels: np.ndarray, pts: int) -> None:
        if self.frames == 5:
            pixels = np.full_like(pixels, 128)
        real(self, pixels, pts)

    monkeypatch.setattr(VideoWriter, "write", write)
    res = engine.file(src, tmp_path / "out" / "in.mp4")
    assert res.status == "unsafe" and res.output is None, res
    reasons = " ".join(res.verdict.reasons if res.verdict else [])
    assert "frame 5: the written frame is not the one judged" in reasons
    assert "frame 5: the region at" in reasons and "is not filled" in reasons
    assert not any((tmp_path / "out").iterdir())


def test_video_head_cover(shared_data: Path, tmp_path: Path) -> None:
    """``--cover head`` on video: the hair above the face is filled in every frame."""
    from unseen.cover import HEAD_TOP

    src, face = portrait_clip(tmp_path / "in.mp4", shared_data, frames=6)
    x1, y1, x2, y2 = face
    hair = (round((x1 + x2) / 2) - 3, max(3, round(y1 - HEAD_TOP * (y2 - y1) * 0.55)))
    for cover, filled in (("face", False), ("head", True)):
        res = Anonymizer(Settings(cover=cover, verify="off")).file(
            src, tmp_path / cover / "out.mp4")
        assert res.status == "written", res.error
        for fb in read_frames(Path(res.output or "")):
            if fb.index not in (0, 2, 4):  # frames with a detection (others are padded)
                continue
            patch = fb.rgb()[hair[1] - 3:hair[1] + 3, hair[0]:hair[0] + 6].astype(float)
            black = bool(patch.max() < 30 and patch.std() < 3)  # dark hair is not flat
            assert black is filled, (cover, fb.index, patch.max(), patch.std())


def test_check_command_judges_a_video_pair(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``unseen check ORIGINAL.mp4 OUTPUT.mp4`` on another tool's video: every
    10th frame and the last are judged, and the uncovered face is named by frame."""
    import json

    from unseen.cli import main

    orig, _ = portrait_clip(tmp_path / "orig.mp4", shared_data)
    out, _ = portrait_clip(tmp_path / "out.mp4", shared_data, hide=range(6))
    assert main(["check", str(orig), str(out), "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    faces = [r for r in doc["reasons"] if not r.startswith("metadata: ")]
    assert faces and {r.split(":")[0] for r in faces} <= {"frame 10", "frame 11"}, faces
    assert "3 of 12 frames checked for faces" in doc["notes"]  # 0, 10 and the last
    covered, _ = portrait_clip(tmp_path / "covered.mp4", shared_data, hide=range(12))
    assert main(["check", str(orig), str(covered), "--json"]) == 3  # PyAV's encoder tag
    doc = json.loads(capsys.readouterr().out)
    assert all(r.startswith("metadata: ") for r in doc["reasons"]), doc["reasons"]


def test_video_recognisable_blur_is_filled_over_its_track(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blur too weak for the recogniser (sigma 1/50 of the face width here) is
    found by re-identification, and the face's whole track is filled instead."""
    src, face = portrait_clip(tmp_path / "in.mp4", shared_data)
    monkeypatch.setattr("unseen.redact.BLUR_SIGMA_PER_WIDTH", 0.02)
    res = Anonymizer(Settings(redact="blur", video_verify_every=5)).file(
        src, tmp_path / "out" / "in.mp4")
    assert res.status == "written" and res.verdict is not None and res.verdict.safe, res.error
    assert any("still recognisable after blur; their tracks were filled" in w
               for w in res.warnings), res.warnings
    assert any("still matches the original person" in m for m in res.verdict.repaired)
    x1, y1, x2, y2 = (round(v) for v in face)
    cx, cy, q = (x1 + x2) // 2, (y1 + y2) // 2, (x2 - x1) // 4
    for fb in read_frames(Path(res.output or "")):
        centre = fb.rgb()[cy - q:cy + q, cx - q:cx + q].astype(float)
        assert centre.max() < 30 and centre.std() < 3, (fb.index, centre.max(), centre.std())


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".mov"])
def test_other_containers_keep_timestamps_verified(
    shared_data: Path, tmp_path: Path, suffix: str
) -> None:
    """Matroska and WebM store 1 ms ticks: every frame keeps its time to the
    tick (the read-back caught frames written 12x too late before the fix)."""
    src, _ = portrait_clip(tmp_path / "in.mp4", shared_data)
    res = Anonymizer(Settings(video_verify_every=5)).file(src, tmp_path / "out" / f"in{suffix}")
    assert res.status == "written" and res.verdict is not None and res.verdict.safe, res.error
    out = Path(res.output or "")
    assert out.suffix == suffix
    got, want = timestamps(out), timestamps(src)
    assert len(got) == len(want)
    assert max(abs(float(a - b)) for a, b in zip(got, want, strict=True)) <= 0.001


def test_avi_input_is_written_as_mp4(tmp_path: Path) -> None:
    """AVI keeps no presentation times, so an AVI input comes out as MP4."""
    src = tmp_path / "in.avi"
    with av.open(str(src), "w") as c:
        v = c.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8),
                                               format="rgb24")
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    res = Anonymizer(Settings(verify="off")).file(src, tmp_path / "out" / "in.avi")
    assert res.status == "written", res.error
    assert Path(res.output or "").name == "in.mp4"
    assert len(timestamps(Path(res.output or ""))) == 5
