"""Detectors: one module per model behind one small interface.

A detector takes an RGB ``uint8`` image of shape ``(H, W, 3)`` and returns
`Detections` in that image's pixel coordinates. Multi-scale and tiled search
(`unseen.detect.multiscale`) wraps a detector and is a detector too.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections

RGBImage = NDArray[np.uint8]


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces in an RGB image."""

    name: str

    def detect(self, image: RGBImage, threshold: float) -> Detections:
        """Return the faces in ``image`` scoring at least ``threshold``."""
        ...
