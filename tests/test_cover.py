"""Wider cover (unseen.cover): head and body geometry, crowd bands, the person
segmenter and plates, with the floors measured by bench/cover.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.evaluate import head_box, protected, torso_box
from unseen import cover
from unseen.cover import cover_regions
from unseen.detect import person
from unseen.detections import Detections
from unseen.redact import RedactionStyle, apply_plan
from unseen.settings import Settings

Box = list[float]


# geometry ---------------------------------------------------------------------
def test_head_and_body_grow_from_the_face() -> None:
    face = Detections.from_boxes([[100, 100, 120, 124]])
    head = cover.head_boxes(face).boxes[0]
    body = cover.body_boxes(face).boxes[0]
    assert head[0] < 100 and head[1] < 100 and head[2] > 120 and head[3] > 124
    assert body[1] <= head[1] and body[3] >= 124 + 6 * 24
    assert body[0] < 100 - 20 and body[2] > 120 + 20


def test_face_cover_reaches_toward_the_union_of_its_boxes() -> None:
    """Issue 27: a face seen by two models that disagree is covered by its mean
    box grown toward their union, not by the whole union; a small group keeps
    the union."""
    from unseen.detect import confirm

    def group_of(boxes: list[list[float]]) -> confirm.Groups:
        d = Detections.from_boxes(boxes)
        d = Detections(d.boxes, np.array([0.9, 0.4], np.float32), d.kinds,
                       sources=np.array(["centerface", "retinaface"]))
        return confirm.group(d)

    g = group_of([[100, 100, 140, 150], [88, 96, 156, 168]])
    assert len(g) == 1
    cover, union, mean = g.covers[0], g.unions[0], g.boxes[0]
    assert (cover[:2] >= union[:2]).all() and (cover[2:] <= union[2:]).all()
    assert (cover[2:] - cover[:2] < union[2:] - union[:2]).all()
    assert (cover[2:] - cover[:2] >= confirm.COVER_MEAN * (mean[2:] - mean[:2]) - 1e-3).all()
    tiny = group_of([[10, 10, 18, 20], [8, 9, 20, 22]])
    assert np.allclose(tiny.covers[0], tiny.unions[0])


def test_area_kinds_are_boxes_without_margin() -> None:
    regions = Detections.concat([
        Detections.from_boxes([[10, 10, 30, 30]], "face"),
        Detections.from_boxes([[50, 50, 90, 70]], "plate"),
    ])
    plan = RedactionStyle(mask_scale=1.5, shape="ellipse").plan(regions)
    face, plate = plan.regions
    assert face.shape == "ellipse" and face.width == pytest.approx(30)
    assert plate.shape == "box" and (plate.x1, plate.x2) == (50, 90)


def test_crowd_band_covers_gaps_between_small_faces_only() -> None:
    # A row of 8 px faces every 12 px, with one face "missed" at x=60.
    xs = [12, 24, 36, 48, 72, 84]
    faces = Detections.from_boxes([[x, 50, x + 8, 58] for x in xs])
    mask = cover.crowd_mask(faces, 200, 100)
    assert mask[52:56, 60:68].all()  # the missed face between found ones
    assert not mask[80:].any()  # bodies below stay visible
    lonely = Detections.from_boxes([[20, 20, 28, 28], [150, 70, 158, 78]])
    assert not cover.crowd_mask(lonely, 200, 100).any()
    big = Detections.from_boxes([[x, 10, x + 60, 70] for x in (0, 70, 140)])
    assert not cover.crowd_mask(big, 300, 100).any()


def test_mask_to_boxes_never_shrinks() -> None:
    rng = np.random.default_rng(0)
    mask = (rng.random((37, 53)) > 0.8).astype(np.uint8)
    boxes = cover.mask_to_boxes(mask, "crowd", cell=4)
    plan = RedactionStyle(shape="box").plan(boxes)
    assert plan.mask(37, 53)[mask.astype(bool)].all()
    assert set(boxes.kinds.tolist()) == {"crowd"}


def test_crowd_auto_rule() -> None:
    few = Detections.from_boxes([[i * 20, 0, i * 20 + 8, 8] for i in range(3)])
    many = Detections.from_boxes([[i * 20, 0, i * 20 + 8, 8] for i in range(20)])
    assert not cover.crowd_is_dense(few) and cover.crowd_is_dense(many)
    regions = cover.cover_regions(many, 400, 100, Settings())
    assert "crowd" in set(regions.kinds.tolist())
    regions = cover.cover_regions(many, 400, 100, Settings(crowd=False))
    assert "crowd" not in set(regions.kinds.tolist())


# measured on ../shared/data/faces ----------------------------------------------
@pytest.fixture(scope="module")
def detected(engine, photo_search, shared_data: Path, face_boxes):  # type: ignore[no-untyped-def]
    """Faces detected once per annotated photo (default settings; the answers
    the pipeline's recall test got for the same pixels, when it ran first)."""
    out = []
    with photo_search.used_by(engine):
        for rel, boxes in sorted(face_boxes.items()):
            im = np.asarray(
                ImageOps.exif_transpose(Image.open(shared_data / "faces" / rel)).convert("RGB")
            )
            out.append((im, engine.detect(im), boxes))
    return out


def run_mode(engine, detected, settings: Settings) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Recall per target and area cost of one cover mode (as bench/cover.py)."""
    engine.settings = settings
    hits: dict[str, list[bool]] = {"small": [], "head": [], "torso": []}
    changed_area = gt_area = 0.0
    try:
        for im, faces, boxes in detected:
            regions = engine.cover(im, faces)
            changed = (apply_plan(im, engine.plan(regions)) != im).any(axis=2)
            changed_area += float(changed.sum())
            height, width = changed.shape
            for x, y, w, h in boxes:
                gt_area += w * h
                if h < 16:
                    hits["small"].append(protected(changed, [x, y, w, h]))
                    continue
                hb = head_box([x, y, w, h], width, height)
                if hb is not None:
                    hits["head"].append(protected(changed, hb))
                tb = torso_box([x, y, w, h], width, height) if h >= 24 else None
                if tb is not None:
                    hits["torso"].append(protected(changed, tb))
    finally:
        engine.settings = Settings()
    r = {k: sum(v) / max(1, len(v)) for k, v in hits.items()}
    r["area"] = changed_area / gt_area
    print(settings.cover, settings.crowd, r)
    return r


def test_crowd_covers_small_faces_within_area_budget(engine, detected) -> None:  # type: ignore[no-untyped-def]
    r = run_mode(engine, detected, Settings(crowd=True))
    assert r["small"] >= 0.90  # issue 6 target; measured 0.917
    # Measured 3.18x the ground-truth face area (3.6x before issue 27; its
    # target, 2x, is out of reach with this recall: see test_pipeline.py).
    assert r["area"] <= 3.25


def test_head_mode_covers_hair(engine, detected) -> None:  # type: ignore[no-untyped-def]
    r = run_mode(engine, detected, Settings(cover="head", crowd=False))
    # Detection alone (no verification, as measured here): 0.942 (0.944 before
    # issue 27's tighter face covers, which the heads grow from). Since issue
    # 14 the first pass leaves weak candidates to verification, whose repairs
    # get the same head cover (unseen.deliver, ``widen``); before, 0.971 here.
    assert r["head"] >= 0.935


def test_body_mode_covers_torsos(engine, detected) -> None:  # type: ignore[no-untyped-def]
    r = run_mode(engine, detected, Settings(cover="body", crowd=False))
    assert r["torso"] >= 0.95  # measured 0.99


# people without a visible face ---------------------------------------------------
def back_view(shared_data: Path, engine) -> tuple[np.ndarray, Box]:  # type: ignore[no-untyped-def]
    """A group photo where one person's face is painted over with hair colour,
    as a head seen from behind; returns the picture and that person's torso box
    (one face wide, two face heights tall, below the hidden head)."""
    src = shared_data / "faces" / "dlib_voc" / "2007_007763.jpg"
    im = np.asarray(Image.open(src).convert("RGB")).copy()
    faces = engine.detect(im)
    room = [i for i in range(len(faces)) if faces.boxes[i, 3] + 3 * faces.heights[i] < im.shape[0]]
    assert room
    i = max(room, key=lambda i: float(faces.widths[i]))
    x1, y1, x2, y2 = faces.boxes[i].tolist()
    w, h = x2 - x1, y2 - y1
    top = max(0, int(y1 - 0.6 * h))
    hair = np.median(im[top : int(y1) + 1, int(x1) : int(x2)].reshape(-1, 3), axis=0)
    im[top : int(y2 + 0.3 * h), max(0, int(x1 - 0.35 * w)) : int(x2 + 0.35 * w)] = hair
    return im, [x1, y2 + 0.5 * h, w, 2 * h]


def test_person_seen_from_behind_is_covered_in_body_mode(engine, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    assert person.available(), person.problem()  # it ships with unseen
    im, torso = back_view(shared_data, engine)
    x, y, w, h = torso
    faces = engine.detect(im)
    assert not any(  # no face found on the hidden head
        f[0] < x + w and f[2] > x and f[1] < y - h and f[3] > y - 1.5 * h
        for f in faces.boxes.tolist()
    )
    try:
        # Body boxes grown from faces alone miss this person ...
        engine.settings = replace(Settings(), cover="body", crowd=False)
        h, w = im.shape[:2]
        geometry = cover_regions(faces, w, h, engine.settings)
        changed = (apply_plan(im, engine.plan(geometry)) != im).any(axis=2)
        assert not protected(changed, torso)
        # ... the silhouette model covers them.
        out, regions = engine.redact_pixels(im)
    finally:
        engine.settings = Settings()
    assert protected((out != im).any(axis=2), torso)
    assert "body" in set(regions.kinds.tolist())


def test_person_segmenter_finds_the_person(shared_data: Path) -> None:
    assert person.available(), person.problem()  # it ships with unseen
    src = shared_data / "faces" / "dlib_voc" / "2008_001009.jpg"
    im = np.asarray(Image.open(src).convert("RGB"))
    bodies = person.PersonSegmenter(1).detect(im)
    assert len(bodies) >= 1 and set(bodies.kinds.tolist()) == {"body"}


# plates and text -------------------------------------------------------------
def test_plates_are_covered_when_asked(engine, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """A real European plate: covered with --plates (a `plate` region), not by default."""
    import json

    boxes = json.loads((shared_data / "plates" / "boxes.json").read_text())
    name = sorted(k for k in boxes if k.startswith("eu/"))[0]
    im = np.asarray(Image.open(shared_data / "plates" / name).convert("RGB"))
    plate = boxes[name][0]["box"]
    try:
        engine.settings = replace(Settings(), plates=True)
        out, regions = engine.redact_pixels(im)
    finally:
        engine.settings = Settings()
    assert "plate" in set(regions.kinds.tolist())
    assert protected((out != im).any(axis=2), plate)
    # and not covered by default
    out, regions = engine.redact_pixels(im)
    assert "plate" not in set(regions.kinds.tolist())


def test_report_counts_each_kind(engine, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = shared_data / "faces" / "dlib_voc" / "2008_001009.jpg"
    try:
        engine.settings = replace(Settings(), cover="head", verify="off")
        r = engine.file(src, tmp_path / "out.jpg")
    finally:
        engine.settings = Settings()
    assert r.status == "written"
    assert r.covered["head"] == r.covered["face"] == r.faces >= 1
    d = r.to_dict()
    assert d["covered"] == r.covered and d["faces"] == r.faces
