"""Interpreting the metadata blocks that many formats share: EXIF (with its
GPS, thumbnail and maker-note parts), XMP, IPTC/Photoshop resources, ICC.

Each function turns one raw block into `MetadataFinding`s; containers
(JPEG segments, PNG chunks, TIFF tags, HEIF items) only locate the blocks.
"""

from __future__ import annotations

import io
import re

from PIL import ExifTags, Image, ImageCms

from unseen.metadata.base import Category, MetadataFinding, summarize

# Tags that describe the pixel layout only. Orientation is a rotation: not identifying.
STRUCTURAL_TAGS = {
    0x00FE, 0x00FF, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0107, 0x010A, 0x0111, 0x0112,
    0x0115, 0x0116, 0x0117, 0x0118, 0x0119, 0x011A, 0x011B, 0x011C, 0x0128, 0x013D, 0x0140,
    0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0211, 0x0212, 0x0213, 0x0214,
    0x9000, 0x9101, 0xA000, 0xA001, 0xA002, 0xA003,
}
POINTER_TAGS = {0x8769, 0x8825, 0xA005, 0x014A}
TIME_TAGS = {0x0132, 0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x9290, 0x9291, 0x9292}
DEVICE_TAGS = {
    0x010F, 0x0110, 0xA431, 0xA432, 0xA433, 0xA434, 0xA435, 0xA420, 0xC614, 0xC62F, 0x927C,
    0xC612, 0xC613, 0xC615,
}
PERSON_TAGS = {0x013B, 0x8298, 0xA430, 0x9C9D, 0x9C9B, 0x9C9C, 0x9C9E, 0x9C9F}
SOFTWARE_TAGS = {0x0131, 0x000B, 0x013C}
TIFF_BLOCK_TAGS = {0x02BC: "XMP", 0x83BB: "IPTC", 0x8649: "Photoshop", 0x8773: "ICC profile"}


def _tag_name(tag: int, gps: bool = False) -> str:
    table = ExifTags.GPSTAGS if gps else ExifTags.TAGS
    return table.get(tag, f"tag 0x{tag:04X}")


def _category(tag: int) -> Category:
    if tag in TIME_TAGS:
        return "time"
    if tag in DEVICE_TAGS:
        return "device"
    if tag in PERSON_TAGS:
        return "person"
    if tag in SOFTWARE_TAGS:
        return "software"
    return "other"


def exif_findings(exif: Image.Exif, where: str) -> list[MetadataFinding]:
    """Findings in a parsed EXIF structure (IFD0, Exif, GPS, Interop, IFD1)."""
    out: list[MetadataFinding] = []
    for tag, value in list(exif.items()):
        if tag in STRUCTURAL_TAGS or tag in POINTER_TAGS:
            continue
        if tag in TIFF_BLOCK_TAGS:
            out.extend(block_findings(TIFF_BLOCK_TAGS[tag], value, where))
            continue
        out.append(MetadataFinding(_category(tag), _tag_name(tag), where, summarize(value)))
    sub = [(ExifTags.IFD.Exif, "Exif IFD"), (ExifTags.IFD.Interop, "Interop IFD")]
    for ifd, label in sub:
        try:
            items = exif.get_ifd(ifd)
        except Exception:  # a broken pointer: say it is there
            items = {}
        for tag, value in items.items():
            if tag in STRUCTURAL_TAGS or tag in POINTER_TAGS:
                continue
            if tag == 0x927C:
                out.append(MetadataFinding(
                    "device", "MakerNote", f"{where} / {label}",
                    f"<{len(value) if isinstance(value, bytes) else '?'} bytes of vendor data; "
                    "may hold serial numbers and face names>",
                ))
                continue
            out.append(MetadataFinding(
                _category(tag), _tag_name(tag), f"{where} / {label}", summarize(value)
            ))
    out.extend(_gps_findings(exif, where))
    out.extend(_ifd1_findings(exif, where))
    return out


