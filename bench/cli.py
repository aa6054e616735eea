"""Photos from the command line, wall time as a person waits for it: unseen and
deface, same run.

- one 12 MP JPEG (``unseen PHOTO -o OUT``: start-up and model loading included),
  median of ``--repeat`` runs;
- a batch of 12 MP JPEGs in one run (``unseen FOLDER -o OUT``), seconds per photo.

The photos: ../shared/data/reid/deepface/img49.jpg (12.6 MP, one face) for the
single run; for the batch, WIDER crowd photos from ../shared/data/faces scaled
to 4000x3000 (written to a temporary folder, never the repo).

    python -m bench.cli [--data ../shared/data] [--repeat 3] [--batch 8]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"{' '.join(cmd[:2])} exited {proc.returncode}: "
              f"{(proc.stderr.strip().splitlines() or [''])[-1]}", file=sys.stderr)
    return seconds


def tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8, help="photos in the batch run")
    a = ap.parse_args()
    photo = a.data / "reid" / "deepface" / "img49.jpg"
    if not photo.is_file():
        sys.exit(f"no test data at {photo}")
    unseen, deface = tool("unseen"), tool("deface")
    with tempfile.TemporaryDirectory(prefix="unseen-bench-cli-") as tmp:
        work = Path(tmp)
        batch = work / "batch"
        batch.mkdir()
        crowd = sorted((a.data / "faces").rglob("*.jpg"))[:a.batch]
        for i, src in enumerate(crowd):
            Image.open(src).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(
                batch / f"photo{i:02d}.jpg", quality=92)
        rows = []
        for label, cmd in (
            ("unseen, one 12 MP photo", lambda k: [unseen, str(photo), "-o", str(work / f"u{k}"),
                                                   "-q"]),
            ("deface, one 12 MP photo", lambda k: [deface, "--backend", "opencv",
                                                   "--replacewith", "solid", "-o",
                                                   str(work / f"d{k}.jpg"), str(photo)]),
        ):
            times = [wall(cmd(k)) for k in range(a.repeat)]
            rows.append((label, statistics.median(times), 1))
            print(f"done {label}", file=sys.stderr, flush=True)
        n = len(crowd)
        rows.append((f"unseen, batch of {n} (one run)",
                     wall([unseen, str(batch), "-o", str(work / "ub"), "-q"]) / n, n))
        # deface writes NAME_anonymized.jpg beside each input: a copy of the folder.
        deface_in = work / "db"
        shutil.copytree(batch, deface_in)
        start = time.perf_counter()
        subprocess.run([deface, "--backend", "opencv", "--replacewith", "solid",
                        *map(str, sorted(deface_in.iterdir()))],
                       capture_output=True, check=False)
        rows.append((f"deface, batch of {n} (one run)", (time.perf_counter() - start) / n, n))
    print()
    print("| run | seconds per photo (wall) |")
    print("|---|---:|")
    for label, seconds, _ in rows:
        print(f"| {label} | {seconds:.2f} |")
    print(f"\nOne photo: median of {a.repeat} runs, start-up and model loading included.")


if __name__ == "__main__":
    main()
