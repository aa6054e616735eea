"""Video reading and writing with PyAV, one frame at a time.

Reading takes the main video stream (containers or raw H.264/H.265) and yields
upright (turned, un-mirrored) SDR RGB frames with their original timestamps;
writing encodes frames with given timestamps, pixel shape and colour tags into a
fresh container with no metadata tags, no other streams and, unless asked, no audio.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.codec.context import Flags
from av.stream import Disposition
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray

from unseen.errors import CorruptMediaError, OutputError, TooLargeError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media.colour import UNSPECIFIED, UNTAGGED, ColourTags, SdrConverter

RGBFrame = NDArray[np.uint8]

# Output container by file suffix; anything else is written as MP4.
# AVI is not written: it keeps no presentation times, so variable frame
# rates and exact timestamps cannot survive in it (AVI input becomes MP4).
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
              ".webm": "webm"}
WEBM_VIDEO_CODEC = "libvpx-vp9"
MAX_PIXELS_PER_FRAME = 40_000_000  # 8K is 33 MP; larger declared sizes are refused

# libx264 puts its version and every option in an SEI message of the first
# frame ("x264 - core 164 - H.264/MPEG-4 AVC codec - Copyleft ..."). It names
# no person or device, but it is an encoder string the muxer does not need.
_X264_SEI_MARK = b"x264 - core"


@dataclass(frozen=True)
class VideoInfo:
    """What a video stream is, as the viewer sees it (rotation applied)."""

    width: int
    height: int
    rotation: int
    """Quarter turns (counter-clockwise) applied to stored frames to make them upright."""
    time_base: Fraction
    frame_rate: Fraction | None
    frames: int
    """Frame count the container declares (0 when it does not say)."""
    codec: str
    audio_codec: str | None
    other_streams: int
    """Subtitle, data and attachment streams (never written)."""
    other_videos: int = 0
    """Video streams besides the main one: other angles, previews, cover pictures
    (never written)."""
    raw_stream: str | None = None
    """``H.264`` or ``H.265`` for a raw elementary stream (timed at `frame_rate`)."""
    stream_rate: bool = True
    """Whether `frame_rate` is the stream's own (not ``--fps``, for a raw stream)."""
    mirrored: bool = False
    """Whether stored frames are mirrored (left to right) before `rotation` is applied."""
    sample_aspect: Fraction = Fraction(1)
    """Pixel width over pixel height of upright frames (1: square pixels)."""
    colour: ColourTags = UNTAGGED
    """The first frame's colour tags (`ColourTags.output`: what the output says)."""
    duration: float | None = None
    """Seconds, as the container says (None when it does not)."""

    @property
    def fps(self) -> float:
        return float(self.frame_rate) if self.frame_rate else 30.0

    @property
    def expected_frames(self) -> int:
        """`frames`, or when the container does not say (Matroska, raw streams),
        an estimate from the duration and frame rate (0: unknown); for progress only."""
        if self.frames or not self.duration or not self.frame_rate:
            return self.frames
        return max(1, round(self.duration * float(self.frame_rate)))


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its position, original timestamp and the av frame."""

    index: int
    pts: int
    time_base: Fraction
    frame: av.VideoFrame
    quarter_turns: int
    mirrored: bool = False
    """Stored mirrored: flipped left to right before the turns."""
    sdr: SdrConverter | None = None
    """For HDR video: converts the frame to SDR BT.709 (`rgb` gives that)."""
    _converted: dict[str, RGBFrame] = field(default_factory=dict, compare=False, repr=False)

    @property
    def time(self) -> float:
        return float(self.pts * self.time_base)

    def rgb(self, width: int | None = None, height: int | None = None) -> RGBFrame:
        """Upright RGB pixels (SDR), optionally resized to ``width`` x ``height``
        (upright sides)."""
        frame: Any = self.frame
        out: Any
        # Sides in stored orientation.
        w, h = (height, width) if self.quarter_turns % 2 else (width, height)
        if self.sdr is not None:
            # One conversion at full size per frame (swscale sets up a tone
            # mapping for every new size), resized from there.
            full = self._converted.get("full")
            if full is None:
                full = self._converted["full"] = self.sdr.rgb(frame)
            if w is None or h is None:
                out = full.copy()
            else:
                out = cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA)
        elif w is None or h is None:
            out = frame.to_ndarray(format="rgb24")
        else:
            # swscale resizes and converts in one pass.
            out = frame.reformat(
                width=w, height=h, format="rgb24", interpolation="AREA"
            ).to_ndarray()
        if self.mirrored:
            out = out[:, ::-1]
        if self.quarter_turns:
            out = np.rot90(out, self.quarter_turns)
        if self.mirrored or self.quarter_turns:
            out = np.ascontiguousarray(out)
        return out


def display_timestamps(pts: Sequence[int]) -> list[int]:
    """The timestamps to write for frames decoded (in display order) with ``pts``.

    A raw H.264/H.265 stream copied into MP4 without its timestamps
    (``ffmpeg -r 25 -i clip.h264 -c copy clip.mp4``) gives every packet pts = dts,
    so with B-frames the decoder, which returns pictures in display order, hands
    them out with decode-order times (``512 0 1024 2048 2560 1536 ...``): sorted,
    those are the display times. Strictly increasing timestamps come back
    unchanged; repeated ones become an even grid over the same span.
    """
    if all(b > a for a, b in pairwise(pts)):
        return list(pts)
    ordered = sorted(pts)
    if all(b > a for a, b in pairwise(ordered)):
        return ordered
    start, span, n = ordered[0], ordered[-1] - ordered[0], len(ordered)
    if span < n - 1:
        return [start + k for k in range(n)]
    return [start + round(k * span / (n - 1)) for k in range(n)]


def orientation(frame: Any) -> tuple[int, bool]:
    """How to show a decoded frame upright: (counter-clockwise quarter turns, and
    whether to mirror it left to right first), from its display matrix.

    The matrix (ISO 14496-12 ``tkhd``, as FFmpeg exports it) maps a stored pixel
    (x, y) to (a x + c y, b x + d y); phones write turns, and front cameras or
    editing apps flips, which FFmpeg's rotation angle alone cannot tell apart
    (a horizontal flip reads as a half turn). A matrix that is not a multiple
    of a quarter turn gets the nearest quarter turn.
    """
    matrix = None
    for sd in frame.side_data:
        if sd.type.name == "DISPLAYMATRIX":
            matrix = np.frombuffer(bytes(sd), "<i4")
            break
    if matrix is None:
        return 0, False
    a, b, c, d = (int(np.sign(v)) for v in matrix[[0, 1, 3, 4]])
    if (a * d == 0) == (b * c == 0):  # right angles have exactly one of them non-zero
        return _quarter_turns(float(frame.rotation or 0)), False
    ys, xs = np.mgrid[0:2, 0:3]
    probe = ys * 3 + xs
    sx, sy = a * xs + c * ys, b * xs + d * ys
    shown = np.zeros((int(np.ptp(sy)) + 1, int(np.ptp(sx)) + 1), int)
    shown[sy - sy.min(), sx - sx.min()] = probe
    for mirror in (False, True):
        for turns in range(4):
            candidate = np.rot90(probe[:, ::-1] if mirror else probe, turns)
            if candidate.shape == shown.shape and (candidate == shown).all():
                return turns, mirror
    return 0, False  # unreachable: the eight right-angle matrices are all above


def sdr_converter(frame: Any) -> SdrConverter | None:
    """For a frame of HDR video, what converts it to SDR (`VideoFrame.sdr`)."""
    return SdrConverter.for_this_thread() if ColourTags.of(frame).hdr else None


def _quarter_turns(rotation: float) -> int:
    """FFmpeg's display rotation (degrees, counter-clockwise) as ``np.rot90`` turns."""
    return round(rotation / 90.0) % 4


