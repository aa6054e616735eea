"""Review: what a person changed in what the detector found, and writing the result.

A `PhotoReview` holds a photo's detected regions and the person's edits (regions
removed, regions added, redaction method and shape); `ReviewStore` keeps reviews in
the output folder's job database so that a reload keeps them; `export_photo` writes
the safe file exactly as the pipeline does. Boxes and words only, never pixels.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from unseen.detections import Detections
from unseen.errors import OutputError, UnseenError
from unseen.media.image import Photo, read_photo, write_photo
from unseen.metadata import check_output
from unseen.redact import MIN_REGION_SIDE, WEAK_METHOD_WARNING, RedactionPlan, Region, apply_plan
from unseen.report import FileResult
from unseen.settings import RedactMethod, RegionShape, Settings

MAX_ADDED_REGIONS = 2000
METHODS: tuple[RedactMethod, ...] = ("fill", "blur", "pixelate")
SHAPES: tuple[RegionShape, ...] = ("ellipse", "box")
RegionSource = Literal["detected", "added"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_edits (
    source TEXT PRIMARY KEY,      -- path relative to the reviewed folder
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,           -- photo or video
    doc TEXT NOT NULL,            -- JSON: boxes, edits, choices; never pixels
    updated REAL NOT NULL
);
"""


class ReviewError(UnseenError):
    """An edit that cannot be applied (bad box, unknown region, bad choice)."""


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

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "box": [round(v, 2) for v in self.box], "source": self.source,
                "score": round(self.score, 3), "shape": self.shape, "removed": self.removed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReviewRegion:
        b = d["box"]
        return cls(str(d["id"]), (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                   d["source"], float(d.get("score", 1.0)), d.get("shape"),
                   bool(d.get("removed", False)))


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
            ReviewRegion(f"d{i}", (b[0], b[1], b[2], b[3]), "detected", float(s))
            for i, (b, s) in enumerate(zip(dets.boxes.tolist(), dets.scores.tolist(), strict=True))
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
            raise ReviewError(f"at most {MAX_ADDED_REGIONS} added regions")
        detected = {r.id: r for r in self.regions if r.source == "detected"}
        unknown = set(removed) - set(detected)
        if unknown:
            raise ReviewError(f"no detected region {sorted(unknown)[0]!r}")
        regions = [replace(r, removed=r.id in removed) for r in detected.values()]
        for i, a in enumerate(added):
            box = clean_box(a.get("box"), self.width, self.height)
            a_shape = a.get("shape", "box")
            if a_shape not in SHAPES:
                raise ReviewError(f"unknown shape {a_shape!r}")
            regions.append(ReviewRegion(f"a{i}", box, "added", 1.0, a_shape))
        new_method = self.method if method is None else method
        new_shape = self.shape if shape is None else shape
        if new_method not in METHODS:
            raise ReviewError(f"unknown redaction method {new_method!r}")
        if new_shape not in SHAPES:
            raise ReviewError(f"unknown region shape {new_shape!r}")
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
                          np.full(len(kept), "face"))

    def covered_detections(self) -> Detections:
        """Every covered region as a detection (for verification and counts)."""
        added = [r.box for r in self.active if r.source == "added"]
        extra = Detections.from_boxes(added) if added else Detections.empty()
        return Detections.concat([self.kept_detections(), extra])

    def plan(self, fill_color: tuple[int, int, int] = (0, 0, 0)) -> RedactionPlan:
        """The regions to cover: kept detections grown by the mask scale, added ones as drawn."""
        grown = RedactionPlan.from_detections(
            self.kept_detections(), self.method, self.mask_scale, self.shape, fill_color)
        added = tuple(Region(*r.box, r.shape or "box") for r in self.active
                      if r.source == "added")
        return RedactionPlan(grown.regions + added, self.method, fill_color)

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
        raise ReviewError("a region needs a box [x1, y1, x2, y2]")
    try:
        v = [float(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise ReviewError("box coordinates must be numbers") from exc
    if not all(math.isfinite(x) for x in v):
        raise ReviewError("box coordinates must be finite")
    x1, x2 = sorted((min(max(v[0], 0.0), width), min(max(v[2], 0.0), width)))
    y1, y2 = sorted((min(max(v[1], 0.0), height), min(max(v[3], 0.0), height)))
    if x2 - x1 < MIN_REGION_SIDE / 2 or y2 - y1 < MIN_REGION_SIDE / 2:
        raise ReviewError("a region must be at least a few pixels wide and high inside the image")
    return (x1, y1, x2, y2)


def redact_reviewed(photo: Photo, review: PhotoReview,
                    settings: Settings) -> Photo:
    """The photo with the review's regions covered (in memory)."""
    plan = review.plan(settings.fill_color)
    pixels = apply_plan(photo.pixels, plan)
    alpha = photo.alpha
    if alpha is not None and plan.regions:
        # A transparent face is still in the file: make the cover visible.
        alpha = alpha.copy()
        alpha[plan.mask(photo.height, photo.width)] = 255
    return Photo(pixels, photo.format, alpha, photo.grayscale)


def export_photo(engine: Any, source: Path, dest: Path, review: PhotoReview,
                 verify: bool | None = None) -> FileResult:
    """Write ``source`` with the review's regions covered to ``dest``, like the pipeline:
    pixels only, the metadata check (fail closed), then verification (``verify``,
    default: when the engine's settings have it on). ``engine`` is an `Anonymizer`.
    Never raises for bad input: the result says what went wrong."""
    start = time.perf_counter()
    settings: Settings = engine.settings
    result = FileResult(input=str(source), kind="photo")
    try:
        if dest.resolve() == source.resolve():
            raise OutputError("output would overwrite the input; choose another output folder")
        photo = read_photo(source, settings.max_image_megapixels)
        if (photo.width, photo.height) != (review.width, review.height):
            raise ReviewError("the photo changed size since it was reviewed; reset the review")
        result.width, result.height = photo.width, photo.height
        safe = redact_reviewed(photo, review, settings)
        dets = review.covered_detections()
        result.detections = dets
        if review.method != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=review.method))
        try:
            write_photo(safe, dest, settings.jpeg_quality)
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
        check_output(dest)  # fail closed: any metadata left -> deleted, failed
        result.output = str(dest)
        result.status = "written"
        if settings.verify != "off" if verify is None else verify:
            from unseen.verify import verify_photo

            verify_photo(engine, photo, safe, dets, dest, result)
    except UnseenError as exc:
        result.status = "failed"
        result.error = str(exc)
        result.output = None
    result.seconds = time.perf_counter() - start
    return result


