"""Writing what a person reviewed: back through the pipeline with the reviewed
regions (`unseen.pipeline.anonymizer.Anonymizer.export_photo` and
``export_video``), so that every export is judged and delivered like any other
file; and what the page shows about an export (words and frame numbers only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unseen.pipeline import Anonymizer, ProgressCallback
from unseen.report import FileResult
from unseen.review.photo import PhotoReview
from unseen.review.video import FrameRegions, VideoReview
from unseen.settings import Settings


def export_photo(engine: Anonymizer, source: Path, dest: Path, review: PhotoReview,
                 verify: bool | None = None) -> FileResult:
    """Write ``source`` with the review's regions covered to ``dest`` (pixels only,
    the metadata check, then the adversary when ``verify``, default: when the
    settings have it on, which also covers faces it still finds). An unsafe
    export is withheld and says why. Never raises for bad input."""
    s = engine.settings
    on = s.verify != "off" if verify is None else verify
    return engine.export_photo(source, dest, review.covered_detections(),
                               review.plan(s.fill_color), review.style(s.fill_color),
                               (review.width, review.height), on)


def export_video(engine: Anonymizer, source: Path, dest: Path, review: VideoReview,
                 per_frame: list[FrameRegions] | None = None,
                 progress: ProgressCallback | None = None,
                 settings: Settings | None = None) -> FileResult:
    """Write the reviewed video with the person's regions (``per_frame``: the
    review's `frame_regions`, when already worked out); the adversary judges
    it (no repair: flagged frames are for the person). ``settings``: the
    review's base settings (default: the engine's). Never raises for bad input."""
    chosen = review.settings(settings or engine.settings)
    regions = per_frame if per_frame is not None else review.frame_regions()
    return engine.export_video(source, dest, review.timeline(regions, chosen), chosen,
                               review.first_boxes(), progress)


def export_summary(result: FileResult, out: Path) -> dict[str, Any]:
    """What the page shows about an export: words and frame numbers, no pixels.
    ``flagged``: the video frames where the adversary found something unsafe."""
    output = None
    if result.output:
        output = Path(result.output).resolve().relative_to(out).as_posix()
    verdict = result.verdict.to_dict() if result.verdict is not None else None
    flagged = sorted({f.frame for f in result.verdict.findings
                      if f.frame is not None and f.severity == "unsafe"}) \
        if result.verdict is not None else []
    return {"status": result.status, "output": output, "error": result.error,
            "warnings": list(result.warnings), "faces": result.faces,
            "frames": result.frames, "verdict": verdict, "flagged": flagged,
            "seconds": round(result.seconds, 2)}
