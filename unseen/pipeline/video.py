"""One video through the stages, in two passes over the file, owned here.

Pass 1 (`VideoPasses.first_pass`) decodes, detects (a full multi-scale
search on key frames and at scene cuts, a cheap single-scale pass on the
others) and tracks, keeping only boxes: a frozen `FaceTimeline`. Pass 2
(`VideoPasses.second_pass`) decodes again, covers every tracked face and
encodes into the staging file, showing chosen frames to the adversary
(`unseen.verify.video.VideoJudge`) before they are encoded; what it still
finds is covered around the frame (`Repairs`). The written file is then read
back and judged; faces still recognised after blur or pixelation are filled
over their whole track and the video written once more. The loop over the
frames is this module's alone: verification and encoding are stages it calls.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from unseen.detect.models import Models
from unseen.detect.multiscale import MultiScaleDetector, Pass
from unseen.detections import Detections
from unseen.errors import CorruptMediaError, IncompleteRedactionError
from unseen.i18n import N_
from unseen.media.ahead import InOrder, read_ahead
from unseen.media.atomic import TEMP_SUFFIX
from unseen.media.audio import AudioStreamWriter
from unseen.media.video import (
    CONTAINERS,
    EncodeOptions,
    VideoFrame,
    VideoInfo,
    VideoReader,
    VideoWriter,
    display_timestamps,
    probe_video,
)
from unseen.memory import release
from unseen.pipeline.regions import text_regions
from unseen.pipeline.sound import ProcessedSound, judge_sound, sound_warnings
from unseen.redact import WEAK_METHOD_WARNING, RedactionStyle, apply_plan
from unseen.settings import Settings
from unseen.stopwatch import Stopwatch
from unseen.track import (
    AREA_TRACKED,
    CoverPolicy,
    FaceTimeline,
    FaceTracker,
    Repairs,
    SceneCutDetector,
    Track,
    area_boxes,
    cover_boxes,
)
from unseen.verify.adversary import Adversary
from unseen.verify.audio import AudioJudge
from unseen.verify.verdict import Verdict
from unseen.verify.video import VideoJudge

ProgressCallback = Callable[["VideoProgress"], None]
PARTIAL_MARK = ".PARTIAL"
CHEAP, UPSCALED = "centerface-cheap", "centerface-2x"  # extra sessions
CUT_THUMB = (64, 36)  # scene-cut histograms need no more
KEY_MIN_FACE_PX = 10.0
"""About the smallest face (in the pixels a pass sees) the key passes find;
faces up to twice the limit in a shot make its deep key frames frequent."""
DEEP_LIMIT_PX = 6.0
"""Deep key frames run where the key passes' limit, in the video's pixels, is
above this (video they do not search at 2x)."""
RELEASE_EVERY = 64
"""Pass 2 gives freed memory back to the system every this many frames (unseen.memory)."""
IDLE_DEEP = 10
"""In shots without small faces, deep key frames are this many times rarer."""
REPAIR_GROWTH = 1.2
"""A face the judge finds is covered with its box grown by this factor."""
TIMESTAMPS_REBUILT = N_("the frame timestamps were out of display order (a stream copied "
                        "into the container without its timestamps); they were rebuilt in "
                        "display order")
VIDEO_BODIES = N_("in videos, bodies are covered below detected faces only "
                  "(the person model does not run on video frames yet)")


@dataclass(frozen=True)
class VideoProgress:
    """Where a video job is: ``stage`` is ``detect`` (pass 1) or ``redact`` (pass 2)."""

    stage: str
    frame: int
    total: int
    """Frames in the video: in pass 1 as the container declares them, or as its
    duration gives them (0 if unknown); in pass 2 exact."""


@dataclass(frozen=True)
class FirstPass:
    """Pass 1's outcome: the input's description, the boxes, and what to tell
    the person about the input."""

    info: VideoInfo
    timeline: FaceTimeline
    warnings: tuple[str, ...]

    def output_path(self, dest: Path) -> Path:
        """Where the output goes: ``dest`` as a container unseen writes, named
        ``*.PARTIAL.*`` for a damaged video written up to the damage."""
        dest = output_path(dest)
        if self.timeline.error:
            dest = dest.with_name(dest.stem + PARTIAL_MARK + dest.suffix)
        return dest


@dataclass(frozen=True)
class VideoOutcome:
    """A video written to its staging file and judged."""

    frames: int
    verdict: Verdict | None
    """The adversary's verdict on the staged file (None: verification off)."""
    warnings: tuple[str, ...] = ()


