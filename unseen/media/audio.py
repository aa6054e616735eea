"""A file's sound as float samples, and samples back into an audio stream (PyAV).

`read_audio` decodes the first (or default) audio stream into ``(channels, n)``
float32 samples with its sample rate, channel layout and start time;
`AudioStreamWriter` encodes samples into a new stream of an open output
container (AAC in MP4/MOV, Opus in WebM/Matroska) with no tags and the
timestamps of the input, so the sound stays in sync with the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.codec.context import Flags
from numpy.typing import NDArray

from unseen.errors import CorruptMediaError, OutputError, TooLargeError, UnsupportedFormatError
from unseen.i18n import N_

Samples = NDArray[np.float32]
"""``(channels, n)`` float32 samples, nominally in [-1, 1]."""

MAX_AUDIO_SECONDS = 4 * 3600
"""Longer sound tracks are refused (the whole track is held in memory)."""
OPUS_RATE = 48000
AAC_BITRATE_PER_CHANNEL = 96_000
OPUS_BITRATE_PER_CHANNEL = 64_000
_GAP_TOLERANCE = 0.002
"""A jump in the input's timestamps larger than this (seconds) is filled with silence."""


@dataclass(frozen=True)
class AudioParams:
    """What an audio stream is: rate, channel layout and where it starts."""

    sample_rate: int
    layout: str
    """FFmpeg's channel layout name: ``mono``, ``stereo``, ``5.1(side)`` ..."""
    channels: int
    start: Fraction = Fraction(0)
    """Presentation time of the first sample, in seconds (the video's clock)."""


@dataclass(frozen=True)
class AudioTrack:
    """A whole decoded sound track."""

    samples: Samples
    params: AudioParams
    codec: str
    """The input's codec name (for reports)."""

    @property
    def sample_rate(self) -> int:
        return self.params.sample_rate

    @property
    def channels(self) -> int:
        return self.params.channels

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.params.sample_rate


def _pick_stream(container: Any) -> Any | None:
    audio = list(container.streams.audio)
    if not audio:
        return None
    for s in audio:
        if s.disposition & av.stream.Disposition.default:
            return s
    return audio[0]


def has_audio(path: Path) -> bool:
    """Whether the file has an audio stream (False for files PyAV cannot open)."""
    try:
        with av.open(str(path)) as container:
            return _pick_stream(container) is not None
    except av.error.FFmpegError:
        return False


def read_audio(path: Path, max_seconds: float | None = None) -> AudioTrack:
    """Decode the default (else first) audio stream, keeping rate and layout.

    Samples are placed by their timestamps: a gap in the input becomes
    silence, so sample ``i`` plays at ``start + i / sample_rate`` as in the input.
    """
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("cannot open the sound track: {reason}").format(
            reason=_reason(exc))) from exc
    try:
        stream = _pick_stream(container)
        if stream is None:
            raise UnsupportedFormatError(N_("the file has no sound track"))
        cc = stream.codec_context
        rate = int(cc.sample_rate or 0)
        if rate <= 0 or cc.channels <= 0:
            raise CorruptMediaError(N_("the sound track declares no sample rate or channels"))
        layout = stream.layout.name if stream.layout else f"{cc.channels} channels"
        limit = min(max_seconds or MAX_AUDIO_SECONDS, MAX_AUDIO_SECONDS)
        # One float format for every input codec and for layout changes mid-stream.
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
        chunks: list[Samples] = []
        filled = 0
        start: Fraction | None = None
        for frame in _decoded(container, stream):
            t = frame.pts * frame.time_base if frame.pts is not None and frame.time_base else None
            for out in resampler.resample(frame):
                data = out.to_ndarray().astype(np.float32, copy=False)
                if start is None:
                    start = Fraction(t) if t is not None else Fraction(0)
                elif t is not None:
                    gap = round(float(t - start) * rate) - filled
                    if gap > _GAP_TOLERANCE * rate:
                        chunks.append(np.zeros((data.shape[0], gap), np.float32))
                        filled += gap
                t = None  # later pieces of a resampled frame follow on directly
                chunks.append(data)
                filled += data.shape[1]
            if filled > limit * rate:
                if max_seconds is not None:
                    break
                raise TooLargeError(N_("the sound track is longer than {hours} hours").format(
                    hours=f"{limit / 3600:.0f}"))
        channels = len(stream.layout.channels) if stream.layout else cc.channels
        samples = (np.concatenate(chunks, axis=1) if chunks
                   else np.zeros((channels, 0), np.float32))
        if max_seconds is not None:
            samples = samples[:, : int(max_seconds * rate)]
        params = AudioParams(rate, layout, samples.shape[0], start or Fraction(0))
        return AudioTrack(np.ascontiguousarray(samples), params, cc.name)
    finally:
        container.close()


def _decoded(container: Any, stream: Any) -> Any:
    try:
        yield from container.decode(stream)
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(N_("the sound track cannot be decoded: {reason}").format(
            reason=_reason(exc))) from exc


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def codec_for(container_format: str, sample_rate: int) -> tuple[str, int]:
    """The encoder and its sample rate for a container (FFmpeg's format name).

    Opus is always decoded at 48 kHz (its Matroska and WebM headers say so), so
    it is used only for 48 kHz sound; Matroska takes AAC at any other rate.
    WebM takes only Opus (or Vorbis, whose FFmpeg encoder is experimental):
    sound at another rate is resampled to 48 kHz there.
    """
    name = container_format.split(",")[0]
    if name == "webm" or (name == "matroska" and sample_rate == OPUS_RATE):
        return "libopus", OPUS_RATE
    return "aac", sample_rate


