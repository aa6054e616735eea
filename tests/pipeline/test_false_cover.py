"""Cover people, not leaves (issues 14 and 27): photos with no person stay
(nearly) untouched, and real masked faces stay covered without covering the
picture, with default settings and verification on. Floors and ceilings sit
just beyond what `bench/photos.py` measures on the whole sets
(docs/benchmarks.md, Photos); these are subsets that keep the suite short."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.evaluate import changed_share, protected
from tests.paths import NO_PERSON
from unseen.media.image import read_photo

LABELS = NO_PERSON

NO_PERSON = [
    # purple flowers: RetinaFace alone (0.85) on a 481 px box, 3.2 % covered by a
    # repair until the adversary looked again (issue 27)
    "metadata/exif-samples/heic/IMG_5195.HEIC",
    # the worst since: two models agreeing at low scores, 5 small repairs
    "metadata/exif-samples/jpg/hdr/iphone_hdr_YES.jpg",
    # the four of the benchmark's 47 where verification still covers something
    "plates/eu/test_040.jpg",
    "metadata/exif-samples/jpg/exif-org/ricoh-rdc5300.jpg",
    "metadata/exif-samples/jpg/hdr/canon_hdr_YES.jpg",
    "metadata/exif-samples/jpg/tests/35-empty.jpg",
    # and untouched ones: leaves, streets, a flower, a landscape, cars, animals
    "plates/eu/test_010.jpg",
    "plates/eu/test_014.jpg",
    "plates/eu/test_028.jpg",
    "metadata/exif-samples/jpg/gps/DSCN0029.jpg",
    "metadata/exif-samples/jpg/Canon_PowerShot_S40.jpg",
    "metadata/exif-samples/jpg/exif-org/fujifilm-finepix40i.jpg",
    "metadata/exif-samples/jpg/Reconyx_HC500_Hyperfire.jpg",
    "metadata/exif-samples/heic/samplefilehub.heif",
]


def test_subset_is_labelled_no_person() -> None:
    labelled = json.loads(LABELS.read_text())
    assert set(NO_PERSON) <= set(labelled)


def test_photos_with_no_person_stay_untouched(  # type: ignore[no-untyped-def]
    engine, shared_data: Path, tmp_path: Path
) -> None:
    shares = {}
    for i, rel in enumerate(NO_PERSON):
        src = tmp_path / f"{i:02d}.bmp"
        original = read_photo(shared_data / rel).pixels
        Image.fromarray(original).save(src)
        result = engine.file(src, tmp_path / f"out{i:02d}.bmp")
        assert result.status == "written", (rel, result.error)
        output = np.asarray(Image.open(tmp_path / f"out{i:02d}.bmp").convert("RGB"))
        shares[rel] = changed_share(original, output)
    print({k: round(100 * v, 2) for k, v in shares.items()})
    values = np.asarray(list(shares.values()))
    # Measured on these 14: mean 0.39 %, max 1.7 %, 9 untouched (before
    # issue 27 the flowers alone lost 3.2 %; before issue 14: mean 7 %, max 56 %
    # and 1 of 47 untouched on the benchmark's photos).
    assert shares["metadata/exif-samples/heic/IMG_5195.HEIC"] == 0
    assert values.mean() <= 0.005
    assert values.max() <= 0.02
    assert int((values == 0).sum()) >= 8


@pytest.fixture(scope="module")
def masked_run(engine, shared_data: Path, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Every 8th photo of ../shared/data/masked-real, anonymized once."""
    folder = shared_data / "masked-real"
    boxes = json.loads((folder / "boxes.json").read_text())
    labels = json.loads((folder / "labels.json").read_text())
    tmp = tmp_path_factory.mktemp("masked")
    hits: dict[str, list[bool]] = {}
    changed_area = face_area = 0.0
    for i, rel in enumerate(sorted(boxes)[::8]):
        original = np.asarray(ImageOps.exif_transpose(Image.open(folder / rel)).convert("RGB"))
        src = tmp / f"{i:03d}.bmp"
        Image.fromarray(original).save(src)
        result = engine.file(src, tmp / f"out{i:03d}.bmp")
        assert result.status == "written", (rel, result.error)
        output = np.asarray(Image.open(tmp / f"out{i:03d}.bmp").convert("RGB"))
        changed = (output != original).any(axis=2)
        changed_area += float(changed.sum())
        for box, label in zip(boxes[rel], labels[rel], strict=True):
            hits.setdefault(label, []).append(protected(changed, box))
            face_area += box[2] * box[3]
    return hits, changed_area / face_area


def test_real_masked_faces_stay_covered(masked_run) -> None:  # type: ignore[no-untyped-def]
    hits, _ = masked_run
    recall = {k: sum(v) / len(v) for k, v in hits.items()}
    overall = sum(sum(v) for v in hits.values()) / sum(len(v) for v in hits.values())
    print("masked-real subset recall", recall, "overall", overall)
    # bench/photos.py on all 449 photos: 0.99 with a mask, 1.00 without.
    assert overall >= 0.97
    assert recall["with_mask"] >= 0.97
    assert recall["without_mask"] >= 0.97


def test_masked_covers_hold_to_the_faces(masked_run) -> None:  # type: ignore[no-untyped-def]
    """Area changed per ground-truth face area (issue 27's target: 2x)."""
    _, area = masked_run
    print("masked-real subset: area changed / face area", round(area, 3))
    # bench/photos.py on all 449 photos: 2.55x before issue 27, 2.25x since;
    # this subset (every 8th photo): 2.27x before, 2.01x since.
    assert area <= 2.07
