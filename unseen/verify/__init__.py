"""The adversary: judge an output like an attacker before calling it safe.

`verdict` holds the verdict values, `adversary` the models that re-detect and
re-identify, `files` the judging of photo and video files and their
metadata, `video` the judge that sits inside a video's second pass.
"""

from __future__ import annotations

from unseen.verify.adversary import (
    REID_MIN_SCORE,
    SAME_PERSON_DISTANCE,
    Adversary,
    Face,
    adversary_versions,
    changed_mask,
    ensemble,
    faces_to_detections,
)
from unseen.verify.files import (
    VIDEO_CHECK_EVERY,
    check_files,
    check_metadata,
    check_video,
    video_frames_to_check,
)
from unseen.verify.verdict import Finding, Verdict

__all__ = [
    "REID_MIN_SCORE",
    "SAME_PERSON_DISTANCE",
    "VIDEO_CHECK_EVERY",
    "Adversary",
    "Face",
    "Finding",
    "Verdict",
    "adversary_versions",
    "changed_mask",
    "check_files",
    "check_metadata",
    "check_video",
    "ensemble",
    "faces_to_detections",
    "video_frames_to_check",
]
