"""JPEG: segments parsed by hand, so nothing hides from Pillow's view.

Finding reads every APPn/COM segment (EXIF, XMP, ICC, MPF, IPTC ...) and any
data after the end-of-image marker. Removal is lossless: the compressed
scans are copied byte for byte, keeping only the segments decoding needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from unseen.errors import CorruptMediaError
from unseen.i18n import N_
from unseen.media.atomic import atomic_output
from unseen.metadata.base import CleanResult, MetadataFinding, MetadataFormat, summarize
from unseen.metadata.fields import (
    exif_bytes_findings,
    icc_findings,
    photoshop_findings,
    xmp_findings,
)

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Everything a decoder needs: frame headers, tables, restart interval, scans.
DECODING_MARKERS = set(range(0xC0, 0xD0)) | {0xDB, 0xDD, 0xDA, 0xDC}
STANDALONE = set(range(0xD0, 0xD8)) | {0x01}
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_ID = b"http://ns.adobe.com/xmp/extension/\x00"


@dataclass(frozen=True)
class Segment:
    marker: int
    start: int  # offset of the 0xFF
    end: int  # offset after the segment (after the scan data for SOS)
    payload: bytes  # bytes after the length field (header only for SOS)


@dataclass(frozen=True)
class JpegLayout:
    segments: list[Segment]
    end: int  # offset after EOI

    def trailing(self, data: bytes) -> bytes:
        return data[self.end :]


def parse_jpeg(data: bytes) -> JpegLayout:
    """Split a JPEG into segments up to its first EOI; raise if it is broken."""
    if data[:2] != b"\xff\xd8":
        raise CorruptMediaError(N_("not a JPEG file"))
    n, i = len(data), 2
    segs: list[Segment] = []
    while True:
        if i >= n:
            raise CorruptMediaError(N_("truncated JPEG (no end-of-image marker)"))
        if data[i] != 0xFF:
            raise CorruptMediaError(N_("damaged JPEG (no marker at byte {offset})").format(
                offset=i))
        while i + 1 < n and data[i + 1] == 0xFF:  # fill bytes
            i += 1
        if i + 1 >= n:
            raise CorruptMediaError(N_("truncated JPEG (no end-of-image marker)"))
        marker = data[i + 1]
        if marker == EOI:
            return JpegLayout(segs, i + 2)
        if marker in STANDALONE or marker == SOI:
            segs.append(Segment(marker, i, i + 2, b""))
            i += 2
            continue
        if i + 4 > n:
            raise CorruptMediaError(N_("truncated JPEG segment"))
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > n:
            raise CorruptMediaError(N_("truncated or damaged JPEG segment"))
        payload = data[i + 4 : i + 2 + length]
        end = i + 2 + length
        if marker == SOS:
            end = _scan_end(data, end)
        segs.append(Segment(marker, i, end, payload))
        i = end


def _scan_end(data: bytes, j: int) -> int:
    """Offset of the first marker after entropy-coded data starting at ``j``."""
    n = len(data)
    while True:
        j = data.find(b"\xff", j)
        if j < 0 or j + 1 >= n:
            raise CorruptMediaError(N_("truncated JPEG (scan data runs to the end)"))
        nxt = data[j + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            j += 2
        elif nxt == 0xFF:
            j += 1
        else:
            return j


def _components(layout: JpegLayout) -> int:
    for s in layout.segments:
        if 0xC0 <= s.marker <= 0xCF and s.marker not in (0xC4, 0xC8, 0xCC) and len(s.payload) > 5:
            return s.payload[5]
    return 0


def _adobe_needed(seg: Segment, components: int) -> bytes | None:
    """A canonical APP14 Adobe segment if decoding needs its colour transform."""
    p = seg.payload
    if not p.startswith(b"Adobe") or len(p) < 12:
        return None
    transform = p[11]
    if components == 4 or (components == 3 and transform == 0):
        body = b"Adobe\x00\x64\x00\x00\x00\x00" + bytes([transform])
        return b"\xff\xee" + (len(body) + 2).to_bytes(2, "big") + body
    return None


def segment_findings(seg: Segment, index: int) -> list[MetadataFinding]:
    m, p = seg.marker, seg.payload
    where = f"APP{m - 0xE0} segment #{index}" if 0xE0 <= m <= 0xEF else f"segment #{index}"
    if m == 0xE0:
        if p.startswith(b"JFIF\x00"):
            if len(p) >= 14 and p[12] and p[13]:
                return [MetadataFinding("hidden-image", "JFIF thumbnail", where,
                                        f"{p[12]}x{p[13]} pixels")]
            return []  # density fields only
        if p.startswith(b"JFXX\x00"):
            return [MetadataFinding("hidden-image", "JFXX thumbnail", where,
                                    f"<{len(p)} bytes>")]
    if m == 0xE1:
        if p.startswith(b"Exif\x00"):
            return exif_bytes_findings(p[6:], f"{where} (EXIF)")
        if p.startswith(XMP_ID):
            return xmp_findings(p[len(XMP_ID) :], f"{where} (XMP)")
        if p.startswith(XMP_EXT_ID):
            return xmp_findings(p[len(XMP_EXT_ID) + 40 :], f"{where} (extended XMP)")
    if m == 0xE2:
        if p.startswith(b"ICC_PROFILE\x00"):
            return []  # reassembled from all chunks by the caller
        if p.startswith(b"MPF\x00"):
            count = _mpf_count(p[4:])
            return [MetadataFinding("hidden-image", "MPF secondary images", where,
                                    f"index of {count} images (previews, depth maps)")]
        if p.startswith(b"FPXR"):
            return [MetadataFinding("hidden-image", "FlashPix data", where,
                                    f"<{len(p)} bytes; may hold a preview>")]
    if m == 0xED and p.startswith(b"Photoshop 3.0\x00"):
        return photoshop_findings(p[14:], f"{where} (Photoshop/IPTC)")
    if m == 0xEE and p.startswith(b"Adobe"):
        return []  # colour transform flag, needed for decoding
    if m == 0xFE:
        return [MetadataFinding("other", "Comment", f"COM segment #{index}", summarize(p))]
    if 0xE0 <= m <= 0xEF:
        ident = p[:20].split(b"\x00")[0]
        return [MetadataFinding("other", f"APP{m - 0xE0} block", where,
                                f"{summarize(ident, 24)} <{len(p)} bytes>")]
    if m not in DECODING_MARKERS and m not in STANDALONE and m != SOI:
        return [MetadataFinding("other", f"marker 0x{m:02X}", where, f"<{len(p)} bytes>")]
    return []


def _mpf_count(p: bytes) -> int | str:
    try:
        bo: Literal["little", "big"] = "little" if p[:2] == b"II" else "big"
        ifd = int.from_bytes(p[4:8], bo)
        entries = int.from_bytes(p[ifd : ifd + 2], bo)
        for k in range(entries):
            e = p[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
            if int.from_bytes(e[:2], bo) == 0xB001:
                return int.from_bytes(e[8:12], bo)
    except (IndexError, ValueError):
        pass
    return "?"


class JpegFormat(MetadataFormat):
    name = "JPEG"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return head[:3] == b"\xff\xd8\xff"

    def find(self, path: Path) -> list[MetadataFinding]:
        data = path.read_bytes()
        layout = parse_jpeg(data)
        out: list[MetadataFinding] = []
        icc = b""
        for k, seg in enumerate(layout.segments):
            out.extend(segment_findings(seg, k))
            if seg.marker == 0xE2 and seg.payload.startswith(b"ICC_PROFILE\x00"):
                icc += seg.payload[14:]
        if icc:
            out.extend(icc_findings(icc, "APP2 ICC_PROFILE"))
        trailing = layout.trailing(data)
        if trailing.strip(b"\x00\r\n "):
            images = trailing.count(b"\xff\xd8\xff")
            what = f"{images} more JPEG image(s)" if images else "unknown data"
            out.append(MetadataFinding("hidden-image" if images else "other",
                                       "data after end of image", "after EOI",
                                       f"<{len(trailing)} bytes: {what}>"))
        return out

    def remove(self, src: Path, dest: Path) -> CleanResult:
        removed = self.find(src)
        data = src.read_bytes()
        layout = parse_jpeg(data)
        comps = _components(layout)
        parts = [b"\xff\xd8"]
        for seg in layout.segments:
            if seg.marker in DECODING_MARKERS:
                parts.append(data[seg.start : seg.end])
            elif seg.marker == 0xEE:
                adobe = _adobe_needed(seg, comps)
                if adobe:
                    parts.append(adobe)
        parts.append(b"\xff\xd9")
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"".join(parts))
        notes = [N_("JPEG segments removed; image data copied unchanged")]
        turn = _orientation(layout)
        if turn not in (0, 1):
            notes.append(N_("EXIF orientation {turn} dropped with the EXIF block: viewers "
                            "will show the picture rotated or mirrored (plain `unseen` writes "
                            "it upright)").format(turn=turn))
        return CleanResult(str(src), str(dest), "lossless", removed, notes)


def _orientation(layout: JpegLayout) -> int:
    for seg in layout.segments:
        if seg.marker == 0xE1 and seg.payload.startswith(b"Exif\x00"):
            exif = Image.Exif()
            try:
                exif.load(seg.payload[6:])
                return int(exif.get(0x0112, 1))
            except Exception:
                return 0
    return 0