class VideoPasses:
    """Both passes over videos, with one run's models and settings."""

    def __init__(self, models: Models, settings: Settings) -> None:
        self.models = models
        self.settings = settings
        self.style = RedactionStyle.from_settings(settings)
        self.detector = models.faces
        """The photo search (deep key frames)."""
        # onnxruntime re-plans its memory whenever the input shape changes,
        # which costs more than a small pass; give each recurring shape its
        # own CenterFace session (in the run's precision, like every other).
        passes = dict(self.detector.detectors)
        passes[CHEAP] = models.face_model("centerface", copy="cheap")
        passes[UPSCALED] = models.face_model("centerface", copy="2x")
        self._passes = MultiScaleDetector(passes, tile_size=self.detector.tile_size)

    # pass 1 ---------------------------------------------------------------
    def cheap_passes(self, info: VideoInfo) -> list[Pass]:
        """One CenterFace pass, downscaled to the cheap pixel budget."""
        s = self.settings
        scale = min(1.0, math.sqrt(s.video_cheap_megapixels * 1e6 / (info.width * info.height)))
        return [Pass(CHEAP, scale, s.threshold)]

    def key_passes(self, info: VideoInfo) -> list[Pass]:
        """Every model at (up to) full size, and CenterFace at 2x for small video."""
        s = self.settings
        megapixels = info.width * info.height / 1e6
        base = min(1.0, math.sqrt(s.video_key_megapixels / megapixels))
        passes = [Pass("centerface", base, s.threshold)]
        passes += [Pass(name, base, min(0.95, s.threshold * 4))
                   for name in self.detector.detectors if name != "centerface"]
        if base == 1.0 and megapixels * 4 <= s.video_key_megapixels * 1.1:
            passes.append(Pass(UPSCALED, 2.0, s.threshold, max_face=48.0))
        return passes

    def first_pass(self, source: Path, clock: Stopwatch,
                   progress: ProgressCallback | None = None) -> FirstPass:
        """Pass 1, and what to tell the person about the input."""
        s = self.settings
        info = probe_video(source, s.video_fps)
        timeline = self.find_faces(source, info, clock, progress)
        if timeline.frames == 0:
            raise CorruptMediaError(N_("the video has no decodable frames"))
        warnings = sound_warnings(bool(info.audio_codec), s.audio)
        if info.colour.hdr:
            warnings.append(
                N_("HDR video ({kind}) was converted to SDR BT.709 (tone-mapped, 8-bit) for "
                   "detection and output").format(kind=info.colour.hdr))
        if info.raw_stream:
            timed = (N_("a raw {codec} stream without a container: timed at {rate} frames/s "
                        "(as the stream states), written as MP4") if info.stream_rate else
                     N_("a raw {codec} stream without a container: timed at {rate} frames/s "
                        "(--fps), written as MP4"))
            warnings.append(timed.format(codec=info.raw_stream,
                                         rate=f"{float(info.frame_rate or 0):g}"))
        if info.other_streams:
            warnings.append(N_("{n} subtitle/data/attachment stream(s) removed").format(
                n=info.other_streams))
        if info.other_videos:
            warnings.append(N_("{n} more video stream(s) (another angle, a preview or a cover "
                               "picture) removed; only the main video is written").format(
                                   n=info.other_videos))
        if display_timestamps(timeline.pts) != list(timeline.pts):
            warnings.append(TIMESTAMPS_REBUILT)
        if timeline.error:
            warnings.append(
                N_("PARTIAL: the video is damaged after frame {frame} ({reason}); only the "
                   "frames before it were written").format(
                       frame=timeline.frames, reason=timeline.error)
            )
        if s.redact != "fill":
            warnings.append(WEAK_METHOD_WARNING.format(method=s.redact))
        if s.cover == "body":
            warnings.append(VIDEO_BODIES)
        return FirstPass(info, timeline, tuple(warnings))

    def find_faces(self, source: Path, info: VideoInfo, clock: Stopwatch | None = None,
                   progress: ProgressCallback | None = None) -> FaceTimeline:
        """Pass 1: every frame decoded, faces (and plates and text, when asked
        for) detected and tracked; boxes only."""
        s = self.settings
        clock = clock or Stopwatch()
        cheap = self.cheap_passes(info)
        key = self.key_passes(info)
        deep_every = max(s.video_keyframe_interval, round(s.video_deep_seconds * info.fps))
        # Faces under about KEY_MIN_FACE_PX at the finest key pass are beyond
        # it: deep key frames look for them where that limit is coarse.
        limit = KEY_MIN_FACE_PX / max(p.scale for p in key)
        deep_on = limit > DEEP_LIMIT_PX
        # Small faces may be seen on deep key frames alone: tracks bridge them.
        tracker = FaceTracker(max_gap=max(2 * s.video_keyframe_interval, round(info.fps),
                                          deep_every + 1))
        # Plates and text: found on key frames, linked like faces (one tracker per kind).
        areas = {k: FaceTracker(max_gap=tracker.max_gap) for k in AREA_TRACKED}
        find_text = s.plates or s.text
        cuts = SceneCutDetector()
        found_ = _Found()
        shot = 0
        since_key = s.video_keyframe_interval
        since_deep = IDLE_DEEP * deep_every  # the first key frame is deep
        small_seen = False  # small faces (or a crowd) in this shot
        nothing = Detections.empty()
        error = None
        try:
            # Frames (and the thumbnails the cut detector compares) are
            # decoded on a thread of their own while this one detects.
            with VideoReader(source, fps=s.video_fps) as reader, \
                    read_ahead(reader, _with_thumbnail) as frames:
                for vf, small in clock.each(frames, "pass 1: decode"):
                    if cuts.is_cut(small):
                        shot += 1
                        tracker.cut()
                        for t in areas.values():
                            t.cut()
                        since_key = s.video_keyframe_interval
                        since_deep = IDLE_DEEP * deep_every
                        small_seen = False
                    if since_key >= s.video_keyframe_interval:
                        with clock.time("pass 1: decode"):
                            rgb = vf.rgb()
                        if deep_on and since_deep >= (
                                deep_every if small_seen else IDLE_DEEP * deep_every):
                            # The photo search: small faces the key passes cannot see.
                            with clock.time("detect: photo search (deep key frames)"):
                                found = self.detector.detect(rgb, s.threshold)
                            is_crowd = found.kinds == "crowd"
                            if is_crowd.any():
                                found_.crowd[vf.index] = found.filter(is_crowd)
                            small_seen = small_seen or bool(is_crowd.any())
                            dets = found.filter(~is_crowd)
                            found_.deep_frames += 1
                            since_deep = 0
                        else:
                            with clock.time("detect: key passes"):
                                dets = self._run(rgb, key)
                        if find_text:
                            with clock.time("detect: plates and text"):
                                found = text_regions(rgb, self.models, s)
                            for kind, t in areas.items():
                                mine = found.filter(found.kinds == kind)
                                t.update(vf.index, mine.boxes, mine.scores)
                        found_.key_frames += 1
                        since_key = 0
                    elif since_key % s.video_detect_stride == 0:
                        with clock.time("detect: cheap pass"):
                            dets = self._run_cheap(vf, info, cheap)
                    else:
                        dets = None
                    since_key += 1
                    since_deep += 1
                    if dets is not None:
                        with clock.time("track"):
                            tracker.update(vf.index, dets.boxes, dets.scores)
                        small_seen = small_seen or bool((dets.heights < 2 * limit).any())
                    if dets is None or not len(dets):
                        dets = nothing  # one shared value: memory stays flat over hours
                    found_.detections.append(dets)
                    found_.shots.append(shot)
                    found_.pts.append(vf.pts)
                    found_.time_base = vf.time_base
                    if progress:
                        progress(VideoProgress("detect", vf.index + 1, info.expected_frames))
        except CorruptMediaError as exc:
            if not s.partial_output or not found_.pts:
                raise
            error = str(exc)
        with clock.time("track"):
            return self._timeline(found_, tracker, areas if find_text else None, deep_every,
                                  error)

    def _timeline(self, found: _Found, tracker: FaceTracker,
                  areas: dict[str, FaceTracker] | None, deep_every: int,
                  error: str | None) -> FaceTimeline:
        """End the tracks, fill and pad them in time (faces, and plates and text),
        and freeze what pass 1 found."""
        s = self.settings
        tracks = tracker.finish()
        pad = max(s.track_pad_frames, s.video_keyframe_interval, s.video_detect_stride)
        policy = CoverPolicy(pad_before=pad, pad_after=pad, max_fill_gap=tracker.max_gap)
        padded = cover_boxes(tracks, found.shots, policy)
        area_tracks: dict[str, tuple[Track, ...]] = {}
        per_frame_areas: list[Detections] = []
        if areas is not None:
            # Text does not move much between key frames: hold each region from
            # one key frame to the next, and pad like faces.
            text_policy = CoverPolicy(pad_before=pad, pad_after=pad, pad_growth=0.1,
                                      max_fill_gap=tracker.max_gap)
            area_tracks = {k: tuple(t.finish()) for k, t in areas.items()}
            per_frame_areas = area_boxes(area_tracks, found.shots, text_policy)
        return FaceTimeline(
            detections=tuple(found.detections), shots=tuple(found.shots),
            pts=tuple(found.pts), time_base=found.time_base, key_frames=found.key_frames,
            tracks=tuple(tracks), padded=tuple(tuple(b) for b in padded), policy=policy,
            areas=tuple(per_frame_areas), area_tracks=area_tracks, crowd=found.crowd,
            crowd_reach=deep_every, deep_frames=found.deep_frames, error=error)

    def _run(self, image: np.ndarray, passes: list[Pass]) -> Detections:
        found = [self._passes.run_pass(image, p) for p in passes]
        return Detections.concat(found).nms(0.3)

    def _run_cheap(self, vf: VideoFrame, info: VideoInfo, passes: list[Pass]) -> Detections:
        # swscale resizes while converting to RGB: one pass over the frame.
        scale = passes[0].scale
        tw, th = max(32, round(info.width * scale)), max(32, round(info.height * scale))
        image = vf.rgb(tw, th)
        found = [self._passes.run_pass(image, Pass(p.detector, 1.0, p.threshold))
                 for p in passes]
        dets = Detections.concat(found).nms(0.3)
        return dets.transformed(info.width / tw, info.height / th)

    # pass 2 ---------------------------------------------------------------
    def second_pass(
        self,
        source: Path,
        staged: Path,
        timeline: FaceTimeline,
        clock: Stopwatch,
        adversary: Adversary | None = None,
        repair: bool = True,
        sound: ProcessedSound | None = None,
        audio_judge: AudioJudge | None = None,
        progress: ProgressCallback | None = None,
    ) -> VideoOutcome:
        """Write ``source`` with ``timeline``'s regions covered into ``staged``
        and judge it.

        With an ``adversary``, it judges frames while they are written and the
        file afterwards; with ``repair``, faces it finds are covered around the
        frame, and faces that blur or pixelate left recognisable are filled
        over their whole track and the video written and judged once more.
        ``sound``: muted or disguised sound to encode; with an ``audio_judge``
        the written sound is judged against the original's.
        """
        repairs = Repairs()
        if adversary is None:
            frames = self.write(source, staged, timeline, repairs, clock, None, sound, progress)
            return VideoOutcome(frames, None)
        s = self.settings
        warnings: list[str] = []

        def judged_write(notify: ProgressCallback | None) -> tuple[int, VideoJudge, Verdict]:
            judge = VideoJudge(adversary, timeline, self.style, s.video_verify_every, s.crf,
                               repair)
            frames = self.write(source, staged, timeline, repairs, clock, judge, sound, notify)
            with clock.time("verify: read back the output"):
                verdict = self.read_back(staged, timeline, repairs, judge)
            return frames, judge, verdict

        frames, judge, verdict = judged_write(progress)
        repaired = list(verdict.repaired)
        known = [f for f in verdict.findings
                 if f.kind == "reidentified" and f.severity == "unsafe"]
        tracks = judge.tracks_of(known) if repair and self.style.method != "fill" else []
        if tracks:
            for t in tracks:
                repairs.fill_track(timeline, t)
            warnings.append(N_("{n} face(s) were still recognisable after {method}; their "
                               "tracks were filled instead").format(n=len(tracks),
                                                                   method=self.style.method))
            frames, judge, verdict = judged_write(None)
            verdict.repaired = repaired + [f.message for f in known] + verdict.repaired
        found = [m for m in verdict.repaired if "still detectable" in m]
        if found:
            warnings.append(
                N_("verification found {n} more face(s) while writing; covered them for "
                   "{frames} frames either side").format(n=len(found), frames=judge.window))
        if sound is not None and audio_judge is not None:
            with clock.time("verify: sound"):
                judge_sound(audio_judge, sound.mode, staged, source, verdict)
        return VideoOutcome(frames, verdict, tuple(warnings))

    def regions(self, timeline: FaceTimeline, repairs: Repairs, index: int, width: int,
                height: int) -> Detections:
        """Everything to cover in frame ``index``: its faces (detected, filled,
        padded, and added by verification) plus heads, bodies and crowd bands
        as the settings ask, and the tracked plates and text."""
        from unseen.cover import cover_regions

        extra = [timeline.areas[index]] if timeline.areas else []
        faces = timeline.boxes(index, repairs.extra.get(index, ()))
        crowd = timeline.crowd_at(index)
        if len(crowd):
            faces = Detections.concat([faces, crowd])
        return cover_regions(faces, width, height, self.settings, extra)

    def redact(self, pixels: np.ndarray, regions: Detections,
               filled: list[np.ndarray] | None = None) -> np.ndarray:
        """A redacted copy of one RGB frame; ``filled`` boxes are filled
        whatever the method."""
        if len(regions):
            pixels = apply_plan(pixels, self.style.plan(regions))
        if filled:
            pixels = apply_plan(pixels, self.style.filled().plan(
                Detections.from_boxes(np.stack(filled))))
        return pixels

    def write(self, source: Path, staged: Path, timeline: FaceTimeline, repairs: Repairs,
              clock: Stopwatch, judge: VideoJudge | None = None,
              sound: ProcessedSound | None = None,
              progress: ProgressCallback | None = None) -> int:
        """Decode again, cover ``timeline``'s regions, encode into ``staged``.

        With a ``judge``, frames it wants are judged before they are encoded,
        and what it finds is covered in them and in ``judge.window`` frames
        either side (added to ``repairs``). ``sound``: a processed (muted or
        disguised) sound track, encoded alongside in step with the video;
        otherwise the sound is copied (``audio="keep"``) or dropped.
        """
        s = self.settings
        info = probe_video(source, s.video_fps)
        opts = EncodeOptions(crf=s.crf, preset=s.preset, keep_audio=s.keep_audio)
        window = judge.window if judge is not None else 0
        out_pts = display_timestamps(timeline.pts)
        held: deque[tuple[int, int, np.ndarray]] = deque()  # judged, not yet encoded
        written = 0
        with VideoReader(source, keep_audio=s.keep_audio, limit=timeline.frames,
                         fps=s.video_fps) as reader:
            writer = VideoWriter(staged, _container_suffix(staged), info.width, info.height,
                                 info.time_base, info.frame_rate, opts, reader.audio_stream,
                                 sample_aspect=info.sample_aspect, colour=info.colour.output)
            audio_out = (AudioStreamWriter(writer.container, sound.params, sound.samples)
                         if sound is not None else None)

            # The encoder and muxer run on a thread of their own, in order,
            # while this one covers the next frames.
            later = InOrder(name="unseen-encode")

            def write_frame(pts: int, pixels: np.ndarray) -> None:
                with clock.time("pass 2: encode"):
                    writer.write(pixels, pts)
                if audio_out is not None:  # the sound keeps up with the pictures
                    with clock.time("sound: encode"):
                        audio_out.write_until(float(pts * info.time_base))

            def encode(index: int, pts: int, pixels: np.ndarray) -> None:
                nonlocal written
                if judge is not None:
                    with clock.time("verify: judge frames"):
                        judge.encoded(index, pixels)
                later(write_frame, pts, pixels)
                written += 1
                if written % RELEASE_EVERY == 0:
                    release()  # freed frames back to the system: memory stays flat
                if progress:
                    progress(VideoProgress("redact", written, timeline.frames))

            try:
                with read_ahead(reader, _with_rgb) as frames:
                    for item, original in clock.each(frames, "pass 2: decode"):
                        if not isinstance(item, VideoFrame) or original is None:  # sound
                            later(writer.write_audio, item)
                            continue
                        i = item.index
                        if item.pts != timeline.pts[i]:
                            raise IncompleteRedactionError(
                                N_("the video decoded differently the second time; "
                                   "nothing was written")
                            )
                        if original.shape[:2] != (info.height, info.width):
                            raise IncompleteRedactionError(
                                N_("the frame size changes inside the video; this is not supported")
                            )
                        with clock.time("pass 2: cover"):
                            regions = self.regions(timeline, repairs, i, info.width, info.height)
                            pixels = self.redact(original, regions, repairs.fill.get(i))
                        if judge is not None and judge.wants(i):
                            with clock.time("verify: judge frames"):
                                while len(found := judge.judge(i, original, pixels, regions)):
                                    self._cover_around(timeline, repairs, i,
                                                       found.grown(REPAIR_GROWTH), window, held,
                                                       info.width, info.height)
                                    regions = self.regions(timeline, repairs, i, info.width,
                                                           info.height)
                                    pixels = self.redact(original, regions, repairs.fill.get(i))
                        held.append((i, out_pts[i], pixels))
                        while len(held) > window:
                            encode(*held.popleft())
                while held:
                    encode(*held.popleft())
                later.close()
                with clock.time("pass 2: encode"):
                    if audio_out is not None:
                        audio_out.close()
                    writer.close()
            except BaseException:
                later.abort()
                writer.abort()
                raise
            if written != timeline.frames:
                raise IncompleteRedactionError(
                    N_("only {done} of {total} frames could be redacted; nothing was "
                       "written").format(done=written, total=timeline.frames)
                )
        return written

    def _cover_around(self, timeline: FaceTimeline, repairs: Repairs, index: int,
                      boxes: Detections, window: int,
                      held: deque[tuple[int, int, np.ndarray]], width: int,
                      height: int) -> None:
        """Cover ``boxes`` from ``window`` frames before ``index`` to ``window``
        after, within its shot: added to the repairs, and drawn again into the
        frames still held back (all their regions: new faces can turn on crowd cover)."""
        shot = timeline.shots[index]
        repairs.cover([j for j in range(max(0, index - window),
                                        min(timeline.frames, index + window + 1))
                       if timeline.shots[j] == shot], boxes.boxes)
        for k, (j, pts, pixels) in enumerate(held):
            if j >= index - window and timeline.shots[j] == shot:
                held[k] = (j, pts, self.redact(
                    pixels, self.regions(timeline, repairs, j, width, height),
                    repairs.fill.get(j)))

    def read_back(self, staged: Path, timeline: FaceTimeline, repairs: Repairs,
                  judge: VideoJudge) -> Verdict:
        """Decode the written file and show it to ``judge`` frame by frame, with
        what each frame should have covered; the judge's verdict."""
        def pixels_to_check(fb: VideoFrame) -> tuple[VideoFrame, np.ndarray | None]:
            return fb, fb.rgb() if judge.looks_at(fb.index) else None

        with VideoReader(staged) as reader, read_ahead(reader, pixels_to_check) as frames:
            for fb, pixels in frames:
                if not judge.read_back(fb.index, fb.pts, fb.time_base):
                    break
                if pixels is None:
                    continue
                h, w = pixels.shape[:2]
                covered = (self.regions(timeline, repairs, fb.index, w, h) if judge.fills
                           else None)
                judge.check_written(fb.index, pixels, covered)
        return judge.finish(staged)