class AudioStreamWriter:
    """An encoded audio stream added to an open output container.

    Feed it float samples (``write``), or give it the whole track once and let
    it keep up with the video (``write_until`` after each video frame), then
    ``close`` before the container is closed. The first sample keeps the
    input's presentation time; the stream carries no tags.
    """

    def __init__(self, container: Any, params: AudioParams,
                 samples: Samples | None = None) -> None:
        fmt = str(container.format.name)
        codec, rate = codec_for(fmt, params.sample_rate)
        self.params = params
        self.output_rate = rate
        """The encoded stream's sample rate (differs from the input's only for
        WebM sound that is not at 48 kHz)."""
        try:
            stream: Any = container.add_stream(codec, rate=rate, layout=params.layout)
        except (av.error.FFmpegError, ValueError) as exc:
            raise OutputError(N_("cannot add a {codec} sound track: {reason}").format(
                codec=codec, reason=_reason(exc))) from exc
        per_channel = OPUS_BITRATE_PER_CHANNEL if codec == "libopus" else AAC_BITRATE_PER_CHANNEL
        stream.bit_rate = per_channel * params.channels
        stream.time_base = Fraction(1, rate)
        cc = stream.codec_context
        cc.time_base = Fraction(1, rate)
        cc.flags |= Flags.bitexact
        stream.metadata.clear()
        self._stream = stream
        self._format = next((f for f in ("fltp", "flt", "s16")
                             if f in {x.name for x in (stream.codec.audio_formats or [])}), "fltp")
        cc.format = self._format
        self._next = round(params.start * params.sample_rate)
        """pts (in samples) of the next sample to be encoded."""
        self._pending = np.zeros((params.channels, 0), np.float32)
        self._held = samples
        self._held_pos = 0
        self._container = container
        self.samples_written = 0

    def write(self, samples: Samples) -> None:
        """Encode these samples next (any length; whole codec frames are sent)."""
        x = np.asarray(samples, np.float32)
        if x.ndim != 2 or x.shape[0] != self.params.channels:
            raise ValueError(f"expected ({self.params.channels}, n) samples, got {x.shape}")
        self._pending = np.concatenate([self._pending, x], axis=1)
        size = self._frame_size()
        whole = (self._pending.shape[1] // size) * size
        if whole:
            self._encode(self._pending[:, :whole], size)
            self._pending = self._pending[:, whole:]

    def write_until(self, seconds: float) -> None:
        """Encode the held samples up to this presentation time (the video's clock)."""
        if self._held is None:
            return
        end = round((Fraction(seconds) - self.params.start) * self.params.sample_rate)
        end = min(max(end, self._held_pos), self._held.shape[1])
        if end > self._held_pos:
            self.write(self._held[:, self._held_pos:end])
            self._held_pos = end

    def close(self) -> None:
        """Encode what is left, flush the encoder (the container stays open)."""
        if self._held is not None:
            self.write(self._held[:, self._held_pos:])
            self._held_pos = self._held.shape[1]
        if self._pending.shape[1]:
            self._encode(self._pending, self._pending.shape[1])
            self._pending = self._pending[:, :0]
        self._mux(self._stream.encode(None))

    def _frame_size(self) -> int:
        size = int(self._stream.codec_context.frame_size or 0) or 1024
        return max(1, size * self.params.sample_rate // self.output_rate)

    def _encode(self, x: Samples, size: int) -> None:
        rate = self.params.sample_rate
        layout = self.params.layout
        for i in range(0, x.shape[1], size):
            part = np.clip(x[:, i:i + size], -1.0, 1.0)
            if self._format == "fltp":
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), "fltp", layout)
            elif self._format == "flt":
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(part.T).reshape(1, -1), "flt", layout)
            else:
                pcm = np.round(part.T * 32767).astype(np.int16).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(pcm, "s16", layout)
            frame.sample_rate = rate
            frame.pts = self._next
            frame.time_base = Fraction(1, rate)
            self._next += part.shape[1]
            self.samples_written += part.shape[1]
            self._mux(self._stream.encode(frame))

    def _mux(self, packets: list[Any]) -> None:
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as exc:
            raise OutputError(N_("cannot write the sound track: {reason}").format(
                reason=_reason(exc))) from exc


def write_audio_file(path: Path, samples: Samples, params: AudioParams,
                     container_format: str | None = None) -> None:
    """A container holding this one audio stream and nothing else (tests, benchmarks)."""
    fmt = container_format or {".mkv": "matroska", ".webm": "webm", ".mov": "mov"}.get(
        path.suffix.lower(), "mp4")
    try:
        with av.open(str(path), mode="w", format=fmt,
                     options={"fflags": "+bitexact"}) as out:
            out.metadata.clear()
            writer = AudioStreamWriter(out, params, samples)
            writer.close()
    except av.error.FFmpegError as exc:
        raise OutputError(N_("cannot write the sound file: {reason}").format(
            reason=_reason(exc))) from exc
