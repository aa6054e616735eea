"""Review: what a person changed in what the detector found, and writing the result.

A `PhotoReview` holds a photo's regions (faces and the wider cover the settings
ask for: heads, bodies, crowd bands, plates) and the person's edits (regions
removed, regions added, method and shape); a video's review is a timeline
document (tracks, deletions, added keyframed tracks) edited by `edit_video_doc`
and turned into per-frame regions by `frame_regions`. `ReviewStore` keeps the
reviews with the job state so that a reload keeps them. `export_photo` and
`export_video` write the safe file through `unseen.deliver`, like every other
path. Boxes and words only, never pixels.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from unseen.deliver import DeliveryPolicy, deliver_photo, deliver_video, redacted_photo
from unseen.detections import Detections
from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media.image import Photo, read_photo
from unseen.redact import (
    AREA_KINDS,
    MIN_REGION_SIDE,
    WEAK_METHOD_WARNING,
    RedactionPlan,
    RedactionStyle,
    Region,
)
from unseen.report import FileResult
from unseen.settings import AUDIO_MODES, RedactMethod, RegionShape, Settings
from unseen.track import CoverPolicy, FaceTimeline, Track, cover_boxes

if TYPE_CHECKING:
    from unseen.pipeline import Anonymizer

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


def export_photo(engine: Anonymizer, source: Path, dest: Path, review: PhotoReview,
                 verify: bool | None = None) -> FileResult:
    """Write ``source`` with the review's regions covered to ``dest`` through
    `unseen.deliver` (pixels only, the metadata check, then the adversary when
    ``verify``, default: when the settings have it on, which also covers faces
    it still finds). An unsafe export is withheld and says why. Never raises
    for bad input: the result says what went wrong."""
    start = time.perf_counter()
    settings: Settings = engine.settings
    result = FileResult(input=str(source), kind="photo")
    try:
        if dest.resolve() == source.resolve():
            raise OutputError(N_("output would overwrite the input; choose another output folder"))
        photo = read_photo(source, settings.max_image_megapixels)
        if (photo.width, photo.height) != (review.width, review.height):
            raise ReviewError(N_("the photo changed size since it was reviewed; reset the review"))
        result.width, result.height = photo.width, photo.height
        if review.method != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=review.method))
        on = settings.verify != "off" if verify is None else verify
        deliver_photo(photo, review.covered_detections(), dest,
                      review.style(settings.fill_color), DeliveryPolicy.from_settings(settings),
                      result, engine.adversary if on else None,
                      plan=review.plan(settings.fill_color))
    except UnseenError as exc:
        result.status = "failed"
        result.error = str(exc)
        result.output = None
    result.seconds = time.perf_counter() - start
    return result


# videos -------------------------------------------------------------------------------
MAX_KEYFRAMES = 10_000


def video_doc(timeline: FaceTimeline, width: int, height: int, fps: float,
              settings: Settings) -> dict[str, Any]:
    """A new video review from pass 1: tracks, shots and timestamps (boxes only)."""
    s = settings
    return {
        "frames": timeline.frames, "fps": fps, "width": width, "height": height,
        "shots": timeline.shots, "pts": timeline.pts,
        "policy": {"pad": timeline.policy.pad_before, "max_gap": timeline.policy.max_fill_gap},
        "stride": s.video_detect_stride,
        "tracks": [{"id": t.id, "shot": t.shot, "frames": list(t.frames),
                    "boxes": [[round(float(v), 2) for v in b] for b in t.boxes]}
                   for t in timeline.tracks],
        "deleted": [], "added": [], "next_added": 0, "edited": False,
        "method": s.redact, "shape": s.shape, "audio": s.audio,
    }


def video_choices(doc: dict[str, Any], settings: Settings) -> tuple[RedactMethod, RegionShape]:
    """The video's redaction method and shape (older timelines: the settings')."""
    return doc.get("method", settings.redact), doc.get("shape", settings.shape)


def video_style(doc: dict[str, Any], settings: Settings) -> RedactionStyle:
    method, shape = video_choices(doc, settings)
    return RedactionStyle(method, settings.mask_scale, shape, settings.fill_color)


def edit_video_doc(doc: dict[str, Any], body: dict[str, Any], settings: Settings
                   ) -> dict[str, Any]:
    """``doc`` with the edits of ``body`` (deleted track ids, added keyframed
    tracks, method, shape) checked and applied; raises `ReviewError`."""
    ids = {t["id"] for t in doc["tracks"]}
    deleted = body.get("deleted", doc["deleted"])
    added = body.get("added", doc["added"])
    if not isinstance(deleted, list) or not isinstance(added, list):
        raise ReviewError(N_("deleted and added must be lists"))
    if len(added) > MAX_ADDED_REGIONS:
        raise ReviewError(N_("at most {count} added tracks").format(count=MAX_ADDED_REGIONS))
    method, shape = video_choices(doc, settings)
    method = body.get("method", method)
    shape = body.get("shape", shape)
    if method not in METHODS:
        raise ReviewError(N_("unknown redaction method {value}").format(value=repr(method)))
    if shape not in SHAPES:
        raise ReviewError(N_("unknown region shape {value}").format(value=repr(shape)))
    try:
        deleted_ids = sorted({int(d) for d in deleted})
    except (TypeError, ValueError, OverflowError) as exc:
        raise ReviewError(N_("track ids are numbers")) from exc
    if not set(deleted_ids) <= ids:
        raise ReviewError(N_("no such track"))
    next_id = int(doc.get("next_added", 0))
    clean: list[dict[str, Any]] = []
    n, w, h = doc["frames"], doc["width"], doc["height"]
    for a in added:
        if not isinstance(a, dict):
            raise ReviewError(N_("each added track must be an object"))
        a_shape = a.get("shape", "box")
        if a_shape not in SHAPES:
            raise ReviewError(N_("unknown shape {value}").format(value=repr(a_shape)))
        kfs = a.get("keyframes")
        if not isinstance(kfs, list) or not kfs or len(kfs) > MAX_KEYFRAMES:
            raise ReviewError(N_("an added track needs keyframes [frame, x1, y1, x2, y2]"))
        frames: dict[int, list[float]] = {}
        for k in kfs:
            if not isinstance(k, list) or len(k) != 5:
                raise ReviewError(N_("a keyframe is [frame, x1, y1, x2, y2]"))
            try:
                f = int(k[0])
            except (TypeError, ValueError, OverflowError) as exc:
                raise ReviewError(N_("a keyframe's frame is a number")) from exc
            if not 0 <= f < n:
                raise ReviewError(N_("keyframe outside the video"))
            frames[f] = list(clean_box(k[1:], w, h))
        tid = a.get("id")
        if not isinstance(tid, str) or not tid.startswith("a"):
            tid = f"a{next_id}"
            next_id += 1
        clean.append({"id": tid, "shape": a_shape,
                      "keyframes": [[f, *frames[f]] for f in sorted(frames)]})
    audio = body.get("audio", doc.get("audio", settings.audio))
    if audio not in AUDIO_MODES:
        raise ReviewError(N_("unknown sound choice {value}").format(value=repr(audio)))
    out = dict(doc)
    out.update(deleted=deleted_ids, added=clean, next_added=next_id, edited=True,
               method=method, shape=shape, audio=audio)
    return out


def doc_tracks(doc: dict[str, Any]) -> list[Track]:
    return [Track.from_boxes(t["id"], t["shot"], t["frames"], t["boxes"]) for t in doc["tracks"]]


def interpolate(keyframes: list[list[float]], frame: int) -> list[float] | None:
    """The box of an added track at ``frame``: linear between the keyframes around it,
    none before the first or after the last."""
    if not keyframes or frame < keyframes[0][0] or frame > keyframes[-1][0]:
        return None
    for (f0, *b0), (f1, *b1) in itertools.pairwise(keyframes):
        if f0 <= frame <= f1:
            a = 0.0 if f1 == f0 else (frame - f0) / (f1 - f0)
            return [v0 * (1 - a) + v1 * a for v0, v1 in zip(b0, b1, strict=True)]
    return list(keyframes[-1][1:])


def frame_regions(doc: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every region per frame, with the track it belongs to: a kept track's detections,
    its filled gaps and padding (`cover_boxes`), and added tracks' interpolated boxes."""
    n = int(doc["frames"])
    out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    policy = CoverPolicy(pad_before=doc["policy"]["pad"], pad_after=doc["policy"]["pad"],
                         max_fill_gap=doc["policy"]["max_gap"])
    deleted = set(doc["deleted"])
    for t in doc_tracks(doc):
        if t.id in deleted:
            continue
        for f, b in zip(t.frames, t.boxes, strict=True):
            out[f].append({"track": t.id, "box": [float(v) for v in b], "source": "detected"})
        extra = cover_boxes([t], doc["shots"], policy)
        for f, boxes in enumerate(extra):
            for b in boxes:
                out[f].append({"track": t.id, "box": [float(v) for v in b], "source": "filled"})
    for a in doc["added"]:
        kfs = a["keyframes"]
        for f in range(int(kfs[0][0]), int(kfs[-1][0]) + 1):
            box = interpolate(kfs, f)
            if box is not None and f < n:
                out[f].append({"track": a["id"], "box": box, "source": "added",
                               "shape": a["shape"]})
    return out


