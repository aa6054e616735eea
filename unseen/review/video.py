"""A video's review: the tracks pass 1 found and a person's edits (tracks deleted,
tracks added by keyframes, method, shape, sound), turned into per-frame regions
and into the timeline the export writes. Boxes and words only, never pixels.

Pass 1's tracks are pieces: the tracker loses a face and starts it again, or follows
it twice. `VideoReview.people` joins the pieces of one person (`Person`), so that the
page lists people, each deleted or kept whole, and counts the faces found clearly
apart from weak detections (dark, small or blurred faces, or false alarms) that are
covered as a precaution.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from unseen.detections import Detections
from unseen.errors import ReviewError
from unseen.i18n import N_
from unseen.redact import RedactionStyle
from unseen.review.photo import MAX_ADDED_REGIONS, METHODS, SHAPES, clean_box
from unseen.settings import AUDIO_MODES, AudioMode, RedactMethod, RegionShape, Settings
from unseen.track import CoverPolicy, FaceTimeline, Track, cover_boxes

MAX_KEYFRAMES = 10_000
CLEAR_SCORE = 0.5
"""A person some detection of whom scores this much is counted as found clearly."""
SAME_FACE_IOU = 0.3
"""Two pieces whose boxes overlap this much on the frames they share: one face."""
STITCH_REACH = 1.0
"""A piece that starts within this many face sizes of where another ended (more for
a longer gap) continues it."""
STITCH_SECONDS = 0.3
"""...if it starts at most this long after the other ended. A longer gap is left
apart: a dark cut that the shot detector misses (stage to audience) would otherwise
join two people, and deleting one would uncover the other. Apart, both stay covered."""
Box = tuple[float, float, float, float]
FrameRegions = list[dict[str, Any]]
"""One frame's regions, as the page draws them: ``{"track", "box", "source"
(detected, filled, added), "shape" (added only)}``."""


@dataclass(frozen=True)
class ReviewTrack:
    """A face track pass 1 found: its frames and boxes there."""

    id: int
    shot: int
    frames: tuple[int, ...]
    boxes: tuple[Box, ...]
    score: float = 1.0
    """Its best detection score (older reviews: 1, every track counted as clear)."""

    def as_track(self) -> Track:
        return Track.from_boxes(self.id, self.shot, self.frames, self.boxes)


@dataclass(frozen=True)
class Person:
    """The pieces of pass 1's tracks that are one person's face (``id``: the first
    piece's)."""

    id: int
    tracks: tuple[int, ...]
    clear: bool
    """Some detection of it scored at least `CLEAR_SCORE`."""


@dataclass(frozen=True)
class AddedTrack:
    """A region a person drew, carried between keyframes ``(frame, x1, y1, x2, y2)``."""

    id: str
    shape: RegionShape
    keyframes: tuple[tuple[int, float, float, float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "shape": self.shape, "keyframes": [list(k) for k in self.keyframes]}

    def box_at(self, frame: int) -> list[float] | None:
        """Linear between the keyframes around ``frame``; none before the first
        or after the last."""
        return interpolate([list(k) for k in self.keyframes], frame)


@dataclass(frozen=True)
class VideoReview:
    """The review of one video: what pass 1 found and what a person changed."""

    frames: int
    fps: float
    width: int
    height: int
    shots: tuple[int, ...]
    pts: tuple[int, ...]
    pad: int
    """Frames a track is covered before and after its detections."""
    max_gap: int
    """Gaps up to this many frames between detections are filled."""
    stride: int
    """The cheap pass's stride (detections closer than this are one stretch)."""
    tracks: tuple[ReviewTrack, ...]
    method: RedactMethod
    shape: RegionShape
    audio: AudioMode
    deleted: tuple[int, ...] = ()
    added: tuple[AddedTrack, ...] = ()
    next_added: int = 0
    edited: bool = False
    last_export: dict[str, Any] | None = field(default=None, compare=False)
    """What the last export said (status, output, verdict, flagged frames); words only."""

    @classmethod
    def from_timeline(cls, timeline: FaceTimeline, width: int, height: int, fps: float,
                      settings: Settings) -> VideoReview:
        """A new review from pass 1: tracks, shots and timestamps (boxes only)."""
        s = settings
        tracks = tuple(
            ReviewTrack(t.id, t.shot, tuple(t.frames),
                        tuple(_rounded(b) for b in t.boxes.tolist()), round(t.best_score, 3))
            for t in timeline.tracks)
        return cls(timeline.frames, fps, width, height, tuple(timeline.shots),
                   tuple(timeline.pts), timeline.policy.pad_before,
                   timeline.policy.max_fill_gap, s.video_detect_stride, tracks, s.redact,
                   s.shape, s.audio)

    # edits ------------------------------------------------------------------------
    def edit(self, body: dict[str, Any]) -> VideoReview:
        """This review with the edits of ``body`` (deleted track ids, added
        keyframed tracks, method, shape, sound) checked and applied; raises
        `ReviewError`."""
        deleted = body.get("deleted", list(self.deleted))
        added = body.get("added", [a.to_dict() for a in self.added])
        if not isinstance(deleted, list) or not isinstance(added, list):
            raise ReviewError(N_("deleted and added must be lists"))
        if len(added) > MAX_ADDED_REGIONS:
            raise ReviewError(N_("at most {count} added tracks").format(count=MAX_ADDED_REGIONS))
        method = body.get("method", self.method)
        shape = body.get("shape", self.shape)
        if method not in METHODS:
            raise ReviewError(N_("unknown redaction method {value}").format(value=repr(method)))
        if shape not in SHAPES:
            raise ReviewError(N_("unknown region shape {value}").format(value=repr(shape)))
        try:
            deleted_ids = tuple(sorted({int(d) for d in deleted}))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ReviewError(N_("track ids are numbers")) from exc
        if not set(deleted_ids) <= {t.id for t in self.tracks}:
            raise ReviewError(N_("no such track"))
        next_id = self.next_added
        clean: list[AddedTrack] = []
        for a in added:
            track, next_id = self._added(a, next_id)
            clean.append(track)
        audio = body.get("audio", self.audio)
        if audio not in AUDIO_MODES:
            raise ReviewError(N_("unknown sound choice {value}").format(value=repr(audio)))
        return replace(self, deleted=deleted_ids, added=tuple(clean), next_added=next_id,
                       edited=True, method=method, shape=shape, audio=audio)

    def _added(self, a: object, next_id: int) -> tuple[AddedTrack, int]:
        if not isinstance(a, dict):
            raise ReviewError(N_("each added track must be an object"))
        a_shape = a.get("shape", "box")
        if a_shape not in SHAPES:
            raise ReviewError(N_("unknown shape {value}").format(value=repr(a_shape)))
        kfs = a.get("keyframes")
        if not isinstance(kfs, list | tuple) or not kfs or len(kfs) > MAX_KEYFRAMES:
            raise ReviewError(N_("an added track needs keyframes [frame, x1, y1, x2, y2]"))
        frames: dict[int, Box] = {}
        for k in kfs:
            if not isinstance(k, list | tuple) or len(k) != 5:
                raise ReviewError(N_("a keyframe is [frame, x1, y1, x2, y2]"))
            try:
                f = int(k[0])
            except (TypeError, ValueError, OverflowError) as exc:
                raise ReviewError(N_("a keyframe's frame is a number")) from exc
            if not 0 <= f < self.frames:
                raise ReviewError(N_("keyframe outside the video"))
            frames[f] = clean_box(list(k[1:]), self.width, self.height)
        tid = a.get("id")
        if not isinstance(tid, str) or not tid.startswith("a"):
            tid = f"a{next_id}"
            next_id += 1
        return AddedTrack(tid, a_shape, tuple((f, *frames[f]) for f in sorted(frames))), next_id

    # people -----------------------------------------------------------------------
    @cached_property
    def people(self) -> tuple[Person, ...]:
        """Pass 1's tracks joined into people: pieces that follow one face at the same
        time (their boxes overlap), and pieces that continue one another (one ends,
        the next starts near it within `stitch_gap` frames), in the same shot.
        Each piece continues at most one other, the nearest."""
        tracks = sorted(self.tracks, key=lambda t: (t.frames[0], t.id))
        parent = {t.id: t.id for t in tracks}

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def join(a: int, b: int) -> None:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        shot = {t.id: t.shot for t in tracks}
        frames = {t.id: set(t.frames) for t in tracks}
        for (a_id, b_id), total in _overlaps(tracks).items():
            if shot[a_id] == shot[b_id] and \
                    total / len(frames[a_id] & frames[b_id]) > SAME_FACE_IOU:
                join(a_id, b_id)
        links: list[tuple[float, int, int]] = []
        starts = [t.frames[0] for t in tracks]
        for a in tracks:
            lo = bisect.bisect_right(starts, a.frames[-1])
            hi = bisect.bisect_right(starts, a.frames[-1] + self.stitch_gap)
            for b in tracks[lo:hi]:
                gap = b.frames[0] - a.frames[-1]
                if a.shot != b.shot:
                    continue
                near = _nearness(a.boxes[-1], b.boxes[0])
                if near is not None and near <= STITCH_REACH * (1 + gap / 15):
                    links.append((near + gap / 30, a.id, b.id))
        ended: set[int] = set()
        started: set[int] = set()
        for _, a_id, b_id in sorted(links):
            if a_id not in ended and b_id not in started:
                ended.add(a_id)
                started.add(b_id)
                join(a_id, b_id)
        groups: dict[int, list[ReviewTrack]] = {}
        for t in tracks:
            groups.setdefault(root(t.id), []).append(t)
        return tuple(Person(min(t.id for t in g), tuple(sorted(t.id for t in g)),
                            max(t.score for t in g) >= CLEAR_SCORE)
                     for g in groups.values())

    @property
    def stitch_gap(self) -> int:
        """The longest gap, in frames, across which one piece continues another."""
        return max(1, min(self.max_gap, round(STITCH_SECONDS * self.fps)))

    @cached_property
    def person_of(self) -> dict[int, int]:
        """Track id -> the id of the person it is a piece of."""
        return {t: p.id for p in self.people for t in p.tracks}

    def person_summary(self, person: Person) -> dict[str, Any]:
        """A timeline row for a person: its pieces' stretches, where it is first and
        last covered, how many detections, whether it was found clearly."""
        rows = [self.track_summary(t) for t in self.tracks if t.id in person.tracks]
        return {"id": person.id, "tracks": list(person.tracks), "clear": person.clear,
                "first": min(r["first"] for r in rows), "last": max(r["last"] for r in rows),
                "detections": sum(r["detections"] for r in rows),
                "segments": [s for r in rows for s in r["segments"]]}

    # what is covered --------------------------------------------------------------
    @property
    def kept(self) -> list[ReviewTrack]:
        return [t for t in self.tracks if t.id not in self.deleted]

    def style(self, settings: Settings) -> RedactionStyle:
        """How this video's regions are drawn (the review's method and shape)."""
        return RedactionStyle(self.method, settings.mask_scale, self.shape, settings.fill_color)

    def settings(self, base: Settings) -> Settings:
        """``base`` with the review's method, shape and sound."""
        return replace(base, redact=self.method, shape=self.shape).with_audio(self.audio)

    def frame_regions(self) -> list[FrameRegions]:
        """Every region per frame, with the track it belongs to: a kept track's
        detections, its filled gaps and padding (`cover_boxes`), and added
        tracks' interpolated boxes."""
        out: list[FrameRegions] = [[] for _ in range(self.frames)]
        policy = CoverPolicy(pad_before=self.pad, pad_after=self.pad, max_fill_gap=self.max_gap)
        for rt in self.kept:
            t = rt.as_track()
            for f, b in zip(t.frames, t.boxes, strict=True):
                out[f].append({"track": t.id, "box": [float(v) for v in b],
                               "source": "detected"})
            for f, boxes in enumerate(cover_boxes([t], self.shots, policy)):
                for b in boxes:
                    out[f].append({"track": t.id, "box": [float(v) for v in b],
                                   "source": "filled"})
        for a in self.added:
            for f in range(int(a.keyframes[0][0]), int(a.keyframes[-1][0]) + 1):
                box = a.box_at(f)
                if box is not None and f < self.frames:
                    out[f].append({"track": a.id, "box": box, "source": "added",
                                   "shape": a.shape})
        return out

    def timeline(self, per_frame: list[FrameRegions], settings: Settings) -> FaceTimeline:
        """The edited video as a timeline pass 2 takes: the person's regions per
        frame, and the kept and added tracks (where the adversary re-identifies
        and judges the ends)."""
        tracks = [t.as_track() for t in self.kept]
        for a in self.added:
            first, last = a.keyframes[0], a.keyframes[-1]
            tracks.append(Track.from_boxes(-1, 0, [int(first[0]), int(last[0])],
                                           [first[1:], last[1:]]))
        return FaceTimeline(
            detections=tuple(redactor_boxes(regs, self.shape, settings.mask_scale)
                             for regs in per_frame),
            shots=self.shots, pts=self.pts, tracks=tuple(tracks))

    def first_boxes(self) -> Detections:
        """One box per kept or added track (where it starts): the count of faces."""
        firsts = [list(t.boxes[0]) for t in self.kept] + [list(a.keyframes[0][1:])
                                                         for a in self.added]
        return Detections.from_boxes(firsts) if firsts else Detections.empty()

    def track_summary(self, t: ReviewTrack) -> dict[str, Any]:
        """A timeline row: where the track is covered, and which stretches rest on
        detections (solid) or on gap filling and padding (low confidence)."""
        frames = t.frames
        segments: list[list[Any]] = []
        start = max(0, frames[0] - self.pad)
        end = min(self.frames - 1, frames[-1] + self.pad)
        if start < frames[0]:
            segments.append([start, frames[0] - 1, True])
        run0 = prev = frames[0]
        for f in [*frames[1:], None]:
            if f is not None and f - prev <= self.stride:
                prev = f
                continue
            segments.append([run0, prev, False])
            if f is not None:
                segments.append([prev + 1, f - 1, True])
                run0 = prev = f
        if end > frames[-1]:
            segments.append([frames[-1] + 1, end, True])
        return {"id": t.id, "shot": t.shot, "first": frames[0], "last": frames[-1],
                "detections": len(frames), "segments": segments}

    # storage ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stored form (JSON): boxes, edits and choices."""
        return {
            "frames": self.frames, "fps": self.fps, "width": self.width, "height": self.height,
            "shots": list(self.shots), "pts": list(self.pts),
            "policy": {"pad": self.pad, "max_gap": self.max_gap}, "stride": self.stride,
            "tracks": [{"id": t.id, "shot": t.shot, "frames": list(t.frames),
                        "boxes": [list(b) for b in t.boxes], "score": t.score}
                       for t in self.tracks],
            "deleted": list(self.deleted),
            "added": [a.to_dict() for a in self.added],
            "next_added": self.next_added, "edited": self.edited,
            "method": self.method, "shape": self.shape, "audio": self.audio,
            "last_export": self.last_export,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], settings: Settings) -> VideoReview:
        """A stored review (older ones lack method, shape and sound: the settings')."""
        return cls(
            int(d["frames"]), float(d["fps"]), int(d["width"]), int(d["height"]),
            tuple(d["shots"]), tuple(d["pts"]), int(d["policy"]["pad"]),
            int(d["policy"]["max_gap"]), int(d.get("stride", 2)),
            tuple(ReviewTrack(int(t["id"]), int(t["shot"]), tuple(t["frames"]),
                              tuple(_box(b) for b in t["boxes"]), float(t.get("score", 1.0)))
                  for t in d["tracks"]),
            d.get("method", settings.redact), d.get("shape", settings.shape),
            d.get("audio", settings.audio), tuple(d.get("deleted", ())),
            tuple(AddedTrack(str(a["id"]), a["shape"],
                             tuple((int(k[0]), *_box(k[1:])) for k in a["keyframes"]))
                  for a in d.get("added", ())),
            int(d.get("next_added", 0)), bool(d.get("edited", False)), d.get("last_export"))


def interpolate(keyframes: list[list[float]], frame: int) -> list[float] | None:
    """The box of an added track at ``frame``: linear between the keyframes around it,
    none before the first or after the last."""
    if not keyframes or frame < keyframes[0][0] or frame > keyframes[-1][0]:
        return None
    for (f0, *b0), (f1, *b1) in itertools.pairwise(keyframes):
        if f0 <= frame <= f1:
            a = 0.0 if f1 == f0 else (frame - f0) / (f1 - f0)
            return [v0 * (1 - a) + v1 * a for v0, v1 in zip(b0, b1, strict=True)]
    return list(keyframes[-1][1:])


def redactor_boxes(regions: FrameRegions, shape: RegionShape, mask_scale: float
                   ) -> Detections:
    """One frame's regions as the boxes the redactor takes: it grows every box by
    ``mask_scale`` and draws it as ``shape``. Tracked faces keep their boxes; an
    added region is covered as drawn, so its box is shrunk by the growth first,
    and a drawn box to be covered by an ellipse gets the ellipse through its
    corners (never less than what was drawn)."""
    if not regions:
        return Detections.empty()
    boxes = []
    for r in regions:
        box = r["box"]
        if r["source"] == "added":
            factor = 1.0 / mask_scale
            if r.get("shape", "box") == "box" and shape == "ellipse":
                factor *= math.sqrt(2.0)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
            box = [cx - hw, cy - hh, cx + hw, cy + hh]
        boxes.append(box)
    return Detections.from_boxes(boxes)


def _overlaps(tracks: list[ReviewTrack]) -> dict[tuple[int, int], float]:
    """For two tracks whose boxes overlap on some frame: the sum over the frames of
    their boxes' intersection over union."""
    on: dict[int, list[tuple[int, Box]]] = {}
    for t in tracks:
        for f, box in zip(t.frames, t.boxes, strict=True):
            on.setdefault(f, []).append((t.id, box))
    sums: dict[tuple[int, int], float] = {}
    for items in on.values():
        if len(items) < 2:
            continue
        ids = [i for i, _ in items]
        arr = np.asarray([xyxy for _, xyxy in items], np.float64)
        a, b = arr[:, None, :], arr[None, :, :]
        w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
        h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
        inter = np.clip(w, 0, None) * np.clip(h, 0, None)
        area = (arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1])
        union = area[:, None] + area[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        for i, j in zip(*np.nonzero(np.triu(iou, 1)), strict=True):
            key = (min(ids[i], ids[j]), max(ids[i], ids[j]))
            sums[key] = sums.get(key, 0.0) + float(iou[i, j])
    return sums


def _nearness(a: Box, b: Box) -> float | None:
    """How far apart the centres of two boxes are, in face sizes; None when their
    sizes differ by more than twice (not one face a moment apart)."""
    sa, sb = max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])
    if min(sa, sb) <= 0 or max(sa, sb) > 2 * min(sa, sb):
        return None
    dx = (a[0] + a[2] - b[0] - b[2]) / 2
    dy = (a[1] + a[3] - b[1] - b[3]) / 2
    return math.hypot(dx, dy) / ((sa + sb) / 2)


def _rounded(b: list[float]) -> Box:
    return (round(b[0], 2), round(b[1], 2), round(b[2], 2), round(b[3], 2))


def _box(b: Any) -> Box:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
