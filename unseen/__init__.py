"""unseen: remove every face and every identifying field before publishing.

Public API::

    from unseen import anonymize, Settings
    result = anonymize("protest.jpg", "safe/protest.jpg")
    result = anonymize(rgb_array)          # result.image is the redacted copy

See docs/threat-model.md for why.
"""

from __future__ import annotations

import os

# Offline means offline: onnxruntime's Linux wheels ship a telemetry client
# that writes a device id under ~/.cache at import and queues events for
# upload, unless this is set before onnxruntime is first imported. Ray's usage
# statistics likewise. (The one environment change unseen makes.)
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.report import FileResult
from unseen.settings import Settings

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (dynamic version)

__all__ = [
    "Anonymizer",
    "Detections",
    "FileResult",
    "Settings",
    "UnseenError",
    "__version__",
    "anonymize",
]


def anonymize(
    source: str | Path | NDArray[np.uint8],
    output: str | Path | None = None,
    settings: Settings | None = None,
) -> FileResult:
    """Remove every face from a photo file or an RGB array.

    For a file, ``output`` is the path to write (required); the result says
    whether it was written and why not. For an array, the redacted copy is in
    ``result.image`` and nothing is written.
    """
    from unseen.pipeline import Anonymizer

    engine = Anonymizer(settings)
    if isinstance(source, np.ndarray):
        return engine.picture(source)
    if output is None:
        raise UnseenError("an output path is needed to anonymize a file")
    return engine.file(Path(source), Path(output))


def __getattr__(name: str) -> object:
    if name == "Anonymizer":
        from unseen.pipeline import Anonymizer

        return Anonymizer
    raise AttributeError(name)