def redactor_boxes(regions: list[dict[str, Any]], shape: RegionShape,
                   mask_scale: float) -> Detections:
    """One frame's regions as the boxes the redactor takes: it grows every box by
    ``mask_scale`` and draws it as ``shape``. Tracked faces keep their boxes; an
    added region is covered as drawn, so its box is shrunk by the growth first,
    and a drawn box to be covered by an ellipse gets the ellipse through its
    corners (never less than what was drawn)."""
    if not regions:
        return Detections.empty()
    boxes = []
    for r in regions:
        box = r["box"]
        if r["source"] == "added":
            factor = 1.0 / mask_scale
            if r.get("shape", "box") == "box" and shape == "ellipse":
                factor *= math.sqrt(2.0)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            hw, hh = (box[2] - box[0]) * factor / 2, (box[3] - box[1]) * factor / 2
            box = [cx - hw, cy - hh, cx + hw, cy + hh]
        boxes.append(box)
    return Detections.from_boxes(boxes)


def review_timeline(doc: dict[str, Any], per_frame: list[list[dict[str, Any]]],
                    settings: Settings) -> FaceTimeline:
    """The edited video as a timeline pass 2 takes: the person's regions per frame,
    and the kept and added tracks (where the adversary re-identifies and judges
    the ends)."""
    _, shape = video_choices(doc, settings)
    deleted = set(doc["deleted"])
    tracks = [t for t in doc_tracks(doc) if t.id not in deleted]
    for a in doc["added"]:
        kfs = a["keyframes"]
        tracks.append(Track.from_boxes(-1, 0, [int(kfs[0][0]), int(kfs[-1][0])],
                                       [k[1:] for k in (kfs[0], kfs[-1])]))
    tl = FaceTimeline(detections=[redactor_boxes(regs, shape, settings.mask_scale)
                                  for regs in per_frame],
                      shots=list(doc["shots"]), pts=list(doc["pts"]), tracks=tracks)
    tl.extra = [[] for _ in per_frame]
    return tl


