"""People as silhouettes: MediaPipe's selfie segmentation, run with LiteRT.

The model file ships inside unseen (``weights/selfie_segmentation.tflite``,
byte for byte the file of the MediaPipe 0.10.21 wheel; Apache-2.0, see
``weights/NOTICE``); LiteRT (`ai-edge-litert`) runs it. Returns ``body`` boxes
around each person-shaped part of the image, found whether or not the face
shows (backs, masks, helmets).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from unseen.detect import RGBImage, shipped
from unseen.detections import Detections

MODEL_FILE = shipped.PERSON
MODEL_VERSION = shipped.describe(MODEL_FILE, "MediaPipe 0.10.21 selfie segmentation")
INPUT_SIDE = 256
MASK_THRESHOLD = 0.5
MIN_PART = 0.002
"""Person parts smaller than this fraction of the image are noise."""
GROW = 0.05
"""Each silhouette box is grown by this fraction of its size on every side."""


def model_file() -> Path | None:
    """The shipped .tflite file, or None when it is missing or damaged."""
    return None if shipped.problem(MODEL_FILE) else shipped.WEIGHTS_DIR / MODEL_FILE


def problem() -> str | None:
    """Why the person model cannot run (a message to translate), or None."""
    from unseen.detect import litert

    return shipped.problem(MODEL_FILE) or litert.problem()


def available() -> bool:
    return problem() is None


class PersonSegmenter:
    """Whole-image person segmentation; one pass on the image squeezed to 256 x 256,
    plus one per half of the long side for wide or tall images."""

    name = "selfie-segmentation"

    def __init__(self, threads: int = 0) -> None:
        path = shipped.model_file(MODEL_FILE)
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
