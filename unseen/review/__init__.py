"""Review: what a person changed in what the detector found, and writing the result.

`photo` and `video` hold the reviews (regions or tracks, and the edits),
`store` keeps them with the job state, `export` writes a reviewed file back
through the pipeline. This module only hands their names on.
"""

from __future__ import annotations

from unseen.errors import ReviewError
from unseen.review.export import export_photo, export_summary, export_video
from unseen.review.photo import PhotoReview, ReviewRegion, redact_reviewed
from unseen.review.store import ReviewStore
from unseen.review.video import VideoReview

__all__ = [
    "PhotoReview", "ReviewError", "ReviewRegion", "ReviewStore", "VideoReview",
    "export_photo", "export_summary", "export_video", "redact_reviewed",
]