RAW_STREAM_FORMATS = {"h264": "H.264", "hevc": "H.265"}
"""FFmpeg's demuxers for raw elementary streams (no container, no timestamps)."""
NO_FRAME_RATE = N_("the raw video stream does not state its frame rate; give it with --fps "
                   "(for example --fps 25)")


def open_input(path: Path, fps: float | None = None) -> Any:
    """An input container with a video stream (or a one-line error).

    A raw H.264/H.265 stream has no timestamps: it is timed at the frame rate
    its parameter sets state, else at ``fps``, else refused.
    """
    container = _open(path)
    if container.format.name in RAW_STREAM_FORMATS and container.streams.video:
        rate = stream_frame_rate(container.streams.video[0], fps)
        container.close()
        if rate is None:
            raise UnsupportedFormatError(NO_FRAME_RATE)
        # The demuxer's own default (25) would be used otherwise.
        container = _open(path, {"framerate": str(rate)})
    if not _pictures(container):
        sound = bool(container.streams.audio)
        container.close()
        if sound:
            raise UnsupportedFormatError(
                N_("an audio-only file (sound, no pictures): unseen anonymizes photos and videos"))
        raise UnsupportedFormatError(N_("the file has no video stream"))
    return container


def main_video_stream(container: Any) -> Any:
    """The video to anonymize: of the video streams that are not cover pictures, a
    default one (Matroska keeps a cover as a one-frame video stream that is not),
    the largest; the other video streams are never written."""
    return max(_pictures(container),
               key=lambda s: (bool(s.disposition & Disposition.default),
                              s.codec_context.width * s.codec_context.height, -s.index))


