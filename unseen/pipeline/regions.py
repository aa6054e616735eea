"""What to cover in one picture: detect, then cover (faces, and the heads, bodies,
crowds, plates and text the settings ask for).

Used by the photo path, by the video's key frames (plates and text) and by
the review UI, so that all of them cover what a command-line run covers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from unseen.cover import cover_regions
from unseen.detect.models import Models
from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.settings import Settings

RGB = NDArray[np.uint8]


def check_pixels(pixels: NDArray[np.uint8]) -> None:
    """An in-memory picture must be upright RGB ``uint8`` of shape ``(H, W, 3)``."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UnseenError(N_("expected an RGB uint8 image of shape (H, W, 3)"))


def find_faces(pixels: RGB, models: Models, settings: Settings) -> Detections:
    """Faces (and a crowd's small candidates) in an upright RGB picture: the
    photo search (every model, every scale, confirmed)."""
    return models.faces.detect(pixels, settings.threshold)


def text_regions(pixels: RGB, models: Models, settings: Settings) -> Detections:
    """Licence plates (``plates``) and other legible text (``text``) to cover."""
    found = models.text.detect(pixels)
    wanted = [k for k, on in (("plate", settings.plates), ("text", settings.text)) if on]
    return found.filter(np.isin(found.kinds, wanted))


def find_regions(pixels: RGB, models: Models, settings: Settings,
                 faces: Detections | None = None) -> Detections:
    """Every region to redact in a picture: its faces (``faces`` when already
    found) plus heads, bodies, crowds, plates and text as the settings ask."""
    if faces is None:
        faces = find_faces(pixels, models, settings)
    h, w = pixels.shape[:2]
    extra = []
    if settings.cover == "body" and models.person is not None:
        extra.append(models.person.detect(pixels))
    if settings.plates or settings.text:
        extra.append(text_regions(pixels, models, settings))
    return cover_regions(faces, w, h, settings, extra)


def widen(settings: Settings, width: int, height: int
          ) -> Callable[[Detections], Detections] | None:
    """For faces found after detection (by verification): the faces with the
    heads or bodies the cover mode asks for (no crowd bands); None when the
    mode covers faces alone."""
    if settings.cover == "face":
        return None
    plain = replace(settings, crowd=False)
    return lambda faces: cover_regions(faces, width, height, plain)
