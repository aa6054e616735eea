"""Video review routes: the tracks pass 1 found, frames to scrub, edits, export.

Placeholder until the video timeline lands: a thumbnail of the first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from fastapi import FastAPI
from numpy.typing import NDArray

from unseen.media.video import read_frames

if TYPE_CHECKING:
    from unseen.web.app import ReviewContext

THUMB_SIDE = 320


class VideoReviews:
    """Video state of one app."""

    def __init__(self, ctx: ReviewContext) -> None:
        self.ctx = ctx

    def thumbnail(self, rel: str) -> NDArray[np.uint8]:
        job = self.ctx.job(rel)
        for vf in read_frames(job.source, limit=1):
            h, w = vf.frame.height, vf.frame.width
            s = min(1.0, THUMB_SIDE / max(w, h))
            return vf.rgb(max(16, round(w * s)), max(16, round(h * s)))
        return np.zeros((90, 160, 3), np.uint8)

    def add_routes(self, app: FastAPI) -> None:
        _ = app
