"""Photo benchmark: recall by face height (and by mask label), area changed,
precision, photos with no person, and seconds per megapixel, for unseen and for
the `deface` CLI on the same lossless PNG copies, in the same run. Prints
Markdown tables (docs/benchmarks.md carries the latest ones, the README the headline).

    python -m bench.photos [--data ../shared/data] [--sets faces,masked,noperson]
                           [--no-deface] [--limit N] [--save per_file.json]
                           [--precision fp32|int8] [--verify off|fast|full]
    python -m bench.photos --megapixels 12      # time one 12 MP photo

Sets: ``faces`` (../shared/data/faces, crowd photos, boxes.json), ``masked``
(../shared/data/masked-real: real masks, boxes.json + labels.json) and
``noperson`` (the photos listed in tests/data/no_person.json, which show no
person at all). A face counts as protected when the central 60 % of its
ground-truth box is at least 90 % changed in the output (tests/pipeline/test_photo.py
uses the same). unseen runs with its defaults, verification (and its repairs)
included, so what is scored is what would be delivered.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.evaluate import (
    BUCKET_NAMES,
    bucket,
    changed_share,
    face_box_precision,
    protected,
)

ROOT = Path(__file__).resolve().parents[1]

NO_PERSON = ROOT / "tests" / "data" / "no_person.json"
MASK_LABELS = {"with_mask": "with mask", "without_mask": "without mask",
               "mask_worn_incorrectly": "mask worn incorrectly",
               "mascarilla_mal_puesta": "mask worn incorrectly"}


@dataclass
class Item:
    """One photo of a set: its PNG copy, ground truth and per-box labels."""

    name: str
    rel: str
    pixels: np.ndarray
    boxes: list[list[float]]
    labels: list[str] = field(default_factory=list)


@dataclass
class Run:
    """One tool's outputs for one set."""

    folder: Path
    seconds: dict[str, float] = field(default_factory=dict)
    faces: dict[str, np.ndarray] = field(default_factory=dict)
    """unseen only: the face boxes it reports per file (x1, y1, x2, y2)."""


def load_set(data: Path, which: str, limit: int) -> list[Item]:
    if which == "noperson":
        from unseen.errors import UnseenError
        from unseen.media.image import read_photo

        entries = json.loads(NO_PERSON.read_text())
        items = []
        for rel in sorted(entries)[: limit or None]:
            try:
                items.append(Item("", rel, read_photo(data / rel).pixels, []))
            except UnseenError as exc:  # unseen refuses it too: nothing to measure
                print(f"skipped {rel}: {exc}")
        return items
    folder = data / ("faces" if which == "faces" else "masked-real")
    boxes = json.loads((folder / "boxes.json").read_text())
    labels = json.loads((folder / "labels.json").read_text()) if which == "masked" else {}
    out = []
    for rel, b in sorted(boxes.items())[: limit or None]:
        im = ImageOps.exif_transpose(Image.open(folder / rel)).convert("RGB")
        out.append(Item("", rel, np.asarray(im), b, labels.get(rel, [])))
    return out


def run_unseen(items: list[Item], src: Path, out: Path, precision: str | None = None,
               verify: str | None = None) -> Run:
    from dataclasses import replace

    from unseen.pipeline import Anonymizer
    from unseen.settings import Settings

    settings = Settings()
    if precision is not None:
        settings = replace(settings, precision=precision)
    if verify is not None:
        settings = replace(settings, verify=verify)
    engine = Anonymizer(settings)
    # Load every model before the clock runs (the adversary loads on first use).
    if settings.verify != "off":
        engine.adversary.detect(np.zeros((64, 64, 3), np.uint8))
    engine.detect(np.zeros((64, 64, 3), np.uint8))
    run = Run(out)
    for it in items:
        r = engine.file(src / it.name, out / it.name)
        if r.status != "written":
            raise SystemExit(f"unseen failed on {it.rel}: {r.error}")
        run.seconds[it.name] = r.seconds
        d = r.detections
        run.faces[it.name] = np.asarray(d.boxes[d.kinds == "face"])
    return run


def run_deface(items: list[Item], src: Path, out: Path) -> Run | None:
    exe = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    if not Path(exe).exists():
        return None
    files = [src / it.name for it in items]
    start = time.perf_counter()
    # One process for all files, so the model loads once, as in real use.
    subprocess.run(
        [exe, "--replacewith", "solid", *map(str, files)], check=True, capture_output=True
    )
    each = (time.perf_counter() - start) / len(files)
    run = Run(out)
    for f in files:
        (src / f"{f.stem}_anonymized.png").rename(out / f.name)
        run.seconds[f.name] = each
    return run


def outputs(items: list[Item], run: Run) -> list[np.ndarray]:
    return [np.asarray(Image.open(run.folder / it.name).convert("RGB")) for it in items]