def export_video(engine: Anonymizer, source: Path, dest: Path, doc: dict[str, Any],
                 per_frame: list[list[dict[str, Any]]],
                 progress: Callable[..., None] | None = None,
                 settings: Settings | None = None) -> FileResult:
    """Write the reviewed video through `unseen.deliver` with the person's regions;
    the adversary judges it (no repair: flagged frames are for the person).
    ``settings``: the review's (default: the engine's).
    Never raises for bad input: the result says what went wrong."""
    from unseen.pipeline.video import VideoRedactor, output_path, prepare_sound, sound_warnings

    start = time.perf_counter()
    base = settings or engine.settings
    method, shape = video_choices(doc, base)
    settings = replace(base, redact=method, shape=shape).with_audio(
        doc.get("audio", base.audio))
    result = FileResult(input=str(source), kind="video")
    try:
        from unseen.media.video import probe_video

        info = probe_video(source)
        dest = output_path(dest)
        tl = review_timeline(doc, per_frame, settings)
        redactor = VideoRedactor(engine.detector, settings)
        result.width, result.height = info.width, info.height
        kept = [t for t in doc["tracks"] if t["id"] not in doc["deleted"]]
        firsts = [t["boxes"][0] for t in kept] + [a["keyframes"][0][1:] for a in doc["added"]]
        result.detections = Detections.from_boxes(firsts) if firsts else Detections.empty()
        result.warnings += sound_warnings(bool(info.audio_codec), settings.audio)
        if method != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=method))
        adversary = engine.adversary if settings.verify != "off" else None
        sound = None
        if settings.processes_audio:
            sound = prepare_sound(source, settings, engine.audio_judge.detector)
            if sound is not None:
                result.warnings.extend(sound.notes)
        deliver_video(source, dest, tl, redactor, video_style(doc, settings),
                      DeliveryPolicy.from_settings(settings), result, adversary,
                      repair=False, progress=progress, sound=sound,
                      audio_judge=engine.audio_judge if adversary else None)
    except UnseenError as exc:
        result.status, result.error, result.output = "failed", str(exc), None
    result.seconds = time.perf_counter() - start
    return result


