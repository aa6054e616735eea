"""One file through the stages: read -> detect -> redact -> write.

`Anonymizer` holds the loaded models and the settings; it is the library's
engine, and the CLI, batch runner and web UI all go through it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from unseen.cover import cover_regions
from unseen.detect.models import build_detector
from unseen.detect.multiscale import MultiScaleDetector
from unseen.detections import Detections
from unseen.errors import OutputError, UnseenError, UnsupportedFormatError
from unseen.media import media_kind
from unseen.media.image import Photo, read_photo, write_photo
from unseen.metadata import check_output
from unseen.redact import WEAK_METHOD_WARNING, RedactionPlan, apply_plan
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.detect.person import PersonSegmenter
    from unseen.verify import Adversary
    from unseen.video import FaceTimeline, VideoRedactor
    from unseen.video import ProgressCallback as VideoProgressCallback


BODY_WITHOUT_SEGMENTER = (
    "bodies were covered below detected faces only: install the person model "
    "(pip install --no-deps mediapipe==0.10.21) to cover people whose face is not seen"
)

VIDEO_BODIES = ("in videos, bodies are covered below detected faces only "
                "(the person model does not run on video frames yet)")
VIDEO_PLATES = "licence plates are not covered in videos yet"


LOG = logging.getLogger("unseen")


def unexpected_error(exc: BaseException) -> str:
    """One line for an exception nobody planned for (the traceback goes to the
    debug log only)."""
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    what = type(exc).__name__ + (f": {detail}" if detail else "")
    return f"could not be processed (unexpected error, {what}); run with --debug for details"


class Anonymizer:
    """Finds and removes faces with one set of settings and loaded models."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.detector: MultiScaleDetector = build_detector(
            s.detectors, s.threads, s.max_pass_megapixels, s.tile_size
        )
        self._adversary: Adversary | None = None
        self._video_redactor: VideoRedactor | None = None
        self._person_segmenter: PersonSegmenter | None = None
        self._person_segmenter_missing = False

    @property
    def adversary(self) -> Adversary:
        """The verification models, loaded on first use."""
        if self._adversary is None:
            from unseen.verify import Adversary

            mode = "fast" if self.settings.verify == "off" else self.settings.verify
            self._adversary = Adversary(mode, self.settings.threads)
        return self._adversary

    @property
    def video_redactor(self) -> VideoRedactor:
        """The video passes (extra detector sessions), made on first use."""
        if self._video_redactor is None:
            from unseen.video import VideoRedactor

            self._video_redactor = VideoRedactor(self.detector, self.settings)
        return self._video_redactor

    # in memory -----------------------------------------------------------
    def detect(self, pixels: NDArray[np.uint8]) -> Detections:
        """Faces in an upright RGB image."""
        return self.detector.detect(pixels, self.settings.threshold)

    def plan(self, detections: Detections) -> RedactionPlan:
        s = self.settings
        return RedactionPlan.from_detections(
            detections, s.redact, s.mask_scale, s.shape, s.fill_color
        )

    def cover(self, pixels: NDArray[np.uint8], faces: Detections) -> Detections:
        """Every region to redact: the faces plus heads, bodies, crowds and
        plates as the settings ask (unseen.cover)."""
        s = self.settings
        h, w = pixels.shape[:2]
        extra = []
        if s.cover == "body" and self.person_segmenter is not None:
            extra.append(self.person_segmenter.detect(pixels))
        if s.plates:
            from unseen.detect.plates import PlateDetector

            extra.append(PlateDetector().detect(pixels))
        return cover_regions(faces, w, h, s, extra)

    @property
    def person_segmenter(self) -> PersonSegmenter | None:
        """The silhouette model for ``--cover body``, loaded on first use; None
        when its wheel is not installed (bodies then come from faces only)."""
        if self._person_segmenter is None and not self._person_segmenter_missing:
            from unseen.detect import person

            if person.available():
                self._person_segmenter = person.PersonSegmenter(self.settings.threads)
            else:
                self._person_segmenter_missing = True
        return self._person_segmenter

    def redact_pixels(self, pixels: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], Detections]:
        """Return (redacted copy, covered regions) for an upright RGB image."""
        _check_pixels(pixels)
        dets = self.cover(pixels, self.detect(pixels))
        return apply_plan(pixels, self.plan(dets)), dets

    def redact_photo(self, photo: Photo) -> tuple[Photo, Detections]:
        pixels, dets = self.redact_pixels(photo.pixels)
        alpha = photo.alpha
        if alpha is not None and len(dets):
            # A transparent face is still in the file: make the cover visible.
            alpha = alpha.copy()
            plan = self.plan(dets)
            alpha[plan.mask(photo.height, photo.width)] = 255
        return Photo(pixels, photo.format, alpha, photo.grayscale), dets

    # files ----------------------------------------------------------------
    def file(
        self, source: Path, dest: Path, progress: VideoProgressCallback | None = None
    ) -> FileResult:
        """Anonymize ``source`` into ``dest``. Never raises for bad input:
        the result says what went wrong, and nothing is written then.
        ``progress`` is called per video frame (videos only)."""
        start = time.perf_counter()
        result = FileResult(input=str(source))
        try:
            self._file(source, dest, result, progress)
        except UnseenError as exc:
            result.status = "failed"
            result.error = str(exc)
            result.output = None
        except MemoryError:
            result.status = "failed"
            result.error = "ran out of memory"
            result.output = None
        except Exception as exc:
            # Any other failure is this file's, never the run's: one line for
            # the person, the traceback only in the debug log (--debug).
            LOG.debug("processing failed", exc_info=True)
            result.status = "failed"
            result.error = unexpected_error(exc)
            result.output = None
        result.seconds = time.perf_counter() - start
        return result

    def _file(
        self, source: Path, dest: Path, result: FileResult,
        progress: VideoProgressCallback | None = None,
    ) -> None:
        if not source.is_file():
            raise UnseenError("is not a readable file")
        if dest.exists() and dest.resolve() == source.resolve():
            raise OutputError("output would overwrite the input; choose another output folder")
        kind = media_kind(source)
        result.kind = kind
        if kind == "gif":
            raise UnsupportedFormatError("GIF images are not supported yet")
        if kind == "raw":
            raise UnsupportedFormatError(
                "camera RAW files are not supported yet; export a JPEG or TIFF first"
            )
        if kind == "video":
            self._video(source, dest, result, progress)
            return
        if kind != "photo":
            raise UnsupportedFormatError("not a photo or video that unseen knows")
        photo = read_photo(source, self.settings.max_image_megapixels)
        result.width, result.height = photo.width, photo.height
        safe, dets = self.redact_photo(photo)
        result.detections = dets
        if self.settings.redact != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=self.settings.redact))
        if self.settings.cover == "body" and self.person_segmenter is None:
            result.warnings.append(BODY_WITHOUT_SEGMENTER)
        try:
            write_photo(safe, dest, self.settings.jpeg_quality)
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
        check_output(dest)  # fail closed: any metadata left -> output deleted, file failed
        result.output = str(dest)
        result.status = "written"
        if self.settings.verify != "off":
            from unseen.verify import verify_photo

            verify_photo(self, photo, safe, dets, dest, result)

    def _video(
        self, source: Path, dest: Path, result: FileResult,
        progress: VideoProgressCallback | None,
    ) -> None:
        """Two passes over the file (unseen/video.py); nothing is left on failure."""
        judge_for = None
        if self.settings.verify != "off":
            from unseen.verify_video import VideoJudge

            def judge_for(timeline: FaceTimeline) -> VideoJudge:
                return VideoJudge(self, timeline)

        done = self.video_redactor.run(source, dest, progress, judge_for)
        result.output = str(done.output)
        result.frames = done.frames
        result.width, result.height = done.width, done.height
        result.detections = done.faces
        result.warnings.extend(done.warnings)
        if self.settings.redact != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=self.settings.redact))
        if self.settings.cover == "body":
            result.warnings.append(VIDEO_BODIES)
        if self.settings.plates:
            result.warnings.append(VIDEO_PLATES)
        result.status = "written"
        if self.settings.verify != "off":
            from unseen.verify_video import verify_video

            try:
                verify_video(self, source, done, result)
            except BaseException:
                done.output.unlink(missing_ok=True)  # fail closed: unjudged is undelivered
                result.output = None
                raise


def _check_pixels(pixels: NDArray[np.uint8]) -> None:
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UnseenError("expected an RGB uint8 image of shape (H, W, 3)")
