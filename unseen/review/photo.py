"""A photo's review: the regions found (faces and the wider cover the settings ask
for: heads, bodies, crowd bands, plates) and a person's edits (regions removed,
regions added, method and shape). Boxes and words only, never pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from unseen.detections import Detections
from unseen.errors import ReviewError
from unseen.i18n import N_
from unseen.media.image import Photo
from unseen.redact import (
    AREA_KINDS,
    MIN_REGION_SIDE,
    RedactionPlan,
    RedactionStyle,
    Region,
    redacted_photo,
)
from unseen.settings import RedactMethod, RegionShape, Settings

MAX_ADDED_REGIONS = 2000
METHODS: tuple[RedactMethod, ...] = ("fill", "blur", "pixelate")
SHAPES: tuple[RegionShape, ...] = ("ellipse", "box")
RegionSource = Literal["detected", "added"]


@dataclass(frozen=True)
class ReviewRegion:
    """One region of a reviewed photo, in upright image pixels.

    Detected regions keep the detector's box (grown by the mask scale when
    covered, like the pipeline does); added regions are covered exactly as drawn.
    """

    id: str
    box: tuple[float, float, float, float]
    source: RegionSource
    score: float = 1.0
    shape: RegionShape | None = None
    """Added regions only: their own shape; detected ones follow the review's."""
    removed: bool = False
    kind: str = "face"
    """What the region covers: ``face``, or a wider kind (``head``, ``body``,
    ``crowd``, ``plate``) the settings asked for, as a CLI run would cover it."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "box": [round(v, 2) for v in self.box], "source": self.source,
                "score": round(self.score, 3), "shape": self.shape, "removed": self.removed,
                "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReviewRegion:
        b = d["box"]
        return cls(str(d["id"]), (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                   d["source"], float(d.get("score", 1.0)), d.get("shape"),
                   bool(d.get("removed", False)), str(d.get("kind", "face")))


@dataclass(frozen=True)
class PhotoReview:
    """A photo's regions and the choices a person made about them."""

    width: int
    height: int
    regions: tuple[ReviewRegion, ...]
    method: RedactMethod = "fill"
    shape: RegionShape = "ellipse"
    mask_scale: float = 1.3
    edited: bool = False
    last_export: dict[str, Any] | None = None
    """What the last export said (status, output, verdict); words only."""

    @classmethod
    def from_detections(cls, dets: Detections, width: int, height: int,
                        settings: Settings) -> PhotoReview:
        regions = tuple(
            ReviewRegion(f"d{i}", (b[0], b[1], b[2], b[3]), "detected", float(sc), kind=str(k))
            for i, (b, sc, k) in enumerate(zip(dets.boxes.tolist(), dets.scores.tolist(),
                                               dets.kinds.tolist(), strict=True))
        )
        return cls(width, height, regions, settings.redact, settings.shape, settings.mask_scale)

    # edits ------------------------------------------------------------------
    def edit(
        self,
        removed: list[str],
        added: list[dict[str, Any]],
        method: str | None = None,
        shape: str | None = None,
    ) -> PhotoReview:
        """The review with exactly these detected regions removed and these added.

        ``added`` items are ``{"box": [x1, y1, x2, y2], "shape": "box"|"ellipse"}``;
        boxes are clipped to the image and must keep a visible size.
        """
        if len(added) > MAX_ADDED_REGIONS:
            raise ReviewError(N_("at most {count} added regions").format(count=MAX_ADDED_REGIONS))
        detected = {r.id: r for r in self.regions if r.source == "detected"}
        unknown = set(removed) - set(detected)
        if unknown:
            raise ReviewError(N_("no detected region {value}").format(
                value=repr(sorted(unknown)[0])))
        regions = [replace(r, removed=r.id in removed) for r in detected.values()]
        for i, a in enumerate(added):
            box = clean_box(a.get("box"), self.width, self.height)
            a_shape = a.get("shape", "box")
            if a_shape not in SHAPES:
                raise ReviewError(N_("unknown shape {value}").format(value=repr(a_shape)))
            regions.append(ReviewRegion(f"a{i}", box, "added", 1.0, a_shape))
        new_method = self.method if method is None else method
        new_shape = self.shape if shape is None else shape
        if new_method not in METHODS:
            raise ReviewError(N_("unknown redaction method {value}").format(value=repr(new_method)))
        if new_shape not in SHAPES:
            raise ReviewError(N_("unknown region shape {value}").format(value=repr(new_shape)))
        return replace(self, regions=tuple(regions), method=new_method,
                       shape=new_shape, edited=True)

    @property
    def active(self) -> list[ReviewRegion]:
        return [r for r in self.regions if not r.removed]

    def kept_detections(self) -> Detections:
        kept = [r for r in self.active if r.source == "detected"]
        if not kept:
            return Detections.empty()
        return Detections(np.array([r.box for r in kept], np.float32),
                          np.array([r.score for r in kept], np.float32),
                          np.array([r.kind for r in kept]))

    def covered_detections(self) -> Detections:
        """Every covered region as a detection (for verification and counts)."""
        added = [r.box for r in self.active if r.source == "added"]
        extra = (Detections.from_boxes(added).with_sources("added") if added
                 else Detections.empty())
        return Detections.concat([self.kept_detections(), extra])

    def style(self, fill_color: tuple[int, int, int] = (0, 0, 0)) -> RedactionStyle:
        return RedactionStyle(self.method, self.mask_scale, self.shape, fill_color)

    def plan(self, fill_color: tuple[int, int, int] = (0, 0, 0)) -> RedactionPlan:
        """The regions to cover: kept detections grown by the mask scale (wider
        kinds as the pipeline draws them), added ones as drawn."""
        grown = self.style(fill_color).plan(self.kept_detections())
        added = tuple(Region(*r.box, r.shape or "box") for r in self.active
                      if r.source == "added")
        return RedactionPlan(grown.regions + added, self.method, fill_color)

    def cover_box(self, region: ReviewRegion) -> tuple[float, float, float, float]:
        """Where a region's cover goes (detected faces grow like the pipeline grows them)."""
        if region.source == "added" or region.kind in AREA_KINDS:
            return region.box
        dets = Detections(np.array([region.box], np.float32), np.ones(1, np.float32),
                          np.array([region.kind]))
        g = self.style().plan(dets).regions[0]
        return (g.x1, g.y1, g.x2, g.y2)

    # storage ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "method": self.method,
                "shape": self.shape, "mask_scale": self.mask_scale, "edited": self.edited,
                "regions": [r.to_dict() for r in self.regions], "last_export": self.last_export}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PhotoReview:
        return cls(int(d["width"]), int(d["height"]),
                   tuple(ReviewRegion.from_dict(r) for r in d["regions"]),
                   d["method"], d["shape"], float(d["mask_scale"]), bool(d.get("edited")),
                   d.get("last_export"))


def clean_box(raw: object, width: int, height: int) -> tuple[float, float, float, float]:
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        raise ReviewError(N_("a region needs a box [x1, y1, x2, y2]"))
    try:
        v = [float(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise ReviewError(N_("box coordinates must be numbers")) from exc
    if not all(math.isfinite(x) for x in v):
        raise ReviewError(N_("box coordinates must be finite"))
    x1, x2 = sorted((min(max(v[0], 0.0), width), min(max(v[2], 0.0), width)))
    y1, y2 = sorted((min(max(v[1], 0.0), height), min(max(v[3], 0.0), height)))
    if x2 - x1 < MIN_REGION_SIDE / 2 or y2 - y1 < MIN_REGION_SIDE / 2:
        raise ReviewError(
            N_("a region must be at least a few pixels wide and high inside the image"))
    return (x1, y1, x2, y2)


def redact_reviewed(photo: Photo, review: PhotoReview, settings: Settings) -> Photo:
    """The photo with the review's regions covered (in memory, for the preview)."""
    return redacted_photo(photo, review.plan(settings.fill_color))
