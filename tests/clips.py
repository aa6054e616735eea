"""Clips the tests make: generated ones (a white square over a gradient, with the
tags, streams and timestamps a test needs) and cuts of the real clips in
../shared/data/video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GPS_TEXT = "GPS 52.5200N 13.4050E"
SECRET_TAGS = {"title": "march on the square", "artist": "Jane Doe",
               "comment": "iPhone 15 Pro serial F2LXK", "location": "+52.5200+013.4050/",
               "creation_time": "2024-05-01T12:00:00.000000Z"}
ALLOWED_CONTAINER_TAGS = {"major_brand", "minor_version", "compatible_brands"}
ALLOWED_STREAM_TAGS = {"language", "handler_name", "vendor_id"}


def make_clip(
    path: Path,
    pts_ms: list[int],
    size: tuple[int, int] = (160, 96),
    fmt: str | None = None,
    audio: bool = False,
    subtitle: bool = False,
    data: bool = False,
    tags: bool = True,
) -> Path:
    """A clip with one white square moving over a gradient, at the given timestamps (ms)."""
    w, h = size
    with av.open(str(path), "w", format=fmt) as c:
        if tags:
            c.metadata.update(SECRET_TAGS)
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.time_base = Fraction(1, 1000)
        v.codec_context.time_base = Fraction(1, 1000)
        if tags:
            v.metadata.update({"title": "cam serial 1234", "comment": GPS_TEXT})
        a = c.add_stream("aac", rate=48000) if audio else None
        s = c.add_mux_stream("subrip") if subtitle else None
        d = c.add_data_stream("bin_data") if data else None
        grad = np.tile(np.linspace(0, 200, w, dtype=np.uint8), (h, 1))
        for i, t in enumerate(pts_ms):
            img = np.stack([grad, np.roll(grad, i, axis=1), grad], axis=2)
            img[4:20, 4 + i % (w - 24):20 + i % (w - 24)] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        end = pts_ms[-1] + 33
        if a is not None:
            samples = 1024
            for k in range(0, end * 48, samples):
                af = av.AudioFrame.from_ndarray(
                    (np.sin(np.arange(samples) / 9.0)[None, :] * 0.3).astype(np.float32),
                    format="fltp", layout="mono",
                )
                af.sample_rate, af.pts, af.time_base = 48000, k, Fraction(1, 48000)
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
        for extra in (s, d):
            if extra is not None:
                pkt = av.Packet(GPS_TEXT.encode())
                pkt.stream, pkt.pts, pkt.dts, pkt.duration = extra, 0, 0, end
                pkt.time_base = Fraction(1, 1000)
                c.mux(pkt)
    return path


def trimmed_clip(src: Path, dest: Path, frames: int, key_every: int | None = None) -> Path:
    """The first ``frames`` frames of a real clip, re-encoded with no audio;
    ``key_every``: a key frame every this many frames (so scrubbing seeks)."""
    from unseen.media.video import read_frames

    with av.open(str(dest), "w") as c:
        v = c.add_stream("libx264", rate=30)
        if key_every:
            v.options = {"g": str(key_every), "sc_threshold": "0"}
        for i, vf in enumerate(read_frames(src, limit=frames)):
            img = vf.rgb()
            if i == 0:
                v.width, v.height, v.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return dest
