"""Hostile input: mutated photos, metadata and videos never crash or hang.

Hypothesis mutates small valid files made here (bit flips, overwritten runs,
truncation, garbage appended). Each reader must either succeed or raise an
`UnseenError` with a message; any other exception is a bug. Budgets are
bounded so the whole file runs in about a minute.
"""

from __future__ import annotations

import io
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from unseen.errors import UnseenError
from unseen.media.image import read_photo


def seed_images() -> dict[str, bytes]:
    y, x = np.mgrid[0:24, 0:32]
    pixels = np.stack([x * 8, y * 10, (x + y) * 4], axis=2).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "Cam"
    exif.get_ifd(0x8825)[2] = (1.0, 2.0, 3.0)
    seeds = {}
    for fmt in ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF"):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, fmt, exif=exif.tobytes())
        seeds[fmt] = buf.getvalue()
    return seeds


SEEDS = seed_images()


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "run", "cut", "append", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "run":
            data[pos : pos + 4] = draw(st.binary(min_size=4, max_size=4))
        elif op == "cut":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(max_size=64))
        elif op == "dup":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 64))]
    return bytes(data)


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _write(data: bytes, suffix: str) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
        f.write(data)
    return Path(f.name)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_image_decoding_survives_mutation(fmt: str) -> None:
    @FUZZ
    @given(mutated(SEEDS[fmt]))
    def check(data: bytes) -> None:
        path = _write(data, ".img")
        try:
            read_photo(path, max_megapixels=50)
        except UnseenError as exc:
            assert str(exc)
        finally:
            path.unlink()

    check()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "HEIF"])
def test_metadata_inspector_survives_mutation(fmt: str) -> None:
    from unseen.metadata import inspect

    @FUZZ
    @given(mutated(SEEDS[fmt]))
    def check(data: bytes) -> None:
        path = _write(data, ".img")
        try:
            findings = inspect(path)
            assert isinstance(findings, list)
        except UnseenError as exc:
            assert str(exc)
        finally:
            path.unlink()

    check()


def seed_video() -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), "rgb24")
            frame.pts = i
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return buf.getvalue()


def test_video_path_survives_mutation(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole pipeline on damaged MP4s: a result, never an exception."""
    seed = seed_video()

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(mutated(seed))
    def check(data: bytes) -> None:
        src = tmp_path / "in.mp4"
        src.write_bytes(data)
        dest = tmp_path / "out" / "in.mp4"
        result = engine.file(src, dest)
        assert result.status in ("written", "failed", "unsafe")
        if result.status == "failed":
            assert result.error and "\n" not in result.error
            assert not dest.exists()
        dest.unlink(missing_ok=True)
        leftovers = [p for p in (tmp_path / "out").glob("*") if p.name.endswith(".part")]
        assert leftovers == []

    check()


def test_bombs_are_refused_before_allocation(tmp_path: Path) -> None:
    """A TIFF declaring 100,000 x 100,000 pixels over a few bytes of data."""
    import struct

    entries = [
        (256, 4, 1, 100_000),
        (257, 4, 1, 100_000),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, 100_000),
        (279, 4, 1, 16),
    ]
    ifd = (
        struct.pack("<H", len(entries))
        + b"".join(
            struct.pack("<HHII", tag, typ, n, val)
            if typ == 4
            else struct.pack("<HHIHH", tag, typ, n, val, 0)
            for tag, typ, n, val in entries
        )
        + b"\x00\x00\x00\x00"
    )
    data = b"II*\x00" + struct.pack("<I", 24) + b"\x00" * 16 + ifd
    bomb = tmp_path / "bomb.tif"
    bomb.write_bytes(data)
    with pytest.raises(UnseenError, match=r"(?i)huge|limit|large"):
        read_photo(bomb)
