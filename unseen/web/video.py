"""Video review routes: the tracks pass 1 found, frames to scrub, edits, export.

Pass 1 (`unseen.pipeline.VideoPasses.find_faces`) runs in a background thread
and its tracks, shots and timestamps (boxes only) are kept with the job state,
with the edits (`unseen.review.VideoReview`: deleted tracks, added tracks given
by keyframes, method, shape and sound). Export runs `unseen.review.export_video`
(pass 2 through the pipeline, the adversary judging, then `unseen.deliver`) in a
thread; the frames it flags are kept with the edits so the person can go
straight to them.
"""

from __future__ import annotations

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

from unseen.detect.available import unavailable
from unseen.errors import ReviewError, UnseenError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.seek import FrameSeeker
from unseen.media.video import probe_video, read_frames
from unseen.redact import RedactionPlan, apply_plan
from unseen.review import VideoReview, export_summary, export_video
from unseen.review.video import FrameRegions, Person, ReviewTrack, redactor_boxes
from unseen.web.context import ReviewContext, jpeg_response, json_body

if TYPE_CHECKING:
    from unseen.pipeline.video import VideoProgress

THUMB_SIDE = 320
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
        self._regions: dict[str, tuple[VideoReview, list[FrameRegions]]] = {}
        self._people: dict[str, tuple[tuple[ReviewTrack, ...], tuple[Person, ...]]] = {}
        self._lock = threading.Lock()
        self._doc_lock = threading.Lock()  # read-modify-write of a stored timeline
        self._frame_lock = threading.Lock()
        self._seekers: dict[str, tuple[str, bool, FrameSeeker]] = {}
        self._frames: OrderedDict[tuple[str, str, int], NDArray[np.uint8]] = OrderedDict()

    def reset(self) -> None:
        """Forget every task and cache (the app's job was saved, discarded or changed)."""
        with self._lock, self._frame_lock:
            self._analyses.clear()
            self._exports.clear()
            self._regions.clear()
            self._people.clear()
            self._seekers.clear()
            self._frames.clear()

    # library access -------------------------------------------------------------
    def _source(self, rel: str) -> Path:
        job = self.ctx.job(rel)
        if media_kind(job.source) != "video":
            raise UnseenError(N_("not a video"))
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
                raise ReviewError(N_("no such frame"))
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
            pts = list(doc["pts"]) if doc is not None else None
            kept = (chash, pts is not None, FrameSeeker(source, pts))
            self._seekers[rel] = kept
        return kept[2]

    # the stored review -------------------------------------------------------------
    def review(self, rel: str) -> VideoReview | None:
        source = self._source(rel)
        doc = self.ctx.store.load(rel, self.ctx.chash(source))
        return VideoReview.from_dict(doc, self.ctx.settings) if doc is not None else None

    def _review(self, rel: str) -> VideoReview:
        review = self.review(rel)
        if review is None:
            raise ReviewError(N_("find the faces in this video first"))
        return review

    def _save(self, rel: str, review: VideoReview) -> None:
        source = self._source(rel)
        self.ctx.store.save(rel, self.ctx.chash(source), "video", review.to_dict())

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

                tl = self.ctx.engine.videos.find_faces(source, info, progress=progress)
                self._save(rel, VideoReview.from_timeline(tl, info.width, info.height,
                                                          info.fps, self.ctx.settings))
                task.status = "done"
            except UnseenError as exc:
                task.status, task.error = "failed", str(exc)
            except Exception as exc:  # shown in the UI rather than lost in a thread
                task.status, task.error = "failed", N_("analysis failed: {reason}").format(
                    reason=exc)

        threading.Thread(target=run, daemon=True, name=f"unseen-analyze-{rel}").start()

    def regions(self, rel: str, review: VideoReview) -> list[FrameRegions]:
        """Per frame, every region to cover after the edits, with its track."""
        cached = self._regions.get(rel)
        if cached is not None and cached[0] == review:
            return cached[1]
        out = review.frame_regions()
        self._regions[rel] = (review, out)
        return out

    def people(self, rel: str, review: VideoReview) -> tuple[Person, ...]:
        """The review's people (`VideoReview.people`), worked out once per analysis."""
        cached = self._people.get(rel)
        if cached is not None and cached[0] == review.tracks:
            return cached[1]
        people = review.people
        self._people[rel] = (review.tracks, people)
        return people

    def plan(self, regions: FrameRegions, review: VideoReview) -> RedactionPlan:
        """How one frame's regions are covered, exactly as the export covers them."""
        return review.style(self.ctx.settings).plan(
            redactor_boxes(regions, review.shape, self.ctx.settings.mask_scale))

    def export(self, rel: str) -> None:
        review = self._review(rel)
        job = self.ctx.job(rel)
        with self._lock:
            task = self._exports.get(rel)
            if task is not None and task.status == "running":
                return
            task = _Task()
            self._exports[rel] = task
        per_frame = self.regions(rel, review)

        def run() -> None:
            from unseen.pipeline.video import output_path
            from unseen.report import FileResult

            def progress(p: VideoProgress) -> None:
                task.frame, task.total = p.frame, p.total

            if not output_path(job.dest).resolve().is_relative_to(self.ctx.out):
                result = FileResult(input=str(job.source), kind="video", status="failed",
                                    error="the output would leave the output folder")
            else:
                try:
                    result = export_video(self.ctx.engine, job.source, job.dest, review,
                                          per_frame, progress, self.ctx.settings)
                except Exception as exc:  # shown in the UI rather than lost in a thread
                    result = FileResult(input=str(job.source), kind="video", status="failed",
                                        error=N_("export failed: {reason}").format(
                                            reason=exc))
            self.ctx.record(job, result)
            task.result = export_summary(result, self.ctx.out)
            with self._doc_lock:
                latest = self.review(rel)
                if latest is not None:
                    self._save(rel, replace(latest, last_export=task.result))
            task.status = result.status

        threading.Thread(target=run, daemon=True, name=f"unseen-export-{rel}").start()

    def state(self, rel: str) -> dict[str, Any]:
        review = self.review(rel)
        task = self._analyses.get(rel)
        exp = self._exports.get(rel)
        export = None
        if exp is not None:
            export = {"status": exp.status, "stage": exp.stage,
                      "progress": {"frame": exp.frame, "total": exp.total}, **exp.result}
        elif review is not None and review.last_export:
            export = review.last_export
        if review is None:
            if task is None:
                return {"status": "new", "path": rel, "export": export}
            status = {"running": "analyzing", "failed": "failed"}.get(task.status, "analyzing")
            return {"status": status, "error": task.error, "path": rel, "export": export,
                    "progress": {"frame": task.frame, "total": task.total}}
        r = review
        people = self.people(rel, r)
        return {"status": "ready", "path": rel, "frames": r.frames, "fps": r.fps,
                "width": r.width, "height": r.height, "method": r.method, "shape": r.shape,
                "audio": r.audio, "tracks": [r.track_summary(t) for t in r.tracks],
                # Pass 1's pieces joined into people; the page lists and deletes these.
                "people": [r.person_summary(p) for p in people],
                "counts": {"clear": sum(p.clear for p in people),
                           "weak": sum(not p.clear for p in people),
                           "pieces": len(r.tracks)},
                "deleted": list(r.deleted), "added": [a.to_dict() for a in r.added],
                "export": export,
                # Sound choices whose models cannot run here: offered disabled.
                "unavailable": {f.removeprefix("audio "): why
                                for f, why in unavailable().items()
                                if f.startswith("audio ")}}

    def edit(self, rel: str, body: dict[str, Any]) -> dict[str, Any]:
        why = unavailable().get(f"audio {body.get('audio')}")
        if why is not None:
            raise ReviewError(why)
        with self._doc_lock:
            self._edit(rel, body)
        return self.state(rel)

    def _edit(self, rel: str, body: dict[str, Any]) -> None:
        self._save(rel, self._review(rel).edit(body))

    # routes ---------------------------------------------------------------------------
    def add_routes(self, app: FastAPI) -> None:
        @app.get("/api/video")
        def video(path: str) -> dict[str, Any]:
            return self.state(path)

        @app.post("/api/video/analyze")
        def analyze(path: str) -> dict[str, Any]:
            self.analyze(path)
            return self.state(path)

        @app.put("/api/video")
        async def edit(path: str, request: Request) -> dict[str, Any]:
            return self.edit(path, await json_body(request))

        @app.get("/api/video/regions")
        def regions(path: str, index: int) -> list[dict[str, Any]]:
            review = self._review(path)
            per_frame = self.regions(path, review)
            if not 0 <= index < len(per_frame):
                raise ReviewError(N_("no such frame"))
            covers = self.plan(per_frame[index], review).regions
            person = {t: p.id for p in self.people(path, review) for t in p.tracks}
            # ``cover``: the area the export covers (drawn in the video's shape);
            # ``person``: the person the region's track is a piece of.
            return [{**r, "person": person.get(r["track"], r["track"]),
                     "cover": [round(v, 2) for v in (c.x1, c.y1, c.x2, c.y2)]}
                    for r, c in zip(per_frame[index], covers, strict=True)]

        @app.get("/api/video/frame")
        def frame(path: str, index: int, redacted: int = 0) -> Response:
            pixels = self.frame_pixels(path, index)
            if redacted:
                review = self._review(path)
                per_frame = self.regions(path, review)
                regs = per_frame[index] if index < len(per_frame) else []
                if regs:
                    pixels = apply_plan(pixels, self.plan(regs, review))
            return jpeg_response(pixels)

        @app.post("/api/video/export")
        def export(path: str) -> dict[str, Any]:
            self.export(path)
            return self.state(path)
