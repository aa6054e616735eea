"""The text and plate detector (PP-OCRv4 from the rapidocr wheel) on real
plate photos from ../shared/data/plates and labelled photos without plates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

import unseen.media.image  # noqa: F401  (registers the HEIF opener)
from bench.evaluate import protected
from tests.paths import NO_PERSON
from unseen.detect.text import TextDetector, TextRegions, plate_reading

pytest.importorskip("onnxruntime")

# A few photos per region: the smallest plates, a dim one, a large photo.
SAMPLE = {
    "eu": ["eu/test_052.jpg", "eu/eu7.jpg", "eu/test_066.jpg"],
    "us": ["us/wts-lg-000113.jpg", "us/car9-5.jpg", "us/wts-lg-000035.jpg"],
    "ccpd": ["ccpd/439d742e458b.jpg", "ccpd/06107041a22b.jpg"],
}
NO_TEXT = [  # labelled in tests/data/no_person.json: no text, no plate
    "metadata/exif-samples/jpg/exif-org/fujifilm-finepix40i.jpg",
    "metadata/exif-samples/jpg/Canon_PowerShot_S40.jpg",
    "metadata/exif-samples/jpg/gps/DSCN0010.jpg",
]
LABELS = NO_PERSON


def read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def filled(image: np.ndarray, regions: TextRegions, kinds: tuple[str, ...]) -> np.ndarray:
    changed = np.zeros(image.shape[:2], bool)
    for box, kind in zip(regions.detections.boxes, regions.detections.kinds, strict=True):
        if kind in kinds:
            x1, y1, x2, y2 = np.round(box).astype(int)
            changed[y1:y2, x1:x2] = True
    return changed


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    return TextDetector(threads=2)


@pytest.fixture(scope="module")
def plate_boxes(shared_data: Path) -> dict[str, list[dict[str, Any]]]:
    return json.loads((shared_data / "plates" / "boxes.json").read_text())


@pytest.fixture(scope="module")
def plate_results(
    detector: TextDetector, shared_data: Path, plate_boxes: dict[str, list[dict[str, Any]]]
) -> dict[str, list[tuple[bool, bool]]]:
    """Per region: (covered by boxes of any kind, covered by `plate` boxes)."""
    out: dict[str, list[tuple[bool, bool]]] = {}
    for region, names in SAMPLE.items():
        for name in names:
            image = read(shared_data / "plates" / name)
            regions = detector.read(image)
            for plate in plate_boxes[name]:
                box = plate["box"]
                out.setdefault(region, []).append(
                    (
                        protected(filled(image, regions, ("plate", "text")), box),
                        protected(filled(image, regions, ("plate",)), box),
                    )
                )
    return out


@pytest.mark.parametrize("region", list(SAMPLE))
def test_plates_covered(plate_results: dict[str, list[tuple[bool, bool]]], region: str) -> None:
    covered = [c for c, _ in plate_results[region]]
    assert sum(covered) / len(covered) >= 0.98, plate_results[region]


@pytest.mark.parametrize("region", list(SAMPLE))
def test_plates_classified_as_plates(
    plate_results: dict[str, list[tuple[bool, bool]]], region: str
) -> None:
    as_plate = [p for _, p in plate_results[region]]
    assert sum(as_plate) / len(as_plate) >= 0.98, plate_results[region]


def test_readings_stay_out_of_the_report(detector: TextDetector, shared_data: Path) -> None:
    image = read(shared_data / "plates" / "eu" / "test_066.jpg")
    regions = detector.read(image)
    plates = [
        r for r, k in zip(regions.readings, regions.detections.kinds, strict=True) if k == "plate"
    ]
    assert plates and all(r and plate_reading(r) for r in plates)
    report = json.dumps(regions.detections.to_list())
    assert all(r not in report for r in plates if r)


def test_plain_text_is_text(detector: TextDetector, shared_data: Path) -> None:
    # Words drawn on a waterfall photo: top, left, right, bottom.
    name = "metadata/exif-samples/jpg/orientation/landscape_2.jpg"
    regions = detector.read(read(shared_data / name))
    assert len(regions) >= 3
    assert set(regions.detections.kinds) == {"text"}
    assert {"bottom", "left", "right"} <= {r.lower() for r in regions.readings if r}


def test_burned_in_timestamp_is_text(detector: TextDetector, shared_data: Path) -> None:
    # A trail camera's date, time and temperature overlay.
    name = "metadata/exif-samples/jpg/Reconyx_HC500_Hyperfire.jpg"
    regions = detector.read(read(shared_data / name))
    stamps = [
        k
        for r, k in zip(regions.readings, regions.detections.kinds, strict=True)
        if r and "2020" in r
    ]
    assert stamps == ["text"]


@pytest.mark.parametrize("name", NO_TEXT)
def test_no_text_no_cover(detector: TextDetector, shared_data: Path, name: str) -> None:
    label = json.loads(LABELS.read_text())[name]
    assert not label["text"] and not label["plate"]
    image = read(shared_data / name)
    assert filled(image, detector.read(image), ("plate", "text")).mean() < 0.005


def test_fast_path_covers_plates_without_reading(shared_data: Path) -> None:
    fast = TextDetector(threads=2, recognize=False)
    assert not fast.recognizes
    image = read(shared_data / "plates" / "us" / "wts-lg-000113.jpg")
    regions = fast.read(image)
    assert all(r is None for r in regions.readings)
    boxes = json.loads((shared_data / "plates" / "boxes.json").read_text())
    box = boxes["us/wts-lg-000113.jpg"][0]["box"]
    assert protected(filled(image, regions, ("plate",)), box)


def test_text_models_listed_in_reports() -> None:
    """The detector's and the recogniser's package, file and hash, as the face
    models' versions are; in the models of a run's report when it reads text."""
    from unseen.detect.models import model_versions
    from unseen.detect.text import MODEL_NAMES, file_digest, model_dir

    versions = model_versions(text=True)
    for name, file in MODEL_NAMES.items():
        assert versions[name] == (
            f"rapidocr-onnxruntime 1.4.4, {file}, sha256 {file_digest(model_dir() / file)[:16]}"
        )
    assert not set(MODEL_NAMES) & set(model_versions())
    assert not set(MODEL_NAMES) & set(model_versions("adversary", text=True))


@pytest.mark.parametrize(
    ("plates", "text", "verify", "listed", "verify_listed"),
    [
        (False, False, "fast", False, False),
        (True, False, "fast", True, True),  # verification reads the output for plates
        (False, True, "fast", True, False),
        (True, False, "off", True, False),
    ],
)
def test_report_models_follow_the_settings(
    tmp_path: Path, plates: bool, text: bool, verify: str, listed: bool, verify_listed: bool
) -> None:
    from unseen.detect.text import MODEL_NAMES
    from unseen.report import write_report
    from unseen.settings import Settings

    path = tmp_path / "run.json"
    settings = Settings(plates=plates, text=text, verify=verify)  # type: ignore[arg-type]
    write_report(path, [], settings.as_dict(), "test")
    models = json.loads(path.read_text())["models"]
    assert all((name in models) is listed for name in MODEL_NAMES), models
    assert all((f"verify: {name}" in models) is verify_listed for name in MODEL_NAMES), models
    assert "centerface" in models


@pytest.mark.parametrize(
    ("reading", "plate"),
    [
        ("皖A·Y766D", True),  # China: province, letter, five
        ("RK-755AJ", True),  # Slovakia
        ("1T4:3213", True),  # Czechia, coat of arms read as ':'
        ("4639520", True),  # Arizona, digits only
        ("CRK-4732", True),  # Texas
        ("TEXAS", False),
        ("1400", False),
        ("0,025", False),
        ("2014-05-08", False),
        ("06:11:40", False),
        ("Arkansas", False),
    ],
)
def test_plate_reading(reading: str, plate: bool) -> None:
    assert plate_reading(reading) is plate
