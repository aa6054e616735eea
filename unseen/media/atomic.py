"""Atomic writes: a temporary file beside the target, renamed into place.

A crash or Ctrl-C leaves either the complete output or nothing; the
temporary file is removed on every exit path, interrupts included.
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
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=TEMP_PREFIX, suffix=dest.suffix + TEMP_SUFFIX, dir=dest.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