def _gps_findings(exif: Image.Exif, where: str) -> list[MetadataFinding]:
    if ExifTags.IFD.GPSInfo not in exif:
        return []
    try:
        gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        gps = {}
    if not gps:
        return [MetadataFinding("location", "GPS IFD", f"{where} / GPS IFD",
                                "<present, unreadable>")]
    out = []
    for tag, value in gps.items():
        name = _tag_name(tag, gps=True)
        cat: Category = "time" if name in ("GPSTimeStamp", "GPSDateStamp") else "location"
        out.append(MetadataFinding(cat, name, f"{where} / GPS IFD", summarize(value)))
    lat, lon = _decimal(gps.get(2), gps.get(1)), _decimal(gps.get(4), gps.get(3))
    if lat is not None and lon is not None:
        out.insert(0, MetadataFinding(
            "location", "GPS position", f"{where} / GPS IFD", f"{lat:.5f}, {lon:.5f}"
        ))
    return out


def _decimal(dms: object, ref: object) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    v = d + m / 60 + s / 3600
    return -v if str(ref).strip("\x00 ") in ("S", "W") else v


def _ifd1_findings(exif: Image.Exif, where: str) -> list[MetadataFinding]:
    try:
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except Exception:
        ifd1 = {}
    if not ifd1:
        return []
    if 0x0201 in ifd1 or 0x0111 in ifd1:
        size = ifd1.get(0x0202) or ifd1.get(0x0117) or "?"
        return [MetadataFinding(
            "hidden-image", "EXIF thumbnail", f"{where} / IFD1",
            f"<{summarize(size)} bytes; a small copy of the original picture>",
        )]
    return [MetadataFinding("other", "IFD1", f"{where} / IFD1", f"<{len(ifd1)} tags>")]


def exif_bytes_findings(data: bytes, where: str) -> list[MetadataFinding]:
    """Findings in a raw EXIF block (with or without the ``Exif\\0\\0`` prefix)."""
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:
        return [MetadataFinding("other", "EXIF", where, f"<{len(data)} bytes, unreadable>")]
    found = exif_findings(exif, where)
    if not found:
        found = [MetadataFinding("other", "EXIF", where, f"<{len(data)} bytes>")]
    return found


# XMP ---------------------------------------------------------------------------
_XMP_KEYS: list[tuple[Category, str]] = [
    ("location", r"GPS[A-Za-z]*|Location[A-Za-z]*|City|State|Country[A-Za-z]*|Sublocation"
                 r"|ProvinceState|WorldRegion"),
    ("time", r"[A-Za-z]*Date[A-Za-z]*|DateTime[A-Za-z]*"),
    ("device", r"Make|Model|[A-Za-z]*SerialNumber|Lens[A-Za-z]*|CameraOwnerName|ImageUniqueID"
               r"|DocumentID|InstanceID|OriginalDocumentID"),
    ("person", r"creator|Artist|rights|Copyright[A-Za-z]*|Author[A-Za-z]*|Owner[A-Za-z]*"
               r"|PersonInImage[A-Za-z]*|CreatorContactInfo|Credit|Source|Name|RegionList"
               r"|Regions"),
    ("software", r"CreatorTool|Software|HistorySoftwareAgent|softwareAgent"),
]
_XMP_RE = re.compile(
    r"<?([A-Za-z0-9]+):([A-Za-z]+)(?:=\"([^\"]*)\"|>([^<]*)<)", re.S
)


