"""Random access to a video's frames: seek to the key frame before, decode forward.

Scrubbing in the review UI asks for frames in any order; decoding from the
start each time costs the whole prefix. `FrameSeeker` maps frame numbers to
timestamps once and then decodes at most one group of pictures per frame,
giving exactly the pixels `read_frames` gives for the same frame number.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

from unseen.errors import CorruptMediaError
from unseen.i18n import N_
from unseen.media.video import (
    VideoFrame,
    main_video_stream,
    open_input,
    orientation,
    read_frames,
    reason,
    sdr_converter,
)


def frame_timestamps(path: Path) -> list[int] | None:
    """Every frame's timestamp in presentation order, from one demux pass (no
    decoding); None when some packet has no timestamp or two share one, so
    that timestamps cannot name frames."""
    container = open_input(path)
    try:
        stream = main_video_stream(container)
        pts: list[int] = []
        for packet in container.demux(stream):
            if not packet.size:
                continue  # the flush packet at the end
            if packet.pts is None:
                return None
            if not packet.is_discard:  # e.g. before an MP4 edit list's start
                pts.append(int(packet.pts))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("the video cannot be read: {reason}").format(
            reason=reason(exc))) from exc
    finally:
        container.close()
    pts.sort()
    if len(set(pts)) != len(pts):
        return None
    return pts


class FrameSeeker:
    """Frames of one video by number.

    ``pts`` is the timestamp of every frame as `read_frames` numbers them (pass
    1 of a video keeps exactly that list); without it one demux pass builds it.
    When a seek does not land on the timestamp wanted, the frame is decoded
    from the start instead, so the answer is always the frame `read_frames` gives.
    """

    def __init__(self, path: Path, pts: Sequence[int] | None = None) -> None:
        self.path = path
        self._pts: list[int] | None = list(pts) if pts is not None else None
        self._mapped = pts is not None
        self.seeks = 0
        """Frames found by seeking (the rest were decoded from the start)."""

    def timestamps(self) -> list[int] | None:
        if not self._mapped:
            self._pts = frame_timestamps(self.path)
            self._mapped = True
        return self._pts

    def frame(self, index: int) -> VideoFrame | None:
        """Frame ``index`` (counted from 0), or None past the end."""
        if index < 0:
            return None
        pts = self.timestamps()
        if pts is not None:
            if index >= len(pts):
                return None
            found = self._seek(index, pts[index])
            if found is not None:
                self.seeks += 1
                return found
        return self._from_start(index)

    def _seek(self, index: int, target: int) -> VideoFrame | None:
        container = open_input(self.path)
        try:
            stream = main_video_stream(container)
            stream.thread_type = "AUTO"
            tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
            # The key frame at or before the target, then forward to it.
            container.seek(target, backward=True, any_frame=False, stream=stream)
            turns: tuple[int, bool] | None = None
            for packet in container.demux(stream):
                for frame in stream.codec_context.decode(packet):
                    if frame.pts is None:
                        return None
                    if turns is None:
                        # As `VideoReader`: the first frame's orientation holds for all.
                        turns = orientation(frame)
                    if frame.pts == target:
                        return VideoFrame(index, target, tb, frame, *turns,
                                          sdr=sdr_converter(frame))
                    if frame.pts > target:
                        return None  # landed past it: no key frame before it
            return None
        except av.error.FFmpegError:
            return None  # the plain decode below says what is wrong
        finally:
            container.close()

    def _from_start(self, index: int) -> VideoFrame | None:
        last = None
        for vf in read_frames(self.path, limit=index + 1):
            last = vf
        if last is None or last.index != index:
            return None
        return last
