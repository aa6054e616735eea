"""Judging files: the adversary on a photo or video file (optionally beside its
original), and the metadata inspector on the output.

Used by the pipeline on every file it writes (`judge_photo`, and
`unseen.verify.video` for videos) and by ``unseen check`` for any tool's output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.audio import has_audio
from unseen.media.image import read_photo
from unseen.media.video import count_frames, read_frames
from unseen.metadata import inspect
from unseen.verify.adversary import REID_MIN_SCORE, Adversary
from unseen.verify.audio import AudioJudge, judge_files
from unseen.verify.verdict import Finding, Verdict

if TYPE_CHECKING:
    from unseen.track import Track

VIDEO_CHECK_EVERY = 10
"""The adversary looks at every this many frames of a written video (plus the
frames where tracks start and end, and the last frame)."""


def video_frames_to_check(frames: int, every: int, tracks: Sequence[Track] = ()) -> list[int]:
    """Frame numbers to judge: every ``every``-th, the last, and each track's
    first and last detection (where a face enters and leaves the cover)."""
    picks = set(range(0, frames, max(1, every)))
    picks.add(frames - 1)
    for t in tracks:
        for f in (t.frames[0], t.frames[-1]):
            # A frame next to one already judged adds little.
            if not any(g in picks for g in range(f - 2, f + 3)):
                picks.add(f)
    return sorted(i for i in picks if 0 <= i < frames)


def check_video(
    adversary: Adversary,
    output: Path,
    original: Path | None = None,
    frames: Iterable[int] | None = None,
    covered: Callable[[int, int, int], NDArray[np.bool_]] | None = None,
    faces: Callable[[int], Detections] | None = None,
    metadata: bool = True,
) -> Verdict:
    """The verdict on a video: the photo check (`Adversary.check`) on the
    ``frames`` listed (every frame when None), decoded from ``output`` and,
    in step, from ``original``; then metadata on the file.

    ``covered(index, height, width)`` is the redacted mask of a frame and
    ``faces(index)`` where its faces were (both worked out from the original
    when not given). Reasons name the frame: "frame 1,204: a face at ...".
    """
    start = time.perf_counter()
    verdict = Verdict(mode=adversary.mode)
    wanted = None if frames is None else set(frames)
    outs = read_frames(output)
    origs = read_frames(original) if original is not None else None
    checked = total = 0
    for fb in outs:
        fa = next(origs, None) if origs is not None else None
        if origs is not None and fa is None:
            verdict.add(Finding("unchecked", "unsafe",
                                N_("the output has more frames than the original "
                                   "({count}+)").format(count=fb.index + 1)))
            break
        total += 1
        if wanted is not None and fb.index not in wanted:
            continue
        out = fb.rgb()
        orig = fa.rgb() if fa is not None else None
        h, w = out.shape[:2]
        one = adversary.check(
            out, orig,
            covered(fb.index, h, w) if covered is not None else None,
            faces(fb.index) if faces is not None and orig is not None else None,
        )
        checked += 1
        for f in one.findings:
            verdict.add(replace(f, message=N_("frame {frame}: {message}").format(
                frame=f"{fb.index:,}", message=f.message), frame=fb.index))
        verdict.faces_checked += one.faces_checked
        verdict.faces_skipped += one.faces_skipped
        verdict.distances += one.distances
        for k, v in one.seconds.items():
            verdict.seconds[k] = verdict.seconds.get(k, 0.0) + v
    if origs is not None and next(origs, None) is not None:
        verdict.add(Finding("unchecked", "unsafe",
                            N_("the output has fewer frames ({count}) than the "
                               "original").format(count=total)))
    if checked < total:
        verdict.add(Finding("unchecked", "note",
                            N_("{checked} of {total} frames checked for faces").format(
                                checked=checked, total=total)))
    verdict.seconds["frames_checked"] = float(checked)
    if metadata:
        check_metadata(output, verdict)
    verdict.seconds["total"] = time.perf_counter() - start
    return verdict


def judge_photo(
    adversary: Adversary,
    written: Path,
    original: NDArray[np.uint8],
    covered: NDArray[np.bool_],
    regions: Detections,
    plates: Callable[[NDArray[np.uint8]], Detections] | None = None,
    max_megapixels: float = 250.0,
) -> Verdict:
    """The verdict on a photo as written (decoded from ``written``, as a viewer
    sees it), beside its ``original`` pixels: faces still detected outside
    the ``covered`` pixels, faces of ``regions`` still recognised, plates
    ``plates`` still reads outside the covers, and the file's metadata."""
    t = time.perf_counter()
    pixels = read_photo(written, max_megapixels).pixels
    read_s = time.perf_counter() - t
    # Head, body, crowd, plate and text regions are not faces to re-identify.
    strong = regions.filter((regions.scores >= REID_MIN_SCORE) & (regions.kinds == "face"))
    verdict = adversary.check(pixels, original, covered, strong)
    verdict.seconds["read"] = read_s
    if plates is not None:
        t = time.perf_counter()
        for f in plate_findings(plates(pixels), covered):
            verdict.add(f)
        verdict.seconds["plates"] = time.perf_counter() - t
    check_metadata(written, verdict)
    return verdict


