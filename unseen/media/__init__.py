"""Reading and writing media: photos (Pillow), video and audio (PyAV).

`media_kind` decides what a file is from its first bytes, falling back to
its name only for formats that cannot be sniffed. Writing never copies
metadata: outputs are made from pixels (and samples) alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

MediaKind = Literal["photo", "video", "raw", "gif", "unknown"]

PHOTO_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".webp",
    ".tif",
    ".tiff",
    ".bmp",
    ".heic",
    ".heif",
    ".hif",
    ".avif",
}
VIDEO_SUFFIXES = {
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mts",
    ".m2ts",
    ".3gp",
    ".wmv",
    ".flv",
    ".mpg",
    ".mpeg",
    ".ts",
}
RAW_STREAM_SUFFIXES = {".h264", ".264", ".h265", ".265", ".hevc"}
"""Raw H.264/H.265 elementary streams, no container (CCTV exports): written as MP4."""
VIDEO_SUFFIXES |= RAW_STREAM_SUFFIXES
RAW_SUFFIXES = {
    ".cr2",
    ".cr3",
    ".crw",
    ".nef",
    ".nrw",
    ".arw",
    ".srf",
    ".sr2",
    ".dng",
    ".orf",
    ".rw2",
    ".raf",
    ".pef",
    ".srw",
    ".x3f",
    ".raw",
    ".3fr",
    ".erf",
    ".kdc",
    ".mrw",
    ".mos",
    ".iiq",
    ".rwl",
    ".r3d",
}
GIF_SUFFIXES = {".gif"}
MEDIA_SUFFIXES = PHOTO_SUFFIXES | VIDEO_SUFFIXES | RAW_SUFFIXES | GIF_SUFFIXES

_RAW_MAGIC = (b"FUJIFILMCCD-RAW", b"IIRO", b"IIU\x00", b"MMOR", b"FOVb")
_ISO_BRANDS_PHOTO = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


def media_kind(path: Path) -> MediaKind:
    """What ``path`` holds, by content first and by name second."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        head = b""
    suffix = path.suffix.lower()
    if head.startswith(b"GIF8"):
        return "gif"
    if any(head.startswith(m) for m in _RAW_MAGIC) or head[4:12] == b"ftypcrx ":
        return "raw"
    if head[4:8] == b"ftyp":
        return "photo" if head[8:12] in _ISO_BRANDS_PHOTO else "video"
    if suffix in RAW_SUFFIXES:
        # DNG, NEF, CR2 ... are TIFF inside: Pillow would open their small
        # embedded preview and call it the photo.
        return "raw"
    if head.startswith((b"\x1a\x45\xdf\xa3", b"RIFF")) and head[8:12] != b"WEBP":
        return "video"  # Matroska/WebM, AVI
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if (
        suffix in PHOTO_SUFFIXES
        or head[:3] == b"\xff\xd8\xff"
        or head.startswith((b"\x89PNG", b"II*\x00", b"MM\x00*", b"BM"))
        or head[8:12] == b"WEBP"
    ):
        return "photo"
    if suffix in GIF_SUFFIXES:
        return "gif"
    return "unknown"
