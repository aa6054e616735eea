"""Plate and text benchmark: plate share covered by region, plates classified as
plates, false cover on photos with no plate and no text, seconds per photo;
PP-OCRv4 with and without recognition, and the classical stroke detector
(while unseen/detect/plates.py exists), in the same run. Prints Markdown tables.

    python -m bench.plates [--data ../shared/data] [--limit N] [--threads T]
                           [--unseen] [--unseen-only] [--unseen-limit N]

A plate counts as covered when the central 60 % of its box in
plates/boxes.json is at least 90 % changed once the returned boxes are filled
(the measure faces use, bench/evaluate.py). False cover: the photos of
tests/data/no_person.json labelled with no text and no plate.

``--unseen`` adds two tables of unseen as it runs (``Anonymizer``, verification
on), each photo with and without ``--plates`` one after the other: the false
cover of ``--plates`` on every no-person photo labelled with no plate (with
and without text, the plate and text boxes the report lists, verification's
included, as a share of the image), and the wall and CPU seconds per photo
with and without ``--plates`` on the plate photos (``--unseen-limit`` per
region) and the no-person photos. ``--unseen-only`` skips the detector tables.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import unseen.media.image  # noqa: F401  (registers the HEIF opener)
from bench.evaluate import protected
from unseen.detections import Detections

ROOT = Path(__file__).resolve().parents[1]

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


@dataclass
class Costs:
    """unseen on one set of photos, without and with ``--plates``."""

    wall: dict[bool, list[float]] = field(default_factory=lambda: {False: [], True: []})
    cpu: dict[bool, list[float]] = field(default_factory=lambda: {False: [], True: []})
    verify_plates: list[float] = field(default_factory=list)
    megapixels: list[float] = field(default_factory=list)
    not_written: int = 0


def unseen_runs(
    groups: dict[str, list[Path]], tmp: Path
) -> tuple[dict[str, Costs], dict[str, list[float]]]:
    """Each photo through ``Anonymizer(Settings())`` and then
    ``Anonymizer(Settings(plates=True))`` (verification on, as unseen runs):
    seconds per group, and per photo of each group the share of the image that
    ``plate`` and ``text`` regions cover (the first pass's and verification's)."""
    from unseen.pipeline import Anonymizer
    from unseen.settings import Settings

    engines = {False: Anonymizer(Settings()), True: Anonymizer(Settings(plates=True))}
    warm = next(p for paths in groups.values() for p in paths)
    for on, engine in engines.items():  # load every model before timing
        engine.file(warm, tmp / f"warm-{on}.jpg")
    costs: dict[str, Costs] = {}
    shares: dict[str, list[float]] = {}
    for group, paths in groups.items():
        c = costs[group] = Costs()
        shares[group] = []
        for i, path in enumerate(paths):
            for on, engine in engines.items():
                wall, cpu = time.perf_counter(), time.process_time()
                r = engine.file(path, tmp / f"{group}-{i}-{on}.jpg")
                c.wall[on].append(time.perf_counter() - wall)
                c.cpu[on].append(time.process_time() - cpu)
                if r.status != "written":
                    c.not_written += 1
                    print(f"{path.name} ({'--plates' if on else 'default'}): {r.status} "
                          f"{r.error or ''}", file=sys.stderr)
            if not r.width:
                continue  # not read: no share to measure
            c.megapixels.append(r.width * r.height / 1e6)
            c.verify_plates.append(r.verdict.seconds.get("plates", 0.0) if r.verdict else 0.0)
            shape = (r.height, r.width)
            shares[group].append(float(filled(shape, r.detections, ("plate", "text")).mean()))
        print(f"done {group} ({len(paths)} photos)", file=sys.stderr, flush=True)
    return costs, shares


def print_unseen(costs: dict[str, Costs], shares: dict[str, list[float]]) -> None:
    print("\nFalse cover of unseen with `--plates` (Anonymizer(Settings(plates=True)), "
          "verification on) on no-person photos labelled with no plate: share of the image "
          "in `plate` and `text` regions of the result, the first pass's and "
          "verification's:\n")
    print("| photos | n | mean | max | untouched |")
    print("|---|---:|---:|---:|---:|")
    rows = [(g, v) for g, v in shares.items() if g.startswith("no plate")]
    every = [x for _, v in rows for x in v]
    for group, v in [*rows, ("no plate, all", every)]:
        a = np.array(v)
        print(f"| {group} | {len(a)} | {a.mean():.2%} | {a.max():.2%} "
              f"| {int((a == 0).sum())} of {len(a)} |")

    print("\nSeconds per photo, unseen without and with `--plates` (verification on, "
          "each photo with and without one after the other; CPU seconds add up both "
          "threads):\n")
    print("| photos | n | mean MP | wall default | wall --plates | CPU default | CPU --plates "
          "| CPU added | of which verification's plate look (wall) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    every_c = Costs()
    for c in costs.values():
        for on in (False, True):
            every_c.wall[on] += c.wall[on]
            every_c.cpu[on] += c.cpu[on]
        every_c.verify_plates += c.verify_plates
        every_c.megapixels += c.megapixels
    big = Costs()
    for c in costs.values():
        for j, mp in enumerate(c.megapixels):
            if mp >= 8:
                for on in (False, True):
                    big.wall[on].append(c.wall[on][j])
                    big.cpu[on].append(c.cpu[on][j])
                big.megapixels.append(mp)
                big.verify_plates.append(c.verify_plates[j])
    table = [*costs.items(), ("all", every_c)] + ([("photos of 8 MP and more", big)]
                                                   if big.megapixels else [])
    for group, c in table:
        w0, w1 = np.mean(c.wall[False]), np.mean(c.wall[True])
        c0, c1 = np.mean(c.cpu[False]), np.mean(c.cpu[True])
        vp = f"{np.mean(c.verify_plates):.2f}" if c.verify_plates else "-"
        print(f"| {group} | {len(c.megapixels)} | {np.mean(c.megapixels):.2f} | {w0:.2f} "
              f"| {w1:.2f} | {c0:.2f} | {c1:.2f} | {(c1 - c0) / c0:+.0%} | {vp} |")
    failed = sum(c.not_written for c in costs.values())
    if failed:
        print(f"\n({failed} runs did not write their photo; see stderr)")


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
    ap.add_argument("--unseen", action="store_true",
                    help="also run unseen itself with and without --plates (false cover, cost)")
    ap.add_argument("--unseen-only", action="store_true", help="only the --unseen tables")
    ap.add_argument("--unseen-limit", type=int, default=0,
                    help="at most N plate photos per region in the --unseen cost table")
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
    with_plate = [args.data / k for k, v in labels.items() if v["plate"]]

    if args.unseen or args.unseen_only:
        few = [p for r in REGIONS
               for p in [q[1] for q in plates if q[0] == r][: args.unseen_limit or None]]
        groups = {"no plate, no text": clean, "no plate, text": texts,
                  "no-person photos with a plate": with_plate, "plate photos": few}
        with tempfile.TemporaryDirectory(prefix="unseen-bench-plates-") as tmp:
            costs, shares = unseen_runs(groups, Path(tmp))
        print(f"{model_version()}; unseen with and without --plates; {platform.machine()}, "
              f"{time.strftime('%Y-%m-%d %H:%M')}")
        print_unseen(costs, shares)
        if args.unseen_only:
            return
        print()

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
