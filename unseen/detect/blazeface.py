"""MediaPipe BlazeFace full range, an adversary model, run with `ai-edge-litert`
(never full TensorFlow). The model file ships inside unseen
(``weights/face_detection_full_range_sparse.tflite``, byte for byte the file of
the MediaPipe 0.10.21 wheel; Apache-2.0, see ``weights/NOTICE``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unseen.detect import RGBImage, shipped
from unseen.detect.litert import interpreter
from unseen.detections import Detections

MODEL_FILE = shipped.BLAZEFACE
MODEL_VERSION = shipped.describe(MODEL_FILE, "MediaPipe 0.10.21 BlazeFace full range")


def model_path() -> Path | None:
    """The shipped BlazeFace full-range file, or None when it is missing or damaged."""
    return None if shipped.problem(MODEL_FILE) else shipped.WEIGHTS_DIR / MODEL_FILE


def load_blazeface() -> BlazeFace | None:
    """BlazeFace full-range, when its file (`model_path`) and ai-edge-litert are
    installed (both are, unless the installation is damaged); the ensemble works
    without it."""
    path = model_path()
    if path is None:
        return None
    try:
        return BlazeFace(interpreter(path))
    except ImportError:
        return None


class BlazeFace:
    """MediaPipe BlazeFace full range (192x192 input, 2304 anchors)."""

    name = "blazeface"
    SIZE = 192

    def __init__(self, allocated: Any) -> None:
        self._interp = allocated  # unseen.detect.litert.interpreter (unseen.detect.litert)
        self._input = self._interp.get_input_details()[0]["index"]
        outs = sorted(self._interp.get_output_details(), key=lambda o: o["shape"][-1])
        self._scores_idx, self._boxes_idx = outs[0]["index"], outs[-1]["index"]
        self._lock = threading.Lock()
        n = self.SIZE // 4
        yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        self._anchors = (np.stack([xx.ravel(), yy.ravel()], 1) + 0.5) / n

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        """``scale`` is ignored: the network sees the whole image at 192 px."""
        del scale
        return self.detect(image, threshold)

    def detect(self, image: RGBImage, threshold: float) -> Detections:
        h, w = image.shape[:2]
        side = max(h, w)
        # Letterbox to a square so that faces keep their shape.
        square = np.zeros((side, side, 3), np.uint8)
        ox, oy = (side - w) // 2, (side - h) // 2
        square[oy:oy + h, ox:ox + w] = image
        small = cv2.resize(square, (self.SIZE, self.SIZE), interpolation=cv2.INTER_AREA)
        x = (small.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._interp.set_tensor(self._input, x)
            self._interp.invoke()
            raw_boxes = self._interp.get_tensor(self._boxes_idx)[0]
            raw_scores = self._interp.get_tensor(self._scores_idx)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80, 80)))
        keep = np.flatnonzero(scores >= threshold)
        if len(keep) == 0:
            return Detections.empty()
        r = raw_boxes[keep, :4] / self.SIZE
        a = self._anchors[keep]
        cx, cy = a[:, 0] + r[:, 0], a[:, 1] + r[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * side
        boxes -= np.array([ox, oy, ox, oy], np.float32)
        dets = Detections(boxes, scores[keep], np.full(len(keep), "face")).nms(0.3)
        return dets.clipped(w, h)
