"""One file through the stages: read -> detect -> track -> cover -> deliver.

`Anonymizer` holds the loaded models and the settings; it is the library's
engine, and the CLI, the batch runners and the review UI all go through it
(and through `unseen.deliver` for every file they write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from unseen.cover import cover_regions
from unseen.deliver import DeliveryPolicy, deliver_video, first_boxes
from unseen.detect.models import build_detector
from unseen.detect.multiscale import MultiScaleDetector
from unseen.detections import Detections
from unseen.errors import OutputError, UnseenError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.redact import WEAK_METHOD_WARNING, RedactionPlan, RedactionStyle, apply_plan
from unseen.report import FileResult
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.detect.person import PersonSegmenter
    from unseen.detect.text import TextDetector
    from unseen.pipeline.video import ProgressCallback as VideoProgressCallback
    from unseen.pipeline.video import VideoRedactor
    from unseen.verify import Adversary
    from unseen.verify.audio import AudioJudge

LOG = logging.getLogger("unseen")

VIDEO_BODIES = N_("in videos, bodies are covered below detected faces only "
                  "(the person model does not run on video frames yet)")


def unexpected_error(exc: BaseException) -> str:
    """One line for an exception nobody planned for (the traceback goes to the
    debug log only)."""
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    what = type(exc).__name__ + (f": {detail}" if detail else "")
    return N_("could not be processed (unexpected error, {what}); run with --debug for "
              "details").format(what=what)


class Anonymizer:
    """Finds and removes faces with one set of settings and loaded models."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.style = RedactionStyle.from_settings(s)
        self.detector: MultiScaleDetector = build_detector(
            s.detectors, s.threads, s.max_pass_megapixels, s.tile_size, s.precision
        )
        self._adversary: Adversary | None = None
        self._video_redactor: VideoRedactor | None = None
        self._person_segmenter: PersonSegmenter | None = None
        self._person_segmenter_missing = False
        self._audio_judge: AudioJudge | None = None
        self._text_detector: TextDetector | None = None
        self._plate_adversary: TextDetector | None = None
        self._adversary_loading: Future[Adversary] | None = None
        if s.verify != "off":
            # Verification's models (dlib's weights, onnx: seconds) load on a
            # thread while the first file is read and searched; loading
            # releases the GIL (a 12 MP photo from the command line: -1.8 s).
            pool = ThreadPoolExecutor(1, thread_name_prefix="unseen-load")
            self._adversary_loading = pool.submit(self._load_adversary)
            pool.shutdown(wait=False)

    def _load_adversary(self) -> Adversary:
        from unseen.verify import Adversary

        mode = "fast" if self.settings.verify == "off" else self.settings.verify
        return Adversary(mode, self.settings.threads)

    @property
    def adversary(self) -> Adversary:
        """The verification models (loading since the engine was made, unless
        verification is off; then on first use)."""
        if self._adversary is None:
            loading, self._adversary_loading = self._adversary_loading, None
            self._adversary = loading.result() if loading is not None else self._load_adversary()
        return self._adversary

    @property
    def audio_judge(self) -> AudioJudge:
        """The sound models (speech detector, speaker encoder), loaded on first use."""
        if self._audio_judge is None:
            from unseen.verify.audio import AudioJudge

            self._audio_judge = AudioJudge(max(1, self.settings.threads))
        return self._audio_judge

    @property
    def video_redactor(self) -> VideoRedactor:
        """The video passes (extra detector sessions), made on first use."""
        if self._video_redactor is None:
            from unseen.pipeline.video import VideoRedactor

            self._video_redactor = VideoRedactor(self.detector, self.settings,
                                                 self.text_regions)
        return self._video_redactor

    # in memory -----------------------------------------------------------
    def detect(self, pixels: NDArray[np.uint8]) -> Detections:
        """Faces in an upright RGB image."""
        return self.detector.detect(pixels, self.settings.threshold)

    def plan(self, detections: Detections) -> RedactionPlan:
        return self.style.plan(detections)

    def cover(self, pixels: NDArray[np.uint8], faces: Detections) -> Detections:
        """Every region to redact: the faces plus heads, bodies, crowds and
        plates as the settings ask (unseen.cover)."""
        s = self.settings
        h, w = pixels.shape[:2]
        extra = []
        if s.cover == "body" and self.person_segmenter is not None:
            extra.append(self.person_segmenter.detect(pixels))
        if s.plates or s.text:
            extra.append(self.text_regions(pixels))
        return cover_regions(faces, w, h, s, extra)

    def widen(self, width: int, height: int) -> Callable[[Detections], Detections] | None:
        """For faces found after detection (by verification): the faces with
        the heads or bodies the cover mode asks for (no crowd bands); None
        when the mode covers faces alone."""
        if self.settings.cover == "face":
            return None
        settings = replace(self.settings, crowd=False)
        return lambda faces: cover_regions(faces, width, height, settings)

    def text_regions(self, pixels: NDArray[np.uint8]) -> Detections:
        """Licence plates (``plates``) and other legible text (``text``) to cover,
        as the settings ask (unseen.detect.text)."""
        found = self.text_detector.detect(pixels)
        wanted = [k for k, on in (("plate", self.settings.plates),
                                  ("text", self.settings.text)) if on]
        return found.filter(np.isin(found.kinds, wanted))

    def plate_finder(self, pixels: NDArray[np.uint8]) -> Detections:
        """The adversary's look for plates in an output: the text detector on a
        larger pass than the redaction's (a second look, not a second model:
        no other plate model ships in a wheel)."""
        if self._plate_adversary is None:
            from unseen.detect.text import TextDetector

            self._plate_adversary = TextDetector(self.settings.threads, min_side=768,
                                                 max_megapixels=6.0)
        found = self._plate_adversary.detect(pixels)
        return found.filter(found.kinds == "plate")

    @property
    def text_detector(self) -> TextDetector:
        """PP-OCR's text detector and recogniser, loaded on first use."""
        if self._text_detector is None:
            from unseen.detect.text import TextDetector

            self._text_detector = TextDetector(self.settings.threads)
        return self._text_detector

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
            _failed(result, str(exc), source)
        except MemoryError:
            _failed(result, "ran out of memory", source)
        except Exception as exc:
            # Any other failure is this file's, never the run's: one line for
            # the person, the traceback only in the debug log (--debug).
            LOG.debug("processing failed", exc_info=True)
            _failed(result, unexpected_error(exc), source)
        result.seconds = time.perf_counter() - start
        return result

    def _file(
        self, source: Path, dest: Path, result: FileResult,
        progress: VideoProgressCallback | None = None,
    ) -> None:
        if not source.is_file():
            raise UnseenError(N_("is not a readable file"))
        if dest.exists() and dest.resolve() == source.resolve():
            raise OutputError(N_("output would overwrite the input; choose another output folder"))
        kind = media_kind(source)
        result.kind = kind
        if kind == "gif":
            raise UnsupportedFormatError(N_("GIF images are not supported yet"))
        if kind == "raw":
            raise UnsupportedFormatError(
                N_("camera RAW files are not supported yet; export a JPEG or TIFF first")
            )
        if kind == "video":
            self._video(source, dest, result, progress)
            return
        if kind != "photo":
            raise UnsupportedFormatError(N_("not a photo or video that unseen knows"))
        from unseen.pipeline.photo import anonymize_photo

        anonymize_photo(self, source, dest, result)

    def _video(
        self, source: Path, dest: Path, result: FileResult,
        progress: VideoProgressCallback | None,
    ) -> None:
        """Two passes over the file; nothing is left on failure."""
        s = self.settings
        redactor = self.video_redactor
        dest, info, timeline, warnings = redactor.first_pass(source, dest, progress)
        result.width, result.height = info.width, info.height
        result.detections = first_boxes(timeline)
        result.warnings.extend(warnings)
        if s.redact != "fill":
            result.warnings.append(WEAK_METHOD_WARNING.format(method=s.redact))
        if s.cover == "body":
            result.warnings.append(VIDEO_BODIES)
        adversary = self.adversary if s.verify != "off" else None
        sound = None
        if s.processes_audio:
            from unseen.pipeline.video import prepare_sound

            with timeline.clock.time("sound: voices found, muted or disguised"):
                sound = prepare_sound(source, s, self.audio_judge.detector)
            if sound is not None:
                result.warnings.extend(sound.notes)
        try:
            deliver_video(source, dest, timeline, redactor, self.style,
                          DeliveryPolicy.from_settings(s), result, adversary, progress=progress,
                          sound=sound, audio_judge=self.audio_judge if adversary else None)
        finally:
            result.stages = timeline.clock.rounded()


def _failed(result: FileResult, reason: str, source: Path) -> None:
    result.status = "failed"
    # Reasons name the file by its name only: no path of an original in reports.
    result.error = reason.replace(str(source.resolve()), source.name).replace(
        str(source), source.name)
    result.output = None


def _check_pixels(pixels: NDArray[np.uint8]) -> None:
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UnseenError(N_("expected an RGB uint8 image of shape (H, W, 3)"))
