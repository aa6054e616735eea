"""Multi-scale, tiled, multi-model face search: a detector made of detectors.

Tiny faces need upscaled passes, huge ones downscaled passes; large passes
run as overlapping tiles to bound memory. Every pass keeps only the face
sizes it is good at and proposes candidates down to a low score;
`unseen.detect.confirm` decides which of them are covered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from unseen.detect import RGBImage
from unseen.detect.confirm import confirm
from unseen.detections import Detections

TILE_OVERLAP = 256


class ScalableDetector(Protocol):
    name: str

    def detect_at(self, image: RGBImage, threshold: float, scale: float) -> Detections: ...


@dataclass(frozen=True)
class Pass:
    """One network run: which model, at what scale, which faces it keeps."""

    detector: str
    scale: float
    threshold: float
    max_face: float = math.inf
    """Keep faces shorter than this (original pixels); larger ones belong to
    a coarser pass, where they are found more reliably."""


def plan_passes(
    width: int,
    height: int,
    threshold: float,
    detectors: tuple[str, ...],
    max_pass_megapixels: float,
) -> list[Pass]:
    """Choose the passes for an image of this size.

    Measured on ../shared/data/faces (bench/photos.py): upscaling 2x and 4x
    finds faces under 16 px that one pass misses, but upscaled passes add
    false positives on big faces, so they only keep small boxes.
    """
    megapixels = width * height / 1e6
    base = min(1.0, math.sqrt(max_pass_megapixels / megapixels))
    # Every model proposes down to the same low threshold: which candidates
    # are faces is decided afterwards, on the evidence of all passes.
    passes = [Pass("centerface", base, threshold)]
    # Upscaled passes for small faces, while they fit the pixel budget.
    for factor, max_face in ((2.0, 48.0), (4.0, 20.0)):
        if base == 1.0 and megapixels * factor * factor <= max_pass_megapixels * 1.1:
            passes.append(Pass("centerface", factor, threshold, max_face))
    # A coarse pass for faces that fill much of a large frame.
    if min(width, height) * base > 1200:
        passes.append(Pass("centerface", base / 3, threshold))
    other = threshold
    for name in detectors:
        if name == "centerface":
            continue
        if min(width, height) * base > 1200:
            # Large photos: a half-size pass for the second opinion on
            # medium and large faces keeps the 12 MP budget.
            passes.append(Pass(name, base / 2, other))
            continue
        passes.append(Pass(name, base, other))
        if base == 1.0 and megapixels * 4 <= max_pass_megapixels * 1.1:
            passes.append(Pass(name, 2.0, other, 48.0))
    return passes


def tiles(width: int, height: int, tile: int, overlap: int) -> Iterator[tuple[int, int, int, int]]:
    """Overlapping ``(x1, y1, x2, y2)`` windows covering the image."""
    step = max(1, tile - overlap)
    xs = list(range(0, max(1, width - overlap), step)) or [0]
    ys = list(range(0, max(1, height - overlap), step)) or [0]
    for y in ys:
        for x in xs:
            yield x, y, min(width, x + tile), min(height, y + tile)


class MultiScaleDetector:
    """Runs a plan of passes over several models and merges the result."""

    name = "multiscale"

    def __init__(
        self,
        detectors: Mapping[str, ScalableDetector],
        max_pass_megapixels: float = 8.0,
        tile_size: int = 4096,
    ) -> None:
        self.detectors = dict(detectors)
        self.max_pass_megapixels = max_pass_megapixels
        self.tile_size = tile_size

    def plan(self, width: int, height: int, threshold: float) -> list[Pass]:
        return plan_passes(
            width, height, threshold, tuple(self.detectors), self.max_pass_megapixels
        )

    def candidates(self, image: RGBImage, threshold: float) -> Detections:
        """Every pass's boxes, each marked with the model that found it."""
        h, w = image.shape[:2]
        found = [self.run_pass(image, p).with_sources(p.detector)
                 for p in self.plan(w, h, threshold)]
        return Detections.concat(found)

    def detect(self, image: RGBImage, threshold: float) -> Detections:
        """The faces (and, in crowds, the small ``crowd`` candidates) to cover."""
        return confirm(self.candidates(image, threshold), threshold)

    def run_pass(self, image: RGBImage, p: Pass) -> Detections:
        h, w = image.shape[:2]
        detector = self.detectors[p.detector]
        # Tile in original pixels so that a tile, once scaled, fits tile_size.
        window = int(self.tile_size / p.scale)
        if max(w, h) <= window:
            dets = detector.detect_at(image, p.threshold, p.scale)
        else:
            # The overlap holds any face this pass keeps (in scaled pixels, up
            # to TILE_OVERLAP); larger faces are the coarse pass's job.
            overlap = int(min(window // 2, min(p.max_face, TILE_OVERLAP / p.scale) + 16))
            parts = []
            for x1, y1, x2, y2 in tiles(w, h, window, overlap):
                crop = np.ascontiguousarray(image[y1:y2, x1:x2])
                parts.append(
                    detector.detect_at(crop, p.threshold, p.scale).transformed(1, 1, x1, y1)
                )
            dets = Detections.concat(parts).nms(0.3)
        return dets.filter(dets.heights < p.max_face)
