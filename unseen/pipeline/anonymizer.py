"""Dispatch: one file (or picture) through its stages, and the one place that
builds a `FileResult`.

`Anonymizer` holds a run's settings, its `Models` and the adversary; the
CLI, the batch runners and the review UI all go through it. A file is read,
handed to the photo or video stages (which write it into a staging file
beside its destination and judge it there), and delivered or withheld by
`unseen.deliver`; then its result is written down, here and nowhere else.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unseen.deliver import Delivery, deliver
from unseen.detect.models import Models
from unseen.detections import Detections
from unseen.errors import OutputError, UnseenError, UnsupportedFormatError, not_processed
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.atomic import staging
from unseen.media.image import Photo, read_photo
from unseen.pipeline.photo import PhotoOutcome, anonymize_photo, redact_photo
from unseen.pipeline.regions import check_pixels, find_regions
from unseen.pipeline.sound import prepare_sound
from unseen.pipeline.video import (
    ProgressCallback,
    VideoOutcome,
    VideoPasses,
    first_boxes,
)
from unseen.redact import RedactionPlan, RedactionStyle, apply_plan
from unseen.report import FileResult
from unseen.settings import Settings
from unseen.stopwatch import Stopwatch
from unseen.track import FaceTimeline
from unseen.verify.adversary import Adversary
from unseen.verify.audio import AudioJudge
from unseen.verify.verdict import Verdict

LOG = logging.getLogger("unseen")


class Anonymizer:
    """Finds and removes faces with one set of settings and loaded models."""

    def __init__(self, settings: Settings | None = None, models: Models | None = None) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.models = models or Models.from_settings(s)
        self.style = RedactionStyle.from_settings(s)
        self.models.faces  # noqa: B018 - the redaction models load now: errors surface here
        self._adversary: Adversary | None = None
        self._adversary_loading: Future[Adversary] | None = None
        self._audio_judge: AudioJudge | None = None
        self._videos: VideoPasses | None = None
        if s.verify != "off":
            # Verification's models (dlib's weights, onnx: seconds) load on a
            # thread while the first file is read and searched; loading
            # releases the GIL (a 12 MP photo from the command line: -1.8 s).
            pool = ThreadPoolExecutor(1, thread_name_prefix="unseen-load")
            self._adversary_loading = pool.submit(self._load_adversary)
            pool.shutdown(wait=False)

    def _load_adversary(self) -> Adversary:
        mode = "fast" if self.settings.verify == "off" else self.settings.verify
        return Adversary(mode, self.models)

    @property
    def adversary(self) -> Adversary:
        """The verification models (loading since the engine was made, unless
        verification is off; then on first use)."""
        if self._adversary is None:
            loading, self._adversary_loading = self._adversary_loading, None
            self._adversary = loading.result() if loading is not None else self._load_adversary()
        return self._adversary

    @property
    def judging(self) -> Adversary | None:
        """The adversary, or None with verification off."""
        return self.adversary if self.settings.verify != "off" else None

    @property
    def audio_judge(self) -> AudioJudge:
        """The sound models (speech detector, speaker encoder), loaded on first use."""
        if self._audio_judge is None:
            self._audio_judge = AudioJudge(self.models)
        return self._audio_judge

    @property
    def videos(self) -> VideoPasses:
        """The video passes (with their extra detector sessions), made on first use."""
        if self._videos is None:
            self._videos = VideoPasses(self.models, self.settings)
        return self._videos

    # in memory -----------------------------------------------------------
    def detect(self, pixels: NDArray[np.uint8]) -> Detections:
        """Faces in an upright RGB image."""
        return self.models.faces.detect(pixels, self.settings.threshold)

    def plan(self, detections: Detections) -> RedactionPlan:
        return self.style.plan(detections)

    def cover(self, pixels: NDArray[np.uint8], faces: Detections | None = None) -> Detections:
        """Every region to redact: the faces (found now unless given) plus heads,
        bodies, crowds and plates as the settings ask (unseen.pipeline.regions)."""
        return find_regions(pixels, self.models, self.settings, faces)

    def redact_pixels(self, pixels: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], Detections]:
        """Return (redacted copy, covered regions) for an upright RGB image."""
        check_pixels(pixels)
        dets = self.cover(pixels)
        return apply_plan(pixels, self.plan(dets)), dets

    def picture(self, pixels: NDArray[np.uint8]) -> FileResult:
        """The result for an in-memory RGB picture (``result.image`` is the
        redacted copy; nothing is written)."""
        image, dets = self.redact_pixels(pixels)
        return FileResult(input="<array>", kind="photo", detections=dets, image=image,
                          width=int(pixels.shape[1]), height=int(pixels.shape[0]))

    # files ----------------------------------------------------------------
    def file(self, source: Path, dest: Path, progress: ProgressCallback | None = None
             ) -> FileResult:
        """Anonymize ``source`` into ``dest``. Never raises for bad input:
        the result says what went wrong, and nothing is written then.
        ``progress`` is called per video frame (videos only)."""
        return self._run(source, dest, lambda: self._file(source, dest, progress))

    def export_photo(self, source: Path, dest: Path, regions: Detections,
                     plan: RedactionPlan, style: RedactionStyle, size: tuple[int, int],
                     verify: bool) -> FileResult:
        """A reviewed photo: ``regions`` covered as ``plan`` draws them (what a
        person kept and added), judged when ``verify`` (faces the adversary
        still finds are covered too), delivered. ``size``: the photo's size when
        it was reviewed (a photo that changed since is refused)."""
        def run() -> FileResult:
            _check_target(source, dest)
            photo = read_photo(source, self.settings.max_image_megapixels)
            if (photo.width, photo.height) != size:
                raise UnseenError(
                    N_("the photo changed size since it was reviewed; reset the review"))
            with staging(dest) as staged:
                outcome = redact_photo(photo, regions, staged, style, self.settings,
                                       self.adversary if verify else None, plan=plan)
                delivery = _deliver(staged, dest, outcome.verdict, self.settings)
            return _photo_result(source, outcome, delivery)

        return self._run(source, dest, run, kind="photo")

    def export_video(self, source: Path, dest: Path, timeline: FaceTimeline,
                     settings: Settings, regions: Detections,
                     progress: ProgressCallback | None = None) -> FileResult:
        """A reviewed video: ``timeline`` (the person's regions per frame) written
        with ``settings`` (the review's method, shape and sound), judged without
        repairs (the frames the adversary flags are for the person), delivered.
        ``regions``: one box per kept or added track, for the count."""
        def run() -> FileResult:
            from unseen.media.video import probe_video
            from unseen.pipeline.sound import sound_warnings
            from unseen.pipeline.video import output_path

            info = probe_video(source)
            out = output_path(dest)
            warnings = sound_warnings(bool(info.audio_codec), settings.audio)
            if settings.redact != "fill":
                from unseen.redact import WEAK_METHOD_WARNING

                warnings.append(WEAK_METHOD_WARNING.format(method=settings.redact))
            clock = Stopwatch()
            outcome, delivery = self._write_video(source, out, timeline, settings, clock,
                                                  repair=False, progress=progress,
                                                  warnings=warnings)
            return _video_result(source, info.width, info.height, regions, outcome, delivery,
                                 clock)

        return self._run(source, dest, run, kind="video")

    def _run(self, source: Path, dest: Path, work: Callable[[], FileResult],
             kind: str | None = None) -> FileResult:
        """``work`` for one file, its errors turned into a failed result: one
        line for the person, the traceback only in the debug log (--debug)."""
        start = time.perf_counter()
        try:
            result = work()
        except UnseenError as exc:
            result = _failed(source, str(exc), kind)
        except MemoryError:
            result = _failed(source, "ran out of memory", kind)
        except OSError as exc:
            LOG.debug("processing failed", exc_info=True)
            reason = (N_("cannot write {name}: {reason}").format(
                name=dest.name, reason=exc.strerror or exc) if _writing(exc, dest)
                else not_processed(exc))
            result = _failed(source, reason, kind)
        except Exception as exc:
            # Any other failure is this file's, never the run's; a full disk
            # wrapped in a library's error is still a full disk.
            LOG.debug("processing failed", exc_info=True)
            full = _disk_refused(exc)
            reason = (N_("cannot write {name}: {reason}").format(
                name=dest.name, reason=full.strerror or full) if full is not None
                else not_processed(exc))
            result = _failed(source, reason, kind)
        result.seconds = time.perf_counter() - start
        return result

    def _file(self, source: Path, dest: Path, progress: ProgressCallback | None) -> FileResult:
        _check_target(source, dest)
        kind = media_kind(source)
        if kind == "gif":
            raise UnsupportedFormatError(N_("GIF images are not supported yet"))
        if kind == "raw":
            raise UnsupportedFormatError(
                N_("camera RAW files are not supported yet; export a JPEG or TIFF first")
            )
        if kind == "video":
            return self._video(source, dest, progress)
        if kind != "photo":
            raise UnsupportedFormatError(N_("not a photo or video that unseen knows"))
        return self._photo(source, dest)

    def _photo(self, source: Path, dest: Path) -> FileResult:
        photo: Photo = read_photo(source, self.settings.max_image_megapixels)
        with staging(dest) as staged:
            outcome = anonymize_photo(photo, staged, self.models, self.settings, self.judging)
            delivery = _deliver(staged, dest, outcome.verdict, self.settings)
        return _photo_result(source, outcome, delivery)

    def _video(self, source: Path, dest: Path, progress: ProgressCallback | None
               ) -> FileResult:
        """Two passes over the file; nothing is left on failure."""
        clock = Stopwatch()
        first = self.videos.first_pass(source, clock, progress)
        outcome, delivery = self._write_video(
            source, first.output_path(dest), first.timeline, self.settings, clock,
            repair=True, progress=progress, warnings=list(first.warnings))
        return _video_result(source, first.info.width, first.info.height,
                             first_boxes(first.timeline), outcome, delivery, clock)

    def _write_video(self, source: Path, dest: Path, timeline: FaceTimeline,
                     settings: Settings, clock: Stopwatch, repair: bool,
                     progress: ProgressCallback | None, warnings: list[str]
                     ) -> tuple[VideoOutcome, Delivery]:
        """Pass 2 (with the sound as ``settings.audio`` says) into a staging file,
        judged, then delivered."""
        passes = self.videos if settings == self.settings else VideoPasses(self.models,
                                                                             settings)
        adversary = self.adversary if settings.verify != "off" else None
        sound = None
        if settings.processes_audio:
            with clock.time("sound: voices found, muted or disguised"):
                sound = prepare_sound(source, settings, self.models)
            if sound is not None:
                warnings.extend(sound.notes)
        with staging(dest) as staged:
            outcome = passes.second_pass(
                source, staged, timeline, clock, adversary, repair, sound,
                self.audio_judge if adversary is not None else None, progress)
            delivery = _deliver(staged, dest, outcome.verdict, settings)
        return VideoOutcome(outcome.frames, outcome.verdict,
                            (*warnings, *outcome.warnings)), delivery


ROOM_MARGIN = 16 << 20
"""Free space beyond the input's own size that a file's output needs, at least."""


def _check_target(source: Path, dest: Path) -> None:
    """Before a file is read: it is a regular file, its output overwrites no input,
    and the output's folder takes files and has room for about the input's size."""
    if not source.is_file():
        raise UnseenError(N_("is not a readable file"))
    if dest.exists() and os.path.samefile(dest, source):
        raise OutputError(N_("output would overwrite the input; choose another output folder"))
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(N_("cannot write {name}: {reason}").format(
            name=dest.name, reason=exc.strerror or exc)) from exc
    if not os.access(folder, os.W_OK):
        readonly = bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
        code = errno.EROFS if readonly else errno.EACCES
        raise OutputError(N_("cannot write {name}: {reason}").format(
            name=dest.name, reason=os.strerror(code)))
    free = shutil.disk_usage(folder).free
    need = source.stat().st_size + ROOM_MARGIN
    if free < need:
        raise OutputError(N_("not enough free space for its output: {free} MB free, about "
                             "{need} MB needed").format(free=f"{free / 1e6:.0f}",
                                                        need=f"{need / 1e6:.0f}"))


def _disk_refused(exc: BaseException) -> OSError | None:
    """The OSError in ``exc``'s chain that says the disk is full or will not take the
    file, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_ERRORS:
            return current
        current = current.__cause__ or current.__context__
    return None


def _deliver(staged: Path, dest: Path, verdict: Verdict | None, settings: Settings
             ) -> Delivery:
    return deliver(staged, dest, verdict, settings.allow_unsafe)


_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


def _writing(exc: OSError, dest: Path) -> bool:
    """Whether ``exc`` came from writing the output (a full disk, a read-only or
    forbidden output folder), not from reading the input."""
    if exc.errno in _DISK_ERRORS:
        return True
    name = exc.filename
    return isinstance(name, str) and Path(name).parent == dest.parent


def _photo_result(source: Path, outcome: PhotoOutcome, delivery: Delivery) -> FileResult:
    r = FileResult(input=str(source), kind="photo", detections=outcome.regions,
                   width=outcome.width, height=outcome.height, verdict=outcome.verdict,
                   warnings=list(outcome.warnings))
    _delivered(r, delivery)
    return r


def _video_result(source: Path, width: int, height: int, regions: Detections,
                  outcome: VideoOutcome, delivery: Delivery, clock: Stopwatch) -> FileResult:
    r = FileResult(input=str(source), kind="video", detections=regions, width=width,
                   height=height, frames=outcome.frames, verdict=outcome.verdict,
                   warnings=list(outcome.warnings), stages=clock.rounded())
    _delivered(r, delivery)
    return r


def _delivered(r: FileResult, delivery: Delivery) -> None:
    r.status = delivery.status
    r.output = str(delivery.output) if delivery.output is not None else None
    r.error = delivery.error
    if delivery.warning:
        r.warnings.append(delivery.warning)


def _failed(source: Path, reason: str, kind: str | None) -> FileResult:
    # Reasons name the file by its name only: no path of an original in reports.
    error = reason.replace(str(source.resolve()), source.name).replace(str(source), source.name)
    if kind is None:
        kind = media_kind(source) if source.is_file() else "photo"
    return FileResult(input=str(source), kind=kind, status="failed", error=error)
