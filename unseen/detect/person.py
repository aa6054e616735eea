"""People as silhouettes: MediaPipe's selfie segmentation, run with LiteRT.

The model file ships inside the ``mediapipe`` 0.10.21 wheel (the last one that
bundles its models); it is read from the installed package without importing
mediapipe, whose own dependencies are not needed. Returns ``body`` boxes
around each person-shaped part of the image, found whether or not the face
shows (backs, masks, helmets).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from unseen.detect import RGBImage
from unseen.detections import Detections

MODEL_PACKAGE = "mediapipe"
MODEL_PATH = ("modules", "selfie_segmentation", "selfie_segmentation.tflite")
INPUT_SIDE = 256
MASK_THRESHOLD = 0.5
MIN_PART = 0.002
"""Person parts smaller than this fraction of the image are noise."""
GROW = 0.05
"""Each silhouette box is grown by this fraction of its size on every side."""


def model_file() -> Path | None:
    """The bundled .tflite file, or None when mediapipe 0.10.21 is not installed."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*MODEL_PATH)
        if path.is_file():
            return path
    return None


def available() -> bool:
    return model_file() is not None and importlib.util.find_spec("ai_edge_litert") is not None


class PersonSegmenter:
    """Whole-image person segmentation; one pass on the image squeezed to 256 x 256,
    plus one per half of the long side for wide or tall images."""

    name = "selfie-segmentation"

    def __init__(self, threads: int = 0) -> None:
        path = model_file()
        if path is None:
            raise FileNotFoundError("mediapipe 0.10.21 (its bundled models) is not installed")
        from unseen.detect.litert import interpreter

        self._interp = interpreter(path, threads)
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]

    def probability(self, image: RGBImage) -> np.ndarray:
        """Person probability per pixel of ``image`` (float32, same size)."""
        h, w = image.shape[:2]
        prob = self._run(image)
        if max(w, h) > 1.6 * min(w, h):
            # Squeezing a panorama into a square flattens people: add halves.
            if w > h:
                halves = [(0, w // 2 + w // 8), (w // 2 - w // 8, w)]
                for a, b in halves:
                    prob[:, a:b] = np.maximum(prob[:, a:b], self._run(image[:, a:b]))
            else:
                halves = [(0, h // 2 + h // 8), (h // 2 - h // 8, h)]
                for a, b in halves:
                    prob[a:b] = np.maximum(prob[a:b], self._run(image[a:b]))
        return prob

    def _run(self, image: RGBImage) -> np.ndarray:
        h, w = image.shape[:2]
        x = cv2.resize(image, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
        self._interp.set_tensor(self._in, (x.astype(np.float32) / 255.0)[None])
        self._interp.invoke()
        m = self._interp.get_tensor(self._out)[0, :, :, 0]
        return np.asarray(cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)

    def detect(self, image: RGBImage, threshold: float = MASK_THRESHOLD) -> Detections:
        """``body`` boxes around each connected person part."""
        h, w = image.shape[:2]
        mask = (self.probability(image) >= threshold).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes = []
        for x, y, bw, bh, area in stats[1:n].tolist():
            if area < MIN_PART * w * h:
                continue
            gx, gy = GROW * bw, GROW * bh
            boxes.append((x - gx, y - gy, x + bw + gx, y + bh + gy))
        return Detections.from_boxes(boxes, "body").clipped(w, h)