def export_summary(result: FileResult, out: Path) -> dict[str, Any]:
    """What the page shows about an export: words and frame numbers, no pixels.
    ``flagged``: the video frames where the adversary found something unsafe."""
    output = None
    if result.output:
        output = Path(result.output).resolve().relative_to(out).as_posix()
    verdict = result.verdict.to_dict() if result.verdict is not None else None
    flagged = sorted({f.frame for f in result.verdict.findings
                      if f.frame is not None and f.severity == "unsafe"}) \
        if result.verdict is not None else []
    return {"status": result.status, "output": output, "error": result.error,
            "warnings": list(result.warnings), "faces": result.faces,
            "frames": result.frames, "verdict": verdict, "flagged": flagged,
            "seconds": round(result.seconds, 2)}


def track_summary(t: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A timeline row: where the track is covered, and which stretches rest on
    detections (solid) or on gap filling and padding (low confidence)."""
    stride = int(doc.get("stride", 2))
    pad = int(doc["policy"]["pad"])
    frames = t["frames"]
    segments: list[list[Any]] = []
    start = max(0, frames[0] - pad)
    end = min(int(doc["frames"]) - 1, frames[-1] + pad)
    if start < frames[0]:
        segments.append([start, frames[0] - 1, True])
    run0 = prev = frames[0]
    for f in [*frames[1:], None]:
        if f is not None and f - prev <= stride:
            prev = f
            continue
        segments.append([run0, prev, False])
        if f is not None:
            segments.append([prev + 1, f - 1, True])
            run0 = prev = f
    if end > frames[-1]:
        segments.append([frames[-1] + 1, end, True])
    return {"id": t["id"], "shot": t["shot"], "first": frames[0], "last": frames[-1],
            "detections": len(frames), "segments": segments}


@dataclass
class ReviewStore:
    """Reviews kept in the job state folder (`unseen.batch.jobdb.state_folder`),
    never in the output folder: boxes and choices, keyed by the path relative
    to the reviewed folder and the job's content key (an HMAC, not a hash of
    the original)."""

    state: Path
    _db: sqlite3.Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from unseen.batch.jobdb import DB_NAME

        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.state / DB_NAME
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UnseenError(N_("{path}: job database unreadable ({reason})").format(
                path=self.path, reason=exc)) from exc

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
