"""Photo reading and writing: formats, orientation, bad input, no metadata."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen.errors import CorruptMediaError, TooLargeError, UnsupportedFormatError
from unseen.media import media_kind
from unseen.media.image import Photo, read_photo, write_photo

FORMATS = [
    ("JPEG", ".jpg"),
    ("PNG", ".png"),
    ("WEBP", ".webp"),
    ("TIFF", ".tif"),
    ("BMP", ".bmp"),
    ("HEIF", ".heic"),
]

# Tags that describe the TIFF pixel layout itself, not the photo's origin.
TIFF_STRUCTURE = {256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 338, 339}


def picture() -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    return np.stack([x * 1.5, y * 2, (x + y) % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize(("fmt", "suffix"), FORMATS)
def test_same_format_out_and_no_metadata(fmt: str, suffix: str, tmp_path: Path) -> None:
    src = tmp_path / f"in{suffix}"
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)
    Image.fromarray(picture()).save(src, fmt, exif=exif.tobytes())
    photo = read_photo(src)
    assert photo.format == fmt
    dest = tmp_path / "out" / f"o{suffix}"
    write_photo(photo, dest)
    with Image.open(dest) as out:
        assert out.format == fmt
        assert out.size == (160, 120)
        tags = set(out.getexif()) - (TIFF_STRUCTURE if fmt == "TIFF" else set())
        assert not tags, f"EXIF must not survive: {tags}"
        for key in ("icc_profile", "xmp", "exif", "thumbnails", "metadata", "depth_images"):
            assert not out.info.get(key), key
    raw = dest.read_bytes()
    assert b"SpyCam" not in raw and b"Exif\x00\x00" not in raw and b"JFIF" not in raw
    assert [p.name for p in (tmp_path / "out").iterdir()] == [dest.name], "no temp file left"


def test_orientation_applied(tmp_path: Path) -> None:
    src = tmp_path / "o.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(picture()).save(src, exif=exif.tobytes())
    assert read_photo(src).pixels.shape == (160, 120, 3)


def test_alpha_is_kept(tmp_path: Path) -> None:
    rgba = np.dstack([picture(), np.full((120, 160), 77, np.uint8)])
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    photo = read_photo(src)
    assert photo.alpha is not None and int(photo.alpha[0, 0]) == 77
    write_photo(photo, tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "RGBA"


def test_truncated_jpeg_is_a_clear_error(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(picture()).save(buf, "JPEG")
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(CorruptMediaError, match=r"truncated|damaged"):
        read_photo(bad)


def test_not_an_image(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    with pytest.raises(CorruptMediaError):
        read_photo(bad)


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    """A PNG header declaring 60000x60000 pixels over a tiny body."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1000)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    with pytest.raises(TooLargeError):
        read_photo(bomb, max_megapixels=250)


def test_gif_and_raw_are_not_supported_yet(tmp_path: Path, shared_data: Path) -> None:
    gif = shared_data / "metadata" / "exiftool" / "GIF.gif"
    assert media_kind(gif) == "gif"
    for raw in ("Nikon.nef", "FujiFilm.raf", "Panasonic.rw2", "CanonRaw.crw"):
        assert media_kind(shared_data / "metadata" / "exiftool" / raw) == "raw", raw
    animated = tmp_path / "anim.webp"
    frames = [Image.fromarray(picture()), Image.fromarray(255 - picture())]
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedFormatError, match="frames"):
        read_photo(animated)


def test_heic_from_a_phone_reads_upright(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "metadata" / "exif-samples" / "heic" / "mobile" / "iphone_13_pro_max.HEIC"
    photo = read_photo(src)
    assert photo.format == "HEIF" and photo.pixels.ndim == 3
    dest = tmp_path / "p.heic"
    write_photo(Photo(photo.pixels[:64, :64].copy(), "HEIF"), dest)
    assert Image.open(dest).format == "HEIF"
