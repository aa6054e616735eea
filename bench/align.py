"""Video covers against the photo path, frame by frame: small faces and alignment.

For each clip, unseen's first video pass (no verification) decides what to
cover in every frame. On sampled frames the photo path (every model at every
scale, confirmed, with crowd candidates) runs on the same input frame and is
the reference. Printed per clip:

- faces: reference faces (kind ``face``); covered = at least 90 % of the
  ellipse inscribed in the box inside the video's cover, by size (< 16 px,
  16-32 px, >= 32 px tall); the photo path's own cover scores 1 by this rule;
- crowd: reference crowd candidates (small faces no model is sure of) covered;
- photo cover kept: share of the photo path's cover pixels that the video also
  covers;
- alignment: each reference face of 16 px or more against the video box that
  overlaps it most: centre distance in face heights (median, 95th percentile)
  and mean vertical offset in pixels (negative: the cover sits above the face),
  for boxes detected in that frame and for boxes the tracker placed (gaps
  filled, padding).

Clips: the two shared clips as they are, both scaled to 1080p, and a 1080p
"street" clip made of four copies of the MOT20 crowd at its own size (faces
of 7-16 px in a 1652x1080 frame, as a wide street camera sees them).

    python -m bench.align [--data ../shared/data] [--every 3] [--clip NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.evaluate import video_against_photo
from bench.video import mosaic, upscale
from unseen.pipeline import Anonymizer
from unseen.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def fmt_share(pair: list[int]) -> str:
    done, total = pair
    return f"{done / total:.3f} ({done}/{total})" if total else "-"


def fmt_offsets(pairs: list[tuple[float, float, float]]) -> str:
    """Median and 95th percentile of the centre distance in face heights, and the
    mean vertical offset in pixels."""
    if not pairs:
        return "-"
    a = np.array(pairs)
    dist = np.hypot(a[:, 0], a[:, 1]) / a[:, 2]
    return (f"{np.median(dist):.2f} / {np.percentile(dist, 95):.2f} / "
            f"{a[:, 1].mean():+.1f} px (n={len(a)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--every", type=int, default=3, help="reference on every Nth frame")
    ap.add_argument("--clip", action="append", default=[],
                    help="only clips whose label contains NAME (repeatable)")
    a = ap.parse_args()
    video_dir = a.data / "video"
    if not video_dir.is_dir():
        sys.exit(f"no test data at {video_dir}")
    ham = video_dir / "short_hamilton_clip.mp4"
    mot = video_dir / "MOT20-05-raw_even_shorter.mp4"
    engine = Anonymizer(Settings())
    with tempfile.TemporaryDirectory(prefix="unseen-bench-align-") as tmp:
        work = Path(tmp)
        makers = [
            ("hamilton", lambda: ham),
            ("MOT20", lambda: mot),
            ("hamilton 1080p", lambda: upscale(ham, work / "ham1080.mp4", 1920, 1080)),
            ("MOT20 1080p", lambda: upscale(mot, work / "mot1080.mp4", 1652, 1080)),
            ("street 1080p (MOT20 2x2)", lambda: mosaic(mot, work / "street1080.mp4")),
        ]
        rows = []
        for label, make in makers:
            if a.clip and not any(n in label for n in a.clip):
                continue
            rows.append((label, video_against_photo(engine, make(), work, a.every)))
            print(f"done {label}", file=sys.stderr, flush=True)
    print()
    print("| clip | size | photo path itself | faces < 16 px | 16-32 px | >= 32 px "
          "| crowd candidates | photo cover kept | offset, detected boxes: median / p95 / mean dy "
          "| offset, tracked boxes: median / p95 / mean dy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        faces = r["faces"]
        kept = r["kept"]
        print(f"| {label} | {r['size']} | {fmt_share(r['itself'])} | {fmt_share(faces['<16'])} "
              f"| {fmt_share(faces['16-32'])} | {fmt_share(faces['>=32'])} "
              f"| {fmt_share(r['crowd'])} | {kept[0] / max(kept[1], 1):.3f} "
              f"| {fmt_offsets(r['offsets']['detected'])} "
              f"| {fmt_offsets(r['offsets']['tracked'])} |")
    print(f"\nReference every {a.every} frames: the photo path on the input frame. Covered: "
          "at least 90 % of the face (the ellipse in its box) inside the video's first-pass "
          "cover. Offsets: centre distance in face heights, mean dy in pixels.")


if __name__ == "__main__":
    main()
