"""Wider-cover benchmark: what each cover mode protects, and what it costs.

    python -m bench.cover [--data ../shared/data] [--limit N]

Faces are detected once per photo (default settings); every mode then runs
the pipeline's own cover -> plan -> redact stages on those detections. A
region counts as protected when its central 60 % is at least 90 % changed
(as in bench/photos.py). Columns:
  small  faces under 16 px protected (the crowd target)
  face   faces >= 16 px protected
  head   faces >= 16 px whose whole head is protected: the ground-truth box
         enlarged by unseen.cover's head geometry (hair, ears)
  torso  faces >= 24 px whose torso is protected: one face wide, two face
         heights tall, directly below the face, clipped to the image
  area   pixels changed / ground-truth face area
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.evaluate import head_box, protected, torso_box
from unseen.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

Box = list[float]


def score_image(
    changed: np.ndarray, boxes: list[Box], hits: dict[str, list[bool]]
) -> float:
    """Append per-face outcomes to ``hits``; return the ground-truth face area."""
    height, width = changed.shape
    gt = 0.0
    for b in boxes:
        gt += b[2] * b[3]
        if b[3] < 16:
            hits["small"].append(protected(changed, b))
            continue
        hits["face"].append(protected(changed, b))
        hb = head_box(b, width, height)
        if hb is not None:
            hits["head"].append(protected(changed, hb))
        tb = torso_box(b, width, height) if b[3] >= 24 else None
        if tb is not None:
            hits["torso"].append(protected(changed, tb))
    return gt


MODES: dict[str, Settings] = {
    "face, no crowd": Settings(crowd=False),
    "face (default: crowd auto)": Settings(),
    "face --crowd": Settings(crowd=True),
    "head --no-crowd": Settings(cover="head", crowd=False),
    "head (crowd auto)": Settings(cover="head"),
    "body --no-crowd": Settings(cover="body", crowd=False),
    "body, faces only (no segmenter)": Settings(cover="body", crowd=False),
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    if not (a.data / "faces" / "boxes.json").is_file():
        raise SystemExit(f"no test data at {a.data}")
    from unseen.cover import cover_regions
    from unseen.pipeline import Anonymizer
    from unseen.redact import apply_plan

    boxes = json.loads((a.data / "faces" / "boxes.json").read_text())
    items = sorted(boxes.items())[: a.limit or None]
    engine = Anonymizer(replace(Settings(), verify="off"))
    photos = []
    t_detect = 0.0
    for rel, gt in items:
        im = np.asarray(ImageOps.exif_transpose(Image.open(a.data / "faces" / rel)).convert("RGB"))
        start = time.perf_counter()
        faces = engine.detect(im)
        t_detect += time.perf_counter() - start
        photos.append((im, faces, gt))
    n_faces = sum(len(gt) for _, _, gt in photos)
    print(
        f"{len(photos)} photos, {n_faces} faces; face detection {t_detect / len(photos):.2f} s"
        f" / image; {platform.machine()}, python {platform.python_version()}\n"
    )
    print("| mode | small <16 | face >=16 | head >=16 | torso >=24 | area / GT | cover s / image |")
    print("|---|---|---|---|---|---|---|")
    for name, settings in MODES.items():
        engine.settings = settings
        hits: dict[str, list[bool]] = {"small": [], "face": [], "head": [], "torso": []}
        changed_area = gt_area = 0.0
        t_cover = 0.0
        for im, faces, gt in photos:
            start = time.perf_counter()
            # Without the segmenter: the geometry from faces alone.
            regions = (cover_regions(faces, im.shape[1], im.shape[0], settings)
                       if "no segmenter" in name else engine.cover(im, faces))
            out = apply_plan(im, engine.plan(regions))
            t_cover += time.perf_counter() - start
            changed = (out != im).any(axis=2)
            changed_area += float(changed.sum())
            gt_area += score_image(changed, gt, hits)
        r = {k: sum(v) / max(1, len(v)) for k, v in hits.items()}
        print(
            f"| {name} | {r['small']:.3f} | {r['face']:.3f} | {r['head']:.3f} | "
            f"{r['torso']:.3f} | {changed_area / gt_area:.2f} | {t_cover / len(photos):.3f} |"
        )


if __name__ == "__main__":
    main()