def plate_findings(found: Detections, covered: NDArray[np.bool_]) -> list[Finding]:
    """A plate still read in the output outside the covered pixels is unsafe
    (its number identifies the car's owner)."""
    out = []
    h, w = covered.shape[:2]
    for x1, y1, x2, y2 in found.filter(found.kinds == "plate").boxes.tolist():
        a, b = max(0, int(x1)), max(0, int(y1))
        c, d = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
        part = covered[b:d, a:c]
        if part.size and float(part.mean()) >= 0.5:
            continue
        out.append(Finding("plate", "unsafe",
                           N_("a licence plate at {where} ({size} px wide) is still "
                              "readable").format(where=f"{(x1 + x2) / 2:.0f},{(y1 + y2) / 2:.0f}",
                                                 size=f"{x2 - x1:.0f}"),
                           (x1, y1, x2, y2), y2 - y1, detectors=("text",)))
    return out


def check_metadata(path: Path, verdict: Verdict) -> None:
    """Add a finding per identifying field left in the file at ``path``."""
    t = time.perf_counter()
    try:
        found = inspect(path)
    except UnseenError as exc:
        verdict.add(Finding("unchecked", "unsafe",
                            N_("metadata: could not be checked ({reason})").format(reason=exc)))
        return
    for f in found:
        verdict.add(Finding("metadata", "unsafe",
                            N_("metadata: {field} ({category}) found in {where}").format(
                                field=f.name, category=f.category, where=f.where)))
    verdict.seconds["metadata"] = time.perf_counter() - t


def check_files(adversary: Adversary, output: Path, original: Path | None = None,
                audio_judge: AudioJudge | None = None) -> Verdict:
    """The verdict on an output file, optionally against its original. A video
    is judged on every `VIDEO_CHECK_EVERY`-th frame and its last (``full``
    mode: every frame); the redacted regions are what differs from the original.
    A video's sound, with an ``audio_judge``: against the original, a voice the
    speaker model still links to the original's is unsafe; alone, the speech
    heard is a note."""
    if media_kind(output) == "video":
        every = 1 if adversary.mode == "full" else VIDEO_CHECK_EVERY
        picks = video_frames_to_check(count_frames(output), every)
        verdict = check_video(adversary, output, original, picks)
        if audio_judge is not None and has_audio(output):
            heard = judge_files(audio_judge, "disguise" if original is not None else "keep",
                                output, original)
            for reason in heard.reasons:
                verdict.add(Finding("sound", "unsafe",
                                    N_("sound: {message}").format(message=reason)))
            for note in heard.notes:
                verdict.add(Finding("sound", "note", N_("sound: {message}").format(message=note)))
        return verdict
    out = read_photo(output).pixels
    orig = read_photo(original).pixels if original is not None else None
    verdict = adversary.check(out, orig)
    check_metadata(output, verdict)
    return verdict
