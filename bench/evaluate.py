"""How well an output covers ground-truth faces: the measure that the tests
and `bench/` scripts share. A face counts as protected when the central 60 %
of its ground-truth box is at least 90 % changed in a lossless output. For
videos, without ground truth: `leaked_frames`, the frames in which a
sensitive detector still finds a face that it finds in the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from unseen.detect.retinaface import RetinaFace
    from unseen.pipeline import Anonymizer

BUCKETS: tuple[tuple[float, float, str], ...] = (
    (0, 10, "<10"),
    (10, 16, "10-16"),
    (16, 32, "16-32"),
    (32, 64, "32-64"),
    (64, 1e9, ">=64"),
)
BUCKET_NAMES = tuple(name for _, _, name in BUCKETS)
SIZES = (("<16", 0, 16), ("16-32", 16, 32), (">=32", 32, 1e9))
"""Size groups of the video-against-photo measure (face heights, pixels)."""


def bucket(height: float) -> str:
    """The face-height bucket of a box ``height`` pixels tall."""
    return next(name for lo, hi, name in BUCKETS if lo <= height < hi)


def protected(changed: NDArray[np.bool_], box: Sequence[float]) -> bool:
    """Is the central 60 % of ``box`` (x, y, w, h) at least 90 % changed?"""
    x, y, w, h = box
    x1, y1 = round(x + 0.2 * w), round(y + 0.2 * h)
    x2, y2 = max(round(x + 0.8 * w), x1 + 1), max(round(y + 0.8 * h), y1 + 1)
    region = changed[y1:y2, x1:x2]
    return region.size > 0 and float(region.mean()) >= 0.9


def coverage(
    pairs: Iterable[tuple[NDArray[np.uint8], NDArray[np.uint8], Sequence[Sequence[float]]]],
) -> tuple[dict[str, list[bool]], float]:
    """For (original, output, boxes) triples: hits per height bucket, and the
    changed area divided by the ground-truth face area."""
    hits: dict[str, list[bool]] = {name: [] for name in BUCKET_NAMES}
    changed_area = gt_area = 0.0
    for original, output, boxes in pairs:
        changed = (output != original).any(axis=2)
        changed_area += float(changed.sum())
        for b in boxes:
            gt_area += b[2] * b[3]
            hits[bucket(b[3])].append(protected(changed, b))
    return hits, changed_area / max(gt_area, 1.0)


def recall(hits: dict[str, list[bool]]) -> dict[str, float]:
    """Recall per bucket plus ``all``."""
    out = {k: sum(v) / max(1, len(v)) for k, v in hits.items()}
    out["all"] = sum(sum(v) for v in hits.values()) / max(1, sum(len(v) for v in hits.values()))
    return out


def changed_share(original: NDArray[np.uint8], output: NDArray[np.uint8]) -> float:
    """The share of the image's pixels that differ between original and output."""
    return float((output != original).any(axis=2).mean())


def face_box_precision(found: NDArray[np.floating], boxes: Sequence[Sequence[float]]
                       ) -> tuple[int, int]:
    """(reported face boxes that are a ground-truth face, reported boxes).

    A reported box (x1, y1, x2, y2) is a face when it overlaps a ground-truth
    box (x, y, w, h) by an IoU of 0.2 or more, or holds its centre while at
    most three times its height (ground truth boxes are tight, detector boxes
    looser, and tiny boxes shift by a pixel or two)."""
    from unseen.detections import pairwise_overlap

    found = np.asarray(found, np.float64).reshape(-1, 4)
    if not len(found) or not len(boxes):
        return 0, len(found)
    gt = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    gt[:, 2:] += gt[:, :2]
    iou = pairwise_overlap(found, gt)
    cx, cy = (gt[:, 0] + gt[:, 2]) / 2, (gt[:, 1] + gt[:, 3]) / 2
    inside = ((found[:, None, 0] <= cx) & (cx <= found[:, None, 2])
              & (found[:, None, 1] <= cy) & (cy <= found[:, None, 3])
              & ((found[:, None, 3] - found[:, None, 1]) <= 3 * (gt[:, 3] - gt[:, 1])))
    return int(((iou >= 0.2) | inside).any(axis=1).sum()), len(found)


def _clipped(
    x1: float, y1: float, x2: float, y2: float, width: int, height: int
) -> list[float] | None:
    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    return [x1, y1, x2 - x1, y2 - y1] if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def head_box(box: Sequence[float], width: int, height: int) -> list[float] | None:
    """A ground-truth face box (x, y, w, h) grown to the whole head, with hair,
    by the same geometry `unseen.cover` uses; clipped to the image."""
    from unseen import cover

    x, y, w, h = box
    return _clipped(
        x - cover.HEAD_SIDE * w,
        y - cover.HEAD_TOP * h,
        x + w + cover.HEAD_SIDE * w,
        y + h + cover.HEAD_BOTTOM * h,
        width,
        height,
    )


def torso_box(box: Sequence[float], width: int, height: int) -> list[float] | None:
    """The torso directly below a face: one face wide, two faces tall, clipped."""
    x, y, w, h = box
    return _clipped(x, y + h, x + w, y + 3 * h, width, height)


# videos: frames where a sensitive detector still finds a face ---------------------
SENSITIVE_THRESHOLD = 0.3
"""RetinaFace score that the video leak count looks at (low: sensitive)."""


def sensitive_scale(width: int, height: int) -> float:
    """2x for small clips; bigger ones at about the same pixel count as 2x of 640x360."""
    return 2.0 if width * height <= 0.5e6 else 2.0 * float(np.sqrt(0.23e6 / (width * height)))


