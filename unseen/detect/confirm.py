"""Which face candidates get covered, and as what.

Every pass of the multi-scale search proposes candidates down to a low score.
They are grouped into one candidate per place, and a group is a ``face`` when
one model is sure of it, or when its evidence (both models' scores, its size,
how far it is from a sure face, how many candidates surround it) is strong
enough; the small candidates of a photo with a confirmed crowd are kept as
``crowd``, covered but not counted as faces. Everything else is dropped: the
verification step (`unseen.verify`) re-detects every output and covers what
this step let go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections, pairwise_overlap

SURE_CENTERFACE = 0.3
"""A CenterFace score at which a candidate is a face without a second opinion
(99 % of such groups are faces on ../shared/data/faces, 80 % of the smallest)."""
SURE_RETINAFACE = 0.9
SURE_RETINAFACE_WITH_CENTERFACE = 0.7
"""RetinaFace alone is sure at 0.9, or at 0.7 when CenterFace also saw the place
(at 0.7 alone it fired on a dog's head and on textures)."""

# Evidence of a group that no model is sure of: a logistic score of
#   centerface score, retinaface score, log height, log(1 + distance to the
#   nearest sure face in heights), log(1 + candidates within 3 heights).
# Fitted on the groups of ../shared/data/faces, masked-real (128 photos) and the
# photos with no person (tests/data/no_person.json), ground-truth faces as
# labels; a fit on half of the photos scores the other half within 0.01 of
# recall (docs/faces.md, "How it finds faces").
EVIDENCE_WEIGHTS = (6.0, 2.1, -0.8, -1.2, 0.2)
EVIDENCE_BIAS = -0.1
EVIDENCE_FACE = 0.1
"""Evidence above which a group is covered as a face."""
EVIDENCE_LARGE_FACE = 0.03
"""Lower bar for groups of LARGE_FACE_PX or more in a photo with a sure face:
large faces are few, and they are the ones recognition works on."""
LARGE_FACE_PX = 24.0
EVIDENCE_CROWD_FACE = 0.5
"""In a crowd, small groups below this evidence are covered as ``crowd``."""

CROWD_FACE_PX = 16.0
"""Candidates shorter than this are "small"."""
CROWD_SEEDS = 4
CROWD_SEED_PX = 32.0
"""A photo holds a crowd when at least CROWD_SEEDS faces under CROWD_SEED_PX
are confirmed; then every small candidate is covered (kind ``crowd``): tiny
faces score too low to tell from texture, and in a crowd they are most of it."""
CROWD_RETINAFACE = 4.0
"""In a crowd, small candidates down to the search threshold are covered
(RetinaFace: four times it, its scores run higher)."""
CROWD_TINY_PX = 14.0
CROWD_NEAR_EVIDENCE = 0.1
"""Crowd candidates of CROWD_TINY_PX and more (the largest, costliest ones)
need this evidence: at that size the models see faces, so a candidate neither
scores is rarely one, and the verifier still judges faces of 12 px and more.
On ../shared/data/faces this took 0.15x the face area off the crowd cover for
5 faces of 2,536 uncovered (first pass; masked-real: 0.07x for 1 of 2,218),
issue 27."""

GROUP_IOU = 0.3
GROUP_CENTRE = 0.35
"""Two candidates are one place when their IoU reaches GROUP_IOU, or when their
centres are within GROUP_CENTRE of the smaller height and their heights within
2x (tiny boxes from passes at different scales barely overlap)."""
COVER_UNION = 0.8
COVER_MEAN = 0.95
"""A group's cover box holds its mean box scaled by COVER_MEAN and its
members' union scaled by COVER_UNION (each about its own centre): members that
disagree widen the cover, but by less than their whole union. For the faces of
16 px and more of ../shared/data/faces that a group finds, the cover ellipse
(mask scale 1.3) was 1.78x their ground-truth area over the whole union and is
1.43x (masked-real: 1.71 -> 1.44x); such faces protected 0.985 -> 0.976
(masked-real 0.994 -> 0.988), issue 27."""
COVER_FROM_PX = 16.0
"""Smaller groups keep their members' whole union (crowd candidates: a few
pixels more cover each, and the tiniest faces stay covered)."""
SAME_FACE_OVERLAP = 0.6
SAME_FACE_RATIO = 2.5
NEIGHBOURS = 3.0
FAR = 50.0


@dataclass(frozen=True)
class Groups:
    """Candidates grouped by place: one merged box, its cover and the best
    score per model."""

    boxes: NDArray[np.float32]
    best: dict[str, NDArray[np.float32]]
    members: list[NDArray[np.intp]]
    covers: NDArray[np.float32]
    """What is covered: the mean box and the members' union, each shrunk a
    little (COVER_MEAN, COVER_UNION), then bounded; small groups: the union."""
    unions: NDArray[np.float32]
    """The union of each group's member boxes: where the face may be."""

    def __len__(self) -> int:
        return len(self.boxes)

    def score(self, model: str) -> NDArray[np.float32]:
        return self.best.get(model, np.zeros(len(self), np.float32))

    @property
    def heights(self) -> NDArray[np.float32]:
        return self.boxes[:, 3] - self.boxes[:, 1]


def group(candidates: Detections) -> Groups:
    """Greedy grouping, highest score first; ``candidates.sources`` names the
    model of each box. A group's box (what its evidence is measured on) is the
    score-weighted mean of its members, never smaller than its best member's
    box; its cover reaches toward the union of its members' boxes (detector
    boxes sit off the face, masked faces most: on ../shared/data/masked-real
    the mean box left 6 faces of 32 px or more partly uncovered that the union
    covers), by COVER_UNION of it."""
    n = len(candidates)
    sources = candidates.sources if candidates.sources is not None else np.full(n, "")
    models = sorted(set(sources.tolist()))
    if n == 0:
        empty = np.zeros((0, 4), np.float32)
        return Groups(empty, {}, [], empty, empty)
    b, s = candidates.boxes, candidates.scores
    hs = np.maximum(b[:, 3] - b[:, 1], 1.0)
    ctr = (b[:, :2] + b[:, 2:]) / 2
    order = np.argsort(-s, kind="stable")
    free = np.ones(n, bool)
    boxes, covers, unions, members = [], [], [], []
    for i in order:
        if not free[i]:
            continue
        iou = pairwise_overlap(b[i][None], b)[0]
        low = np.minimum(hs[i], hs)
        near = (np.linalg.norm(ctr - ctr[i], axis=1) <= GROUP_CENTRE * low) & (
            np.maximum(hs[i], hs) <= 2.0 * low)
        g = np.flatnonzero(free & ((iou >= GROUP_IOU) | near))
        g = np.concatenate([[i], g[g != i]])
        free[g] = False
        w = s[g][:, None]
        mean = (b[g] * w).sum(0) / max(float(w.sum()), 1e-6)
        boxes.append(np.concatenate([np.minimum(mean[:2], b[i, :2]),
                                     np.maximum(mean[2:], b[i, 2:])]))
        union = np.concatenate([b[g, :2].min(0), b[g, 2:].max(0)])
        unions.append(union)
        covers.append(union if union[3] - union[1] < COVER_FROM_PX else
                      _bound(_scaled(union, COVER_UNION), _scaled(boxes[-1], COVER_MEAN)))
        members.append(g)
    best = {m: np.zeros(len(members), np.float32) for m in models}
    for k, g in enumerate(members):
        for j in g:
            m = str(sources[j])
            best[m][k] = max(best[m][k], s[j])
    return Groups(np.asarray(boxes, np.float32).reshape(-1, 4), best, members,
                  np.asarray(covers, np.float32).reshape(-1, 4),
                  np.asarray(unions, np.float32).reshape(-1, 4))


def _scaled(box: NDArray[np.floating], factor: float) -> NDArray[np.float32]:
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) * (factor / 2)
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def _bound(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float32]:
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])]).astype(np.float32)


