"""TIFF, WebP, BMP and HEIC/HEIF: read with Pillow and pillow-heif.

These formats keep metadata in places that are unsafe to edit by hand
(TIFF IFD chains, HEIF item boxes), so removal re-encodes from pixels.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from unseen.errors import CorruptMediaError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.atomic import atomic_output
from unseen.media.image import HEIF_AVAILABLE, encode_photo, read_photo
from unseen.metadata.base import CleanResult, MetadataFinding, MetadataFormat, summarize
from unseen.metadata.fields import (
    block_findings,
    exif_bytes_findings,
    exif_findings,
    icc_findings,
    xmp_findings,
)

LOSSY = {"WEBP", "HEIF"}


def _open(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(path)
    except UnidentifiedImageError as exc:
        raise CorruptMediaError(N_("not an image, or damaged beyond reading")) from exc
    except (OSError, Image.DecompressionBombError) as exc:
        raise CorruptMediaError(N_("cannot be read: {reason}").format(reason=exc)) from exc


class PillowImageFormat(MetadataFormat):
    """Any other still image Pillow opens; removal re-encodes from pixels."""

    name = "image"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return media_kind(path) in ("photo", "gif")

    def find(self, path: Path) -> list[MetadataFinding]:
        with _open(path) as im:
            fmt = im.format or "?"
            out: list[MetadataFinding] = []
            if fmt == "HEIF":
                out.extend(_heif_findings(path))
            elif fmt == "TIFF":
                out.extend(exif_findings(im.getexif(), "TIFF IFD0"))
            elif "exif" in im.info:
                out.extend(exif_bytes_findings(im.info["exif"], f"{fmt} EXIF"))
            if fmt == "TIFF":
                tags = getattr(im, "tag_v2", {})
                if 0x8773 in tags and not any(f.name == "ICC profile" for f in out):
                    out.extend(block_findings("ICC profile", tags[0x8773], "TIFF tag 34675"))
            else:
                if im.info.get("xmp"):
                    out.extend(xmp_findings(im.info["xmp"], f"{fmt} XMP"))
                if im.info.get("icc_profile"):
                    out.extend(icc_findings(im.info["icc_profile"], f"{fmt} ICC profile"))
            if im.info.get("comment"):
                out.append(MetadataFinding("other", "Comment", fmt, summarize(im.info["comment"])))
            frames = getattr(im, "n_frames", 1)
            if frames > 1 and fmt != "HEIF":
                out.append(MetadataFinding("hidden-image", "more images", fmt,
                                           f"{frames - 1} more page(s)/frame(s)"))
        return out

    def remove(self, src: Path, dest: Path) -> CleanResult:
        kind = media_kind(src)
        if kind == "gif":
            raise UnsupportedFormatError(N_("GIF images are not supported yet"))
        removed = self.find(src)
        photo = read_photo(src)
        data = encode_photo(photo)
        with atomic_output(dest) as tmp:
            tmp.write_bytes(data)
        note = f"re-encoded from pixels ({photo.format}"
        note += ", lossy at high quality)" if photo.format in LOSSY else ", lossless)"
        return CleanResult(str(src), str(dest), "re-encoded", removed,
                           [note + "; no lossless way to strip this format safely"])


def _heif_findings(path: Path) -> list[MetadataFinding]:
    if not HEIF_AVAILABLE:  # pragma: no cover
        raise UnsupportedFormatError(N_("HEIC/HEIF support (pillow-heif) is not installed"))
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise CorruptMediaError(N_("cannot be read as HEIF: {reason}").format(
            reason=exc)) from exc
    out: list[MetadataFinding] = []
    if len(heif) > 1:
        out.append(MetadataFinding("hidden-image", "more top-level images", "HEIF",
                                   f"{len(heif) - 1} more image(s) (bursts, stereo pairs)"))
    for k, img in enumerate(heif):
        where = f"HEIF image {k}"
        info: dict[str, Any] = dict(img.info)
        if info.get("exif"):
            out.extend(exif_bytes_findings(info["exif"], f"{where} EXIF"))
        if info.get("xmp"):
            out.extend(xmp_findings(info["xmp"], f"{where} XMP"))
        if info.get("icc_profile") and info.get("icc_profile_type") != "nclx":
            out.extend(icc_findings(info["icc_profile"], f"{where} ICC profile"))
        for meta in info.get("metadata") or []:
            mtype = meta.get("type", "?") if isinstance(meta, dict) else "?"
            data = meta.get("data", b"") if isinstance(meta, dict) else b""
            if mtype == "iptc":
                out.extend(block_findings("IPTC", data, f"{where} IPTC"))
            else:
                out.append(MetadataFinding("other", f"metadata item ({mtype})", where,
                                           f"<{len(data)} bytes>"))
        if info.get("thumbnails"):
            out.append(MetadataFinding("hidden-image", "HEIF thumbnail", where,
                                       f"{len(info['thumbnails'])} thumbnail(s)"))
        if info.get("depth_images"):
            out.append(MetadataFinding("hidden-image", "depth map", where,
                                       f"{len(info['depth_images'])} depth image(s)"))
        if info.get("aux"):
            out.append(MetadataFinding("hidden-image", "auxiliary images", where,
                                       summarize(", ".join(info["aux"]))))
    return out
