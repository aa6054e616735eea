"""One photo through the stages: read -> detect -> cover -> deliver.

Detection and cover happen here; redaction, writing, verification and the
decision to deliver are `unseen.deliver`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from unseen.deliver import DeliveryPolicy, deliver_photo
from unseen.i18n import N_
from unseen.media.image import read_photo
from unseen.redact import WEAK_METHOD_WARNING, RedactionStyle
from unseen.report import FileResult

if TYPE_CHECKING:
    from unseen.pipeline import Anonymizer

BODY_WITHOUT_SEGMENTER = N_(
    "bodies were covered below detected faces only: the person model cannot run (the "
    "installation is damaged: reinstall unseen)"
)


def anonymize_photo(engine: Anonymizer, source: Path, dest: Path, result: FileResult) -> None:
    """Find and cover every face (and wider cover) of the photo at ``source``
    and deliver it at ``dest``; raises `UnseenError` for what cannot be done."""
    s = engine.settings
    photo = read_photo(source, s.max_image_megapixels)
    result.width, result.height = photo.width, photo.height
    regions = engine.cover(photo.pixels, engine.detect(photo.pixels))
    if s.redact != "fill":
        result.warnings.append(WEAK_METHOD_WARNING.format(method=s.redact))
    if s.cover == "body" and engine.person_segmenter is None:
        result.warnings.append(BODY_WITHOUT_SEGMENTER)
    adversary = engine.adversary if s.verify != "off" else None
    deliver_photo(photo, regions, dest, RedactionStyle.from_settings(s),
                  DeliveryPolicy.from_settings(s), result, adversary,
                  plates=engine.plate_finder if s.plates and adversary else None,
                  widen=engine.widen(photo.width, photo.height))
