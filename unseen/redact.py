"""What happens to a region: its shape and margin, and fill, blur or pixelate.

A `RedactionPlan` turns detections into regions (grown by the mask scale,
drawn as ellipses or boxes); `apply_plan` changes the pixels. Blur and
pixelation scale with each face and add noise, because a fixed-size blur is
seen through by face recognition (threat model A6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.i18n import N_
from unseen.media.image import Photo
from unseen.settings import RedactMethod, RegionShape, Settings

# Measured with dlib's ResNet descriptor (same person below 0.6): blur with
# sigma = 1/8 of the face width or about 10 pixel blocks across still came
# close to a match. These are twice as strong.
BLUR_SIGMA_PER_WIDTH = 0.25
PIXEL_BLOCKS_ACROSS = 5
NOISE_SIGMA = 12.0
MIN_REGION_SIDE = 4.0

AREA_KINDS = frozenset({"body", "crowd", "plate", "text"})
"""Detection kinds that are whole areas, covered as boxes without a margin."""

WEAK_METHOD_WARNING = N_(
    "{method} is weaker than fill: strong blur and pixelation resist face "
    "recognition in our tests, but nothing guarantees it against every model; "
    "use --redact fill for material that puts people at risk"
)


@dataclass(frozen=True)
class Region:
    """One area to redact, in image pixels (already grown by the margin)."""

    x1: float
    y1: float
    x2: float
    y2: float
    shape: RegionShape

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class RedactionStyle:
    """How every region is redacted: the method, the margin (mask scale), the
    shape and the fill colour. One value, passed wherever regions are drawn."""

    method: RedactMethod = "fill"
    mask_scale: float = 1.3
    shape: RegionShape = "ellipse"
    fill_color: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedactionStyle:
        return cls(settings.redact, settings.mask_scale, settings.shape, settings.fill_color)

    def plan(self, detections: Detections) -> RedactionPlan:
        """The regions to change for ``detections`` in this style."""
        return RedactionPlan.from_detections(detections, self)

    def filled(self) -> RedactionStyle:
        """The same regions, filled (for faces blur or pixelate left recognisable)."""
        return replace(self, method="fill")


@dataclass(frozen=True)
class RedactionPlan:
    """Every region to change in one image, and how."""

    regions: tuple[Region, ...]
    method: RedactMethod
    fill_color: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def from_detections(cls, detections: Detections, style: RedactionStyle | None = None
                        ) -> RedactionPlan:
        s = style or RedactionStyle()
        mask_scale, shape = s.mask_scale, s.shape
        regions = []
        for (x1, y1, x2, y2), kind in zip(
            detections.boxes.tolist(), detections.kinds.tolist(), strict=True
        ):
            if kind in AREA_KINDS:
                # Already the area to cover (unseen.cover): no margin, box shape.
                regions.append(Region(x1, y1, x2, y2, "box"))
                continue
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            w = max((x2 - x1) * mask_scale, MIN_REGION_SIDE)
            h = max((y2 - y1) * mask_scale, MIN_REGION_SIDE)
            regions.append(Region(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, shape))
        return cls(tuple(regions), s.method, s.fill_color)

    def plus(self, other: RedactionPlan) -> RedactionPlan:
        """Both plans' regions, in this plan's method and colour."""
        return replace(self, regions=self.regions + other.regions)

    def mask(self, height: int, width: int) -> NDArray[np.bool_]:
        """Union of all regions as a boolean image."""
        m = np.zeros((height, width), np.uint8)
        for r in self.regions:
            draw_region(m, r)
        return m.astype(bool)


def draw_region(mask: NDArray[np.uint8], r: Region, value: int | tuple[int, ...] = 1) -> None:
    """Paint a region into ``mask`` (or an image, with a colour ``value``);
    rounding always grows it, never shrinks it."""
    if r.shape == "box":
        x1, y1 = math.floor(r.x1), math.floor(r.y1)
        x2, y2 = math.ceil(r.x2), math.ceil(r.y2)
        cv2.rectangle(mask, (x1, y1), (x2 - 1, y2 - 1), value, thickness=-1)
    else:
        # cv2.ellipse takes integer centre and semi-axes: use fixed-point
        # coordinates (shift=4) and round the axes up.
        f = 16
        centre = (round((r.x1 + r.x2) / 2 * f), round((r.y1 + r.y2) / 2 * f))
        axes = (math.ceil(r.width / 2 * f) + f // 2, math.ceil(r.height / 2 * f) + f // 2)
        cv2.ellipse(mask, centre, axes, 0, 0, 360, value, thickness=-1, shift=4)


def apply_plan(
    image: NDArray[np.uint8], plan: RedactionPlan, rng: np.random.Generator | None = None
) -> NDArray[np.uint8]:
    """Return a redacted copy of an RGB ``image``; the input is not changed."""
    out = image.copy()
    if not plan.regions:
        return out
    h, w = image.shape[:2]
    if plan.method == "fill":
        # Drawn straight into the copy: the same pixels as painting the mask
        # (`RedactionPlan.mask`) and filling it, without a full-frame mask.
        colour = tuple(int(c) for c in plan.fill_color[: out.shape[2]])
        for r in plan.regions:
            draw_region(out, r, colour)
        return out
    rng = rng or np.random.default_rng()
    for r in plan.regions:
        x1, y1 = max(0, math.floor(r.x1)), max(0, math.floor(r.y1))
        x2, y2 = min(w, math.ceil(r.x2)), min(h, math.ceil(r.y2))
        if x2 <= x1 or y2 <= y1:
            continue
        local = np.zeros((y2 - y1, x2 - x1), np.uint8)
        draw_region(local, Region(r.x1 - x1, r.y1 - y1, r.x2 - x1, r.y2 - y1, r.shape))
        sel = local.astype(bool)
        crop = out[y1:y2, x1:x2]
        if plan.method == "blur":
            changed = _blur(crop, r.width, rng)
        else:
            changed = _pixelate(crop, r.width, rng)
        crop[sel] = changed[sel]
    return out


def _noise(shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float32]:
    return rng.normal(0.0, NOISE_SIGMA, shape).astype(np.float32)


def _blur(
    crop: NDArray[np.uint8], face_width: float, rng: np.random.Generator
) -> NDArray[np.uint8]:
    sigma = max(2.0, face_width * BLUR_SIGMA_PER_WIDTH)
    # Border reflection would pull face pixels back in from the other side;
    # replicate keeps the region's own mean only.
    blurred = cv2.GaussianBlur(crop, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    noisy = blurred.astype(np.float32) + _noise(crop.shape, rng)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _pixelate(
    crop: NDArray[np.uint8], face_width: float, rng: np.random.Generator
) -> NDArray[np.uint8]:
    h, w = crop.shape[:2]
    block = max(2, int(np.ceil(face_width / PIXEL_BLOCKS_ACROSS)))
    small = cv2.resize(
        crop, (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA
    ).astype(np.float32)
    small += _noise(small.shape, rng)
    blocks = np.clip(small, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(blocks, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)


def redacted_photo(photo: Photo, plan: RedactionPlan) -> Photo:
    """``photo`` with ``plan`` applied; a transparent face is still in the file,
    so covered pixels are made opaque."""
    pixels = apply_plan(photo.pixels, plan)
    alpha = photo.alpha
    if alpha is not None and plan.regions:
        alpha = alpha.copy()
        alpha[plan.mask(photo.height, photo.width)] = 255
    return Photo(pixels, photo.format, alpha, photo.grayscale)