def _pictures(container: Any) -> list[Any]:
    return [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]


def stream_frame_rate(stream: Any, fps: float | None = None) -> Fraction | None:
    """A raw stream's frame rate: what its parameter sets state, else ``fps``."""
    rate = stream.codec_context.framerate
    if rate:
        return Fraction(rate)
    return Fraction(fps).limit_denominator(1001) if fps else None


def _open(path: Path, options: dict[str, str] | None = None) -> Any:
    try:
        return av.open(str(path), mode="r", options=options or {})
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("cannot open as video: {reason}").format(
            reason=reason(exc))) from exc


def reason(exc: BaseException) -> str:
    """FFmpeg's message for an error, without the Python wrapper."""
    return str(getattr(exc, "strerror", None) or exc)


def probe_video(path: Path, fps: float | None = None) -> VideoInfo:
    """Read the stream layout and the first frame's orientation (``fps``: see
    `open_input`)."""
    container = open_input(path, fps)
    try:
        stream = main_video_stream(container)
        cc = stream.codec_context
        if cc.width * cc.height > MAX_PIXELS_PER_FRAME:
            raise TooLargeError(N_("frames of {width}x{height} are too large").format(
                width=cc.width, height=cc.height))
        turns, mirrored = 0, False
        width, height = cc.width, cc.height
        colour = UNTAGGED
        try:
            for frame in container.decode(stream):
                turns, mirrored = orientation(frame)
                width, height = frame.width, frame.height
                colour = ColourTags.of(frame)
                break
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(N_("cannot decode the first frame: {reason}").format(
                reason=reason(exc))) from exc
        sar = Fraction(stream.sample_aspect_ratio or cc.sample_aspect_ratio or 1)
        if sar <= 0:
            sar = Fraction(1)
        if turns % 2:
            width, height = height, width
            sar = 1 / sar
        audio = container.streams.audio
        videos = len(container.streams.video)
        others = len(container.streams) - videos - len(audio)
        return VideoInfo(
            width=width,
            height=height,
            rotation=turns,
            mirrored=mirrored,
            sample_aspect=sar,
            colour=colour,
            duration=_duration(container, stream),
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
            frame_rate=Fraction(stream.average_rate) if stream.average_rate else None,
            frames=int(stream.frames or 0),
            codec=cc.name,
            audio_codec=audio[0].codec_context.name if audio else None,
            other_streams=others,
            other_videos=videos - 1,
            raw_stream=RAW_STREAM_FORMATS.get(container.format.name),
            stream_rate=container.format.name not in RAW_STREAM_FORMATS
            or bool(cc.framerate),
        )
    finally:
        container.close()


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None


def count_frames(path: Path) -> int:
    """Video frames in the file, counted from its packets (nothing is decoded)."""
    container = open_input(path)
    try:
        stream = main_video_stream(container)
        return sum(1 for p in container.demux(stream) if p.size)
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("the video cannot be read: {reason}").format(
            reason=reason(exc))) from exc
    finally:
        container.close()


def read_frames(path: Path, limit: int | None = None, fps: float | None = None
                ) -> Iterator[VideoFrame]:
    """Decode the first video stream in presentation order (see `VideoReader`)."""
    with VideoReader(path, limit=limit, fps=fps) as reader:
        for item in reader:
            if isinstance(item, VideoFrame):
                yield item


