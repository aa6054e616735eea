"""Redaction: what happens inside a region, measured on real face pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from unseen.detections import Detections
from unseen.redact import RedactionStyle, apply_plan


def face_image(shared_data: Path) -> np.ndarray:
    return np.asarray(
        Image.open(shared_data / "faces" / "dlib_voc" / "2008_001009.jpg").convert("RGB")
    )


def test_fill_is_opaque_and_content_independent(shared_data: Path, engine) -> None:  # type: ignore[no-untyped-def]
    img = face_image(shared_data)
    dets = engine.detect(img)
    assert len(dets) >= 2  # the photo's two faces
    plan = engine.plan(dets)
    out = apply_plan(img, plan)
    mask = plan.mask(*img.shape[:2])
    inside = out[mask]
    assert (inside == 0).all(), "fill must be one flat colour"
    # outside the regions nothing changes
    assert np.array_equal(out[~mask], img[~mask])
    # the same regions over a different picture give the same pixels inside
    other = apply_plan(np.full_like(img, 200), plan)
    assert np.array_equal(other[mask], inside)


def test_every_detection_is_inside_its_region() -> None:
    dets = Detections.from_boxes([[10.2, 20.7, 30.4, 45.1], [100, 100, 103, 104]])
    for shape in ("ellipse", "box"):
        plan = RedactionStyle("fill", 1.3, shape).plan(dets)  # type: ignore[arg-type]
        mask = plan.mask(200, 200)
        # the central 60 % of every box is covered, rounding never shrinks it
        assert mask[25:41, 14:27].all()
        assert mask[101:103, 101:102].all()


@pytest.mark.parametrize("method", ["blur", "pixelate"])
def test_weak_methods_scale_with_the_face(method: str, shared_data: Path, engine) -> None:  # type: ignore[no-untyped-def]
    img = face_image(shared_data)
    dets = engine.detect(img)
    big = dets.filter(dets.heights >= np.sort(dets.heights)[-1])  # the largest face
    plan = RedactionStyle(method, 1.3, "box").plan(big)  # type: ignore[arg-type]
    r = plan.regions[0]
    out = apply_plan(img, plan, np.random.default_rng(0))
    y1, y2, x1, x2 = int(r.y1) + 2, int(r.y2) - 2, int(r.x1) + 2, int(r.x2) - 2
    before = img[y1:y2, x1:x2].astype(np.float32).mean(axis=2)
    after = out[y1:y2, x1:x2].astype(np.float32).mean(axis=2)

    # Detail (what recognition uses) is gone: the correlation of the
    # high-frequency content with the original is near zero.
    def detail(a: np.ndarray) -> np.ndarray:
        k = max(3, int(r.width / 6))
        return a - cv2.blur(a, (k, k))

    c = np.corrcoef(detail(before).ravel(), detail(after).ravel())[0, 1]
    assert abs(c) < 0.2, c
    if method == "pixelate":
        # at most 5-6 blocks across the face
        rows = np.unique(out[int(r.y1) + 1 : int(r.y2) - 1, int((r.x1 + r.x2) / 2)], axis=0)
        assert len(rows) <= 8