def mostly_fill(image: NDArray[np.uint8], box: Sequence[float], level: int = 24) -> bool:
    """The centre of ``box`` is mostly solid black: the detector fired on a cover."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx1, cy1 = int(max(0, x1 + 0.2 * w)), int(max(0, y1 + 0.2 * h))
    cx2, cy2 = int(min(image.shape[1], x2 - 0.2 * w)), int(min(image.shape[0], y2 - 0.2 * h))
    centre = image[cy1:cy2, cx1:cx2]
    return centre.size > 0 and float((centre.max(axis=2) <= level).mean()) >= 0.5


def leaked_frames(original: Path, output: Path, detector: RetinaFace | None = None
                  ) -> list[tuple[int, NDArray[np.float32]]]:
    """Output frames where RetinaFace (upscaled, threshold 0.3) finds a face that
    it also finds at the same place in the input frame, with those boxes.

    Hits whose centre is mostly solid black are the cover itself, not a face.
    Outputs of another frame size (deface pads) are resized to the input's.
    """
    import cv2

    from unseen.detect.retinaface import RetinaFace
    from unseen.detections import pairwise_overlap
    from unseen.media.video import read_frames

    detector = detector or RetinaFace()
    leaks = []
    scale = 0.0
    for fa, fb in zip(read_frames(original), read_frames(output), strict=False):
        a, b = fa.rgb(), fb.rgb()
        h, w = a.shape[:2]
        if b.shape != a.shape:
            b = np.asarray(cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA), np.uint8)
        scale = scale or sensitive_scale(w, h)
        out = detector.detect_at(b, SENSITIVE_THRESHOLD, scale)
        out = out.filter(np.array([not mostly_fill(b, box) for box in out.boxes], bool))
        if not len(out):
            continue
        found = detector.detect_at(a, SENSITIVE_THRESHOLD, scale)
        if not len(found):
            continue
        hit = (pairwise_overlap(out.boxes, found.boxes, of="smaller") >= 0.5).any(axis=1)
        if hit.any():
            leaks.append((fa.index, out.boxes[hit]))
    return leaks


def ellipse_covered(mask: NDArray[np.bool_], box: NDArray[np.floating]) -> float:
    """Share of the ellipse inscribed in ``box`` (the face itself, not the box's
    corners) that ``mask`` covers."""
    h, w = mask.shape
    x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x2 <= x1 or y2 <= y1:
        return 1.0
    yy, xx = np.mgrid[y1:y2, x1:x2] + 0.5
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    rx, ry = max((box[2] - box[0]) / 2, 0.5), max((box[3] - box[1]) / 2, 0.5)
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    if not inside.any():
        inside[:] = True
    return float(mask[y1:y2, x1:x2][inside].mean())


def _iou(a: NDArray[np.floating], b: NDArray[np.floating]) -> np.ndarray:
    x1 = np.maximum(a[0], b[:, 0])
    y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[2], b[:, 2])
    y2 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-6)


def video_against_photo(engine: Anonymizer, clip: Path, work: Path, every: int
                        ) -> dict[str, Any]:
    """unseen's first video pass against the photo path on every ``every``-th
    frame of ``clip`` (bench/align.py explains the columns): faces by size and
    crowd candidates covered (`ellipse_covered` >= 0.9), the share of the photo
    path's cover kept, centre offsets of matched boxes (detected, tracked) and
    the photo path's own score (``itself``, should be 1)."""
    import av

    from unseen.cover import cover_regions
    from unseen.stopwatch import Stopwatch
    from unseen.track import Repairs

    redactor = engine.videos
    first = redactor.first_pass(clip, Stopwatch())
    info, timeline, none = first.info, first.timeline, Repairs()
    w, h = info.width, info.height
    faces = {label: [0, 0] for label, _, _ in SIZES}
    crowd = [0, 0]
    kept = [0, 0]
    itself = [0, 0]  # reference faces under the photo path's own cover (should be all)
    offsets: dict[str, list[tuple[float, float, float]]] = {"detected": [], "tracked": []}
    with av.open(str(clip)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % every or i >= timeline.frames:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            ref = engine.detect(rgb)
            regions = redactor.regions(timeline, none, i, w, h)
            mask = redactor.style.plan(regions).mask(h, w)
            photo = redactor.style.plan(cover_regions(ref, w, h, engine.settings)).mask(h, w)
            kept[0] += int((photo & mask).sum())
            kept[1] += int(photo.sum())
            video = timeline.boxes(i)
            for box, kind, height in zip(ref.boxes, ref.kinds, ref.heights, strict=True):
                ok = ellipse_covered(mask, box) >= 0.9
                itself[0] += ellipse_covered(photo, box) >= 0.9
                itself[1] += 1
                if kind == "crowd":
                    crowd[0] += ok
                    crowd[1] += 1
                    continue
                for label, lo, hi in SIZES:
                    if lo <= height < hi:
                        faces[label][0] += ok
                        faces[label][1] += 1
                if height < 16 or not len(video):
                    continue
                overlap = _iou(box, video.boxes)
                j = int(overlap.argmax())
                if overlap[j] <= 0:
                    continue
                b = video.boxes[j]
                dx = (b[0] + b[2] - box[0] - box[2]) / 2
                dy = (b[1] + b[3] - box[1] - box[3]) / 2
                source = ("tracked" if video.sources is not None and video.sources[j] == "track"
                          else "detected")
                offsets[source].append((float(dx), float(dy), float(height)))
    return {"size": f"{w}x{h}", "frames": timeline.frames, "faces": faces, "crowd": crowd,
            "kept": kept, "offsets": offsets, "itself": itself,
            "deep_frames": timeline.deep_frames}
