"""One video through the stages, in two passes over the file.

`VideoRedactor` holds the video passes; delivery (unseen.deliver) runs pass 2
through it with the adversary watching.

Pass 1 decodes, detects (a full multi-scale search on key frames and at
scene cuts, a cheap single-scale pass on the others) and tracks, keeping
only boxes. Pass 2 decodes again, covers every tracked face and encodes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from unseen.audio import DISGUISE_WARNING, AudioSettings, process
from unseen.cover import cover_regions
from unseen.detect.multiscale import MultiScaleDetector, Pass
from unseen.detect.speech import SpeechDetector
from unseen.detections import Detections
from unseen.errors import CorruptMediaError, IncompleteRedactionError
from unseen.i18n import N_
from unseen.media.atomic import atomic_output
from unseen.media.audio import AudioParams, AudioStreamWriter, has_audio, read_audio
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
from unseen.redact import RedactionStyle, apply_plan
from unseen.settings import Settings
from unseen.track import (
    AREA_TRACKED,
    CoverPolicy,
    FaceTimeline,
    FaceTracker,
    SceneCutDetector,
    area_boxes,
    cover_boxes,
)

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
TIMESTAMPS_REBUILT = N_("the frame timestamps were out of display order (a stream copied "
                        "into the container without its timestamps); they were rebuilt in "
                        "display order")


class FrameJudge(Protocol):
    """Verification inside pass 2 (unseen.verify.video.VideoJudge implements it).

    The redactor shows the judge every frame it ``wants`` before encoding it;
    faces the judge still finds are covered from ``window`` frames before to
    ``window`` frames after (the redactor holds that many frames back from
    the encoder), and the frame is shown again, until the judge returns none.
    """

    window: int

    def wants(self, index: int) -> bool:
        """Whether frame ``index`` is to be judged."""
        ...

    def judge(self, index: int, original: np.ndarray, redacted: np.ndarray,
              covered: Detections) -> Detections:
        """Faces still visible in ``redacted`` (RGB, with the ``covered``
        regions redacted) that should be covered now."""
        ...

    def encoded(self, index: int, pixels: np.ndarray) -> None:
        """Frame ``index`` goes to the encoder as ``pixels``."""
        ...


REPAIR_GROWTH = 1.2
"""A face the judge finds is covered with its box grown by this factor."""


@dataclass(frozen=True)
class VideoProgress:
    """Where a video job is: ``stage`` is ``detect`` (pass 1) or ``redact`` (pass 2)."""

    stage: str
    frame: int
    total: int
    """Frames in the video: in pass 1 as the container declares them, or as its
    duration gives them (0 if unknown); in pass 2 exact."""


class VideoRedactor:
    """Runs both passes with one detector and one set of settings."""

    def __init__(self, detector: MultiScaleDetector, settings: Settings,
                 text_regions: Callable[[np.ndarray], Detections] | None = None) -> None:
        self.detector = detector
        self.settings = settings
        self.text_regions = text_regions
        """Plates and text to cover in an RGB frame (run on key frames and
        tracked between them); None: not asked for."""
        self.style = RedactionStyle.from_settings(settings)
        # onnxruntime re-plans its memory whenever the input shape changes,
        # which costs more than a small pass; give each recurring shape its
        # own CenterFace session.
        from unseen.detect.centerface import CenterFace

        models = dict(detector.detectors)
        models[CHEAP] = CenterFace(settings.threads)
        models[UPSCALED] = CenterFace(settings.threads)
        self._models = MultiScaleDetector(models, tile_size=detector.tile_size)

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

    def find_faces(self, source: Path, info: VideoInfo,
                   progress: ProgressCallback | None = None) -> FaceTimeline:
        s = self.settings
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
        find_text = self.text_regions if (s.plates or s.text) else None
        cuts = SceneCutDetector()
        timeline = FaceTimeline()
        clock = timeline.clock
        shot = 0
        since_key = s.video_keyframe_interval
        since_deep = IDLE_DEEP * deep_every  # the first key frame is deep
        small_seen = False  # small faces (or a crowd) in this shot
        nothing = Detections.empty()
        try:
            with VideoReader(source, fps=s.video_fps) as reader:
                frames = iter(reader)
                while True:
                    with clock.time("pass 1: decode"):
                        item = next(frames, None)
                        if item is None:
                            break
                        vf: VideoFrame = item
                        small = vf.rgb(*CUT_THUMB)
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
                            timeline.add_crowd(vf.index, found.filter(is_crowd))
                            small_seen = small_seen or bool(is_crowd.any())
                            dets = found.filter(~is_crowd)
                            timeline.deep_frames += 1
                            since_deep = 0
                        else:
                            with clock.time("detect: key passes"):
                                dets = self._run(rgb, key)
                        if find_text is not None:
                            with clock.time("detect: plates and text"):
                                found = find_text(rgb)
                            for kind, t in areas.items():
                                mine = found.filter(found.kinds == kind)
                                t.update(vf.index, mine.boxes, mine.scores)
                        timeline.key_frames += 1
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
                    timeline.detections.append(dets)
                    timeline.shots.append(shot)
                    timeline.pts.append(vf.pts)
                    timeline.time_base = vf.time_base
                    if progress:
                        progress(VideoProgress("detect", vf.index + 1, info.expected_frames))
        except CorruptMediaError as exc:
            if not s.partial_output or not timeline.frames:
                raise
            timeline.error = str(exc)
        with clock.time("track"):
            self._finish_tracks(timeline, tracker, areas if find_text is not None else None,
                                deep_every)
        return timeline

    def _finish_tracks(self, timeline: FaceTimeline, tracker: FaceTracker,
                       areas: dict[str, FaceTracker] | None, deep_every: int) -> None:
        """End the tracks; fill and pad them in time (faces, and plates and text)."""
        s = self.settings
        timeline.tracks = tracker.finish()
        timeline.crowd_reach = deep_every
        pad = max(s.track_pad_frames, s.video_keyframe_interval, s.video_detect_stride)
        policy = CoverPolicy(pad_before=pad, pad_after=pad, max_fill_gap=tracker.max_gap)
        timeline.extra = cover_boxes(timeline.tracks, timeline.shots, policy)
        timeline.policy = policy
        if areas is not None:
            # Text does not move much between key frames: hold each region from
            # one key frame to the next, and pad like faces.
            text_policy = CoverPolicy(pad_before=pad, pad_after=pad, pad_growth=0.1,
                                      max_fill_gap=tracker.max_gap)
            timeline.area_tracks = {k: t.finish() for k, t in areas.items()}
            timeline.areas = area_boxes(timeline.area_tracks, timeline.shots, text_policy)

    def _run(self, image: np.ndarray, passes: list[Pass]) -> Detections:
        found = [self._models.run_pass(image, p) for p in passes]
        return Detections.concat(found).nms(0.3)

    def _run_cheap(self, vf: VideoFrame, info: VideoInfo, passes: list[Pass]) -> Detections:
        # swscale resizes while converting to RGB: one pass over the frame.
        scale = passes[0].scale
        tw, th = max(32, round(info.width * scale)), max(32, round(info.height * scale))
        image = vf.rgb(tw, th)
        found = [self._models.run_pass(image, Pass(p.detector, 1.0, p.threshold)) for p in passes]
        dets = Detections.concat(found).nms(0.3)
        return dets.transformed(info.width / tw, info.height / th)

    # pass 2 ---------------------------------------------------------------
    def regions(self, timeline: FaceTimeline, index: int, width: int, height: int
                ) -> Detections:
        """Everything to cover in frame ``index``: its faces (detected, filled,
        padded) plus heads, bodies and crowd bands as the settings ask, and the
        tracked plates and text."""
        extra = [timeline.areas[index]] if timeline.areas else []
        faces = timeline.boxes(index)
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

    def write(self, source: Path, dest: Path, timeline: FaceTimeline,
              progress: ProgressCallback | None = None, judge: FrameJudge | None = None,
              sound: ProcessedSound | None = None) -> int:
        """Pass 2: decode again, cover ``timeline``'s regions, encode into ``dest``.

        With a ``judge``, frames it wants are judged before they are encoded,
        and what it finds is covered in them and in ``judge.window`` frames
        either side (added to ``timeline.extra``). ``sound``: a processed
        (muted or disguised) sound track, encoded alongside in step with the
        video; otherwise the sound is copied (``audio="keep"``) or dropped.
        """
        s = self.settings
        info = probe_video(source, s.video_fps)
        opts = EncodeOptions(crf=s.crf, preset=s.preset, keep_audio=s.keep_audio)
        window = judge.window if judge is not None else 0
        out_pts = display_timestamps(timeline.pts)
        held: deque[tuple[int, int, np.ndarray]] = deque()  # judged, not yet encoded
        written = 0
        clock = timeline.clock
        with atomic_output(dest) as tmp, VideoReader(
            source, keep_audio=s.keep_audio, limit=timeline.frames, fps=s.video_fps
        ) as reader:
            writer = VideoWriter(tmp, dest.suffix, info.width, info.height, info.time_base,
                                 info.frame_rate, opts, reader.audio_stream,
                                 sample_aspect=info.sample_aspect,
                                 colour=info.colour.output)
            audio_out = (AudioStreamWriter(writer.container, sound.params, sound.samples)
                         if sound is not None else None)

            def encode(index: int, pts: int, pixels: np.ndarray) -> None:
                nonlocal written
                if judge is not None:
                    with clock.time("verify: judge frames"):
                        judge.encoded(index, pixels)
                with clock.time("pass 2: encode"):
                    writer.write(pixels, pts)
                if audio_out is not None:  # the sound keeps up with the pictures
                    with clock.time("sound: encode"):
                        audio_out.write_until(float(pts * info.time_base))
                written += 1
                if written % RELEASE_EVERY == 0:
                    release()  # freed frames back to the system: memory stays flat
                if progress:
                    progress(VideoProgress("redact", written, timeline.frames))

            try:
                frames = iter(reader)
                while True:
                    with clock.time("pass 2: decode"):
                        item = next(frames, None)
                        if item is None:
                            break
                        original = item.rgb() if isinstance(item, VideoFrame) else None
                    if not isinstance(item, VideoFrame) or original is None:  # sound
                        writer.write_audio(item)
                        continue
                    i = item.index
                    if item.pts != timeline.pts[i]:
                        raise IncompleteRedactionError(
                            N_("the video decoded differently the second time; nothing was written")
                        )
                    if original.shape[:2] != (info.height, info.width):
                        raise IncompleteRedactionError(
                            N_("the frame size changes inside the video; this is not supported")
                        )
                    with clock.time("pass 2: cover"):
                        regions = self.regions(timeline, i, info.width, info.height)
                        pixels = self.redact(original, regions, timeline.fill.get(i))
                    if judge is not None and judge.wants(i):
                        with clock.time("verify: judge frames"):
                            while len(found := judge.judge(i, original, pixels, regions)):
                                grown = found.grown(REPAIR_GROWTH)
                                self._cover_around(timeline, i, grown, window, held,
                                                   info.width, info.height)
                                regions = self.regions(timeline, i, info.width, info.height)
                                pixels = self.redact(original, regions, timeline.fill.get(i))
                    held.append((i, out_pts[i], pixels))
                    while len(held) > window:
                        encode(*held.popleft())
                while held:
                    encode(*held.popleft())
                with clock.time("pass 2: encode"):
                    if audio_out is not None:
                        audio_out.close()
                    writer.close()
            except BaseException:
                writer.abort()
                raise
            if written != timeline.frames:
                raise IncompleteRedactionError(
                    N_("only {done} of {total} frames could be redacted; nothing was "
                       "written").format(done=written, total=timeline.frames)
                )
        return written

    def _cover_around(self, timeline: FaceTimeline, index: int, boxes: Detections,
                      window: int, held: deque[tuple[int, int, np.ndarray]],
                      width: int, height: int) -> None:
        """Cover ``boxes`` from ``window`` frames before ``index`` to ``window``
        after, within its shot: added to the timeline, and drawn again into the
        frames still held back (all their regions: new faces can turn on crowd cover)."""
        shot = timeline.shots[index]
        for j in range(max(0, index - window), min(timeline.frames, index + window + 1)):
            if timeline.shots[j] == shot:
                timeline.extra[j].extend(boxes.boxes)
        for k, (j, pts, pixels) in enumerate(held):
            if j >= index - window and timeline.shots[j] == shot:
                held[k] = (j, pts, self.redact(pixels, self.regions(timeline, j, width, height),
                                               timeline.fill.get(j)))

    def first_pass(self, source: Path, dest: Path, progress: ProgressCallback | None = None
                   ) -> tuple[Path, VideoInfo, FaceTimeline, list[str]]:
        """Pass 1, and what the output will be: its path (``*.PARTIAL.*`` for a
        damaged video with ``partial_output``), the input's description, the
        boxes, and warnings for the person."""
        info = probe_video(source, self.settings.video_fps)
        dest = output_path(dest)
        timeline = self.find_faces(source, info, progress)
        warnings = sound_warnings(bool(info.audio_codec), self.settings.audio)
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
        if display_timestamps(timeline.pts) != timeline.pts:
            warnings.append(TIMESTAMPS_REBUILT)
        if timeline.error:
            dest = dest.with_name(dest.stem + PARTIAL_MARK + dest.suffix)
            warnings.append(
                N_("PARTIAL: the video is damaged after frame {frame} ({reason}); only the "
                   "frames before it were written").format(
                       frame=timeline.frames, reason=timeline.error)
            )
        if timeline.frames == 0:
            raise CorruptMediaError(N_("the video has no decodable frames"))
        return dest, info, timeline, warnings


def sound_warnings(has_sound: bool, mode: str) -> list[str]:
    """What to tell the person about a video's sound track (one wording everywhere)."""
    if not has_sound:
        return []
    if mode == "keep":
        return [N_("the sound track was kept untouched: voices can identify people "
                   "(--audio mute-speech or disguise keeps the sound without them)")]
    if mode == "mute-speech":
        return [N_("speech was muted in the sound track; the rest of the sound was kept")]
    if mode == "disguise":
        return [N_("every voice in the sound track was disguised (words kept, voices "
                   "changed)"), DISGUISE_WARNING]
    return [N_("the sound track was removed (--audio mute-speech or disguise keeps the sound "
               "without the voices)")]


@dataclass(frozen=True)
class ProcessedSound:
    """A video's sound after ``mute-speech`` or ``disguise``, ready to encode
    (held in memory for the second pass; never written anywhere else)."""

    params: AudioParams
    samples: NDArray[np.float32]
    mode: str
    notes: tuple[str, ...] = ()


def prepare_sound(source: Path, settings: Settings, detector: SpeechDetector | None
                  ) -> ProcessedSound | None:
    """Read and process the sound of ``source`` as ``settings.audio`` says; None
    when nothing is to be encoded (no sound, or ``drop`` / ``keep``)."""
    if not settings.processes_audio or not has_audio(source):
        return None
    track = read_audio(source)
    outcome = process(track.samples, track.sample_rate, AudioSettings(mode=settings.audio),
                      detector)
    if outcome.samples is None:  # pragma: no cover - only drop gives none
        return None
    return ProcessedSound(track.params, outcome.samples, settings.audio, outcome.notes)


def output_path(dest: Path) -> Path:
    """``dest``, as MP4 when its suffix is not a container unseen writes."""
    if dest.suffix.lower() in CONTAINERS:
        return dest
    return dest.with_suffix(".mp4")
