"""int8 face models (issue 16): calibrate the activation ranges that ship in
unseen/detect/int8_ranges.json, and time fp32 against int8 per inference.

    python -m bench.quantize calibrate [--data ../shared/data] [--every 2,8]
    python -m bench.quantize speed [--repeats 9] [--signed] [--threads 1 --cpu]
    python -m bench.quantize ensemble [--repeats 9]

``calibrate`` runs the photo pipeline's ensemble (unseen's default settings) on
every 2nd photo of faces/ and every 8th of masked-real/ and records, per model
and per tensor, the min and max over every pass it feeds the model (the same
scales, padding and tiles). ``speed`` builds the int8 models from the shipped
ranges and runs fp32 and int8 alternately in one process (A, B, A, B...), so
other load on the machine slows both alike; it prints medians in ms.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from unseen.detect import centerface, retinaface
from unseen.detect import quantize as q
from unseen.detect.onnx import make_session

ROOT = Path(__file__).resolve().parents[1]

SOURCES = {"centerface": centerface.model_bytes, "retinaface": retinaface.model_bytes}
RANGES_PATH = ROOT / "unseen" / "detect" / q.RANGES_FILE


def calibration_photos(data: Path, every: tuple[int, int]) -> list[Path]:
    out = []
    for folder, step in (("faces", every[0]), ("masked-real", every[1])):
        names = sorted(json.loads((data / folder / "boxes.json").read_text()))
        out += [data / folder / n for n in names[::step]]
    return out


def calibrate(data: Path, every: tuple[int, int], outs: dict[str, Path]) -> None:
    from onnxruntime.quantization import CalibrationDataReader
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    from unseen.media.image import read_photo
    from unseen.pipeline import Anonymizer

    class One(CalibrationDataReader):
        def __init__(self, feeds: dict[str, np.ndarray]) -> None:
            self.feeds: dict[str, np.ndarray] | None = feeds

        def get_next(self) -> dict[str, np.ndarray] | None:
            feeds, self.feeds = self.feeds, None
            return feeds

    engine = Anonymizer()  # fp32, default detectors and pass plan
    tmp = tempfile.TemporaryDirectory(prefix="unseen-calib-")
    calibrators: dict[str, object] = {}
    passes: dict[str, list[dict[str, tuple[float, float]]]] = {}
    for name, model in engine.models.faces.detectors.items():
        folder = Path(tmp.name, name)
        folder.mkdir()
        prepared = q.prepared(SOURCES[name](), folder)
        calibrators[name] = create_calibrator(
            prepared, None, augmented_model_path=str(folder / "augmented.onnx"),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={})
        passes[name] = []
        run = model.run  # type: ignore[attr-defined]

        def recording(outputs: list[str] | None, feeds: dict[str, np.ndarray],
                      name: str = name, run: object = run) -> list[np.ndarray]:
            cal = calibrators[name]
            cal.calibrate_tensors_range = None  # type: ignore[attr-defined]
            cal.collect_data(One(feeds))  # type: ignore[attr-defined]
            got = cal.calibrate_tensors_range  # type: ignore[attr-defined]
            passes[name].append({t: (float(np.ravel(got[t].range_value[0])[0]),
                                     float(np.ravel(got[t].range_value[1])[0])) for t in got})
            return run(outputs, feeds)  # type: ignore[operator]

        model.run = recording  # type: ignore[attr-defined]
    photos = calibration_photos(data, every)
    start = time.perf_counter()
    for i, path in enumerate(photos):
        engine.detect(read_photo(path).pixels)
        if i % 10 == 9:
            print(f"{i + 1}/{len(photos)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    tmp.cleanup()
    for how, out_path in outs.items():
        out: dict[str, dict[str, Any]] = {}
        for name, runs in passes.items():
            lo = {t: np.array([r[t][0] for r in runs]) for t in runs[0]}
            hi = {t: np.array([r[t][1] for r in runs]) for t in runs[0]}
            # minmax: the extremes of all passes; mean: the mean of each pass's
            # extremes (finer steps, rare outliers clipped)
            pick = (lambda a, low: float(a.min() if low else a.max())) if how == "minmax" else (
                lambda a, low: float(a.mean()))
            out[name] = {
                "source_sha256": q.source_hash(SOURCES[name]()), "method": how,
                "photos": len(photos), "passes": len(runs),
                "tensors": {t: [pick(lo[t], True), pick(hi[t], False)] for t in sorted(lo)},
            }
        out_path.write_text(json.dumps(out, indent=0) + "\n")
        print(f"wrote {out_path} ({how}): "
              + ", ".join(f"{n} {len(v['tensors'])} tensors from {v['passes']} passes"
                          for n, v in out.items()))


SIZES = {
    # CenterFace: padded to multiples of 32; RetinaFace: the photo's own size
    # (416x416 WIDER copies, a 1024x683 WIDER original), and both doubled.
    "centerface": [(640, 384), (1280, 736), (1920, 1088)],
    "retinaface": [(416, 416), (832, 832), (1024, 683), (2048, 1366)],
}


def feed(name: str, width: int, height: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A real photo, resized, in the model's input layout."""
    from PIL import Image

    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    big = Path(ROOT.parent, "shared", "data", "faces", "wider_val_orig",
               "0_Parade_Parade_0_873.jpg")
    if big.is_file():
        pixels = np.asarray(Image.open(big).convert("RGB").resize((width, height)))
    chw = pixels.astype(np.float32).transpose(2, 0, 1)[None]
    if name == "centerface":
        return {"input.1": np.ascontiguousarray(chw)}
    bgr = chw[:, ::-1] - np.array([104, 117, 123], np.float32)[None, :, None, None]
    return {"input": np.ascontiguousarray(bgr)}


