"""Every identifying field of a file: find it, remove it, prove it is gone.

`inspect(path)` lists `MetadataFinding`s; `clean(src, dest)` writes a copy
without them; `check_output(path)` is the fail-closed check run on every
file unseen writes. One `MetadataFormat` per format family, picked by content.
"""

from __future__ import annotations

from pathlib import Path

from unseen.errors import IncompleteRedactionError, UnseenError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.metadata.base import (
    CATEGORIES,
    CATEGORY_TITLES,
    CleanResult,
    MetadataFinding,
    MetadataFormat,
)
from unseen.metadata.jpeg import JpegFormat
from unseen.metadata.other_images import PillowImageFormat
from unseen.metadata.png import PngFormat
from unseen.metadata.video import ContainerFormat

__all__ = [
    "CATEGORIES",
    "CATEGORY_TITLES",
    "FILE_NAME",
    "CleanResult",
    "MetadataFinding",
    "MetadataFormat",
    "check_output",
    "clean",
    "format_for",
    "inspect",
]

FILE_NAME = N_("file name")
"""Where a finding of the file's name is (`MetadataFinding.where`)."""
# Most specific first; the first whose sniff() accepts the file handles it.
REGISTRY: list[type[MetadataFormat]] = [JpegFormat, PngFormat, ContainerFormat, PillowImageFormat]


def format_for(path: Path) -> MetadataFormat:
    """The handler for ``path``, chosen from its content (name only as a fallback)."""
    if not path.is_file():
        raise UnseenError(N_("is not a readable file"))
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise UnseenError(N_("cannot be read: {reason}").format(
            reason=exc.strerror or exc)) from exc
    kind = media_kind(path)
    if kind == "raw":
        raise UnsupportedFormatError(
            N_("camera RAW files are not supported yet; export a JPEG or TIFF first")
        )
    for cls in REGISTRY:
        if cls.sniff(head, path):
            return cls()
    raise UnsupportedFormatError(N_("not a photo or video that unseen knows"))


def inspect(path: str | Path, names: bool = False) -> list[MetadataFinding]:
    """Every identifying field in the file at ``path``; with ``names``, also what its
    file name gives away (`unseen.metadata.names`; where: "file name").

    The fail-closed check of outputs (`check_output`) looks at fields only: a name
    the user chose to keep (``--keep-names``) never withholds an output.
    """
    found = format_for(Path(path)).find(Path(path))
    if names:
        from unseen.metadata.names import name_clues

        found += [MetadataFinding(c.category, c.what, FILE_NAME, c.text)
                  for c in name_clues(Path(path).name)]
    return found


def clean(src: str | Path, dest: str | Path) -> CleanResult:
    """Write ``src`` to ``dest`` without metadata (faces untouched), atomically.

    The output is read back; if anything identifying is left it is deleted
    and `IncompleteRedactionError` is raised.
    """
    src, dest = Path(src), Path(dest)
    if dest.exists() and dest.resolve() == src.resolve():
        raise UnseenError(N_("output would overwrite the input; choose another output"))
    result = format_for(src).remove(src, dest)
    check_output(dest)
    return result


def check_output(path: Path) -> None:
    """Fail closed: delete ``path`` and raise if it still carries metadata."""
    try:
        left = inspect(path)
    except UnseenError as exc:
        path.unlink(missing_ok=True)
        raise IncompleteRedactionError(
            N_("the output could not be checked for metadata ({reason}); it was "
               "deleted").format(reason=exc)
        ) from exc
    if left:
        path.unlink(missing_ok=True)
        names = ", ".join(sorted({f"{f.name} ({f.category})" for f in left}))
        raise IncompleteRedactionError(
            N_("the output still carried metadata ({fields}); it was deleted").format(
                fields=names)
        )