class VideoReader:
    """Decoded video frames and, with ``keep_audio``, raw audio packets, in file order.

    Frames without a timestamp (some AVI files, raw streams) get one from the
    frame rate, so every frame has a pts; timestamps are otherwise passed
    through untouched. ``fps`` times a raw stream (see `open_input`).
    """

    def __init__(self, path: Path, keep_audio: bool = False, limit: int | None = None,
                 fps: float | None = None) -> None:
        self._container = open_input(path, fps)
        self.video_stream = main_video_stream(self._container)
        self.video_stream.thread_type = "AUTO"
        audio = self._container.streams.audio
        self.audio_stream = audio[0] if keep_audio and audio else None
        self.limit = limit

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def __iter__(self) -> Iterator[VideoFrame | Any]:
        stream = self.video_stream
        streams = [stream] if self.audio_stream is None else [stream, self.audio_stream]
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        rate = Fraction(stream.average_rate) if stream.average_rate else Fraction(30)
        step = max(1, round(1 / rate / tb))
        index = 0
        last_pts: int | None = None
        turns: tuple[int, bool] | None = None
        sdr: SdrConverter | None = None
        try:
            for packet in self._container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None and packet.size:
                        yield packet
                    continue
                for frame in _decode(stream, packet):
                    if self.limit is not None and index >= self.limit:
                        return
                    if turns is None:
                        # The first frame's orientation and colour hold for all.
                        turns = orientation(frame)
                        sdr = sdr_converter(frame)
                    pts = frame.pts
                    if pts is None:
                        pts = index * step if last_pts is None else last_pts + step
                    last_pts = pts
                    yield VideoFrame(index, pts, tb, frame, *turns, sdr=sdr)
                    index += 1
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(N_("the video cannot be read: {reason}").format(
                reason=reason(exc))) from exc
        declared = int(stream.frames or 0)
        if self.limit is None and declared and index < declared - max(2, declared // 100):
            # A cut file whose index survived (MP4 with the index in front)
            # decodes without an error up to the cut: the index says more.
            raise CorruptMediaError(
                N_("the video cannot be decoded to the end: {found} of its {declared} frames "
                   "are in the file (cut short or damaged)").format(
                       found=index, declared=declared))


def _decode(stream: Any, packet: Any) -> list[Any]:
    try:
        return list(stream.codec_context.decode(packet))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("video frame cannot be decoded: {reason}").format(
            reason=reason(exc))) from exc


@dataclass(frozen=True)
class EncodeOptions:
    crf: int = 20
    preset: str = "veryfast"
    keep_audio: bool = False


