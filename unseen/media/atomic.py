"""Atomic writes: a temporary file beside the target, renamed into place.

A crash or Ctrl-C leaves either the complete output or nothing; the
temporary file is removed on every exit path, interrupts included.
`atomic_output` renames on success; `staging` leaves the renaming to the
caller (delivery decides whether a judged file goes into place at all).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".unseen-"
TEMP_SUFFIX = ".part"


@contextmanager
def atomic_output(dest: Path) -> Iterator[Path]:
    """Yield a private temporary path; on success it becomes ``dest``."""
    with staging(dest) as tmp:
        yield tmp
        move_into_place(tmp, dest)


@contextmanager
def staging(dest: Path) -> Iterator[Path]:
    """Yield a private temporary path beside ``dest`` (same folder, so a rename
    is atomic); whatever is still there on exit, success or not, is removed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=TEMP_PREFIX, suffix=dest.suffix + TEMP_SUFFIX, dir=dest.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def move_into_place(tmp: Path, dest: Path) -> None:
    """Rename the finished ``tmp`` to ``dest`` with the usual permissions
    (mkstemp makes files private)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, dest)
