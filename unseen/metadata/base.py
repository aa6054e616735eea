"""What a metadata finding is, and the one interface every format implements.

Each format family (JPEG, PNG, other Pillow images, PyAV containers) is one
small `MetadataFormat` subclass with `find` and `remove`, picked by content.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from unseen.i18n import N_

Category = Literal["location", "time", "device", "person", "software", "hidden-image", "other"]

CATEGORIES: tuple[Category, ...] = (
    "location", "time", "device", "person", "software", "hidden-image", "other",
)
CATEGORY_TITLES: dict[Category, str] = {
    "location": N_("Location"),
    "time": N_("Time"),
    "device": N_("Device"),
    "person": N_("Person"),
    "software": N_("Software"),
    "hidden-image": N_("Hidden image"),
    "other": N_("Other metadata"),
}
MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class MetadataFinding:
    """One field (or block) of a file that says something beyond the pixels."""

    category: Category
    name: str  # e.g. "GPSLatitude", "EXIF thumbnail", "subtitle stream"
    where: str  # e.g. "APP1 EXIF / GPS IFD", "stream 3 (data)"
    value: str = ""  # a short summary, never a binary dump

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class CleanResult:
    """What `clean` did to one file."""

    source: str
    output: str
    method: Literal["lossless", "remux", "re-encoded"]
    removed: list[MetadataFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "output": self.output,
            "method": self.method,
            "removed": [f.to_dict() for f in self.removed],
            "notes": self.notes,
        }


class MetadataFormat(ABC):
    """A format family: knows how to list and remove its metadata."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        """True if the file starting with ``head`` is handled here."""

    @abstractmethod
    def find(self, path: Path) -> list[MetadataFinding]:
        """Every identifying field in ``path``; raise an UnseenError if unreadable."""

    @abstractmethod
    def remove(self, src: Path, dest: Path) -> CleanResult:
        """Write ``src`` without metadata to ``dest`` (atomically)."""


def summarize(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A short, printable summary of a tag value: never a binary dump."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = raw.rstrip(b"\x00")
        if text and all(32 <= b < 127 or b in (9, 10, 13) for b in text[:200]):
            value = text.decode("ascii", "replace")
        else:
            return f"<{len(raw)} bytes>"
    if isinstance(value, tuple | list) and len(value) > 8:
        return f"<{len(value)} values>"
    s = " ".join(str(value).replace("\x00", " ").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"
