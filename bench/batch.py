"""Batch throughput: files/s and MB/s on ../shared/data photos for 1 and 2
parallel jobs (and 1 job limited to one thread, the per-worker baseline).

    python -m bench.batch [--data ../shared/data] [--files 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]



def main() -> None:
    from unseen.batch import plan_jobs, run_batch
    from unseen.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--files", type=int, default=40)
    a = ap.parse_args()
    photos = sorted((a.data / "faces" / "wider_val_416").glob("*.jpg"))[: a.files]
    if not photos:
        raise SystemExit(f"no photos under {a.data}/faces")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for p in photos:
            shutil.copy(p, src / p.name)
        print(f"{len(photos)} photos ({sum(p.stat().st_size for p in photos) / 1e6:.1f} MB), "
              f"{os.cpu_count()} cores, {platform.machine()}, python {platform.python_version()}\n")
        print("| run | files/s | MB/s | wall s | speed-up vs 1 job |")
        print("|---|---|---|---|---|")
        base = None
        for label, workers, threads in (("1 job, 1 thread", 1, 1), ("1 job, all threads", 1, 0),
                                        ("2 jobs, 1 thread each", 2, 0)):
            out = Path(tmp) / f"out-{workers}-{threads}"
            state = Path(tmp) / f"state-{workers}-{threads}"  # job state outside the output
            run = run_batch(plan_jobs([src], out), Settings(threads=threads), out, state,
                            workers=workers)
            n = sum(r.status == "written" for r in run.results)
            fps = n / run.seconds
            if label == "1 job, all threads":
                base = fps
            speed = f"{fps / base:.2f}x" if base else "-"
            print(f"| {label} | {fps:.2f} | {run.bytes_processed / 1e6 / run.seconds:.2f} "
                  f"| {run.seconds:.1f} | {speed} |")


if __name__ == "__main__":
    main()
