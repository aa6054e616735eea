"""Make the demo sample: public-domain pictures that ship inside scikit-image
(installed with `deface`), with planted GPS, camera and thumbnail metadata so
the demo shows both faces and metadata being removed.

    python scripts/make_sample.py sample/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def planted_exif() -> bytes:
    """EXIF like a phone writes: GPS, make/model, time, owner, software."""
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"  # Make
    exif[0x0110] = "DemoPhone 12 Pro"  # Model
    exif[0x0132] = "2026:11:20 14:03:11"  # DateTime
    exif[0x013B] = "Jane Demo"  # Artist
    exif[0x0131] = "DemoCam 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.5)
    gps[3], gps[4] = "E", (13.0, 24.0, 3.1)
    return exif.tobytes()


def main(out: Path) -> None:
    from skimage import data

    out.mkdir(parents=True, exist_ok=True)
    astronaut = Image.fromarray(data.astronaut())
    astronaut.save(out / "astronaut.jpg", "JPEG", quality=92, exif=planted_exif())

    # A crowd: small grey LFW faces (bundled with scikit-image) at several
    # sizes on a textured background, the way faces appear in protest photos.
    faces = np.load(Path(data.__file__).parent / "lfw_subset.npy")[:100]
    rng = np.random.default_rng(7)
    canvas = rng.normal(120, 25, (720, 1280, 3)).clip(0, 255).astype(np.uint8)
    crowd = Image.fromarray(canvas).filter(ImageFilter.GaussianBlur(6))
    sizes = [96, 80, 64, 48, 40, 32, 28, 24]
    for i in range(32):
        size = sizes[(i + i // 8) % len(sizes)]
        face = Image.fromarray((faces[i % len(faces)] * 255).astype(np.uint8)).convert("RGB")
        face = face.resize((size, size), Image.Resampling.BICUBIC)
        cx, cy = 80 + (i % 8) * 160, 90 + (i // 8) * 180
        crowd.paste(face, (cx - size // 2, cy - size // 2))
    crowd.save(out / "crowd.png")
    pan_video(astronaut, out / "pan.mp4")
    print(
        f"sample written to {out}/: astronaut.jpg (with GPS, camera and owner EXIF), "
        "crowd.png, pan.mp4 (a 3 s camera pan with a location tag and a sound track)"
    )


def pan_video(picture: Image.Image, path: Path) -> None:
    """A short clip: the camera pans and zooms over ``picture``; the container
    carries a location tag and there is a sound track, as phone videos do."""
    from fractions import Fraction

    import av

    big = np.asarray(picture.resize((900, 900)))
    with av.open(str(path), "w", format="mp4") as box:
        box.metadata["location"] = "+52.5200+013.4050/"
        box.metadata["make"] = "DemoPhone"
        video = box.add_stream("libx264", rate=Fraction(25))
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        audio = box.add_stream("aac", rate=16000)
        for i in range(75):
            x, y = 10 + i * 3, 120 + i
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(big[y : y + 360, x : x + 640]), "rgb24"
            )
            frame.pts = i
            for packet in video.encode(frame):
                box.mux(packet)
        tone = (np.sin(np.arange(16000 * 3) * 2 * np.pi * 440 / 16000) * 0.2).astype(np.float32)
        for k in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(
                tone[None, k : k + 1024], format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = 16000, k
            for packet in audio.encode(chunk):
                box.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                box.mux(packet)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "sample"))
