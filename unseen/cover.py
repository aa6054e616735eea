"""How much of a person to cover: face, whole head, whole body, and crowds.

Turns detected faces (plus optional person and plate detections) into the
regions to redact, as `Detections` with kinds ``face``, ``head``, ``body``,
``crowd`` and ``plate``; `RedactionPlan` then covers every kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.settings import Settings

# Head geometry, in face-box widths / heights: hair above and beside the face,
# ears at the sides, the chin and neck below. Measured on WIDER boxes, whose
# face boxes stop at the hairline and the chin.
HEAD_SIDE = 0.3
HEAD_TOP = 0.55
HEAD_BOTTOM = 0.15

# Body geometry: shoulders are about three face widths across and a standing
# person is about seven to eight face heights tall.
BODY_HALF_WIDTH = 1.75
BODY_BELOW = 7.0

# Crowds: faces shorter than this (pixels) are "small"; crowd cover turns on
# automatically when a photo has at least CROWD_AUTO_MIN_FACES of them.
CROWD_FACE_PX = 16.0
CROWD_AUTO_MIN_FACES = 12
CROWD_MIN_GROUP = 3
"""A crowd region needs at least this many small faces linked together."""
CROWD_LINK = 3.5
"""Two small faces are neighbours when their centres are at most this many
face heights apart; the band between neighbours is covered."""
CROWD_BAND = 1.0
"""Thickness of the covered band between neighbours, in face heights: the
faces' row is covered, the bodies and banners below stay visible."""
CROWD_MAX_SIZE_RATIO = 2.0

COVER_KINDS = ("face", "head", "body", "crowd", "plate")


def head_boxes(faces: Detections) -> Detections:
    """Whole heads (hair, ears) around face boxes."""
    b = faces.boxes
    w, h = faces.widths, faces.heights
    heads = np.stack(
        [b[:, 0] - HEAD_SIDE * w, b[:, 1] - HEAD_TOP * h,
         b[:, 2] + HEAD_SIDE * w, b[:, 3] + HEAD_BOTTOM * h], axis=1,
    )
    return Detections(heads, faces.scores, np.full(len(faces), "head"))


def body_boxes(faces: Detections) -> Detections:
    """The box of a standing or sitting person below each face, head included."""
    b = faces.boxes
    w, h = faces.widths, faces.heights
    cx = (b[:, 0] + b[:, 2]) / 2
    bodies = np.stack(
        [cx - BODY_HALF_WIDTH * w, b[:, 1] - HEAD_TOP * h,
         cx + BODY_HALF_WIDTH * w, b[:, 3] + BODY_BELOW * h], axis=1,
    )
    return Detections(bodies, faces.scores, np.full(len(faces), "body"))


def crowd_is_dense(faces: Detections) -> bool:
    """The automatic rule: many small faces (or crowd candidates) make a crowd photo."""
    return int((faces.heights < CROWD_FACE_PX).sum()) >= CROWD_AUTO_MIN_FACES


def crowd_mask(faces: Detections, width: int, height: int) -> NDArray[np.uint8]:
    """Bands joining neighbouring small faces, so that the faces the detector
    missed between found ones are covered too; isolated faces add nothing."""
    mask = np.zeros((height, width), np.uint8)
    small = faces.filter(faces.heights < CROWD_FACE_PX)
    n = len(small)
    if n < CROWD_MIN_GROUP:
        return mask
    # scipy takes half a second to import: only when there may be a crowd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    c = (small.boxes[:, :2] + small.boxes[:, 2:]) / 2
    hs = np.maximum(small.heights, 2.0)
    # Neighbours: pairs within CROWD_LINK times the larger height, of similar
    # size (a k-d tree finds the candidates: a crowd has hundreds of faces).
    i, j = cKDTree(c).query_pairs(CROWD_LINK * float(hs.max()), output_type="ndarray").T
    big = np.maximum(hs[i], hs[j])
    d = np.hypot(*(c[i] - c[j]).T)
    near = (d <= CROWD_LINK * big) & (big / np.minimum(hs[i], hs[j]) <= CROWD_MAX_SIZE_RATIO)
    i, j = i[near], j[near]
    # Only groups of CROWD_MIN_GROUP or more linked faces count as a crowd.
    _, labels = connected_components(
        coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n)), directed=False)
    sizes = np.bincount(labels, minlength=n)
    in_crowd = sizes[labels] >= CROWD_MIN_GROUP
    f = 4  # fixed-point bits for sub-pixel drawing
    keep = in_crowd[i] & in_crowd[j]
    i, j = i[keep], j[keep]
    if not len(i):
        return mask
    thick = np.maximum(1, np.ceil(CROWD_BAND * np.minimum(hs[i], hs[j]))).astype(int)
    fixed = np.round(c * (1 << f)).astype(np.int32)
    # One polylines call per band thickness (a few), each segment its own line.
    for t in np.unique(thick):
        sel = thick == t
        segments = np.stack([fixed[i[sel]], fixed[j[sel]]], axis=1)
        cv2.polylines(mask, list(segments), False, 1, thickness=int(t), lineType=cv2.LINE_8,
                      shift=f)
    return mask