def speed(repeats: int, signed: bool, threads: int, cpu: bool) -> None:
    shipped = q.ranges()
    rng = np.random.default_rng(0)
    clock = time.process_time if cpu else time.perf_counter
    print(f"| model | input | fp32 ms | int8 ms | fp32 / int8 |  (activations "
          f"{'int8' if signed else 'uint8'}, weights int8 per channel, "
          f"threads {threads or 'all'}, median of {repeats} alternating runs, "
          f"{'CPU' if cpu else 'wall'} time)")
    print("|---|---|---|---|---|")
    for name, source in SOURCES.items():
        fp32 = source()
        start = time.perf_counter()
        int8 = q.build_int8(fp32, shipped[name]["tensors"], signed)
        built = time.perf_counter() - start
        sessions = {"fp32": make_session(fp32, threads), "int8": make_session(int8, threads)}
        for w, h in SIZES[name]:
            feeds = feed(name, w, h, rng)
            times: dict[str, list[float]] = {k: [] for k in sessions}
            for s in sessions.values():
                s.run(None, feeds)
            for _ in range(repeats):
                for k, s in sessions.items():
                    t = clock()
                    s.run(None, feeds)
                    times[k].append(1000 * (clock() - t))
            a, b = (float(np.median(times[k])) for k in ("fp32", "int8"))
            print(f"| {name} | {w}x{h} | {a:.1f} | {b:.1f} | {a / b:.2f} |", flush=True)
        print(f"| {name} | (build from ranges) | | {1000 * built:.0f} | |")


def ensemble(data: Path, count: int, repeats: int) -> None:
    """Seconds of the photo search (every pass of both models, unseen's
    defaults) per photo, fp32 and int8 alternately, on real crowd photos."""
    from unseen.detect.models import build_detector
    from unseen.media.image import read_photo
    from unseen.settings import Settings

    s = Settings()
    engines = {p: build_detector(s.detectors, s.threads, s.max_pass_megapixels, s.tile_size, p)
               for p in ("fp32", "int8")}
    photos = calibration_photos(data, (1, 10 ** 6))[1::2][:count]  # not calibrated on
    pixels = [read_photo(p).pixels for p in photos]
    times: dict[str, list[float]] = {k: [] for k in engines}
    faces: dict[str, int] = {k: 0 for k in engines}
    for image in pixels[:1]:
        for e in engines.values():
            e.detect(image, s.threshold)
    for r in range(repeats):
        for image in pixels:
            for k, e in engines.items():
                t = time.perf_counter()
                found = e.detect(image, s.threshold)
                times[k].append(time.perf_counter() - t)
                faces[k] += int((found.kinds == "face").sum()) if r == 0 else 0
    a, b = (float(np.median(times[k])) for k in ("fp32", "int8"))
    sa, sb = (sum(times[k]) / repeats for k in ("fp32", "int8"))
    print(f"| photo search, {len(pixels)} photos of faces/ | fp32 {sa:.1f} s (median {a:.2f} s) "
          f"| int8 {sb:.1f} s (median {b:.2f} s) | {sa / sb:.2f} | faces {faces['fp32']} "
          f"/ {faces['int8']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["calibrate", "speed", "ensemble"])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--every", default="2,8", help="take every Nth photo of faces, masked-real")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--signed", action="store_true", help="int8 activations instead of uint8")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu", action="store_true",
                    help="speed: CPU time of the process (with --threads 1: robust to "
                         "other load) instead of wall time")
    ap.add_argument("--method", choices=["minmax", "mean"], default="minmax",
                    help="calibrate: the extremes over all passes, or the mean of each pass's")
    ap.add_argument("--also", type=Path, help="calibrate: write the other method here too")
    a = ap.parse_args()
    if a.what == "calibrate":
        f, m = (int(x) for x in a.every.split(","))
        outs = {a.method: RANGES_PATH}
        if a.also:
            outs[{"minmax": "mean", "mean": "minmax"}[a.method]] = a.also
        calibrate(a.data, (f, m), outs)
    elif a.what == "ensemble":
        ensemble(a.data, 20, max(1, a.repeats // 3))
    else:
        speed(a.repeats, a.signed, a.threads, a.cpu)


if __name__ == "__main__":
    main()
