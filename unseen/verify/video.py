"""Verification of a video while it is written, and of the file afterwards.

`VideoJudge` is the adversary inside pass 2: the pipeline shows it chosen
frames of the redacted stream before they are encoded, so that a face it
still finds is covered there and in the frames around it at no extra pass.
Once the file is written, the pipeline decodes it and shows the judge every
frame it reads back (`read_back`): the judge checks that the file holds what
was judged (the frame count and timestamps, every judged frame, and for
``fill`` every covered region of every frame), and `finish` gives the verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.i18n import N_
from unseen.media.video import display_timestamps
from unseen.redact import RedactionStyle
from unseen.track import FaceTimeline, Track
from unseen.verify.adversary import REID_MIN_SCORE, Adversary
from unseen.verify.files import check_metadata, video_frames_to_check
from unseen.verify.verdict import Finding, Verdict

MAX_REPAIRS = 3
"""Rounds of cover-and-judge-again before an output is called unsafe: covering
one face can reveal the next one the adversary believes in."""

MARK_SIZE = (32, 18)
"""A judged frame is remembered as a thumbnail this small (no face survives it)."""
MARK_TOLERANCE = 8.0
"""Mean absolute difference (0-255) above which the written frame is not the judged one."""
FILL_TOLERANCE = 24
"""A pixel inside a fill further than this from the fill colour (any channel) is open."""
LOSSY_CRF = 28
"""Above this x264/VP9 quality setting, compression smears neighbouring colour
into a fill: for every 8 steps more the check allows one more tolerance, and
looks about 3 px further in."""
MIN_FILL_CHECK_PX = 8
"""Open pixels count when they form a blob of at least this squared (a few
pixels are compression noise, and too few to show a face)."""


def reid_frames(tracks: list[Track], frames: set[int]
                ) -> dict[int, list[tuple[Track, NDArray[np.float32]]]]:
    """Where each track is re-identified: the judged frame in which its
    detection is largest (adding its largest detection's frame to ``frames``
    when none of its detections is judged). Returns frame -> (track, box)."""
    plan: dict[int, list[tuple[Track, NDArray[np.float32]]]] = {}
    for t in tracks:
        strong = [k for k, sc in enumerate(t.scores.tolist()) if sc >= REID_MIN_SCORE]
        if not strong:
            continue
        height = [float(t.boxes[k][3] - t.boxes[k][1]) for k in strong]
        judged = [k for k in strong if t.frames[k] in frames]
        pool = judged or strong
        k = max(pool, key=lambda k: height[strong.index(k)])
        frames.add(t.frames[k])
        plan.setdefault(t.frames[k], []).append((t, t.boxes[k]))
    return plan


@dataclass(frozen=True)
class _Mark:
    thumb: NDArray[np.uint8]
    """Kept as 8-bit (1.7 KB a judged frame: hours of video stay small)."""


class VideoJudge:
    """The adversary on the frames of pass 2, and on the file it wrote.

    Judged: every ``video_verify_every``-th frame, the last, and the frames
    where tracks that reached ``REID_MIN_SCORE`` start and end. Each track is
    re-identified once, where its face is largest. A face found is covered
    ``window`` frames either side and the frame judged again, up to
    ``MAX_REPAIRS`` times.
    """

    def __init__(self, adversary: Adversary, timeline: FaceTimeline, style: RedactionStyle,
                 every: int = 10, crf: int = 20, repair: bool = True) -> None:
        self.adversary = adversary
        self.repair = repair
        """Whether faces found are returned for covering (False: only judged,
        as in the review UI, where the person decides)."""
        self._plan = style.plan
        self.fills = style.method == "fill"
        """Whether every covered region of every frame is checked in the written
        file (``fill``: a cover must read back as the fill colour)."""
        self._fill_color = np.array(style.fill_color, np.float32)
        lossy = max(0, crf - LOSSY_CRF) / 8
        self._tolerance = round(FILL_TOLERANCE * (1 + lossy))
        inset = round(3 * (1 + lossy))
        self._erode = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inset + 1,) * 2)
        self.window = max(1, every)
        self.timeline = timeline
        strong = [t for t in timeline.tracks if t.best_score >= REID_MIN_SCORE]
        self.frames = set(video_frames_to_check(timeline.frames, self.window, strong))
        self._reid = reid_frames(strong, self.frames)
        self.verdict = Verdict(mode=self.adversary.mode)
        self._rounds: dict[int, int] = {}
        self._findings: dict[int, list[Finding]] = {}
        self._marks: dict[int, _Mark] = {}
        self._want: list[int] | None = None
        self._seconds = 0.0
        self._read: int = 0
        self._read_start = 0.0
        self._stopped = False
        self._written: list[Finding] = []
        """What the read-back found (added to the verdict after the judged frames')."""

    # while pass 2 writes ---------------------------------------------------------
    def wants(self, index: int) -> bool:
        return index in self.frames

    def judge(self, index: int, original: NDArray[np.uint8], redacted: NDArray[np.uint8],
              covered: Detections) -> Detections:
        start = time.perf_counter()
        rounds = self._rounds.get(index, 0)
        self._rounds[index] = rounds + 1
        h, w = redacted.shape[:2]
        faces = Detections.empty()
        if rounds == 0 and index in self._reid:
            faces = Detections.from_boxes(np.stack([b for _, b in self._reid[index]]))
        one = self.adversary.check(redacted, original, self._plan(covered).mask(h, w), faces,
                                   video=True)
        found = [replace(f, message=N_("frame {frame}: {message}").format(
                     frame=f"{index:,}", message=f.message), frame=index)
                 for f in one.findings]
        before = self._findings.get(index, [])
        if rounds:
            # The previous round's unsafe finds were covered; keep its re-identifications.
            self.verdict.repaired += [f.message for f in before
                                      if f.severity == "unsafe" and f.kind == "detected"]
            found += [f for f in before if f.kind == "reidentified"]
        self._findings[index] = found
        v = self.verdict
        v.faces_checked += one.faces_checked
        v.faces_skipped += one.faces_skipped
        v.distances += one.distances
        for k, sec in one.seconds.items():
            v.seconds[k] = v.seconds.get(k, 0.0) + sec
        self._seconds += time.perf_counter() - start
        missed = [f.box for f in found
                  if f.severity == "unsafe" and f.kind == "detected" and f.box is not None]
        if not missed or rounds >= MAX_REPAIRS or not self.repair:
            return Detections.empty()
        return Detections.from_boxes(missed)

    def encoded(self, index: int, pixels: NDArray[np.uint8]) -> None:
        if index in self.frames:
            thumb = cv2.resize(pixels, MARK_SIZE, interpolation=cv2.INTER_AREA)
            self._marks[index] = _Mark(np.asarray(thumb, np.uint8))

    def tracks_of(self, findings: list[Finding]) -> list[Track]:
        """The tracks whose re-identification gave these findings."""
        found: dict[int, Track] = {}
        for f in findings:
            if f.frame is None or f.box is None:
                continue
            for t, box in self._reid.get(f.frame, []):
                if np.allclose(box, f.box, atol=1.0):
                    found[t.id] = t
        return list(found.values())

    # reading the written file back ---------------------------------------------------
    def read_back(self, index: int, pts: int, time_base: Fraction) -> bool:
        """Frame ``index`` of the written file, at ``pts``: whether it belongs
        there (else an unsafe finding, and the read-back stops: False)."""
        if self._stopped:
            return False
        if not self._read:
            self._read_start = time.perf_counter()
        self._read += 1
        tl = self.timeline
        if index >= tl.frames:
            self._written.append(Finding("unchecked", "unsafe",
                          N_("the written file has more frames than the original "
                             "({count}+)").format(count=index + 1)))
            self._stopped = True
            return False
        # What pass 2 wrote: the decoded timestamps, rebuilt in display order
        # where they were out of it (unseen.media.video.display_timestamps).
        if self._want is None:
            self._want = display_timestamps(tl.pts)
        # The container may store time in coarser ticks (Matroska: 1 ms).
        if abs(pts * time_base - self._want[index] * tl.time_base) > max(time_base,
                                                                      tl.time_base):
            self._written.append(Finding("unchecked", "unsafe",
                          N_("frame {frame}: written with another timestamp than the "
                             "original").format(frame=f"{index:,}")))
            self._stopped = True
            return False
        return True

    def looks_at(self, index: int) -> bool:
        """Whether the pixels of written frame ``index`` are to be checked."""
        return self.fills or index in self._marks

    def check_written(self, index: int, pixels: NDArray[np.uint8],
                      covered: Detections | None = None) -> None:
        """Written frame ``index`` against what was judged: the same picture, and
        (``fill``) every ``covered`` region still filled."""
        mark = self._marks.get(index)
        if mark is not None:
            thumb = cv2.resize(pixels, MARK_SIZE, interpolation=cv2.INTER_AREA)
            diff = float(np.abs(thumb.astype(np.float32)
                                - mark.thumb.astype(np.float32)).mean())
            if diff > MARK_TOLERANCE:
                self._written.append(Finding(
                    "unchecked", "unsafe",
                    N_("frame {frame}: the written frame is not the one judged "
                       "(difference {difference})").format(
                           frame=f"{index:,}", difference=f"{diff:.1f}"), frame=index))
        if self.fills and covered is not None:
            self._open_fills(index, pixels, covered)

    def finish(self, output: Path) -> Verdict:
        """The verdict: what was judged in the stream, the read-back of the
        written file (frame count, timestamps, judged frames, fills) and its
        metadata."""
        start = time.perf_counter()
        v = self.verdict
        for index in sorted(self._findings):
            v.findings += self._findings[index]
        if v.repaired:
            v.findings.append(Finding(
                "detected", "note",
                N_("{n} face(s) the adversary found were covered for {frames} frames either "
                   "side and judged again").format(n=len(v.repaired), frames=self.window)))
        v.findings += self._written
        tl = self.timeline
        if self._read != tl.frames:
            v.add(Finding("unchecked", "unsafe",
                          N_("the written file has {count} frames, the original "
                             "{total}").format(count=self._read, total=tl.frames)))
        checked = (N_("{checked} of {total} frames checked for faces, covers checked in every "
                      "frame") if self.fills else
                   N_("{checked} of {total} frames checked for faces"))
        v.add(Finding("unchecked", "note",
                      checked.format(checked=len(self._rounds), total=tl.frames)))
        check_metadata(output, v)
        read_back = (start - self._read_start) if self._read else 0.0
        v.seconds["frames_checked"] = float(len(self._rounds))
        v.seconds["read_back"] = read_back + time.perf_counter() - start \
            - v.seconds.get("metadata", 0.0)
        v.seconds["total"] = self._seconds + read_back + time.perf_counter() - start
        return v

    def _open_fills(self, index: int, pixels: NDArray[np.uint8], covered: Detections) -> int:
        """Filled regions of frame ``index`` that the written frame does not show
        filled: each blob of at least `MIN_FILL_CHECK_PX` squared pixels inside
        the (eroded) fill that differs from the fill colour is an unsafe finding."""
        h, w = pixels.shape[:2]
        regions = self._plan(covered)
        if not regions.regions:
            return 0
        # Fill edges are smeared by compression and chroma subsampling: only
        # the inside of a fill (3 px in at the default quality) is held to it.
        inner = cv2.erode(regions.mask(h, w).astype(np.uint8), self._erode)
        lo = np.clip(self._fill_color - self._tolerance, 0, 255)
        hi = np.clip(self._fill_color + self._tolerance, 0, 255)
        bad = cv2.bitwise_and(cv2.bitwise_not(cv2.inRange(pixels, lo, hi)), inner * 255)
        if not cv2.countNonZero(bad):
            return 0
        n, _, stats, _ = cv2.connectedComponentsWithStats(bad, connectivity=8)
        found = 0
        for x, y, bw, bh, area in stats[1:n].tolist():
            if area < MIN_FILL_CHECK_PX * MIN_FILL_CHECK_PX:
                continue
            found += 1
            self._written.append(Finding(
                "detected", "unsafe",
                N_("frame {frame}: the region at {where} is not filled in the written file "
                   "({count} px differ)").format(frame=f"{index:,}",
                                                 where=f"{x + bw / 2:.0f},{y + bh / 2:.0f}",
                                                 count=area),
                (float(x), float(y), float(x + bw), float(y + bh)), float(bh), frame=index))
        return found