@dataclass
class _Found:
    """What pass 1 collects frame by frame, before it is frozen into a timeline."""

    detections: list[Detections] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)
    pts: list[int] = field(default_factory=list)
    crowd: dict[int, Detections] = field(default_factory=dict)
    key_frames: int = 0
    deep_frames: int = 0
    time_base: Fraction = Fraction(1, 90000)


def first_boxes(timeline: FaceTimeline) -> Detections:
    """One box per track (where it was first seen): the count of faces, and of
    plates and text (their own kinds) when those were looked for."""
    firsts = [t.detections[np.array([0])] for t in timeline.tracks]
    for kind, tracks in timeline.area_tracks.items():
        firsts += [Detections.from_boxes(t.boxes[:1], kind) for t in tracks]
    return Detections.concat(firsts) if firsts else Detections.empty()


def _with_thumbnail(vf: VideoFrame) -> tuple[VideoFrame, np.ndarray]:
    return vf, vf.rgb(*CUT_THUMB)


def _with_rgb(item: VideoFrame | Any) -> tuple[VideoFrame | Any, np.ndarray | None]:
    """A frame and its RGB pixels; a sound packet as it is."""
    return item, item.rgb() if isinstance(item, VideoFrame) else None


def output_path(dest: Path) -> Path:
    """``dest``, as MP4 when its suffix is not a container unseen writes."""
    if dest.suffix.lower() in CONTAINERS:
        return dest
    return dest.with_suffix(".mp4")


def _container_suffix(staged: Path) -> str:
    """The container's suffix of a staging file (``.unseen-x.mp4.part`` -> ``.mp4``)."""
    return Path(staged.name.removesuffix(TEMP_SUFFIX)).suffix
