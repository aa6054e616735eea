"""dlib's HOG face detector behind the detector interface (an adversary model:
a different method from the networks that make the redaction)."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detect import RGBImage
from unseen.detect.dlibmodels import dlib_models
from unseen.detections import Detections


class DlibHog:
    """HOG + linear SVM (dlib). ``scale`` above 1.5 runs dlib's own 2x
    upsampling (finds 40 px faces instead of 80 px ones, at 4x the cost)."""

    name = "hog"

    def __init__(self, threads: int = 0) -> None:
        del threads  # dlib's HOG runs on one core
        self._hog = dlib_models().hog
        self._lock = threading.Lock()

    def detect(self, image: RGBImage, threshold: float) -> Detections:
        return self.detect_at(image, threshold, 1.0)

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        h, w = image.shape[:2]
        upsample = 1 if scale >= 1.5 else 0
        resize = scale / 2 if upsample else scale
        small: NDArray[Any] = image
        if abs(resize - 1.0) > 1e-3:
            interp = cv2.INTER_AREA if resize < 1 else cv2.INTER_LINEAR
            small = cv2.resize(image, (max(1, round(w * resize)), max(1, round(h * resize))),
                               interpolation=interp)
        with self._lock:
            rects, scores, _ = self._hog.run(np.ascontiguousarray(small), upsample, threshold)
        if not rects:
            return Detections.empty()
        boxes = [[r.left(), r.top(), r.right(), r.bottom()] for r in rects]
        sx, sy = w / small.shape[1], h / small.shape[0]
        dets = Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32),
                          np.full(len(boxes), "face"))
        return dets.transformed(sx, sy).clipped(w, h)
