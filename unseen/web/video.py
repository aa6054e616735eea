"""Video review routes: the tracks pass 1 found, frames to scrub, edits, export.

Pass 1 (`VideoRedactor.find_faces`) runs in a background thread and its tracks,
shots and timestamps (boxes only) are kept in the job database with the edits:
deleted tracks, added tracks given by keyframes (interpolated between them), and
the redaction method and shape. Export runs pass 2 (`VideoRedactor.write`) on the
edited timeline, then the adversary (`unseen.verify.check_video`); the frames it
flags are kept with the edits so the person can go straight to them.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from numpy.typing import NDArray
from PIL import Image

from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.media import media_kind
from unseen.media.seek import FrameSeeker
from unseen.media.video import probe_video, read_frames
from unseen.redact import WEAK_METHOD_WARNING, RedactionPlan, apply_plan
from unseen.review import MAX_ADDED_REGIONS, METHODS, SHAPES, ReviewError, clean_box
from unseen.settings import RedactMethod, RegionShape
from unseen.track import CoverPolicy, Track, cover_boxes

if TYPE_CHECKING:
    from unseen.verify import Verdict
    from unseen.video import VideoProgress
    from unseen.web.app import ReviewContext

THUMB_SIDE = 320
MAX_KEYFRAMES = 10_000
FRAME_CACHE = 4
"""Decoded frames kept per app: the page asks for each frame twice (as it is, redacted)."""


@dataclass
class _Task:
    """A background pass (analysis or export) of one video."""

    status: str = "running"
    stage: str = "redact"
    frame: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class VideoReviews:
    """Video review state of one app: background tasks and the edited timelines."""

    def __init__(self, ctx: ReviewContext) -> None:
        self.ctx = ctx
        self._analyses: dict[str, _Task] = {}
        self._exports: dict[str, _Task] = {}
        self._regions: dict[str, tuple[str, list[list[dict[str, Any]]]]] = {}
        self._lock = threading.Lock()
        self._doc_lock = threading.Lock()  # read-modify-write of a stored timeline
        self._frame_lock = threading.Lock()
        self._seekers: dict[str, tuple[str, bool, FrameSeeker]] = {}
        self._frames: OrderedDict[tuple[str, str, int], NDArray[np.uint8]] = OrderedDict()
        self._redactor: Any = None

    # library access -------------------------------------------------------------
    def redactor(self) -> Any:
        with self._lock:
            if self._redactor is None:
                from unseen.video import VideoRedactor

                self._redactor = VideoRedactor(self.ctx.engine.detector, self.ctx.settings)
            return self._redactor

    def _source(self, rel: str) -> Path:
        job = self.ctx.job(rel)
        if media_kind(job.source) != "video":
            raise UnseenError("not a video")
        return job.source

    def thumbnail(self, rel: str) -> NDArray[np.uint8]:
        for vf in read_frames(self._source(rel), limit=1):
            im = Image.fromarray(vf.rgb())
            im.thumbnail((THUMB_SIDE, THUMB_SIDE))
            return np.asarray(im, np.uint8)
        return np.zeros((90, 160, 3), np.uint8)

    def frame_pixels(self, rel: str, index: int) -> NDArray[np.uint8]:
        """Upright RGB of frame ``index``: a seek to the key frame before it and a
        decode forward (`FrameSeeker`), numbered as pass 1 numbered the frames."""
        source = self._source(rel)
        chash = self.ctx.chash(source)
        key = (rel, chash, index)
        with self._frame_lock:
            cached = self._frames.get(key)
            if cached is not None:
                self._frames.move_to_end(key)
                return cached
            vf = self._seeker(rel, source, chash).frame(index)
            if vf is None:
                raise ReviewError("no such frame")
            pixels = vf.rgb()
            self._frames[key] = pixels
            while len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
            return pixels

    def _seeker(self, rel: str, source: Path, chash: str) -> FrameSeeker:
        """One seeker per file version; pass 1's timestamps once it has run."""
        kept = self._seekers.get(rel)
        if kept is not None and kept[0] == chash and kept[1]:
            return kept[2]
        doc = self.ctx.store.load(rel, chash)
        if kept is None or kept[0] != chash or doc is not None:
            pts = doc["pts"] if doc is not None else None
            kept = (chash, pts is not None, FrameSeeker(source, pts))
            self._seekers[rel] = kept
        return kept[2]

    # the stored timeline -------------------------------------------------------------
    def doc(self, rel: str) -> dict[str, Any] | None:
        source = self._source(rel)
        return self.ctx.store.load(rel, self.ctx.chash(source))

    def _save(self, rel: str, doc: dict[str, Any]) -> None:
        source = self._source(rel)
        self.ctx.store.save(rel, self.ctx.chash(source), "video", doc)

    def analyze(self, rel: str) -> None:
        """Start pass 1 in the background (once)."""
        source = self._source(rel)
        with self._lock:
            task = self._analyses.get(rel)
            if task is not None and task.status == "running":
                return
            task = _Task()
            self._analyses[rel] = task

        def run() -> None:
            try:
                info = probe_video(source)
                task.total = info.frames

                def progress(p: VideoProgress) -> None:
                    task.frame, task.total = p.frame, p.total

                red = self.redactor()
                tl = red.find_faces(source, info, progress)
                s = self.ctx.settings
                max_gap = max(2 * s.video_keyframe_interval, round(info.fps))
                pad = max(s.track_pad_frames, s.video_keyframe_interval, s.video_detect_stride)
                doc = {
                    "frames": tl.frames, "fps": info.fps, "width": info.width,
                    "height": info.height, "shots": tl.shots, "pts": tl.pts,
                    "policy": {"pad": pad, "max_gap": max_gap},
                    "stride": s.video_detect_stride,
                    "tracks": [{"id": t.id, "shot": t.shot, "frames": t.frames,
                                "boxes": [[round(float(v), 2) for v in b] for b in t.boxes]}
                               for t in tl.tracks],
                    "deleted": [], "added": [], "next_added": 0, "edited": False,
                    "method": self.ctx.settings.redact, "shape": self.ctx.settings.shape,
                }
                self._save(rel, doc)
                task.status = "done"
            except UnseenError as exc:
                task.status, task.error = "failed", str(exc)
            except Exception as exc:  # shown in the UI rather than lost in a thread
                task.status, task.error = "failed", f"analysis failed: {exc}"

        threading.Thread(target=run, daemon=True, name=f"unseen-analyze-{rel}").start()

    def regions(self, rel: str, doc: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Per frame, every region to cover after the edits, with its track."""
        import json

        key = json.dumps([doc["deleted"], doc["added"], len(doc["tracks"])])
        cached = self._regions.get(rel)
        if cached is not None and cached[0] == key:
            return cached[1]
        out = frame_regions(doc)
        self._regions[rel] = (key, out)
        return out

    def choices(self, doc: dict[str, Any]) -> tuple[RedactMethod, RegionShape]:
        """The video's redaction method and shape (older timelines: the settings')."""
        method = doc.get("method", self.ctx.settings.redact)
        shape = doc.get("shape", self.ctx.settings.shape)
        return method, shape

    def plan(self, regions: list[dict[str, Any]], doc: dict[str, Any]) -> RedactionPlan:
        """How one frame's regions are covered, exactly as the export covers them."""
        s = self.ctx.settings
        method, shape = self.choices(doc)
        return RedactionPlan.from_detections(
            redactor_boxes(regions, shape, s.mask_scale), method, s.mask_scale, shape,
            s.fill_color)

    def export(self, rel: str) -> None:
        doc = self.doc(rel)
        if doc is None:
            raise ReviewError("find the faces in this video first")
        job = self.ctx.job(rel)
        with self._lock:
            task = self._exports.get(rel)
            if task is not None and task.status == "running":
                return
            task = _Task()
            self._exports[rel] = task
        per_frame = self.regions(rel, doc)
        method, shape = self.choices(doc)
        settings = replace(self.ctx.settings, redact=method, shape=shape)

        def run() -> None:
            from unseen.batch.jobdb import JobDatabase, settings_key
            from unseen.metadata import check_output
            from unseen.report import FileResult
            from unseen.verify import deliver
            from unseen.video import FaceTimeline, output_path

            result = FileResult(input=str(job.source), kind="video")
            try:
                info = probe_video(job.source)
                tl = FaceTimeline(
                    detections=[redactor_boxes(regs, shape, settings.mask_scale)
                                for regs in per_frame],
                    shots=list(doc["shots"]), pts=list(doc["pts"]))
                tl.extra = [[] for _ in per_frame]

                def progress(p: VideoProgress) -> None:
                    task.frame, task.total = p.frame, p.total

                dest = output_path(job.dest)
                if not dest.resolve().is_relative_to(self.ctx.out):
                    raise UnseenError("the output would leave the output folder")
                # The shared redactor (its models loaded once) with this video's choices.
                redactor = copy.copy(self.redactor())
                redactor.settings = settings
                frames = redactor.write(job.source, dest, info, tl, progress)
                check_output(dest)  # fail closed, as for photos
                result.output, result.frames = str(dest), frames
                result.width, result.height = info.width, info.height
                kept = [t for t in doc["tracks"] if t["id"] not in doc["deleted"]]
                firsts = [t["boxes"][0] for t in kept] + [a["keyframes"][0][1:]
                                                          for a in doc["added"]]
                result.detections = Detections.from_boxes(firsts) if firsts else \
                    Detections.empty()
                if info.audio_codec and not settings.keep_audio:
                    result.warnings.append("the sound track was removed")
                if method != "fill":
                    result.warnings.append(WEAK_METHOD_WARNING.format(method=method))
                result.status = "written"
                if settings.verify != "off":
                    task.stage = "verify"
                    deliver(self._judge(job.source, dest, doc, per_frame), dest, result,
                            settings.allow_unsafe)
            except UnseenError as exc:
                result.status, result.error, result.output = "failed", str(exc), None
            except Exception as exc:
                result.status, result.error, result.output = "failed", f"export failed: {exc}", None
            db = JobDatabase(self.ctx.out)
            try:
                db.record(job.source, job.dest, self.ctx.chash(job.source),
                          settings_key(settings), result)
            finally:
                db.close()
            task.result = export_summary(result, self.ctx.out)
            with self._doc_lock:
                latest = self.doc(rel)
                if latest is not None:
                    latest["last_export"] = task.result
                    self._save(rel, latest)
            task.status = result.status

        threading.Thread(target=run, daemon=True, name=f"unseen-export-{rel}").start()

    def _judge(self, source: Path, output: Path, doc: dict[str, Any],
               per_frame: list[list[dict[str, Any]]]) -> Verdict:
        """The adversary on the written video: every few frames and where tracks
        start and end, against the regions the person chose (no repair: the
        frames it flags are shown to the person instead)."""
        from unseen.verify import check_video, video_frames_to_check

        s = self.ctx.settings
        deleted = set(doc["deleted"])
        tracks = [t for t in _tracks(doc) if t.id not in deleted]
        for a in doc["added"]:
            kfs = a["keyframes"]
            tracks.append(Track(-1, 0, [int(kfs[0][0]), int(kfs[-1][0])],
                                [np.array(k[1:], np.float32) for k in (kfs[0], kfs[-1])]))
        picks = video_frames_to_check(len(per_frame), max(1, s.video_verify_every), tracks)

        def covered(i: int, h: int, w: int) -> NDArray[np.bool_]:
            regs = per_frame[i] if i < len(per_frame) else []
            return self.plan(regs, doc).mask(h, w)

        def faces(i: int) -> Detections:
            regs = per_frame[i] if i < len(per_frame) else []
            return Detections.from_boxes([r["box"] for r in regs]) if regs else \
                Detections.empty()

        return check_video(self.ctx.engine.adversary, output, source, picks, covered, faces)

    def state(self, rel: str) -> dict[str, Any]:
        doc = self.doc(rel)
        task = self._analyses.get(rel)
        exp = self._exports.get(rel)
        export = None
        if exp is not None:
            export = {"status": exp.status, "stage": exp.stage,
                      "progress": {"frame": exp.frame, "total": exp.total}, **exp.result}
        elif doc is not None and doc.get("last_export"):
            export = doc["last_export"]
        if doc is None:
            if task is None:
                return {"status": "new", "path": rel, "export": export}
            status = {"running": "analyzing", "failed": "failed"}.get(task.status, "analyzing")
            return {"status": status, "error": task.error, "path": rel, "export": export,
                    "progress": {"frame": task.frame, "total": task.total}}
        method, shape = self.choices(doc)
        return {"status": "ready", "path": rel, "frames": doc["frames"], "fps": doc["fps"],
                "width": doc["width"], "height": doc["height"], "method": method,
                "shape": shape, "tracks": [_track_summary(t, doc) for t in doc["tracks"]],
                "deleted": doc["deleted"], "added": doc["added"], "export": export}

    def edit(self, rel: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._doc_lock:
            self._edit(rel, body)
        return self.state(rel)

    def _edit(self, rel: str, body: dict[str, Any]) -> None:
        doc = self.doc(rel)
        if doc is None:
            raise ReviewError("find the faces in this video first")
        ids = {t["id"] for t in doc["tracks"]}
        deleted = body.get("deleted", doc["deleted"])
        added = body.get("added", doc["added"])
        if not isinstance(deleted, list) or not isinstance(added, list):
            raise ReviewError("deleted and added must be lists")
        if len(added) > MAX_ADDED_REGIONS:
            raise ReviewError(f"at most {MAX_ADDED_REGIONS} added tracks")
        method, shape = self.choices(doc)
        method = body.get("method", method)
        shape = body.get("shape", shape)
        if method not in METHODS:
            raise ReviewError(f"unknown redaction method {method!r}")
        if shape not in SHAPES:
            raise ReviewError(f"unknown region shape {shape!r}")
        try:
            deleted_ids = sorted({int(d) for d in deleted})
        except (TypeError, ValueError, OverflowError) as exc:
            raise ReviewError("track ids are numbers") from exc
        if not set(deleted_ids) <= ids:
            raise ReviewError("no such track")
        next_id = int(doc.get("next_added", 0))
        clean: list[dict[str, Any]] = []
        n, w, h = doc["frames"], doc["width"], doc["height"]
        for a in added:
            if not isinstance(a, dict):
                raise ReviewError("each added track must be an object")
            a_shape = a.get("shape", "box")
            if a_shape not in SHAPES:
                raise ReviewError(f"unknown shape {a_shape!r}")
            kfs = a.get("keyframes")
            if not isinstance(kfs, list) or not kfs or len(kfs) > MAX_KEYFRAMES:
                raise ReviewError("an added track needs keyframes [frame, x1, y1, x2, y2]")
            frames: dict[int, list[float]] = {}
            for k in kfs:
                if not isinstance(k, list) or len(k) != 5:
                    raise ReviewError("a keyframe is [frame, x1, y1, x2, y2]")
                try:
                    f = int(k[0])
                except (TypeError, ValueError, OverflowError) as exc:
                    raise ReviewError("a keyframe's frame is a number") from exc
                if not 0 <= f < n:
                    raise ReviewError("keyframe outside the video")
                frames[f] = list(clean_box(k[1:], w, h))
            tid = a.get("id")
            if not isinstance(tid, str) or not tid.startswith("a"):
                tid = f"a{next_id}"
                next_id += 1
            clean.append({"id": tid, "shape": a_shape,
                          "keyframes": [[f, *frames[f]] for f in sorted(frames)]})
        doc.update(deleted=deleted_ids, added=clean, next_added=next_id, edited=True,
                   method=method, shape=shape)
        self._save(rel, doc)

    # routes ---------------------------------------------------------------------------
    def add_routes(self, app: FastAPI) -> None:
        from unseen.web.app import _jpeg, _json_body

        @app.get("/api/video")
        def video(path: str) -> dict[str, Any]:
            return self.state(path)

        @app.post("/api/video/analyze")
        def analyze(path: str) -> dict[str, Any]:
            self.analyze(path)
            return self.state(path)

        @app.put("/api/video")
        async def edit(path: str, request: Request) -> dict[str, Any]:
            return self.edit(path, await _json_body(request))

        @app.get("/api/video/regions")
        def regions(path: str, index: int) -> list[dict[str, Any]]:
            doc = self.doc(path)
            if doc is None:
                raise ReviewError("find the faces in this video first")
            per_frame = self.regions(path, doc)
            if not 0 <= index < len(per_frame):
                raise ReviewError("no such frame")
            covers = self.plan(per_frame[index], doc).regions
            # ``cover``: the area the export covers (drawn in the video's shape).
            return [{**r, "cover": [round(v, 2) for v in (c.x1, c.y1, c.x2, c.y2)]}
                    for r, c in zip(per_frame[index], covers, strict=True)]

        @app.get("/api/video/frame")
        def frame(path: str, index: int, redacted: int = 0) -> Response:
            pixels = self.frame_pixels(path, index)
            if redacted:
                doc = self.doc(path)
                if doc is None:
                    raise ReviewError("find the faces in this video first")
                per_frame = self.regions(path, doc)
                regs = per_frame[index] if index < len(per_frame) else []
                if regs:
                    pixels = apply_plan(pixels, self.plan(regs, doc))
            return _jpeg(pixels)

        @app.post("/api/video/export")
        def export(path: str) -> dict[str, Any]:
            self.export(path)
            return self.state(path)


def _tracks(doc: dict[str, Any]) -> list[Track]:
    return [Track(t["id"], t["shot"], list(t["frames"]),
                  [np.array(b, np.float32) for b in t["boxes"]]) for t in doc["tracks"]]


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
    for t in _tracks(doc):
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


def export_summary(result: Any, out: Path) -> dict[str, Any]:
    """What the page shows about an export: words and frame numbers, no pixels.
    ``flagged``: the frames where the adversary found something unsafe."""
    output = None
    if result.output:
        output = Path(result.output).resolve().relative_to(out).as_posix()
    verdict = result.verdict.to_dict() if result.verdict is not None else None
    flagged = sorted({f.frame for f in result.verdict.findings
                      if f.frame is not None and f.severity == "unsafe"}) \
        if result.verdict is not None else []
    return {"status": result.status, "output": output, "error": result.error,
            "warnings": list(result.warnings), "frames": result.frames, "verdict": verdict,
            "flagged": flagged}


def _track_summary(t: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
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