def score_faces(items: list[Item], run: Run, by_label: bool) -> dict[str, object]:
    hits: dict[str, list[bool]] = {n: [] for n in BUCKET_NAMES}
    labels: dict[str, list[bool]] = {}
    changed_area = gt_area = 0.0
    matched = reported = 0
    blob_faces = blobs = 0
    for it, out in zip(items, outputs(items, run), strict=True):
        changed = (out != it.pixels).any(axis=2)
        changed_area += float(changed.sum())
        for i, b in enumerate(it.boxes):
            gt_area += b[2] * b[3]
            hit = protected(changed, b)
            hits[bucket(b[3])].append(hit)
            if by_label and i < len(it.labels):
                labels.setdefault(MASK_LABELS.get(it.labels[i], it.labels[i]), []).append(hit)
        if it.name in run.faces:
            m, n = face_box_precision(run.faces[it.name], it.boxes)
            matched, reported = matched + m, reported + n
        m, n = blob_precision(changed, it.boxes)
        blob_faces, blobs = blob_faces + m, blobs + n
    rate = {k: sum(v) / max(1, len(v)) for k, v in hits.items()}
    total = sum(len(v) for v in hits.values())
    rate["all"] = sum(sum(v) for v in hits.values()) / max(1, total)
    return {
        "recall": rate, "labels": {k: (sum(v) / len(v), len(v)) for k, v in labels.items()},
        "area": changed_area / max(gt_area, 1.0), "gt": total,
        "reported": reported if run.faces else None,
        "precision": matched / max(1, reported) if run.faces else None,
        "blob_precision": blob_faces / max(1, blobs), "blobs": blobs,
    }