def xmp_findings(data: bytes | str, where: str) -> list[MetadataFinding]:
    """The XMP packet itself, plus each property that names place, time, device or person."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else data
    out = [MetadataFinding("other", "XMP packet", where, f"<{len(text)} characters>")]
    seen: set[str] = set()
    for m in _XMP_RE.finditer(text):
        prefix, prop = m.group(1), m.group(2)
        if prefix in ("xmlns", "x", "rdf", "xml") or prop in seen:
            continue
        value = (m.group(3) if m.group(3) is not None else m.group(4) or "").strip()
        for cat, pattern in _XMP_KEYS:
            if re.fullmatch(pattern, prop):
                seen.add(prop)
                out.append(MetadataFinding(cat, f"{prefix}:{prop}", where, summarize(value)))
                break
    if "GPS" not in " ".join(f.name for f in out) and re.search(r"GPS(Latitude|Longitude)", text):
        out.append(MetadataFinding("location", "GPS (XMP)", where, ""))
    return out


# IPTC / Photoshop ----------------------------------------------------------------
_IPTC: dict[int, tuple[Category, str]] = {
    5: ("other", "ObjectName"), 25: ("other", "Keywords"), 55: ("time", "DateCreated"),
    60: ("time", "TimeCreated"), 62: ("time", "DigitalCreationDate"),
    63: ("time", "DigitalCreationTime"), 80: ("person", "By-line"),
    85: ("person", "By-lineTitle"), 90: ("location", "City"), 92: ("location", "Sub-location"),
    95: ("location", "Province-State"), 100: ("location", "Country-Code"),
    101: ("location", "Country"), 105: ("other", "Headline"), 110: ("person", "Credit"),
    115: ("person", "Source"), 116: ("person", "CopyrightNotice"),
    118: ("person", "Contact"), 120: ("other", "Caption-Abstract"),
    122: ("person", "Writer-Editor"), 65: ("software", "OriginatingProgram"),
}


def iptc_findings(data: bytes, where: str) -> list[MetadataFinding]:
    """IPTC-IIM datasets (record 2 is the one people fill in)."""
    out = [MetadataFinding("other", "IPTC block", where, f"<{len(data)} bytes>")]
    i = 0
    while i + 5 <= len(data) and data[i] == 0x1C:
        record, dataset = data[i + 1], data[i + 2]
        size = int.from_bytes(data[i + 3 : i + 5], "big")
        if size & 0x8000:  # extended length: skip the rest safely
            break
        value = data[i + 5 : i + 5 + size]
        i += 5 + size
        if record == 2 and dataset in _IPTC:
            cat, name = _IPTC[dataset]
            out.append(MetadataFinding(cat, name, where, summarize(value)))
    return out


def photoshop_findings(data: bytes, where: str) -> list[MetadataFinding]:
    """Photoshop image resources (8BIM): IPTC, thumbnails, XMP, EXIF inside."""
    out: list[MetadataFinding] = []
    i = 0
    while i + 12 <= len(data) and data[i : i + 4] == b"8BIM":
        rid = int.from_bytes(data[i + 4 : i + 6], "big")
        nlen = data[i + 6]
        j = i + 6 + ((1 + nlen + 1) // 2) * 2
        size = int.from_bytes(data[j : j + 4], "big")
        block = data[j + 4 : j + 4 + size]
        i = j + 4 + size + (size % 2)
        w = f"{where} / 8BIM 0x{rid:04X}"
        if rid == 0x0404:
            out.extend(iptc_findings(block, w))
        elif rid in (0x0409, 0x040C):
            out.append(MetadataFinding("hidden-image", "Photoshop thumbnail", w,
                                       f"<{size} bytes; a small copy of the picture>"))
        elif rid == 0x0422:
            out.extend(exif_bytes_findings(block, w))
        elif rid == 0x0424:
            out.extend(xmp_findings(block, w))
        elif rid == 0x040F:
            out.extend(icc_findings(block, w))
        else:
            out.append(MetadataFinding("other", "Photoshop resource", w, f"<{size} bytes>"))
    if not out:
        out.append(MetadataFinding("other", "Photoshop block", where, f"<{len(data)} bytes>"))
    return out


def icc_findings(data: bytes, where: str) -> list[MetadataFinding]:
    """An embedded colour profile: its description, maker and model can name a device."""
    desc = ""
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(data))
        desc = ImageCms.getProfileDescription(prof).strip()
    except Exception:
        pass
    maker = data[48:52].strip(b"\x00 ") if len(data) >= 56 else b""
    value = desc or f"<{len(data)} bytes>"
    if maker:
        value += f" (device maker {summarize(maker)})"
    return [MetadataFinding("device", "ICC profile", where, summarize(value))]


def block_findings(kind: str, value: object, where: str) -> list[MetadataFinding]:
    """Dispatch a raw block by kind (as named in `TIFF_BLOCK_TAGS`)."""
    data = _as_bytes(value)
    if kind == "XMP":
        return xmp_findings(data, where)
    if kind == "IPTC":
        return iptc_findings(data, where)
    if kind == "Photoshop":
        return photoshop_findings(data, where)
    return icc_findings(data, where)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, tuple | list):
        try:
            return bytes(value)
        except (TypeError, ValueError):  # e.g. IPTC stored as LONGs
            return b"".join(int(v).to_bytes(4, "big") for v in value)
    return str(value).encode()
