"""One file through the stages: read -> detect -> track -> cover -> redact ->
judge -> deliver.

`anonymizer` dispatches a file to `photo` or `video` (with `sound`) and builds
its `FileResult`; `regions` finds what to cover in one picture. This module
only hands their names on.
"""

from __future__ import annotations

from unseen.pipeline.anonymizer import Anonymizer
from unseen.pipeline.video import ProgressCallback, VideoPasses, VideoProgress

__all__ = ["Anonymizer", "ProgressCallback", "VideoPasses", "VideoProgress"]