def sure(groups: Groups) -> NDArray[np.bool_]:
    cf, rf = groups.score("centerface"), groups.score("retinaface")
    return ((cf >= SURE_CENTERFACE) | (rf >= SURE_RETINAFACE)
            | ((rf >= SURE_RETINAFACE_WITH_CENTERFACE) & (cf > 0)))


def evidence(groups: Groups, is_sure: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The logistic evidence (0-1) that each group is a face."""
    n = len(groups)
    hs = np.maximum(groups.heights, 1.0).astype(np.float64)
    ctr = ((groups.boxes[:, :2] + groups.boxes[:, 2:]) / 2).astype(np.float64)
    far = np.full(n, FAR)
    dens = np.zeros(n)
    anchors = np.flatnonzero(is_sure)
    for a in range(0, n, 512):  # chunks bound the memory of the distance matrix
        part = slice(a, min(n, a + 512))
        d = np.linalg.norm(ctr[part, None] - ctr[None], axis=2) / hs[part, None]
        dens[part] = (d < NEIGHBOURS).sum(1) - 1
        if len(anchors):
            ds = d[:, anchors]
            ds[np.arange(part.start, part.stop)[:, None] == anchors[None]] = np.inf
            far[part] = np.minimum(ds.min(1), FAR)
    x = np.stack([groups.score("centerface"), groups.score("retinaface"), np.log(hs),
                  np.log1p(far), np.log1p(dens)], 1)
    z = x @ np.asarray(EVIDENCE_WEIGHTS) + EVIDENCE_BIAS
    return 1.0 / (1.0 + np.exp(-z))


def confirm(candidates: Detections, threshold: float = 0.05) -> Detections:
    """The candidates to cover: ``face`` groups and, in a crowd, ``crowd``
    groups (small candidates scoring at least ``threshold``). Scores are the
    best model score (sure faces) or the evidence; sources name the models
    that saw each group."""
    groups = group(candidates)
    if not len(groups):
        return Detections.empty()
    is_sure = sure(groups)
    p = evidence(groups, is_sure)
    hs = groups.heights
    face = is_sure | (p >= EVIDENCE_FACE)
    if is_sure.any():
        face |= (p >= EVIDENCE_LARGE_FACE) & (hs >= LARGE_FACE_PX)
    crowd = np.zeros(len(groups), bool)
    if int((face & (hs < CROWD_SEED_PX)).sum()) >= CROWD_SEEDS:
        crowd = ~face & (hs < CROWD_FACE_PX) & (
            (groups.score("centerface") >= threshold)
            | (groups.score("retinaface") >= CROWD_RETINAFACE * threshold)) & (
            (hs < CROWD_TINY_PX) | (p >= CROWD_NEAR_EVIDENCE))
        # In a crowd, small groups only the evidence accepted are covered as
        # crowd too: the count of faces is the count of faces a model is sure of
        # or nearly sure of.
        weak = face & ~is_sure & (hs < CROWD_FACE_PX) & (p < EVIDENCE_CROWD_FACE)
        crowd |= weak
        face &= ~weak
    keep = face | crowd
    best = np.max(np.stack(list(groups.best.values())), axis=0)
    score = np.where(is_sure, best, p)
    names = sorted(groups.best)
    seen = ["+".join(m for m in names if groups.best[m][k] > 0) for k in range(len(groups))]
    out = Detections(groups.covers, score, np.where(face, "face", "crowd"),
                     sources=np.asarray(seen, np.str_)).filter(keep)
    return merge_same_face(out, groups.unions[keep])


def merge_same_face(dets: Detections, reach: NDArray[np.float32] | None = None
                    ) -> Detections:
    """One box per face: a face box lying mostly inside a stronger one of a
    similar size (the same face seen at another scale, or its forehead) is
    merged into it (their union, so that merging never shrinks coverage).
    ``reach`` (per box of ``dets``): where each face may be, what the overlap
    is measured on (default: the boxes themselves)."""
    is_face = dets.kinds == "face"
    faces = dets.filter(is_face)
    n = len(faces)
    if n < 2:
        return dets
    order = np.argsort(-faces.scores, kind="stable")
    boxes = faces.boxes.copy()
    where = faces.boxes if reach is None else np.asarray(reach, np.float32)[is_face]
    hs = np.maximum(where[:, 3] - where[:, 1], 1.0)
    inside = pairwise_overlap(where, where, of="smaller") >= SAME_FACE_OVERLAP
    big, small = np.maximum(hs[:, None], hs[None]), np.minimum(hs[:, None], hs[None])
    similar = big <= SAME_FACE_RATIO * small
    same = inside & similar
    alive = np.ones(n, bool)
    keep = []
    for i in order:
        if not alive[i]:
            continue
        g = np.flatnonzero(alive & same[i])
        alive[g] = False
        alive[i] = False
        boxes[i, :2] = boxes[np.append(g, i), :2].min(0)
        boxes[i, 2:] = boxes[np.append(g, i), 2:].max(0)
        keep.append(int(i))
    idx = np.asarray(sorted(keep), np.intp)
    merged = Detections(boxes[idx], faces.scores[idx], faces.kinds[idx],
                        sources=None if faces.sources is None else faces.sources[idx])
    return Detections.concat([merged, dets.filter(~is_face)])
