"""A contact sheet of the photos where unseen changes the most image per face:
to look at by eye what the covers hide beyond the faces.

    python -m bench.contact_sheet /tmp/sheet.png [--data ../shared/data]
                                  [--sets faces,masked] [--count 20] [--limit N]

Every photo of the sets (lossless PNG copies, default settings, verification
and its repairs included, as bench/photos.py runs them) is anonymized; the
``--count`` photos with the largest area changed per ground-truth face area
are drawn in a grid: the picture with the changed pixels tinted red (so what
they hide stays visible), the ground-truth faces in green, and a caption
(set, file, changed area / face area, share of the image changed, faces).
The sheet holds pixels of the test photos: it is written outside the
repository only.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.photos import load_set

ROOT = Path(__file__).resolve().parents[1]

TILE = 360
CAPTION = 30


@dataclass
class Shown:
    """One anonymized photo and how much it changed."""

    which: str
    rel: str
    pixels: np.ndarray
    changed: np.ndarray
    boxes: list[list[float]]

    @property
    def per_face(self) -> float:
        face = sum(b[2] * b[3] for b in self.boxes)
        return float(self.changed.sum()) / max(face, 1.0)


def anonymized(data: Path, sets: list[str], limit: int) -> list[Shown]:
    from unseen.pipeline import Anonymizer

    engine = Anonymizer()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for which in sets:
            for i, it in enumerate(load_set(data, which, limit)):
                src, dest = Path(tmp, f"{which}{i}.png"), Path(tmp, f"{which}{i}-out.png")
                Image.fromarray(it.pixels).save(src)
                r = engine.file(src, dest)
                if r.status != "written":
                    print(f"{it.rel}: {r.status} {r.error}")
                    continue
                result = np.asarray(Image.open(dest).convert("RGB"))
                out.append(Shown(which, it.rel, it.pixels, (result != it.pixels).any(axis=2),
                                 it.boxes))
                print(f"{which} {it.rel}: {out[-1].per_face:.1f}x", flush=True)
    return out


def tile(s: Shown) -> Image.Image:
    w = s.changed.shape[1]
    tinted = s.pixels.astype(np.float32)
    tinted[s.changed] = 0.35 * tinted[s.changed] + 0.65 * np.array([255.0, 0.0, 0.0])
    im = Image.fromarray(tinted.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for x, y, bw, bh in s.boxes:
        draw.rectangle([x, y, x + bw, y + bh], outline=(0, 255, 0), width=max(1, w // 400))
    im.thumbnail((TILE, TILE - CAPTION))
    out = Image.new("RGB", (TILE, TILE), (255, 255, 255))
    out.paste(im, ((TILE - im.width) // 2, 0))
    caption = (f"{s.which} {Path(s.rel).name[:34]}\n{s.per_face:.1f}x faces, "
               f"{100 * s.changed.mean():.1f} % of image, {len(s.boxes)} faces")
    ImageDraw.Draw(out).multiline_text((4, TILE - CAPTION + 1), caption, fill=(0, 0, 0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the PNG to write (outside the repository)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sets", default="faces,masked")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    if a.out.resolve().is_relative_to(ROOT):
        raise SystemExit("the sheet shows test photos: write it outside the repository")
    sets = [s for s in a.sets.split(",") if s != "noperson"]
    shown = sorted(anonymized(a.data, sets, a.limit), key=lambda s: -s.per_face)[: a.count]
    cols = 5
    sheet = Image.new("RGB", (cols * TILE, -(-len(shown) // cols) * TILE), (255, 255, 255))
    for k, s in enumerate(shown):
        sheet.paste(tile(s), ((k % cols) * TILE, (k // cols) * TILE))
    sheet.save(a.out)
    print(f"wrote {a.out}: " + ", ".join(f"{Path(s.rel).name} {s.per_face:.1f}x" for s in shown))


if __name__ == "__main__":
    main()
