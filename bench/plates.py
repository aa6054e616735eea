"""Plate and text benchmark: plate share covered by region, plates classified as
plates, false cover on photos with no plate and no text, seconds per photo;
PP-OCRv4 with and without recognition, and the classical stroke detector
(while unseen/detect/plates.py exists), in the same run. Prints Markdown tables.

    python bench/plates.py [--data ../shared/data] [--limit N] [--threads T]

A plate counts as covered when the central 60 % of its box in
plates/boxes.json is at least 90 % changed once the returned boxes are filled
(the measure faces use, bench/evaluate.py). False cover: the photos of
tests/data/no_person.json labelled with no text and no plate.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from evaluate import protected  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

import unseen.media.image  # noqa: E402, F401  (registers the HEIF opener)
from unseen.detections import Detections  # noqa: E402

REGIONS = ("eu", "us", "ccpd")


@dataclass
class Tally:
    covered: dict[str, list[bool]] = field(default_factory=lambda: {r: [] for r in REGIONS})
    covered_any: dict[str, list[bool]] = field(default_factory=lambda: {r: [] for r in REGIONS})
    false_share: list[float] = field(default_factory=list)
    false_share_any: list[float] = field(default_factory=list)
    text_kinds: dict[str, int] = field(default_factory=lambda: {"plate": 0, "text": 0})
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    megapixels: list[float] = field(default_factory=list)


def read(path: Path) -> np.ndarray:
    """Upright RGB pixels (the first frame of a multi-image HEIF too)."""
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def filled(shape: tuple[int, ...], dets: Detections, kinds: tuple[str, ...]) -> np.ndarray:
    """Where filling the boxes of these kinds changes pixels."""
    changed = np.zeros(shape[:2], bool)
    for box, kind in zip(dets.boxes, dets.kinds, strict=True):
        if kind in kinds:
            x1, y1 = np.floor(box[:2]).astype(int)
            x2, y2 = np.ceil(box[2:]).astype(int)
            changed[max(0, y1) : y2, max(0, x1) : x2] = True
    return changed


def timed(detect: Callable[[np.ndarray], Detections], image: np.ndarray, t: Tally) -> Detections:
    wall, cpu = time.perf_counter(), time.process_time()
    dets = detect(image)
    t.seconds.append(time.perf_counter() - wall)
    t.cpu.append(time.process_time() - cpu)
    t.megapixels.append(image.shape[0] * image.shape[1] / 1e6)
    return dets


def run(
    detect: Callable[[np.ndarray], Detections],
    plates: list[tuple[str, Path, list[list[float]]]],
    clean: list[Path],
    texts: list[Path],
) -> Tally:
    t = Tally()
    for region, path, boxes in plates:
        image = read(path)
        dets = timed(detect, image, t)
        for box in boxes:
            t.covered[region].append(protected(filled(image.shape, dets, ("plate",)), box))
            t.covered_any[region].append(
                protected(filled(image.shape, dets, ("plate", "text")), box)
            )
    for path in clean:
        image = read(path)
        dets = timed(detect, image, t)
        t.false_share.append(float(filled(image.shape, dets, ("plate",)).mean()))
        t.false_share_any.append(float(filled(image.shape, dets, ("plate", "text")).mean()))
    for path in texts:
        dets = timed(detect, read(path), t)
        for kind in dets.kinds:
            t.text_kinds[str(kind)] = t.text_kinds.get(str(kind), 0) + 1
    return t


def share(v: list[bool]) -> str:
    return f"{sum(v) / len(v):.3f} ({sum(v)}/{len(v)})" if v else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=0, help="at most N plate photos per region")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-classical", action="store_true")
    ap.add_argument(
        "--faces", action="store_true", help="also time today's face ensemble, for reference"
    )
    args = ap.parse_args()

    from unseen.detect.text import TextDetector, model_version

    boxes = json.loads((args.data / "plates" / "boxes.json").read_text())
    plates: list[tuple[str, Path, list[list[float]]]] = []
    for region in REGIONS:
        names = [k for k in boxes if k.startswith(region + "/")]
        for k in names[: args.limit or None]:
            plates.append((region, args.data / "plates" / k, [p["box"] for p in boxes[k]]))
    labels = json.loads((ROOT / "tests" / "data" / "no_person.json").read_text())
    clean = [args.data / k for k, v in labels.items() if not v["text"] and not v["plate"]]
    texts = [args.data / k for k, v in labels.items() if v["text"] and not v["plate"]]

    detectors: list[tuple[str, Callable[[np.ndarray], Detections]]] = [
        ("PP-OCRv4 det + rec", TextDetector(args.threads).detect),
        ("PP-OCRv4 det only", TextDetector(args.threads, recognize=False).detect),
    ]
    if not args.no_classical:
        try:  # the stroke detector this one replaced, while it exists
            from unseen.detect.plates import PlateDetector

            detectors.append(("classical (plates.py)", PlateDetector().detect))
        except ImportError:
            print("(the classical detector unseen/detect/plates.py is gone: no baseline row)")

    results = [(name, run(fn, plates, clean, texts)) for name, fn in detectors]
    if args.faces:
        from unseen.detect.models import build_detector
        from unseen.settings import Settings

        cfg = Settings()
        faces = build_detector(cfg.detectors, args.threads, cfg.max_pass_megapixels, cfg.tile_size)
        t = Tally()
        for path in [p[1] for p in plates] + clean + texts:
            timed(lambda im: faces.detect(im, cfg.threshold), read(path), t)
        timing_only = ("faces (today's ensemble, timing only)", t)

    print(
        f"{model_version()}; {sum(len(p[2]) for p in plates)} plates in {len(plates)} photos, "
        f"{len(clean)} photos with no plate or text, "
        f"{len(texts)} with text and no plate; {platform.machine()}, "
        f"{args.threads} threads, {time.strftime('%Y-%m-%d')}\n"
    )
    print("Plates covered by `plate` boxes (central 60 % of the plate box >= 90 % filled), and")
    print("by boxes of either kind (a plate covered only by `text` boxes was misclassified):\n")
    print("| detector | eu | us | ccpd | all | all, plate + text boxes |")
    print("|---|---|---|---|---|---|")
    for name, t in results:
        every = [x for r in REGIONS for x in t.covered[r]]
        every_any = [x for r in REGIONS for x in t.covered_any[r]]
        cells = [share(t.covered[r]) for r in REGIONS]
        print(f"| {name} | {' | '.join(cells)} | {share(every)} | {share(every_any)} |")

    print("\nFalse cover on photos with no plate and no text (share of the image filled):\n")
    print("| detector | plate: mean | plate: max | untouched | plate + text: mean | max |")
    print("|---|---|---|---|---|---|")
    for name, t in results:
        f, fa = np.array(t.false_share), np.array(t.false_share_any)
        untouched = int((fa == 0).sum())
        print(
            f"| {name} | {f.mean():.4f} | {f.max():.4f} | {untouched}/{len(f)} "
            f"| {fa.mean():.4f} | {fa.max():.4f} |"
        )

    print("\nRegions found on photos with text and no plate, by kind:\n")
    print("| detector | text | plate |")
    print("|---|---|---|")
    for name, t in results:
        print(f"| {name} | {t.text_kinds.get('text', 0)} | {t.text_kinds.get('plate', 0)} |")

    print("\nSeconds per photo (all photos above; CPU seconds add up both threads):\n")
    print("| detector | wall mean | CPU mean | slowest wall / MP | mean MP | wall, CPU >= 8 MP |")
    print("|---|---|---|---|---|---|")
    for name, t in results + ([timing_only] if args.faces else []):
        s, c, mp = np.array(t.seconds), np.array(t.cpu), np.array(t.megapixels)
        big = mp >= 8
        large = f"{s[big].mean():.2f}, {c[big].mean():.2f} ({big.sum()})" if big.any() else "-"
        print(
            f"| {name} | {s.mean():.3f} | {c.mean():.3f} | {(s / mp).max():.3f} "
            f"| {mp.mean():.2f} | {large} |"
        )


if __name__ == "__main__":
    main()