@dataclass
class ReviewStore:
    """Reviews kept in the job database (``.unseen-jobs.sqlite``) of the output folder."""

    out_dir: Path
    _db: sqlite3.Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from unseen.batch.jobdb import DB_NAME

        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UnseenError(f"{self.path}: job database unreadable ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def load(self, source: str, chash: str) -> dict[str, Any] | None:
        """The stored review of ``source`` if the file is still the one reviewed."""
        row = self._db.execute(
            "SELECT content_hash, doc FROM review_edits WHERE source = ?", (source,)
        ).fetchone()
        if row is None or row[0] != chash:
            return None
        doc: dict[str, Any] = json.loads(row[1])
        return doc

    def save(self, source: str, chash: str, kind: str, doc: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO review_edits (source, content_hash, kind, doc, updated) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
            "content_hash = excluded.content_hash, kind = excluded.kind, doc = excluded.doc, "
            "updated = excluded.updated",
            (source, chash, kind, json.dumps(doc), time.time()),
        )

    def delete(self, source: str) -> None:
        self._db.execute("DELETE FROM review_edits WHERE source = ?", (source,))

    def reviewed(self) -> dict[str, dict[str, Any]]:
        """Every stored review, by source."""
        return {src: json.loads(doc) for src, doc in
                self._db.execute("SELECT source, doc FROM review_edits")}

    def job_states(self) -> dict[str, tuple[str, int | None, str | None, str | None]]:
        """The batch runner's record per absolute source path: state, faces, verdict, error."""
        try:
            rows = self._db.execute("SELECT source, state, faces, verdict, error FROM files")
        except sqlite3.OperationalError:
            return {}  # no batch has run into this folder yet
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