class VideoWriter:
    """Encode upright RGB frames, with given timestamps, into a tag-free container.

    ``sample_aspect`` (pixel width / height) is written into the stream and the
    container, so non-square pixels keep the picture's display shape; ``colour``
    (tags) likewise, and RGB becomes YUV with its matrix and range.

    Only one video stream is created, plus one audio stream when an audio
    source stream is given (copied packet by packet when the container takes
    its codec, re-encoded otherwise).
    """

    def __init__(
        self,
        path: Path,
        suffix: str,
        width: int,
        height: int,
        time_base: Fraction,
        frame_rate: Fraction | None,
        options: EncodeOptions,
        audio_source: Any | None = None,
        *,
        sample_aspect: Fraction = Fraction(1),
        colour: ColourTags = UNTAGGED,
    ) -> None:
        fmt = CONTAINERS.get(suffix.lower(), "mp4")
        try:
            # bitexact: no "Lavf..." writing-application tag.
            self._out = av.open(str(path), mode="w", format=fmt, options={"fflags": "+bitexact"})
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(N_("cannot create the video file: {reason}").format(
                reason=reason(exc))) from exc
        self._out.metadata.clear()
        codec = WEBM_VIDEO_CODEC if fmt == "webm" else "libx264"
        rate = frame_rate if frame_rate else Fraction(30)
        self._video: Any = self._out.add_stream(codec, rate=rate)
        v: Any = self._video
        v.width, v.height = width, height
        # 4:2:0 needs even sides; odd-sized video keeps its size in 4:4:4.
        v.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        v.time_base = time_base
        v.codec_context.time_base = time_base
        if sample_aspect != 1:
            # Non-square pixels stay as they are: the stream (VUI) and the
            # container (MP4/MOV ``pasp``, Matroska display size) say their shape.
            v.codec_context.sample_aspect_ratio = sample_aspect
        self._set_colour(colour)
        self._time_base = time_base
        v.codec_context.flags |= Flags.bitexact
        if codec == "libx264":
            v.options = {"crf": str(options.crf), "preset": options.preset}
        else:
            v.options = {"crf": str(options.crf), "b": "0", "deadline": "realtime",
                         "cpu-used": "8", "row-mt": "1"}
        v.metadata.clear()
        self._audio_in = audio_source
        self._audio_out: Any = None
        self._audio_copy = True
        if audio_source is not None:
            self._add_audio(audio_source, fmt)
        self._strip_sei = codec == "libx264"
        self.frames = 0

    @property
    def container(self) -> Any:
        """The open output container (to add a processed sound stream to, before
        the first frame is written)."""
        return self._out

    def _set_colour(self, colour: ColourTags) -> None:
        """Tag the stream (H.264/VP9 VUI, MP4/MOV ``colr``, Matroska colour) and
        set up the RGB to YUV conversion with the same matrix and range."""
        cc: Any = self._video.codec_context
        if colour.primaries != UNSPECIFIED:
            cc.color_primaries = colour.primaries
        if colour.transfer != UNSPECIFIED:
            cc.color_trc = colour.transfer
        if colour.matrix != UNSPECIFIED:
            cc.colorspace = colour.matrix
        if colour.range:
            cc.color_range = colour.range
        self._colour = colour
        self._to_yuv = VideoReformatter()

    def _add_audio(self, source: Any, fmt: str) -> None:
        name = source.codec_context.name
        copyable = name in self._out.supported_codecs and not (
            fmt in ("mp4", "webm") and name.startswith("pcm_")
        ) and not (fmt == "webm" and name not in ("opus", "vorbis"))
        if copyable:
            self._audio_out = self._out.add_stream_from_template(source, opaque=True)
        else:
            self._audio_copy = False
            target = "libopus" if fmt == "webm" else "aac"
            self._audio_out = self._out.add_stream(target, rate=_audio_rate(source, target))
            self._decoder = source.codec_context
        self._audio_out.metadata.clear()

    def write(self, pixels: RGBFrame, pts: int) -> None:
        c = self._colour
        frame: Any = self._to_yuv.reformat(
            av.VideoFrame.from_ndarray(pixels, format="rgb24"), format=self._video.pix_fmt,
            dst_colorspace=c.sws_matrix, dst_color_range=c.range or None)
        frame.color_primaries, frame.color_trc = c.primaries, c.transfer
        frame.pts = pts
        # The input's time base: the stream's own may change when the muxer
        # writes its header (Matroska and WebM switch to 1 ms).
        frame.time_base = self._time_base
        self._mux_video(self._video.encode(frame))
        self.frames += 1

    def write_audio(self, packet: Any) -> None:
        if self._audio_out is None:
            return
        if self._audio_copy:
            packet.stream = self._audio_out
            self._out.mux(packet)
            return
        for frame in self._decoder.decode(packet):
            frame.pts = None  # the encoder counts samples itself
            self._out.mux(self._audio_out.encode(frame))

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        self._mux_video(self._video.encode(None))
        if self._audio_out is not None and not self._audio_copy:
            self._out.mux(self._audio_out.encode(None))
        self._out.close()

    def abort(self) -> None:
        """Close without finishing; the caller deletes the file."""
        with contextlib.suppress(Exception):  # already failing; the file is discarded
            self._out.close()

    def _mux_video(self, packets: list[Any]) -> None:
        for packet in packets:
            if self._strip_sei and packet.is_keyframe:
                packet = _without_x264_sei(packet)
            self._out.mux(packet)


def _audio_rate(source: Any, target: str) -> int:
    rate = int(source.codec_context.sample_rate or 48000)
    if target == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        return 48000
    return rate


def _without_x264_sei(packet: Any) -> Any:
    """The same packet minus libx264's version SEI (Annex B NAL units)."""
    data = bytes(packet)
    if _X264_SEI_MARK not in data:
        return packet
    parts = data.split(b"\x00\x00\x01")
    kept = [parts[0]]
    for nal in parts[1:]:
        if nal and (nal[0] & 0x1F) == 6 and _X264_SEI_MARK in nal:
            # The zero byte before a 4-byte start code belongs to the previous part.
            continue
        kept.append(nal)
    new = av.Packet(b"\x00\x00\x01".join(kept))
    new.pts, new.dts = packet.pts, packet.dts
    new.time_base = packet.time_base
    new.stream = packet.stream
    new.is_keyframe = True
    if packet.duration:
        new.duration = packet.duration
    return new