def blob_precision(changed: np.ndarray, boxes: list[list[float]]) -> tuple[int, int]:
    """(changed blobs holding the centre of a ground-truth face, blobs): the
    precision of any tool from its pixels alone."""
    import cv2

    n, labels = cv2.connectedComponents(changed.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0, 0
    h, w = changed.shape
    with_face = set()
    for x, y, bw, bh in boxes:
        cx, cy = int(min(w - 1, max(0, x + bw / 2))), int(min(h - 1, max(0, y + bh / 2)))
        if labels[cy, cx]:
            with_face.add(int(labels[cy, cx]))
    return len(with_face), n - 1


def score_no_person(items: list[Item], run: Run) -> dict[str, float]:
    shares = [changed_share(it.pixels, out) for it, out in zip(items, outputs(items, run),
                                                              strict=True)]
    s = np.asarray(shares)
    worst = int(np.argmax(s))
    return {"mean": float(s.mean()), "max": float(s.max()), "worst": items[worst].rel,
            "untouched": int((s == 0).sum()), "over3": int((s > 0.03).sum()), "n": len(s),
            "faces": sum(len(run.faces.get(it.name, ())) for it in items) if run.faces else -1}


def per_megapixel(items: list[Item], run: Run) -> tuple[float, float, str]:
    """(mean s / image, slowest s / megapixel, that photo)."""
    rates = {it.rel: run.seconds[it.name] / (it.pixels.shape[0] * it.pixels.shape[1] / 1e6)
             for it in items}
    worst = max(rates, key=lambda k: rates[k])
    return float(np.mean(list(run.seconds.values()))), rates[worst], worst


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
        grey = Path(tmp) / "grey.jpg"
        Image.new("RGB", (4032, 2012), (128, 128, 128)).save(grey, quality=92)
        engine = Anonymizer()
        engine.file(src, Path(tmp) / "warm.jpg")
        for name, path in (("12 MP JPEG (4000x3000)", src), ("grey 4032x2012 JPEG", grey)):
            times = []
            for i in range(3):
                r = engine.file(path, Path(tmp) / f"o{i}.jpg")
                times.append(r.seconds)
            print(f"| {name} | {min(times):.2f} s best of 3 "
                  f"(median {sorted(times)[1]:.2f} s), {r.faces} faces |")


def print_tables(results: dict[str, dict[str, dict[str, object]]], times: dict[str, object]
                 ) -> None:
    names = list(BUCKET_NAMES)
    for which, title in (("faces", "crowd photos (../shared/data/faces)"),
                         ("masked", "real masked faces (../shared/data/masked-real)")):
        if which not in results:
            continue
        print(f"\n{title}\n")
        print("| tool | " + " | ".join(f"recall {n}" for n in names)
              + " | recall all | area / GT | faces reported / GT | precision (boxes) "
              "| precision (blobs) |")
        print("|---" * (len(names) + 7) + "|")
        for tool, r in results[which].items():
            rec = r["recall"]
            assert isinstance(rec, dict)
            reported = "-" if r["reported"] is None else f"{r['reported']} / {r['gt']}"
            prec = "-" if r["precision"] is None else f"{r['precision']:.3f}"
            print(f"| {tool} | " + " | ".join(f"{rec[n]:.3f}" for n in names)
                  + f" | {rec['all']:.3f} | {r['area']:.2f} | {reported} | {prec} "
                  f"| {r['blob_precision']:.3f} ({r['blobs']}) |")
        labels = {tool: r["labels"] for tool, r in results[which].items() if r["labels"]}
        if labels:
            kinds = sorted({k for v in labels.values() for k in v})  # type: ignore[attr-defined]
            print("\n| tool | " + " | ".join(f"recall {k}" for k in kinds) + " |")
            print("|---" * (len(kinds) + 1) + "|")
            for tool, v in labels.items():
                print(f"| {tool} | " + " | ".join(
                    f"{v[k][0]:.3f} ({v[k][1]})" for k in kinds) + " |")  # type: ignore[index]
    if "noperson" in results:
        print("\nphotos with no person (tests/data/no_person.json)\n")
        print("| tool | photos | share changed, mean | max | untouched | over 3 % "
              "| face boxes | worst photo |")
        print("|---|---|---|---|---|---|---|---|")
        for tool, r in results["noperson"].items():
            faces = "-" if r["faces"] == -1 else r["faces"]
            print(f"| {tool} | {r['n']} | {100 * r['mean']:.2f} % | {100 * r['max']:.1f} % "
                  f"| {r['untouched']} | {r['over3']} | {faces} | {r['worst']} |")
    print("\n| tool | set | s / image | slowest s / megapixel | slowest photo |")
    print("|---|---|---|---|---|")
    for key, (mean, worst, which) in times.items():  # type: ignore[misc]
        print(f"| {key[0]} | {key[1]} | {mean:.2f} | {worst:.2f} | {which} |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sets", default="faces,masked,noperson")
    ap.add_argument("--no-deface", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--megapixels", type=float, default=0)
    ap.add_argument("--save", type=Path, help="write per-file numbers here (JSON)")
    ap.add_argument("--precision", choices=["fp32", "int8"],
                    help="of the redaction models (default: unseen's default)")
    ap.add_argument("--verify", choices=["off", "fast", "full"],
                    help="unseen's verification (default: unseen's default, fast)")
    a = ap.parse_args()
    if not (a.data / "faces" / "boxes.json").is_file():
        raise SystemExit(f"no test data at {a.data}")
    if a.megapixels:
        twelve_megapixels(a.data)
        return
    print(f"{platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}")
    results: dict[str, dict[str, dict[str, object]]] = {}
    times: dict[tuple[str, str], tuple[float, float, str]] = {}
    saved: dict[str, object] = {}
    for which in a.sets.split(","):
        items = load_set(a.data, which, a.limit)
        with tempfile.TemporaryDirectory() as tmp:
            src, out_u, out_d = Path(tmp, "src"), Path(tmp, "unseen"), Path(tmp, "deface")
            for d in (src, out_u, out_d):
                d.mkdir()
            for i, it in enumerate(items):
                it.name = f"{i:04d}.png"
                Image.fromarray(it.pixels).save(src / it.name)
            label = ", ".join(x for x in (a.precision, a.verify and f"--verify {a.verify}") if x)
            tool = f"unseen ({label or 'default'})"
            runs = {tool: run_unseen(items, src, out_u, a.precision, a.verify)}
            if not a.no_deface:
                d_run = run_deface(items, src, out_d)
                if d_run is not None:
                    runs["deface --replacewith solid"] = d_run
            results[which] = {}
            for tool, run in runs.items():
                if which == "noperson":
                    results[which][tool] = score_no_person(items, run)  # type: ignore[assignment]
                else:
                    results[which][tool] = score_faces(items, run, which == "masked")
                times[(tool, which)] = per_megapixel(items, run)
                if tool.startswith("unseen"):
                    outs = outputs(items, run)
                    saved[which] = {it.rel: {
                        "seconds": run.seconds[it.name],
                        "share": changed_share(it.pixels, o),
                        "faces": len(run.faces[it.name]), "gt": len(it.boxes)}
                        for it, o in zip(items, outs, strict=True)}
        print(f"{which}: {len(items)} photos, {sum(len(it.boxes) for it in items)} faces",
              flush=True)
        print_tables({which: results[which]}, {k: v for k, v in times.items() if k[1] == which})
        sys.stdout.flush()
        if a.save:
            a.save.write_text(json.dumps(saved, indent=1))
    print("\nall sets")
    print_tables(results, times)
    if a.save:
        a.save.write_text(json.dumps(saved, indent=1))


if __name__ == "__main__":
    main()
