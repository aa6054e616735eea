"""The photo pipeline end to end on real photos with ground-truth faces."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.evaluate import coverage


@pytest.fixture(scope="module")
def faces_run(engine, photo_search, shared_data: Path, face_boxes, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Anonymize lossless copies (BMP: quick to write and read) of every
    annotated photo once (the photo search's answers are kept for
    tests/test_cover.py, which asks it the same)."""
    src_dir = tmp_path_factory.mktemp("src")
    out_dir = tmp_path_factory.mktemp("out")
    pairs = []
    with photo_search.used_by(engine):
        for rel, boxes in sorted(face_boxes.items()):
            original = np.asarray(
                ImageOps.exif_transpose(Image.open(shared_data / "faces" / rel)).convert("RGB")
            )
            src = src_dir / (Path(rel).stem + ".bmp")
            Image.fromarray(original).save(src)
            result = engine.file(src, out_dir / src.name)
            assert result.status == "written", result.error
            output = np.asarray(Image.open(out_dir / src.name).convert("RGB"))
            pairs.append((original, output, boxes))
    return coverage(pairs)


def test_recall_by_face_height(faces_run) -> None:  # type: ignore[no-untyped-def]
    hits, _ = faces_run
    recall = {k: sum(v) / len(v) for k, v in hits.items()}
    overall = sum(sum(v) for v in hits.values()) / sum(len(v) for v in hits.values())
    print("recall", recall, "overall", overall)
    # Floors just under what bench/photos.py measures (docs/benchmarks.md); the
    # issue's targets and why some are out of reach are there too.
    assert recall["16-32"] >= 0.95
    assert (sum(hits["32-64"]) + sum(hits[">=64"])) / (
        len(hits["32-64"]) + len(hits[">=64"])
    ) >= 0.93
    assert recall["10-16"] >= 0.92
    assert overall >= 0.85


def test_area_changed_is_bounded(faces_run) -> None:  # type: ignore[no-untyped-def]
    _, area_ratio = faces_run
    print("area changed / ground-truth face area", area_ratio)
    # Issue 27: 3.54x before, 3.18x since (a face's cover reaches 0.8 of the
    # union of its detector boxes, not all of it; crowd candidates of 14-16 px
    # need some evidence). Faces alone cost 2.06x; the crowd cover (on by
    # default for photos with many small faces, issue 6) the rest, and with it
    # recall under 10 px goes from 0.25 to 0.90. The target, 2x, is out of
    # reach with recall held.
    assert area_ratio <= 3.25


def test_originals_are_byte_identical(engine, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = sorted((shared_data / "faces" / "dlib_voc").glob("*.jpg"))
    before = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    for f in files:
        assert engine.file(f, tmp_path / f.name).status == "written"
    assert {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files} == before


def test_portrait_photo_is_processed_upright(engine, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A phone photo stored sideways with an EXIF orientation tag: faces must
    be found as in the upright picture, and the output is upright."""
    upright = Image.open(shared_data / "faces" / "dlib_voc" / "2008_001009.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    src = tmp_path / "sideways.jpg"
    stored.save(src, quality=95, exif=exif.tobytes())
    r_side = engine.file(src, tmp_path / "out" / "sideways.jpg")
    dets_up = engine.redact_pixels(np.asarray(upright))[1]
    faces_up = int((dets_up.kinds == "face").sum())
    assert r_side.status == "written"
    assert (r_side.width, r_side.height) == upright.size
    out = Image.open(tmp_path / "out" / "sideways.jpg")
    assert out.size == upright.size
    assert out.getexif().get(0x0112) is None
    assert abs(r_side.faces - faces_up) <= max(2, faces_up // 10)
    assert r_side.faces >= 2  # the photo's two faces (it once counted 5 with false boxes)


def test_api_array_roundtrip(engine) -> None:  # type: ignore[no-untyped-def]
    import unseen

    blank = np.full((200, 300, 3), 128, np.uint8)
    result = unseen.anonymize(blank)
    assert result.image is not None and result.image.shape == blank.shape
    assert result.faces == 0 and np.array_equal(result.image, blank)
