"""Videos and other containers, read with PyAV; MP4/MOV boxes walked by hand.

Findings: container and stream tags, chapters, data/subtitle/attachment
streams (GoPro GPMF telemetry, drone GPS subtitles, cover art) and vendor
boxes FFmpeg does not expose. Removal remuxes MP4/MOV/MKV/WebM keeping only
audio and video streams, with no tags; other containers are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

import av

from unseen.errors import CorruptMediaError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.atomic import atomic_output
from unseen.metadata.base import Category, CleanResult, MetadataFinding, MetadataFormat, summarize

# Tags that describe the file's structure, not its origin.
STRUCTURAL_KEYS = {
    "major_brand", "minor_version", "compatible_brands", "language", "vendor_id",
    "duration", "rotate", "doctype", "doctypeversion", "doctypereadversion",
}
DEFAULT_HANDLERS = {"VideoHandler", "SoundHandler", "DataHandler", "SubtitleHandler", ""}
_KEY_CATEGORIES: list[tuple[Category, str]] = [
    ("location", r"location|xyz|gps|iso6709|latitude|longitude|place"),
    ("time", r"creation_time|date|time|timecode|year"),
    ("device", r"make|model|serial|firmware|handler|lens|camera|device|vendor"),
    ("person", r"artist|author|copyright|owner|composer|performer|publisher|album_artist|by"),
    ("software", r"encoder|software|tool|writing|muxing|application"),
]
_COORD = re.compile(r"[-+]?\d{1,3}\.\d{3,}[^\d]{1,8}[-+]?\d{1,3}\.\d{3,}|GPS|latitude", re.I)
CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex"}
GOPRO_UDTA = {b"FIRM", b"LENS", b"CAME", b"SETT", b"MUID", b"HMMT", b"BCID", b"GUMI", b"GPMF"}
REMUX_FORMATS = {"mp4": "mp4", "mov": "mov", "matroska": "matroska", "webm": "webm"}


def _key_category(key: str) -> Category:
    k = key.lower()
    for cat, pattern in _KEY_CATEGORIES:
        if re.search(pattern, k):
            return cat
    return "other"


def tag_findings(tags: dict[str, str], where: str) -> list[MetadataFinding]:
    out = []
    for key, value in tags.items():
        v = str(value).strip("\x00\x0b ")
        if key.lower() in STRUCTURAL_KEYS:
            continue
        if key == "handler_name" and v in DEFAULT_HANDLERS:
            continue
        if key.lower() == "encoder" and v == "Lavf":
            # Matroska's mandatory MuxingApp/WritingApp as bitexact FFmpeg
            # writes them: no version, no person or device.
            continue
        out.append(MetadataFinding(_key_category(key), key, where, summarize(v)))
    return out


# MP4/MOV boxes ---------------------------------------------------------------------
def _boxes(f: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes between ``start`` and ``end``."""
    out = []
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(16)
        size, btype = int.from_bytes(head[:4], "big"), head[4:8]
        hdr = 8
        if size == 1:
            size, hdr = int.from_bytes(head[8:16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < hdr or pos + size > end:
            break
        out.append((btype, pos + hdr, pos + size))
        pos += size
    return out


def iso_box_findings(path: Path) -> tuple[list[MetadataFinding], list[bytes]]:
    """Vendor boxes FFmpeg does not show, and each track's sample-entry type."""
    out: list[MetadataFinding] = []
    codecs: list[bytes] = []
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()

        def walk(start: int, end: int, where: str) -> None:
            for btype, s, e in _boxes(f, start, end):
                name = btype.decode("latin-1")
                here = f"{where}/{name}" if where else name
                if btype in CONTAINER_BOXES:
                    walk(s, e, here)
                elif btype == b"stsd":
                    f.seek(s + 8)
                    entry = f.read(8)
                    codecs.append(entry[4:8])
                elif btype == b"udta":
                    for ctype, cs, ce in _boxes(f, s, e):
                        cname = ctype.decode("latin-1")
                        if ctype[:1] == b"\xa9" or ctype == b"meta":
                            continue  # exposed by FFmpeg as tags
                        cat: Category = "device" if ctype in GOPRO_UDTA else "other"
                        if ctype in (b"loci", b"xyz "):
                            cat = "location"
                        out.append(MetadataFinding(cat, f"{cname} box", f"{here}/{cname}",
                                                   f"<{ce - cs} bytes>"))
                elif btype == b"uuid":
                    out.append(MetadataFinding("other", "uuid box", here, f"<{e - s} bytes>"))
                elif btype == b"meta" and where == "moov":
                    pass  # FFmpeg reads its keys/ilst into tags
                elif where == "" and btype not in (b"ftyp", b"mdat", b"free", b"skip", b"wide",
                                                    b"pdin", b"moof", b"mfra", b"sidx", b"styp"):
                    out.append(MetadataFinding("other", f"{name} box", name, f"<{e - s} bytes>"))

        walk(0, size, "")
    return out, codecs


class ContainerFormat(MetadataFormat):
    """Videos (and audio) in any container FFmpeg reads."""

    name = "video"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return media_kind(path) == "video"

    def find(self, path: Path) -> list[MetadataFinding]:
        try:
            container = av.open(str(path))
        except (av.error.FFmpegError, OSError) as exc:
            raise CorruptMediaError(N_("cannot be read as video: {reason}").format(
                reason=exc)) from exc
        out: list[MetadataFinding] = []
        codecs: list[bytes] = []
        with container:
            if _is_iso(path):
                boxes, codecs = iso_box_findings(path)
                out.extend(boxes)
            out[:0] = tag_findings(dict(container.metadata), "container tags")
            for ch in container.chapters():
                title = ch.get("metadata", {}).get("title", "") if isinstance(ch, dict) else ""
                out.append(MetadataFinding("other", "chapter", "chapters", summarize(title)))
            for s in container.streams:
                out.extend(_stream_findings(container, s, codecs))
        return out

    def remove(self, src: Path, dest: Path) -> CleanResult:
        fmt = _remux_format(src)
        removed = self.find(src)
        try:
            inp = av.open(str(src))
        except (av.error.FFmpegError, OSError) as exc:
            raise CorruptMediaError(N_("cannot be read as video: {reason}").format(
                reason=exc)) from exc
        with inp, atomic_output(dest) as tmp:
            keep = [s for s in inp.streams
                    if s.type in ("video", "audio") and not _attached_pic(s)]
            if not keep:
                raise UnsupportedFormatError(N_("has no audio or video stream to keep"))
            dropped = len(inp.streams) - len(keep)
            options = {"fflags": "+bitexact"}
            if fmt in ("mp4", "mov"):
                options["movflags"] = "+faststart"
            out = av.open(str(tmp), "w", format=fmt, container_options=options)
            with out:
                mapping = {}
                for s in keep:
                    o = out.add_stream_from_template(s)
                    o.metadata.clear()
                    mapping[s.index] = o
                for packet in inp.demux(keep):
                    if packet.dts is None and packet.pts is None:
                        continue  # flush packets
                    packet.stream = mapping[packet.stream.index]
                    out.mux(packet)
            if fmt in ("mp4", "mov"):
                _blank_udta(tmp)
        notes = ["remuxed without re-encoding; all container and stream tags dropped"]
        if dropped:
            notes.append(N_("{n} data/subtitle/attachment stream(s) dropped").format(
                n=dropped))
        return CleanResult(str(src), str(dest), "remux", removed, notes)


def _blank_udta(path: Path) -> None:
    """FFmpeg always writes an empty moov/udta/meta (handler 'mdir', vendor 'appl').
    Turn it into a zeroed 'free' box of the same size: no offset moves."""
    with open(path, "r+b") as f:
        f.seek(0, 2)
        for btype, s, e in _boxes(f, 0, f.tell()):
            if btype != b"moov":
                continue
            for ctype, cs, ce in _boxes(f, s, e):
                if ctype == b"udta":
                    f.seek(cs - 4)
                    f.write(b"free" + bytes(ce - cs))


def _is_iso(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(12)[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def _attached_pic(s: av.stream.Stream) -> bool:
    return bool(int(s.disposition) & 0x400)  # AV_DISPOSITION_ATTACHED_PIC


def _remux_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(64)
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head else "matroska"
    if _is_iso(path):
        return "mov"
    raise UnsupportedFormatError(
        N_("cleaning this video container is not supported yet (MP4, MOV, MKV and WebM are); "
        "convert it to MP4 first")
    )


def _stream_findings(
    container: av.container.InputContainer, s: av.stream.Stream, codecs: list[bytes]
) -> list[MetadataFinding]:
    where = f"stream {s.index} ({s.type})"
    out = tag_findings(dict(s.metadata), where)
    tag = codecs[s.index].decode("latin-1") if s.index < len(codecs) else ""
    handler = str(s.metadata.get("handler_name", "")).strip("\x00\x0b ")
    if s.type in ("video", "audio"):
        if _attached_pic(s):
            out.append(MetadataFinding("hidden-image", "cover art / attached picture", where, ""))
        return out
    if s.type == "data":
        if tag == "gpmd" or "MET" in handler:
            out.append(MetadataFinding("location", "GoPro GPMF telemetry", where,
                                       "GPS track, camera serial and sensor data per frame"))
        elif tag == "tmcd":
            out.append(MetadataFinding("time", "timecode track", where, "time of day"))
        elif tag == "camm":
            out.append(MetadataFinding("location", "camera motion metadata", where, "GPS/IMU"))
        else:
            out.append(MetadataFinding("other", "data stream", where,
                                       summarize(tag or handler or "unknown data")))
    elif s.type == "subtitle":
        text = _peek_text(container, s)
        cat: Category = "location" if _COORD.search(text) else "other"
        out.append(MetadataFinding(cat, "subtitle stream", where,
                                   summarize(text) or "subtitle text (drones write GPS here)"))
    elif s.type == "attachment":
        out.append(MetadataFinding("hidden-image", "attachment", where,
                                   summarize(s.metadata.get("filename", ""))))
    else:
        out.append(MetadataFinding("other", f"{s.type} stream", where, ""))
    return out


def _peek_text(container: av.container.InputContainer, s: av.stream.Stream) -> str:
    """The first few subtitle packets as text (raw bytes, good enough to see GPS)."""
    chunks: list[str] = []
    try:
        for k, packet in enumerate(container.demux(s)):
            if k >= 5:
                break
            chunks.append(bytes(packet).decode("utf-8", "replace"))
        container.seek(0)
    except (av.error.FFmpegError, ValueError):
        pass
    return " ".join(chunks)
