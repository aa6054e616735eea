"""One photo through the stages: detect -> cover -> redact -> write -> judge -> repair.

`anonymize_photo` finds what to cover; `redact_photo` draws it, writes the
photo into its staging file and lets the adversary judge what was written;
faces it still finds are covered, faces it still recognises filled, and the
photo written and judged again. Both return a `PhotoOutcome`; whether the
staged file is delivered is `unseen.deliver`'s decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.detect.models import Models
from unseen.detections import Detections
from unseen.i18n import N_
from unseen.media.image import Photo, encode_photo
from unseen.pipeline.regions import find_regions, widen
from unseen.redact import (
    WEAK_METHOD_WARNING,
    RedactionPlan,
    RedactionStyle,
    redacted_photo,
)
from unseen.settings import Settings
from unseen.verify.adversary import Adversary
from unseen.verify.files import judge_photo
from unseen.verify.verdict import Finding, Verdict
from unseen.verify.video import MAX_REPAIRS

BODY_WITHOUT_SEGMENTER = N_(
    "bodies were covered below detected faces only: the person model cannot run (the "
    "installation is damaged: reinstall unseen)"
)
REPAIRABLE = ("detected", "reidentified", "plate")
"""What a repair can fix: a face still found or recognised, a plate still read."""


@dataclass(frozen=True)
class PhotoOutcome:
    """A photo redacted, written to its staging file and judged."""

    width: int
    height: int
    regions: Detections
    """Every region covered, repairs included."""
    verdict: Verdict | None
    """The adversary's verdict on the staged file (None: verification off)."""
    warnings: tuple[str, ...] = ()


def anonymize_photo(photo: Photo, staged: Path, models: Models, settings: Settings,
                    adversary: Adversary | None) -> PhotoOutcome:
    """Find and cover every face (and the wider cover the settings ask for) of
    ``photo``, write it to ``staged`` and judge it there."""
    regions = find_regions(photo.pixels, models, settings)
    warnings = []
    if settings.cover == "body" and models.person is None:
        warnings.append(BODY_WITHOUT_SEGMENTER)
    plates = None
    if settings.plates and adversary is not None:
        reader = models.plate_reader

        def plates(pixels: np.ndarray) -> Detections:
            found = reader.detect(pixels)
            return found.filter(found.kinds == "plate")

    outcome = redact_photo(photo, regions, staged, RedactionStyle.from_settings(settings),
                           settings, adversary, plates=plates,
                           widen=widen(settings, photo.width, photo.height))
    return PhotoOutcome(outcome.width, outcome.height, outcome.regions, outcome.verdict,
                        (*warnings, *outcome.warnings))


def redact_photo(
    photo: Photo,
    regions: Detections,
    staged: Path,
    style: RedactionStyle,
    settings: Settings,
    adversary: Adversary | None = None,
    plan: RedactionPlan | None = None,
    repair: bool = True,
    plates: Callable[[np.ndarray], Detections] | None = None,
    widen: Callable[[Detections], Detections] | None = None,
) -> PhotoOutcome:
    """Cover ``regions`` of ``photo``, write it to ``staged`` and judge it.

    ``plan`` (default: ``style``'s plan of ``regions``) is what is drawn; a
    review passes its own (regions added as drawn). With an ``adversary`` the
    written file is judged; with ``repair``, faces it still finds are covered
    and faces it still recognises filled, and the file written and judged
    again (up to `MAX_REPAIRS` times). ``plates``: a plate finder run on the
    written file too; a readable plate outside every cover is unsafe and
    repaired like a face. ``widen``: the regions to cover for faces
    verification found (the cover mode's heads and bodies around them;
    default the faces alone).
    """
    start = time.perf_counter()
    warnings = []
    if style.method != "fill":
        warnings.append(WEAK_METHOD_WARNING.format(method=style.method))
    drawn = plan or style.plan(regions)
    safe = redacted_photo(photo, drawn)
    _write(safe, staged, settings.jpeg_quality)
    if adversary is None:
        return PhotoOutcome(photo.width, photo.height, regions, None, tuple(warnings))

    def judge() -> Verdict:
        return judge_photo(adversary, staged, photo.pixels, drawn.mask(photo.height, photo.width),
                           regions, plates, settings.max_image_megapixels)

    verdict = judge()
    repaired: list[str] = []
    for _ in range(MAX_REPAIRS if repair else 0):
        unsafe = [f for f in verdict.findings if f.severity == "unsafe"]
        if not unsafe or any(f.kind not in REPAIRABLE for f in unsafe):
            break
        extra, known, said = _repairs(unsafe, widen)
        warnings += said
        if len(known):
            safe = redacted_photo(safe, style.filled().plan(known))
            warnings.append(N_("{n} face(s) were still recognisable after {method}; filled "
                               "instead").format(n=len(known), method=style.method))
        if len(extra):
            drawn = drawn.plus(style.plan(extra))
            safe = redacted_photo(safe, style.plan(extra))
        regions = Detections.concat([regions, extra])
        _write(safe, staged, settings.jpeg_quality)
        repaired += [f.message for f in unsafe]
        verdict = judge()
    verdict.repaired = repaired
    verdict.seconds["total"] = time.perf_counter() - start
    return PhotoOutcome(photo.width, photo.height, regions, verdict, tuple(warnings))


def _repairs(unsafe: list[Finding], widen: Callable[[Detections], Detections] | None
             ) -> tuple[Detections, Detections, list[str]]:
    """From the unsafe findings: the regions to add (faces still found, widened
    as the cover mode asks, and plates still read), the faces to fill (still
    recognised), and what to tell the person."""
    missed = [f.box for f in unsafe if f.kind == "detected" and f.box is not None]
    known = [f.box for f in unsafe if f.kind == "reidentified" and f.box is not None]
    readable = [f.box for f in unsafe if f.kind == "plate" and f.box is not None]
    faces = Detections.from_boxes(missed).with_sources("verify") if missed \
        else Detections.empty()
    if missed and widen is not None:
        wider = widen(faces)
        faces = wider.with_sources("verify") if len(wider) else faces
    plates = Detections.from_boxes(readable, "plate").with_sources("verify") if readable \
        else Detections.empty()
    said = []
    if missed and readable:
        said.append(N_("verification found {faces} more face(s) and {plates} readable "
                       "plate(s); covered").format(faces=len(missed), plates=len(readable)))
    elif missed:
        said.append(N_("verification found {faces} more face(s); covered").format(
            faces=len(missed), plates=0))
    elif readable:
        said.append(N_("verification found {plates} readable plate(s); covered").format(
            faces=0, plates=len(readable)))
    filled = Detections.from_boxes(known) if known else Detections.empty()
    return Detections.concat([faces, plates]), filled, said


def _write(photo: Photo, staged: Path, quality: int) -> None:
    """Pixels alone, encoded in the source's format (nothing else of the original)."""
    staged.write_bytes(encode_photo(photo, jpeg_quality=quality))
