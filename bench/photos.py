"""Photo benchmark: recall by face height, area changed, seconds per image,
for unseen and for the `deface` CLI on the same lossless PNG copies, in the
same run. Prints a Markdown table (the README carries the latest one).

    python bench/photos.py [--data ../shared/data] [--no-deface] [--limit N]
    python bench/photos.py --megapixels 12      # time one 12 MP photo

A face counts as protected when the central 60 % of its ground-truth box is
at least 90 % changed in the output (tests/test_pipeline.py uses the same).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def score(pairs: list[tuple[np.ndarray, np.ndarray, list[list[float]]]]) -> dict[str, float]:
    from evaluate import coverage, recall

    hits, area = coverage(pairs)
    return {**recall(hits), "area": area}


def run_unseen(src: Path, out: Path) -> float:
    from unseen.pipeline import Anonymizer

    engine = Anonymizer()
    files = sorted(src.glob("*.png"))
    start = time.perf_counter()
    for f in files:
        r = engine.file(f, out / f.name)
        if r.status != "written":
            raise SystemExit(f"unseen failed on {f}: {r.error}")
    return (time.perf_counter() - start) / len(files)


def run_deface(src: Path, out: Path) -> float | None:
    exe = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    if not Path(exe).exists():
        return None
    files = sorted(src.glob("*.png"))
    start = time.perf_counter()
    # One process for all files, so the model loads once, as in real use.
    subprocess.run(
        [exe, "--replacewith", "solid", *map(str, files)], check=True, capture_output=True
    )
    elapsed = (time.perf_counter() - start) / len(files)
    for f in files:
        (src / f"{f.stem}_anonymized.png").rename(out / f.name)
    return elapsed


def twelve_megapixels(data: Path) -> None:
    """Seconds for one 4000x3000 JPEG (a real crowd photo scaled up)."""
    from unseen.pipeline import Anonymizer

    with tempfile.TemporaryDirectory() as tmp:
        base = Image.open(data / "faces" / "wider_val_orig" / "0_Parade_Parade_0_873.jpg").convert(
            "RGB"
        )
        big = base.resize((4000, 3000), Image.Resampling.BICUBIC)
        src = Path(tmp) / "big.jpg"
        big.save(src, quality=92)
        engine = Anonymizer()
        engine.file(src, Path(tmp) / "warm.jpg")
        times = []
        for i in range(3):
            r = engine.file(src, Path(tmp) / f"o{i}.jpg")
            times.append(r.seconds)
        print(
            f"| 12 MP JPEG (4000x3000) | {min(times):.2f} s best of 3 "
            f"(median {sorted(times)[1]:.2f} s), {r.faces} regions |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-deface", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--megapixels", type=float, default=0)
    a = ap.parse_args()
    if not (a.data / "faces" / "boxes.json").is_file():
        raise SystemExit(f"no test data at {a.data}")
    if a.megapixels:
        twelve_megapixels(a.data)
        return
    boxes = json.loads((a.data / "faces" / "boxes.json").read_text())
    items = sorted(boxes.items())[: a.limit or None]
    with tempfile.TemporaryDirectory() as tmp:
        src, out_u, out_d = Path(tmp, "src"), Path(tmp, "unseen"), Path(tmp, "deface")
        for d in (src, out_u, out_d):
            d.mkdir()
        originals = {}
        for i, (rel, _) in enumerate(items):
            im = ImageOps.exif_transpose(Image.open(a.data / "faces" / rel)).convert("RGB")
            name = f"{i:04d}.png"
            im.save(src / name)
            originals[name] = (np.asarray(im), boxes[rel])
        rows = {}
        t = run_unseen(src, out_u)
        rows["unseen (default)"] = (t, out_u)
        if not a.no_deface:
            t_d = run_deface(src, out_d)
            if t_d is not None:
                rows["deface --replacewith solid"] = (t_d, out_d)
        n_faces = sum(len(b) for _, b in originals.values())
        print(
            f"{len(items)} photos, {n_faces} faces; {platform.machine()}, "
            f"{platform.processor() or 'cpu'}, python {platform.python_version()}\n"
        )
        from evaluate import BUCKET_NAMES

        names = list(BUCKET_NAMES)
        print(
            "| tool | "
            + " | ".join(f"recall {n}" for n in names)
            + " | recall all | area / GT | s / image |"
        )
        print("|---" * (len(names) + 4) + "|")
        for tool, (secs, folder) in rows.items():
            pairs = [
                (orig, np.asarray(Image.open(folder / n).convert("RGB")), b)
                for n, (orig, b) in originals.items()
            ]
            r = score(pairs)
            print(
                f"| {tool} | "
                + " | ".join(f"{r[n]:.3f}" for n in names)
                + f" | {r['all']:.3f} | {r['area']:.2f} | {secs:.2f} |"
            )


if __name__ == "__main__":
    main()
