"""The value every detector returns and every later stage accepts.

`Detections` is immutable: boxes as an ``(N, 4)`` float array of pixel
``x1, y1, x2, y2``, a score per box, a kind per box (``face``, ``head``,
``plate`` ...) and optional five-point landmarks. Operations return new values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


def pairwise_overlap(
    boxes_a: NDArray[np.floating], boxes_b: NDArray[np.floating], of: str = "union"
) -> NDArray[np.float64]:
    """Pairwise overlap of ``(N, 4)`` and ``(M, 4)`` boxes as an ``(N, M)`` array:
    intersection over union (``of="union"``) or over the smaller box
    (``of="smaller"``: 1.0 when one box lies inside the other)."""
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
    if of == "smaller":
        return inter / np.maximum(np.minimum(area_a, area_b), 1e-9)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _frozen(a: NDArray[np.generic]) -> NDArray[np.generic]:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Detections:
    """Boxes found in one image (or one video frame), in that image's pixels."""

    boxes: FloatArray  # (N, 4) x1, y1, x2, y2
    scores: FloatArray  # (N,)
    kinds: NDArray[np.str_]  # (N,)
    landmarks: FloatArray | None = None  # (N, 5, 2) or None
    track_ids: NDArray[np.int64] | None = None
    """Per box, the video track it belongs to (-1: none); None when untracked."""
    sources: NDArray[np.str_] | None = None
    """Per box, where it comes from: a detector's name, ``track`` (gap filled
    or padded by the tracker), ``verify`` (found by the adversary), ``added``
    (drawn by a person in review); None when not recorded."""

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        kinds = np.asarray(self.kinds, dtype=np.str_).reshape(n)
        object.__setattr__(self, "boxes", _frozen(boxes))
        object.__setattr__(self, "scores", _frozen(scores))
        object.__setattr__(self, "kinds", _frozen(kinds))
        if self.landmarks is not None:
            lms = np.asarray(self.landmarks, dtype=np.float32).reshape(n, 5, 2)
            object.__setattr__(self, "landmarks", _frozen(lms))
        if self.track_ids is not None:
            ids = np.asarray(self.track_ids, dtype=np.int64).reshape(n)
            object.__setattr__(self, "track_ids", _frozen(ids))
        if self.sources is not None:
            src = np.asarray(self.sources, dtype=np.str_).reshape(n)
            object.__setattr__(self, "sources", _frozen(src))

    def _with(self, boxes: NDArray[np.floating], index: NDArray[np.intp] | None = None,
              landmarks: FloatArray | None = None, keep_landmarks: bool = True) -> Detections:
        """A value with new ``boxes`` and the other columns taken at ``index``
        (all rows when None); landmarks replaced by ``landmarks`` when given."""
        def pick(a: NDArray[np.generic] | None) -> NDArray[np.generic] | None:
            return None if a is None else (a if index is None else a[index])

        lms = landmarks if landmarks is not None else (
            pick(self.landmarks) if keep_landmarks else None)
        return Detections(boxes, pick(self.scores), pick(self.kinds), lms,  # type: ignore[arg-type]
                          pick(self.track_ids), pick(self.sources))  # type: ignore[arg-type]

    # construction -------------------------------------------------------
    @classmethod
    def empty(cls, with_landmarks: bool = False) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros((0,), np.float32),
            np.zeros((0,), np.str_),
            np.zeros((0, 5, 2), np.float32) if with_landmarks else None,
        )

    @classmethod
    def from_boxes(
        cls, boxes: Sequence[Sequence[float]] | FloatArray, kind: str = "face", score: float = 1.0
    ) -> Detections:
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return cls(b, np.full(len(b), score, np.float32), np.full(len(b), kind))

    @classmethod
    def concat(cls, items: Sequence[Detections]) -> Detections:
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        lms = None
        if all(d.landmarks is not None for d in items):
            lms = np.concatenate([d.landmarks for d in items if d.landmarks is not None])
        ids = None
        if any(d.track_ids is not None for d in items):
            ids = np.concatenate([np.full(len(d), -1, np.int64) if d.track_ids is None
                                  else d.track_ids for d in items])
        src = None
        if any(d.sources is not None for d in items):
            src = np.concatenate([np.full(len(d), "", np.str_) if d.sources is None
                                  else d.sources for d in items])
        return cls(
            np.concatenate([d.boxes for d in items]),
            np.concatenate([d.scores for d in items]),
            np.concatenate([d.kinds for d in items]),
            lms, ids, src,
        )

    # basic protocol -----------------------------------------------------
    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def __getitem__(self, index: NDArray[np.bool_] | NDArray[np.intp] | slice) -> Detections:
        return self._with(self.boxes[index], index)  # type: ignore[arg-type]

    @property
    def widths(self) -> FloatArray:
        return self.boxes[:, 2] - self.boxes[:, 0]

    @property
    def heights(self) -> FloatArray:
        return self.boxes[:, 3] - self.boxes[:, 1]

    # vectorised operations ---------------------------------------------
    def filter(self, keep: NDArray[np.bool_]) -> Detections:
        return self[np.asarray(keep, dtype=bool)]

    def grown(self, factor: float) -> Detections:
        """Boxes scaled by ``factor`` about their centres (landmarks dropped)."""
        return self._with(grow_boxes(self.boxes, factor), keep_landmarks=False)

    def transformed(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Detections:
        """Map boxes by ``x * sx + dx`` and ``y * sy + dy``."""
        mul = np.array([sx, sy, sx, sy], np.float32)
        add = np.array([dx, dy, dx, dy], np.float32)
        lms = None
        if self.landmarks is not None:
            lms = self.landmarks * np.array([sx, sy], np.float32) + np.array([dx, dy], np.float32)
        return self._with(self.boxes * mul + add, landmarks=lms, keep_landmarks=lms is not None)

    def clipped(self, width: int, height: int) -> Detections:
        b = self.boxes.copy()
        b[:, 0::2] = np.clip(b[:, 0::2], 0, width)
        b[:, 1::2] = np.clip(b[:, 1::2], 0, height)
        d = self._with(b)
        return d.filter((d.widths > 0) & (d.heights > 0))

    def nms(self, iou_threshold: float = 0.3) -> Detections:
        """Greedy non-maximum suppression, highest score first.

        Suppressed boxes are merged into the box that wins (their union), so
        that merging two partial views of one face never shrinks coverage.
        """
        n = len(self)
        if n <= 1:
            return self
        order = np.argsort(-self.scores, kind="stable")
        boxes = self.boxes
        area = self.widths * self.heights
        alive = np.ones(n, bool)
        keep: list[int] = []
        merged = boxes.copy()
        for i in order:
            if not alive[i]:
                continue
            keep.append(int(i))
            xx1 = np.maximum(boxes[i, 0], boxes[:, 0])
            yy1 = np.maximum(boxes[i, 1], boxes[:, 1])
            xx2 = np.minimum(boxes[i, 2], boxes[:, 2])
            yy2 = np.minimum(boxes[i, 3], boxes[:, 3])
            inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
            iou = inter / np.maximum(area[i] + area - inter, 1e-6)
            over = alive & (iou >= iou_threshold)
            over[i] = False
            if over.any():
                # A box mostly covering the winner keeps its extent: take a
                # score-weighted average so one outlier cannot blow the box up.
                group = np.flatnonzero(over | (np.arange(n) == i))
                w = self.scores[group][:, None]
                merged[i] = (boxes[group] * w).sum(0) / max(float(w.sum()), 1e-6)
                merged[i, :2] = np.minimum(merged[i, :2], boxes[i, :2])
                merged[i, 2:] = np.maximum(merged[i, 2:], boxes[i, 2:])
            alive &= ~over
            alive[i] = False
        idx = np.array(keep, dtype=np.intp)
        return self._with(merged[idx], idx)

    def with_sources(self, source: str) -> Detections:
        """The same boxes, every one marked as coming from ``source``."""
        return Detections(self.boxes, self.scores, self.kinds, self.landmarks, self.track_ids,
                          np.full(len(self), source))

    def with_track(self, track_id: int) -> Detections:
        """The same boxes, every one marked as belonging to track ``track_id``."""
        return Detections(self.boxes, self.scores, self.kinds, self.landmarks,
                          np.full(len(self), track_id, np.int64), self.sources)

    def to_list(self) -> list[dict[str, object]]:
        """Plain numbers for reports: boxes, scores, kinds; never pixels."""
        return [
            {
                "box": [round(float(v), 1) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 3),
                "kind": str(self.kinds[i]),
            }
            for i in range(len(self))
        ]


def grow_boxes(boxes: FloatArray, factor: float) -> FloatArray:
    """``(..., 4)`` boxes scaled by ``factor`` about their centres."""
    b = np.asarray(boxes, np.float32)
    centre = (b[..., :2] + b[..., 2:]) / 2
    half = (b[..., 2:] - b[..., :2]) * (factor / 2)
    return np.concatenate([centre - half, centre + half], axis=-1).astype(np.float32)
