"""Faces across video frames: link detections into tracks, fill, pad in time.

A detector misses faces in single frames (motion blur, a turned head); every
missed frame is a leak (threat model A5). `FaceTracker` links per-frame boxes
with constant-velocity prediction and IoU/centre distance; `cover_boxes`
fills the gaps inside each track and extends it before and after, never
across a scene cut. `SceneCutDetector` finds the cuts cheaply. A
`FaceTimeline` is what a first pass over a video leaves: boxes, no pixels;
`Repairs` is what verification lays over it while the second pass writes.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections, grow_boxes, pairwise_overlap

FloatArray = NDArray[np.float32]
NEAR_SIDES = 1.5  # centre distance (in box sides) that still links a face
MIN_PAD_MOTION = 0.5
"""Tracks whose box moves less than this (px a frame) are padded in place only."""
CROWD_HOLD_GROWTH = 1.2
"""Crowd candidates held on frames after (or before) the one that found them grow
by this factor: the crowd moves."""


def iou_matrix(boxes_a: FloatArray, boxes_b: FloatArray) -> NDArray[np.float64]:
    """Pairwise intersection over union of ``(N, 4)`` and ``(M, 4)`` boxes."""
    return pairwise_overlap(boxes_a, boxes_b)


@dataclass(frozen=True)
class Track:
    """One face over time: the frames where it was detected and its
    `Detections` there (one row per frame, all with this track's id)."""

    id: int
    shot: int
    frames: tuple[int, ...]
    detections: Detections

    @classmethod
    def from_boxes(cls, id: int, shot: int, frames: Sequence[int],
                   boxes: Sequence[Sequence[float]] | FloatArray,
                   scores: Sequence[float] | None = None) -> Track:
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        sc = np.ones(len(b), np.float32) if scores is None else np.asarray(scores, np.float32)
        dets = Detections(b, sc, np.full(len(b), "face")).with_track(id)
        return cls(id, shot, tuple(int(f) for f in frames), dets)

    @property
    def boxes(self) -> FloatArray:
        """``(N, 4)`` boxes, one per frame in `frames`."""
        return self.detections.boxes

    @property
    def scores(self) -> FloatArray:
        return self.detections.scores

    @property
    def best_score(self) -> float:
        return float(self.scores.max()) if len(self.scores) else 1.0


@dataclass
class _LiveTrack:
    """A track still being linked (the tracker's working copy)."""

    id: int
    shot: int
    frames: list[int] = field(default_factory=list)
    boxes: list[FloatArray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def frozen(self) -> Track:
        return Track.from_boxes(self.id, self.shot, self.frames, np.stack(self.boxes),
                                self.scores)

    def predict(self, frame: int) -> FloatArray:
        """Constant-velocity guess of the box at ``frame`` from the last two detections."""
        last = self.boxes[-1]
        if len(self.frames) < 2:
            return last
        dt = self.frames[-1] - self.frames[-2]
        velocity = (last - self.boxes[-2]) / max(dt, 1)
        return (last + velocity * (frame - self.frames[-1])).astype(np.float32)


class FaceTracker:
    """Greedy online linking of per-frame face boxes into tracks.

    A box joins the track whose predicted box overlaps it most (IoU), or,
    for small fast faces that overlap nothing, whose predicted centre is
    within 1.5 box sides. Tracks end after ``max_gap`` frames unseen or at a
    scene cut.
    """

    def __init__(self, max_gap: int = 30, min_iou: float = 0.1) -> None:
        self.max_gap = max_gap
        self.min_iou = min_iou
        self._active: list[_LiveTrack] = []
        self._done: list[_LiveTrack] = []
        self._next_id = 0
        self._shot = 0

    def cut(self) -> None:
        """A scene cut before the next frame: no track continues across it."""
        self._done.extend(self._active)
        self._active = []
        self._shot += 1

    def update(self, frame: int, boxes: FloatArray, scores: FloatArray | None = None) -> None:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        score_of = (np.ones(len(boxes), np.float32) if scores is None
                    else np.asarray(scores, np.float32).reshape(-1))
        alive = [t for t in self._active if frame - t.frames[-1] <= self.max_gap]
        self._done.extend(t for t in self._active if frame - t.frames[-1] > self.max_gap)
        self._active = alive
        matched_tracks: set[int] = set()
        matched_boxes: set[int] = set()
        if alive and len(boxes):
            predicted = np.stack([t.predict(frame) for t in alive])
            score = iou_matrix(predicted, boxes)
            # Centre distance, in units of the larger box side, rescues small
            # fast faces that no longer overlap their prediction.
            pc = (predicted[:, :2] + predicted[:, 2:]) / 2
            bc = (boxes[:, :2] + boxes[:, 2:]) / 2
            side = np.maximum(
                (predicted[:, 2:] - predicted[:, :2]).max(1)[:, None],
                (boxes[:, 2:] - boxes[:, :2]).max(1)[None, :],
            )
            dist = np.linalg.norm(pc[:, None, :] - bc[None, :, :], axis=2) / np.maximum(side, 1)
            near = (score < self.min_iou) & (dist < NEAR_SIDES)
            score = np.where(near, self.min_iou * (1.0 - dist / NEAR_SIDES), score)
            # Scale change guard: a box 3x the size of its track is another face.
            ratio = side / np.maximum(
                np.minimum(
                    (predicted[:, 2:] - predicted[:, :2]).max(1)[:, None],
                    (boxes[:, 2:] - boxes[:, :2]).max(1)[None, :],
                ),
                1,
            )
            score = np.where(ratio > 3.0, 0.0, score)
            for flat in np.argsort(-score, axis=None):
                ti, bi = np.unravel_index(flat, score.shape)
                if score[ti, bi] <= 0:
                    break
                if ti in matched_tracks or bi in matched_boxes:
                    continue
                matched_tracks.add(int(ti))
                matched_boxes.add(int(bi))
                alive[ti].frames.append(frame)
                alive[ti].boxes.append(boxes[bi])
                alive[ti].scores.append(float(score_of[bi]))
        for bi in range(len(boxes)):
            if bi not in matched_boxes:
                t = _LiveTrack(self._next_id, self._shot, [frame], [boxes[bi]],
                               [float(score_of[bi])])
                self._next_id += 1
                self._active.append(t)

    def finish(self) -> list[Track]:
        """Every track, ended."""
        self._done.extend(self._active)
        self._active = []
        return [t.frozen() for t in sorted(self._done, key=lambda t: t.id)]


@dataclass(frozen=True)
class CoverPolicy:
    """How far tracks reach beyond their detections, in frames."""

    pad_before: int = 10
    pad_after: int = 10
    max_fill_gap: int = 30
    pad_growth: float = 0.25
    """Padded and filled boxes grow by this fraction: the face may have moved."""


_grown = grow_boxes


def cover_boxes(
    tracks: Sequence[Track], shots: Sequence[int], policy: CoverPolicy
) -> list[list[FloatArray]]:
    """Extra boxes per frame from tracks: filled gaps and padding.

    ``shots[i]`` is the shot number of frame ``i``; boxes never go to a frame
    of another shot. Detections themselves are not repeated here.
    """
    n = len(shots)
    out: list[list[FloatArray]] = [[] for _ in range(n)]
    for t in tracks:
        frames = t.frames
        for (f0, b0), (f1, b1) in zip(
            zip(frames, t.boxes, strict=True), zip(frames[1:], t.boxes[1:], strict=True),
            strict=False,
        ):
            if f1 - f0 <= 1 or f1 - f0 > policy.max_fill_gap:
                continue
            for f in range(f0 + 1, f1):
                a = (f - f0) / (f1 - f0)
                box = b0 * (1 - a) + b1 * a
                out[f].append(_grown(box, 1 + policy.pad_growth * min(1.0, (f1 - f0) / 10)))
        first, last = frames[0], frames[-1]
        # Padding holds the first (last) box, and where the face was moving
        # also covers where it was heading: both, since it may have stopped.
        back = _velocity(t, 0, 1, policy.max_fill_gap)
        ahead = _velocity(t, -1, -2, policy.max_fill_gap)
        for f in range(max(0, first - policy.pad_before), first):
            if shots[f] == shots[first]:
                out[f].append(_grown(t.boxes[0], 1 + policy.pad_growth))
                if back is not None:
                    out[f].append(_grown(t.boxes[0] + back * (first - f), 1 + policy.pad_growth))
        for f in range(last + 1, min(n, last + 1 + policy.pad_after)):
            if shots[f] == shots[last]:
                out[f].append(_grown(t.boxes[-1], 1 + policy.pad_growth))
                if ahead is not None:
                    out[f].append(_grown(t.boxes[-1] + ahead * (f - last), 1 + policy.pad_growth))
    return out


def _velocity(t: Track, end: int, before: int, max_gap: int) -> FloatArray | None:
    """Per-frame motion of the box's centre from detection ``before`` to ``end``
    (indexes into the track, e.g. -2 and -1: towards the track's end), as a
    box offset, or None when the track has one detection, the two are far
    apart in time, or the centre moves less than MIN_PAD_MOTION px a frame."""
    if len(t.frames) < 2:
        return None
    dt = abs(t.frames[end] - t.frames[before])
    if not 0 < dt <= max_gap:
        return None
    d = (t.boxes[end] - t.boxes[before]) / dt
    vx, vy = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2  # the centre's motion; the size is kept
    if max(abs(vx), abs(vy)) < MIN_PAD_MOTION:
        return None
    return np.array([vx, vy, vx, vy], np.float32)


class SceneCutDetector:
    """Hard cuts from the change of a small colour histogram between frames.

    Runs on a thumbnail (the caller passes any small RGB frame); a cut is a
    histogram distance above ``threshold`` (0 same, 1 disjoint).
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._previous: NDArray[np.float32] | None = None
        self.last_distance = 0.0

    def is_cut(self, rgb: NDArray[np.uint8]) -> bool:
        small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        raw = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
        hist = (raw / max(float(raw.sum()), 1.0)).astype(np.float32)
        previous, self._previous = self._previous, hist
        if previous is None:
            return False
        # Half the L1 distance between normalised histograms: 0..1.
        self.last_distance = 0.5 * float(np.abs(hist - previous).sum())
        return self.last_distance > self.threshold


@dataclass(frozen=True)
class FaceTimeline:
    """Pass 1's result: boxes per frame, shot numbers, timestamps. No pixels.

    Frozen: what verification adds while pass 2 writes is pass 2's own
    `Repairs`, laid over it."""

    detections: tuple[Detections, ...] = ()
    shots: tuple[int, ...] = ()
    pts: tuple[int, ...] = ()
    time_base: Fraction = Fraction(1, 90000)
    """Of ``pts`` (the input video stream's)."""
    key_frames: int = 0
    tracks: tuple[Track, ...] = ()
    padded: tuple[tuple[FloatArray, ...], ...] = ()
    """Boxes per frame added by the tracker: gaps filled, padding (empty: none)."""
    policy: CoverPolicy = field(default_factory=CoverPolicy)
    """How tracks were padded and filled (to do the same for a track later)."""
    areas: tuple[Detections, ...] = ()
    """Per frame, the plates and text to cover (tracked from key frames);
    empty when not asked for."""
    area_tracks: dict[str, tuple[Track, ...]] = field(default_factory=dict)
    """The plate and text tracks behind ``areas``, by kind."""
    crowd: dict[int, Detections] = field(default_factory=dict)
    """Per deep key frame (the photo search), the small ``crowd`` candidates it
    found (boxes no model is sure of, in a crowd); held for `crowd_reach` frames."""
    crowd_reach: int = 0
    deep_frames: int = 0
    """Key frames that ran the photo search."""
    error: str | None = None
    """Why pass 1 stopped early (a damaged video written partially), if it did."""

    @property
    def frames(self) -> int:
        return len(self.pts)

    @cached_property
    def _crowd_keys(self) -> list[int]:
        return sorted(self.crowd)

    def crowd_at(self, index: int) -> Detections:
        """The crowd candidates to cover in frame ``index``: those of the deep
        key frames before and after it in its shot, within `crowd_reach`
        frames (both: the crowd moves between them), grown a little away from
        the frame that found them."""
        if not self.crowd:
            return Detections.empty()
        keys = self._crowd_keys
        k = bisect.bisect_right(keys, index)
        parts = []
        for j in (keys[k - 1] if k else None, keys[k] if k < len(keys) else None):
            if j is None or abs(j - index) > self.crowd_reach:
                continue
            if self.shots[j] != self.shots[index]:
                continue
            held = self.crowd[j]
            parts.append(held if j == index else held.grown(CROWD_HOLD_GROWTH))
        return Detections.concat(parts) if parts else Detections.empty()

    def boxes(self, index: int, extra: Sequence[FloatArray] = ()) -> Detections:
        """Every face region to cover in frame ``index``: detections plus the
        tracker's boxes (and ``extra`` ones, verification's)."""
        dets = self.detections[index]
        more = [*(self.padded[index] if self.padded else ()), *extra]
        if more:
            return Detections.concat([
                dets, Detections.from_boxes(np.stack(more)).with_sources("track")])
        return dets


@dataclass
class Repairs:
    """What verification adds to a frozen `FaceTimeline` while pass 2 writes it:
    boxes covered around faces it still found, and tracks filled whatever the
    redaction method (faces blur or pixelate left recognisable). Pass 2 owns
    it; nothing else writes it."""

    extra: dict[int, list[FloatArray]] = field(default_factory=dict)
    fill: dict[int, list[FloatArray]] = field(default_factory=dict)

    def cover(self, frames: Sequence[int], boxes: FloatArray) -> None:
        """Cover ``boxes`` (``(N, 4)``) in each of ``frames`` too."""
        for j in frames:
            self.extra.setdefault(j, []).extend(boxes)

    def fill_track(self, timeline: FaceTimeline, track: Track) -> None:
        """Fill ``track`` in every frame it covers (detections, gaps, padding)."""
        for f, box in zip(track.frames, track.boxes, strict=True):
            self.fill.setdefault(f, []).append(box)
        for f, boxes in enumerate(cover_boxes([track], timeline.shots, timeline.policy)):
            if boxes:
                self.fill.setdefault(f, []).extend(boxes)


AREA_TRACKED = ("plate", "text")
"""Kinds of area (not face) that videos track between key frames."""


def area_boxes(tracks: Mapping[str, Sequence[Track]], shots: Sequence[int], policy: CoverPolicy
               ) -> list[Detections]:
    """Per frame, the regions of area tracks (plates, text) by kind: detections,
    the frames between them, and padding (`cover_boxes`), never across a cut."""
    n = len(shots)
    per_frame: list[list[Detections]] = [[] for _ in range(n)]
    for kind, kind_tracks in tracks.items():
        for t in kind_tracks:
            for f, box in zip(t.frames, t.boxes, strict=True):
                if f < n:
                    per_frame[f].append(Detections.from_boxes([box], kind))
        for f, boxes in enumerate(cover_boxes(kind_tracks, shots, policy)):
            if boxes:
                per_frame[f].append(Detections.from_boxes(np.stack(boxes), kind))
    return [Detections.concat(d) if d else Detections.empty() for d in per_frame]

