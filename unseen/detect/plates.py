"""Licence plates by their look: a band of dense vertical strokes (characters)
on a plain background, two to six times wider than tall. Classical image
processing, no model: no wheel on PyPI ships plate-detector weights we could
load offline, and OpenCV 5 dropped its Haar plate cascade. Errs toward covering.
"""

from __future__ import annotations

import cv2
import numpy as np

from unseen.detect import RGBImage
from unseen.detections import Detections

MIN_HEIGHT = 8
MAX_HEIGHT_FRACTION = 0.2
ASPECT = (1.8, 7.0)
MIN_FILL = 0.45
"""Fraction of the candidate box that its stroke blob fills."""
MIN_STROKE_DENSITY = 0.12
GROW = 0.15


class PlateDetector:
    """Text-like horizontal bands of plate proportions, as ``plate`` boxes."""

    name = "plates"

    def detect(self, image: RGBImage, threshold: float = 0.0) -> Detections:
        h, w = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        # Plates are characters: strong vertical edges, close together.
        k = max(3, round(min(h, w) / 200) * 2 + 1)
        blackhat = cv2.morphologyEx(
            gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (3 * k, k))
        )
        tophat = cv2.morphologyEx(
            gray, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (3 * k, k))
        )
        strokes = cv2.max(blackhat, tophat)
        gx = np.abs(cv2.Sobel(strokes, cv2.CV_32F, 1, 0, ksize=3))
        gx = (gx * (255.0 / max(float(gx.max()), 1e-6))).astype(np.uint8)
        _, edges = cv2.threshold(gx, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        closed = cv2.morphologyEx(
            edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * k + 1, 3))
        )
        closed = cv2.morphologyEx(
            closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 3))
        )
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes, scores = [], []
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            if bh < MIN_HEIGHT or bh > MAX_HEIGHT_FRACTION * h:
                continue
            if not ASPECT[0] <= bw / bh <= ASPECT[1]:
                continue
            fill = cv2.contourArea(c) / float(bw * bh)
            density = float((edges[y : y + bh, x : x + bw] > 0).mean())
            if fill < MIN_FILL or density < MIN_STROKE_DENSITY:
                continue
            gx_, gy_ = GROW * bw, GROW * bh
            boxes.append((x - gx_, y - gy_, x + bw + gx_, y + bh + gy_))
            scores.append(min(1.0, density * fill * 2))
        if not boxes:
            return Detections.empty()
        d = Detections(
            np.asarray(boxes, np.float32), np.asarray(scores, np.float32),
            np.full(len(boxes), "plate"),
        )
        return d.filter(d.scores >= threshold).clipped(w, h)
