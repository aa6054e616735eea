"""Verification benchmark: how close dlib's face descriptor still gets to the
original person after each redaction method (../shared/data/reid), and what
verification costs per photo as a share of the total. Prints Markdown tables.

    python -m bench.verify [--data ../shared/data] [--limit N] [--faces N]

Distances use the strongest attacker we have: the output is aligned with
the original's landmarks (full mode), same-person threshold 0.6.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from unseen.pipeline import Anonymizer
from unseen.settings import Settings
from unseen.verify import REID_MIN_SCORE, SAME_PERSON_DISTANCE, Adversary

ROOT = Path(__file__).resolve().parents[1]


def reid_images(data: Path, limit: int) -> list[Path]:
    reid = data / "reid"
    files = sorted((reid / "face_recognition").glob("*/*"))
    files += sorted((reid / "deepface").glob("*.jpg"))[:20]
    for person in sorted((reid / "dlib_johns").iterdir()):
        files += sorted(person.glob("*.jpg"))[:3]
    return files[:limit]


def distances(data: Path, limit: int) -> None:
    adversary = Adversary("full")
    methods = ("fill", "blur", "pixelate")
    engines = {m: Anonymizer(Settings(redact=m, verify="off")) for m in methods}
    rows: dict[str, list[float]] = {m: [] for m in (*engines, "weak blur (sigma 3 px)")}
    for path in reid_images(data, limit):
        pixels = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        dets = engines["fill"].detect(pixels)
        strong = dets.filter(dets.scores >= REID_MIN_SCORE)
        boxes = [(float(b[0]), float(b[1]), float(b[2]), float(b[3]))
                 for b in strong.boxes if b[3] - b[1] >= 32]
        for method, engine in engines.items():
            out = engine.redact_pixels(pixels)[0]
            rows[method] += [adversary.distance(pixels, out, b) for b in boxes]
        weak = pixels.copy()
        for x1, y1, x2, y2 in strong.boxes.astype(int):
            weak[y1:y2, x1:x2] = cv2.GaussianBlur(pixels[y1:y2, x1:x2], (0, 0), 3.0)
        rows["weak blur (sigma 3 px)"] += [adversary.distance(pixels, weak, b) for b in boxes]
    print(f"\nRe-identification on {min(limit, len(reid_images(data, limit)))} reid photos "
          f"(dlib ResNet, same person < {SAME_PERSON_DISTANCE}):\n")
    print("| redaction | faces | min distance | median | re-identified |")
    print("|---|---:|---:|---:|---:|")
    for method, d in rows.items():
        a = np.array(d)
        print(f"| {method} | {len(a)} | {a.min():.2f} | {np.median(a):.2f} | "
              f"{int((a < SAME_PERSON_DISTANCE).sum())} |")


def all_photos(data: Path) -> list[Path]:
    """Every photo in ../shared/data/reid and ../shared/data/faces."""
    exts = {".jpg", ".jpeg", ".png", ".webp"}
    files = [p for p in sorted((data / "reid").rglob("*")) if p.suffix.lower() in exts]
    return files + [p for p in sorted((data / "faces").rglob("*")) if p.suffix.lower() in exts]


def reidentifications(data: Path, methods: list[str]) -> None:
    """The adversary's own rule (``--verify full``: every face of 32 px or more,
    dlib distance < 0.6 and a blank region at the same place not matching)
    over every photo of reid/ and faces/, through the real pipeline.
    "first check" counts re-identifications before repair (a recognisable
    blurred face is then filled), "delivered" after it."""
    photos = all_photos(data)
    print(f"\nRe-identifications by the adversary (--verify full) over {len(photos)} photos "
          "of ../shared/data/reid and faces:\n")
    print("| redaction | photos | faces re-identified against | too small / skipped "
          "| re-identified at first check | re-identified in delivered files "
          "| notes: too little detail | unsafe files |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            engine = Anonymizer(Settings(redact=method, verify="full"))
            checked = skipped = first = final = notes = unsafe = 0
            for i, path in enumerate(photos):
                src = Path(tmp) / f"{i}.png"
                ImageOps.exif_transpose(Image.open(path)).convert("RGB").save(src)
                r = engine.file(src, Path(tmp) / f"{i}.{method}.png")
                v = r.verdict
                if v is None:
                    print(f"  {path.name}: {r.error}", file=sys.stderr)
                    continue
                checked += v.faces_checked
                skipped += v.faces_skipped
                first += sum("still matches" in m for m in v.repaired)
                left = [f for f in v.findings if f.kind == "reidentified"]
                final += sum(f.severity == "unsafe" for f in left)
                notes += sum(f.severity == "note" for f in left)
                unsafe += r.status == "unsafe"
            first += final
            print(f"| {method} | {len(photos)} | {checked} | {skipped} | {first} | {final} "
                  f"| {notes} | {unsafe} |", flush=True)


def cost(data: Path, n: int) -> None:
    boxes = json.loads((data / "faces" / "boxes.json").read_text())
    engine = Anonymizer(Settings(verify="fast"))
    total = verify = 0.0
    unsafe = repaired = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, rel in enumerate(list(boxes)[:n]):
            src = Path(tmp) / f"{i}.png"
            ImageOps.exif_transpose(Image.open(data / "faces" / rel)).convert("RGB").save(src)
            if i == 0:
                engine.file(src, Path(tmp) / "warmup.png")  # load models outside the timing
            t = time.perf_counter()
            r = engine.file(src, Path(tmp) / f"{i}.out.png")
            total += time.perf_counter() - t
            assert r.verdict is not None
            verify += r.verdict.seconds.get("total", 0.0)
            unsafe += r.status == "unsafe"
            repaired += bool(r.verdict.repaired)
    print(f"\nVerification cost on {n} photos of ../shared/data/faces (--verify fast):\n")
    print("| photos | s/photo total | s/photo verification | share | repaired | unsafe |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {n} | {total / n:.2f} | {verify / n:.2f} | {verify / total:.0%} | "
          f"{repaired} | {unsafe} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--limit", type=int, default=40, help="reid photos for distances")
    p.add_argument("--faces", type=int, default=105, help="faces/ photos for the cost")
    p.add_argument("--reid-all", nargs="*", metavar="METHOD",
                   help="only count re-identifications over every reid/ and faces/ photo "
                        "with these methods (default: fill blur pixelate)")
    a = p.parse_args()
    if a.reid_all is not None:
        reidentifications(a.data, a.reid_all or ["fill", "blur", "pixelate"])
        return
    distances(a.data, a.limit)
    cost(a.data, a.faces)


if __name__ == "__main__":
    main()
