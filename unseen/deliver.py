"""The one step from redacted pixels to a delivered file: write atomically, check
the metadata, verify and repair, then deliver or withhold, and record it all in
the file's `FileResult`.

Every way of writing a safe file (the CLI, the batch runners, Ray, the review
UI) goes through `deliver_photo` or `deliver_video`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from unseen.detections import Detections
from unseen.errors import OutputError
from unseen.i18n import N_
from unseen.media.image import Photo, read_photo, write_photo
from unseen.metadata import check_output
from unseen.redact import RedactionPlan, RedactionStyle, apply_plan
from unseen.report import FileResult
from unseen.settings import Settings, VerifyMode
from unseen.track import FaceTimeline
from unseen.verify.adversary import REID_MIN_SCORE, Adversary
from unseen.verify.files import check_metadata
from unseen.verify.verdict import Finding, Verdict
from unseen.verify.video import MAX_REPAIRS, VideoJudge

if TYPE_CHECKING:
    from unseen.verify.audio import AudioJudge

UNSAFE_MARK = ".UNSAFE"


@dataclass(frozen=True)
class DeliveryPolicy:
    """What delivery does: verify (and how hard), keep unsafe outputs or not, and
    how photos are encoded."""

    verify: VerifyMode = "fast"
    allow_unsafe: bool = False
    jpeg_quality: int = 95
    max_image_megapixels: float = 250.0
    video_verify_every: int = 10
    crf: int = 20

    @classmethod
    def from_settings(cls, s: Settings) -> DeliveryPolicy:
        return cls(s.verify, s.allow_unsafe, s.jpeg_quality, s.max_image_megapixels,
                   s.video_verify_every, s.crf)


def unsafe_name(dest: Path) -> Path:
    """Where an unsafe output goes with ``allow_unsafe``: ``name.UNSAFE.jpg``."""
    return dest.with_name(f"{dest.stem}{UNSAFE_MARK}{dest.suffix}")


def withhold_if_unsafe(verdict: Verdict, dest: Path, result: FileResult,
                       allow_unsafe: bool) -> None:
    """Record ``verdict``; an unsafe output at ``dest`` is deleted (status
    ``unsafe``), or renamed ``*.UNSAFE.*`` with ``allow_unsafe``."""
    result.verdict = verdict
    if verdict.safe:
        return
    result.status = "unsafe"
    if allow_unsafe:
        marked = unsafe_name(dest)
        os.replace(dest, marked)
        result.output = str(marked)
        result.warnings.append(N_("UNSAFE output kept as {name}: {reasons}").format(
            name=marked.name, reasons="; ".join(verdict.reasons[:3])))
        return
    dest.unlink(missing_ok=True)
    result.output = None
    more = f" (+{len(verdict.reasons) - 3} more)" if len(verdict.reasons) > 3 else ""
    result.error = N_("judged unsafe, not delivered: {reasons} (--allow-unsafe keeps it as "
                      "*.UNSAFE.*)").format(reasons="; ".join(verdict.reasons[:3]) + more)


# photos ---------------------------------------------------------------------------
def redacted_photo(photo: Photo, plan: RedactionPlan) -> Photo:
    """``photo`` with ``plan`` applied; a transparent face is still in the file,
    so covered pixels are made opaque."""
    pixels = apply_plan(photo.pixels, plan)
    alpha = photo.alpha
    if alpha is not None and plan.regions:
        alpha = alpha.copy()
        alpha[plan.mask(photo.height, photo.width)] = 255
    return Photo(pixels, photo.format, alpha, photo.grayscale)


def _write(photo: Photo, dest: Path, quality: int) -> None:
    try:
        write_photo(photo, dest, quality)  # atomic: temp file beside dest, then rename
    except OSError as exc:
        raise OutputError(N_("cannot write {name}: {reason}").format(
            name=dest.name, reason=exc.strerror or exc)) from exc
    check_output(dest)  # fail closed: any metadata left -> deleted, and an error


def deliver_photo(
    photo: Photo,
    regions: Detections,
    dest: Path,
    style: RedactionStyle,
    policy: DeliveryPolicy,
    result: FileResult,
    adversary: Adversary | None = None,
    plan: RedactionPlan | None = None,
    repair: bool = True,
    plates: Callable[[np.ndarray], Detections] | None = None,
    widen: Callable[[Detections], Detections] | None = None,
) -> None:
    """Cover ``regions`` of ``photo`` and deliver it at ``dest``.

    ``plan`` (default: ``style``'s plan of ``regions``) is what is drawn; a
    review passes its own (regions added as drawn). With an ``adversary`` the
    written file is judged; with ``repair``, faces it still finds are covered
    and faces it still recognises filled, and the file written and judged
    again (up to `MAX_REPAIRS` times). ``plates``: a plate finder run on the
    written file too (with ``--plates``); a readable plate outside every cover
    is unsafe and repaired like a face. ``widen``: the regions to cover for
    faces verification found (the cover mode's heads and bodies around them;
    default the faces alone). Still unsafe: withheld. Raises
    `UnseenError` for what cannot be written; nothing is left behind then.
    """
    start = time.perf_counter()
    plan = plan or style.plan(regions)
    safe = redacted_photo(photo, plan)
    result.detections = regions
    _write(safe, dest, policy.jpeg_quality)
    result.output = str(dest)
    result.status = "written"
    if adversary is None:
        return
    verdict = _judge_photo(adversary, photo, plan, regions, dest, policy, plates)
    repaired: list[str] = []
    for _ in range(MAX_REPAIRS if repair else 0):
        unsafe = [f for f in verdict.findings if f.severity == "unsafe"]
        if not unsafe or any(f.kind not in ("detected", "reidentified", "plate")
                             for f in unsafe):
            break
        missed = [f.box for f in unsafe if f.kind == "detected" and f.box is not None]
        known = [f.box for f in unsafe if f.kind == "reidentified" and f.box is not None]
        readable = [f.box for f in unsafe if f.kind == "plate" and f.box is not None]
        extra = Detections.concat([
            _widened(Detections.from_boxes(missed).with_sources("verify"), widen)
            if missed else Detections.empty(),
            Detections.from_boxes(readable, "plate").with_sources("verify") if readable
            else Detections.empty()])
        if len(extra):
            plan = plan.plus(style.plan(extra))
            if missed and readable:
                found = N_("verification found {faces} more face(s) and {plates} readable "
                           "plate(s); covered")
            elif missed:
                found = N_("verification found {faces} more face(s); covered")
            else:
                found = N_("verification found {plates} readable plate(s); covered")
            result.warnings.append(found.format(faces=len(missed), plates=len(readable)))
        if known:
            filled = style.filled().plan(Detections.from_boxes(known))
            safe = redacted_photo(safe, filled)
            result.warnings.append(N_("{n} face(s) were still recognisable after {method}; "
                                      "filled instead").format(n=len(known),
                                                               method=style.method))
        safe = redacted_photo(safe, style.plan(extra)) if len(extra) else safe
        regions = Detections.concat([regions, extra])
        result.detections = regions
        _write(safe, dest, policy.jpeg_quality)
        repaired += [f.message for f in unsafe]
        verdict = _judge_photo(adversary, photo, plan, regions, dest, policy, plates)
    verdict.repaired = repaired
    verdict.seconds["total"] = time.perf_counter() - start
    withhold_if_unsafe(verdict, dest, result, policy.allow_unsafe)


def _widened(faces: Detections, widen: Callable[[Detections], Detections] | None
             ) -> Detections:
    if widen is None:
        return faces
    regions = widen(faces)
    return regions.with_sources("verify") if len(regions) else faces


def _judge_photo(adversary: Adversary, photo: Photo, plan: RedactionPlan,
                 regions: Detections, dest: Path, policy: DeliveryPolicy,
                 plates: Callable[[np.ndarray], Detections] | None = None) -> Verdict:
    t = time.perf_counter()
    written = read_photo(dest, policy.max_image_megapixels).pixels
    read_s = time.perf_counter() - t
    mask = plan.mask(photo.height, photo.width)
    # Head, body, crowd, plate and text regions are not faces to re-identify.
    strong = regions.filter((regions.scores >= REID_MIN_SCORE) & (regions.kinds == "face"))
    verdict = adversary.check(written, photo.pixels, mask, strong)
    verdict.seconds["read"] = read_s
    if plates is not None:
        t = time.perf_counter()
        for f in plate_findings(plates(written), mask):
            verdict.add(f)
        verdict.seconds["plates"] = time.perf_counter() - t
    check_metadata(dest, verdict)
    return verdict


def plate_findings(found: Detections, covered: np.ndarray) -> list[Finding]:
    """A plate the finder still reads in the output, outside the covered pixels,
    is unsafe (its number identifies the car's owner)."""
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


# videos ---------------------------------------------------------------------------
class VideoWriting(Protocol):
    """Pass 2 of a video (unseen.pipeline.video.VideoRedactor): decode, cover,
    encode into ``dest`` atomically, showing frames to ``judge`` on the way."""

    def write(self, source: Path, dest: Path, timeline: FaceTimeline,
              progress: Callable[..., None] | None = None,
              judge: VideoJudge | None = None, sound: Any = None) -> int: ...

    def regions(self, timeline: FaceTimeline, index: int, width: int, height: int
                ) -> Detections: ...


def deliver_video(
    source: Path,
    dest: Path,
    timeline: FaceTimeline,
    writer: VideoWriting,
    style: RedactionStyle,
    policy: DeliveryPolicy,
    result: FileResult,
    adversary: Adversary | None = None,
    repair: bool = True,
    progress: Callable[..., None] | None = None,
    sound: Any = None,
    audio_judge: AudioJudge | None = None,
) -> None:
    """Write ``source`` with ``timeline``'s regions covered to ``dest`` and deliver it.

    With an ``adversary``, it judges frames inside pass 2 (`VideoJudge`) and
    the written file afterwards; with ``repair``, faces it finds are covered
    around the frame, and faces that blur or pixelate left recognisable are
    filled over their whole track and the video written and judged once more.
    Without an adversary the metadata is still checked (fail closed).
    ``sound`` (unseen.pipeline.video.ProcessedSound): muted or disguised sound
    to encode; with an ``audio_judge`` the written sound is judged against the
    original's (speech left, or a voice still matched: unsafe).
    Nothing is left at ``dest`` when this raises.
    """
    try:
        _deliver_video(source, dest, timeline, writer, style, policy, result, adversary,
                       repair, progress, sound, audio_judge)
    except BaseException:
        dest.unlink(missing_ok=True)  # fail closed: unjudged is undelivered
        result.output = None
        raise


def _deliver_video(
    source: Path, dest: Path, timeline: FaceTimeline, writer: VideoWriting,
    style: RedactionStyle, policy: DeliveryPolicy, result: FileResult,
    adversary: Adversary | None, repair: bool, progress: Callable[..., None] | None,
    sound: Any, audio_judge: AudioJudge | None,
) -> None:
    def judge_for(tl: FaceTimeline) -> VideoJudge | None:
        if adversary is None:
            return None

        def regions(i: int, w: int, h: int) -> Detections:
            return writer.regions(tl, i, w, h)

        return VideoJudge(adversary, tl, regions, style, policy.video_verify_every,
                          policy.crf, repair)

    judge = judge_for(timeline)
    result.frames = writer.write(source, dest, timeline, progress, judge, sound)
    result.output = str(dest)
    result.status = "written"
    if judge is None:
        check_output(dest)  # no adversary, but never undelivered metadata
        return
    with timeline.clock.time("verify: read back the output"):
        verdict = judge.finish(dest)
    repaired = list(verdict.repaired)
    known = [f for f in verdict.findings if f.kind == "reidentified" and f.severity == "unsafe"]
    tracks = judge.tracks_of(known) if repair and style.method != "fill" else []
    if tracks:
        for t in tracks:
            timeline.fill_track(t)
        result.warnings.append(N_("{n} face(s) were still recognisable after {method}; their "
                                  "tracks were filled instead").format(n=len(tracks),
                                                                      method=style.method))
        judge = judge_for(timeline)
        assert judge is not None
        writer.write(source, dest, timeline, None, judge, sound)
        with timeline.clock.time("verify: read back the output"):
            verdict = judge.finish(dest)
        verdict.repaired = repaired + [f.message for f in known] + verdict.repaired
    found = [m for m in verdict.repaired if "still detectable" in m]
    if found:
        result.warnings.append(
            N_("verification found {n} more face(s) while writing; covered them for {frames} "
               "frames either side").format(n=len(found), frames=judge.window))
    if sound is not None and audio_judge is not None:
        with timeline.clock.time("verify: sound"):
            judge_sound(audio_judge, sound.mode, dest, source, verdict)
    withhold_if_unsafe(verdict, dest, result, policy.allow_unsafe)


def judge_sound(audio_judge: AudioJudge, mode: str, output: Path, original: Path | None,
                verdict: Verdict) -> None:
    """The written sound, judged as a listener would hear it: findings added to
    ``verdict`` (speech left after muting, a voice still matched after disguise)."""
    from unseen.verify.audio import judge_files

    t = time.perf_counter()
    heard = judge_files(audio_judge, mode, output, original)
    for reason in heard.reasons:
        verdict.add(Finding("sound", "unsafe", f"sound: {reason}"))
    for note in heard.notes:
        verdict.add(Finding("sound", "note", f"sound: {note}"))
    verdict.seconds["sound"] = time.perf_counter() - t


def first_boxes(timeline: FaceTimeline) -> Detections:
    """One box per track (where it was first seen): the count of faces, and of
    plates and text (their own kinds) when those were looked for."""
    firsts = [t.detections[np.array([0])] for t in timeline.tracks]
    for kind, tracks in timeline.area_tracks.items():
        firsts += [Detections.from_boxes(t.boxes[:1], kind) for t in tracks]
    return Detections.concat(firsts) if firsts else Detections.empty()
