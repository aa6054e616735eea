"""PNG: chunks read by hand; text, EXIF, XMP, time and profile chunks are findings.

Removal is lossless: only the chunks needed to show the picture are copied
(header, palette, transparency, gamma/colour space, image data).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from unseen.errors import CorruptMediaError
from unseen.i18n import N_
from unseen.media.atomic import atomic_output
from unseen.metadata.base import Category, CleanResult, MetadataFinding, MetadataFormat, summarize
from unseen.metadata.fields import exif_bytes_findings, icc_findings, xmp_findings

SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"sRGB", b"cHRM"}
_TEXT_CATEGORY: dict[str, Category] = {
    "author": "person", "copyright": "person", "artist": "person", "creation time": "time",
    "date": "time", "software": "software", "source": "device", "make": "device",
    "model": "device", "location": "location", "gps": "location",
}


def parse_png(data: bytes) -> tuple[list[tuple[bytes, int, int]], int]:
    """Chunks as (type, start, end) and the offset after IEND."""
    if not data.startswith(SIGNATURE):
        raise CorruptMediaError(N_("not a PNG file"))
    i, chunks = 8, []
    while i + 12 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        ctype = data[i + 4 : i + 8]
        end = i + 12 + size
        if end > len(data):
            raise CorruptMediaError(N_("truncated PNG chunk"))
        chunks.append((ctype, i, end))
        i = end
        if ctype == b"IEND":
            return chunks, i
    raise CorruptMediaError(N_("truncated PNG (no IEND chunk)"))


def _text(ctype: bytes, body: bytes) -> tuple[str, bytes]:
    key, _, rest = body.partition(b"\x00")
    try:
        if ctype == b"zTXt":
            rest = zlib.decompress(rest[1:])
        elif ctype == b"iTXt":
            flag = rest[0]
            rest = rest[2:]
            rest = rest.split(b"\x00", 2)[-1]  # skip language and translated key
            if flag:
                rest = zlib.decompress(rest)
    except (zlib.error, IndexError):
        rest = b""
    return key.decode("latin-1"), rest


def chunk_findings(ctype: bytes, body: bytes) -> list[MetadataFinding]:
    where = f"{ctype.decode('latin-1')} chunk"
    if ctype in (b"tEXt", b"zTXt", b"iTXt"):
        key, value = _text(ctype, body)
        if key in ("XML:com.adobe.xmp",):
            return xmp_findings(value, where)
        if key.lower().startswith("raw profile type"):
            return _raw_profile(key, value, where)
        cat: Category = next((c for k, c in _TEXT_CATEGORY.items() if k in key.lower()), "other")
        return [MetadataFinding(cat, key, where, summarize(value))]
    if ctype == b"eXIf":
        return exif_bytes_findings(body, where)
    if ctype == b"tIME":
        return [MetadataFinding("time", "modification time", where,
                                f"{int.from_bytes(body[:2], 'big')}-{body[2]:02}-{body[3]:02}")]
    if ctype == b"iCCP":
        name, _, rest = body.partition(b"\x00")
        try:
            prof = zlib.decompress(rest[1:])
        except zlib.error:
            return [MetadataFinding("device", "ICC profile", where, summarize(name))]
        return icc_findings(prof, where)
    if ctype in (b"acTL", b"fcTL", b"fdAT"):
        return [MetadataFinding("hidden-image", "animation frames", where, "APNG")]
    if ctype in KEEP:
        return []
    if ctype == b"pHYs":
        return []  # pixel density: structural
    return [MetadataFinding("other", ctype.decode("latin-1"), where, f"<{len(body)} bytes>")]


def _raw_profile(key: str, value: bytes, where: str) -> list[MetadataFinding]:
    """ImageMagick's hex-encoded profiles ("Raw profile type exif/xmp/iptc/icc")."""
    kind = key[17:].lower()
    try:
        blob = bytes.fromhex("".join(value.decode("ascii").split("\n")[3:]).replace(" ", ""))
    except ValueError:
        blob = b""
    if kind in ("exif", "app1") and blob:
        return exif_bytes_findings(blob, f"{where} ({key})")
    if kind == "xmp" and blob:
        return xmp_findings(blob, f"{where} ({key})")
    if kind in ("icc", "icm") and blob:
        return icc_findings(blob, f"{where} ({key})")
    return [MetadataFinding("other", key, where, f"<{len(value)} characters of {kind} data>")]


class PngFormat(MetadataFormat):
    name = "PNG"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return head.startswith(SIGNATURE)

    def find(self, path: Path) -> list[MetadataFinding]:
        data = path.read_bytes()
        chunks, end = parse_png(data)
        out: list[MetadataFinding] = []
        seen_frames = False
        for ctype, s, e in chunks:
            found = chunk_findings(ctype, data[s + 8 : e - 4])
            if found and found[0].name == "animation frames":
                if seen_frames:
                    continue
                seen_frames = True
            out.extend(found)
        if data[end:].strip(b"\x00\r\n "):
            out.append(MetadataFinding("other", "data after end of image", "after IEND",
                                       f"<{len(data) - end} bytes>"))
        return out

    def remove(self, src: Path, dest: Path) -> CleanResult:
        removed = self.find(src)
        data = src.read_bytes()
        chunks, _ = parse_png(data)
        parts = [SIGNATURE] + [data[s:e] for ctype, s, e in chunks if ctype in KEEP]
        notes = ["PNG metadata chunks removed; image data copied unchanged"]
        if any(f.name == "animation frames" for f in removed):
            notes.append(N_("APNG animation removed: only the first frame is kept"))
        if any(c == b"iCCP" for c, _, _ in chunks):
            notes.append(N_("embedded colour profile removed: colours may shift slightly"))
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"".join(parts))
        return CleanResult(str(src), str(dest), "lossless", removed, notes)
