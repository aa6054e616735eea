"""onnxruntime sessions for every model, created one way: CPU, quiet, no telemetry.

onnxruntime's Linux wheels carry Microsoft's 1DS telemetry client, which at
import writes a device id under ~/.cache and queues events for upload;
`unseen/__init__.py` sets ORT_DISABLE_TELEMETRY before any import of it, and
sessions are created here with telemetry events switched off as well.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import onnxruntime as ort

from unseen.detect import RGBImage
from unseen.detections import Detections


def make_session(model: bytes, threads: int = 0) -> ort.InferenceSession:
    """A CPU inference session for a serialized ONNX model."""
    ort.disable_telemetry_events()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Idle pool threads sleep instead of spinning: a video's decode and encode
    # threads (unseen.media.ahead) then get the cores between two runs. Measured
    # here (2 cores): Hamilton's clip 16.1 -> 12.8 s, the photo search on 25
    # crowd photos 14.8 -> 13.6 s, MOT20 the same.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


class OnnxFaceModel:
    """Shared body of the ONNX face models: one session, thread-safe runs,
    and resizing an image for a pass at some scale."""

    name = "onnx"

    def __init__(self, model: bytes, threads: int = 0) -> None:
        self._session = make_session(model, threads)
        self._lock = threading.Lock()

    def detect(self, image: RGBImage, threshold: float) -> Detections:
        return self.detect_at(image, threshold, 1.0)

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        raise NotImplementedError

    def run(self, outputs: list[str] | None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        with self._lock:
            return list(self._session.run(outputs, feeds))


def resized(image: RGBImage, scale: float, min_side: int = 1) -> tuple[RGBImage, int, int]:
    """``image`` scaled by ``scale`` (area filter down, linear up), with its size."""
    h, w = image.shape[:2]
    nw, nh = max(min_side, round(w * scale)), max(min_side, round(h * scale))
    if (nw, nh) == (w, h):
        return image, nw, nh
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (nw, nh), interpolation=interp), np.uint8), nw, nh