def mask_to_boxes(mask: NDArray[np.uint8], kind: str, cell: int = 4) -> Detections:
    """Cover a mask with boxes on a grid of ``cell`` pixels (never smaller): runs
    of cells per grid row, and a run continued by the same run in the next rows
    becomes one taller box, so a crowd is a few regions, not hundreds."""
    h, w = mask.shape
    if not mask.any():
        return Detections.empty()
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), np.uint8)
    padded[:h, :w] = mask
    # Any set pixel per cell, in two reductions along contiguous axes (faster).
    grid = padded.reshape(gh, cell, gw * cell).max(axis=1).reshape(gh, gw, cell).max(axis=2) > 0
    # Runs of set cells in each grid row, in row order: (row, first, end) cells.
    edges = np.diff(np.pad(grid, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, first = np.nonzero(edges == 1)
    end = np.nonzero(edges == -1)[1]
    # A run that continues the same run of the row above extends that box.
    order = np.lexsort((rows, end, first))
    r, a, b = rows[order], first[order], end[order]
    starts = np.ones(len(r), bool)
    starts[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (r[1:] != r[:-1] + 1)
    top = np.flatnonzero(starts)
    bottom = np.append(top[1:], len(r)) - 1  # the last row of each box
    boxes = np.stack([a[top] * cell, r[top] * cell, np.minimum(w, b[top] * cell),
                      np.minimum(h, (r[bottom] + 1) * cell)], axis=1)
    boxes = boxes[np.lexsort((boxes[:, 0], boxes[:, 1]))]
    return Detections.from_boxes(boxes, kind)


def cover_regions(
    faces: Detections,
    width: int,
    height: int,
    settings: Settings,
    extra: Sequence[Detections] = (),
) -> Detections:
    """Everything to redact in one image: the faces, plus heads, bodies,
    crowd bands and other detectors' regions (persons, plates) as the
    settings ask. Regions are clipped to the image.

    ``faces`` may hold ``crowd`` candidates (small faces the detector could not
    confirm, in a photo with a crowd): they are covered with the crowd bands,
    as part of one crowd area, unless crowd cover is off."""
    crowd = settings.crowd if settings.crowd is not None else crowd_is_dense(faces)
    is_face = faces.kinds != "crowd"
    people = faces.filter(is_face)
    parts = [people]
    if settings.cover in ("head", "body"):
        parts.append(head_boxes(people))
    if settings.cover == "body":
        parts.append(body_boxes(people))
    if crowd:
        mask = crowd_mask(faces, width, height)
        for x1, y1, x2, y2 in faces.filter(~is_face).boxes.tolist():
            mask[max(0, int(y1)):int(np.ceil(y2)), max(0, int(x1)):int(np.ceil(x2))] = 1
        parts.append(mask_to_boxes(mask, "crowd"))
    parts.extend(extra)
    return Detections.concat(parts).clipped(width, height)


def count_kinds(regions: Detections) -> dict[str, int]:
    """How many regions of each kind, for reports."""
    counts = Counter(str(k) for k in regions.kinds.tolist())
    return {k: counts[k] for k in COVER_KINDS if counts[k]} | {
        k: v for k, v in counts.items() if k not in COVER_KINDS
    }
