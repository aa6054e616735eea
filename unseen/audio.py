"""What happens to a video's sound: drop it, keep it, mute the speech, or disguise voices.

Pure functions on ``(channels, n)`` float32 samples. ``mute-speech`` removes what
Silero VAD calls speech (plus a margin) and fills the gap with silence or with
noise shaped like the sound around it; ``disguise`` moves every voice's
formants (McAdams coefficient, as in the VoicePrivacy Challenge baseline) and
its pitch and formant scale (Praat's PSOLA "Change gender") by amounts drawn at
random for each file and never stored. Channels get the same transform.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass, field
from math import gcd
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from unseen.detect.speech import SpeechSettings, widen
from unseen.i18n import N_

if TYPE_CHECKING:
    from unseen.detect.speech import SpeechDetector

AudioMode = Literal["drop", "keep", "mute-speech", "disguise"]
AUDIO_MODES: tuple[AudioMode, ...] = ("drop", "keep", "mute-speech", "disguise")
MuteFill = Literal["noise", "silence"]
Samples = NDArray[np.float32]


DISGUISE_WARNING = N_(
    "disguise is weaker than mute-speech: a speaker model no longer links the disguised "
    "voices to the speakers in our tests, but an attacker who knows the method and undoes "
    "it re-identified most of them; use --audio mute-speech (or drop) for material that "
    "puts people at risk"
)


@dataclass(frozen=True)
class AudioSettings:
    """How the sound is treated. The default drops it: voices identify people (A7)."""

    mode: AudioMode = "drop"

    # mute-speech ----------------------------------------------------------------
    mute_fill: MuteFill = "noise"
    """Muted stretches become ``noise`` shaped like the non-speech sound around
    them (the scene keeps its level) or ``silence``."""
    mute_margin: float = 0.3
    """Seconds muted before and after every speech segment."""
    mute_threshold: float = 0.3
    """VAD probability that counts as speech when muting: lower than the
    judge's 0.5 (`unseen.verify.audio`), to err toward muting."""
    mute_rounds: int = 3
    """After muting, the VAD runs again on the result (at the judge's
    threshold) and mutes what it still finds, up to this many times."""

    # disguise ----------------------------------------------------------------------
    mcadams: tuple[float, float] = (0.65, 0.8)
    """Range of the McAdams coefficient (pole angles raised to this power).
    Measured alone on the speech data (Resemblyzer, median similarity to the
    same utterance untouched): 0.7 -> 0.59, 0.8 -> 0.71, 0.9 -> 0.88 (still
    the same speaker, so 0.9 is not used). With the pitch and formant change
    (bench/audio.py --quick): (0.7, 0.85) gave an EER of 35 %, (0.65, 0.8) 41 %
    at a median STOI of 0.68 and 0.65."""
    mcadams_drift: float = 0.03
    """The coefficient wanders by up to this much over a few seconds."""
    pitch_factor: tuple[float, float] = (1.3, 1.6)
    """Range of the pitch change: the median pitch is multiplied (low voices)
    or divided (high voices, median above 165 Hz) by a factor from this range."""
    formant_factor: tuple[float, float] = (1.1, 1.2)
    """Range of Praat's formant shift ratio, in the direction of the pitch change."""

    def __post_init__(self) -> None:
        if self.mode not in AUDIO_MODES:
            raise ValueError(f"unknown audio mode {self.mode!r}")
        if self.mute_fill not in ("noise", "silence"):
            raise ValueError(f"unknown mute fill {self.mute_fill!r}")
        lo, hi = self.mcadams
        if not 0.5 <= lo <= hi < 1.0:
            raise ValueError("the McAdams range must lie within [0.5, 1)")


@dataclass(frozen=True)
class AudioOutcome:
    """The processed sound (None for ``drop``) and what was done, in numbers."""

    samples: Samples | None
    mode: AudioMode
    muted: tuple[tuple[float, float], ...] = ()
    """Stretches (seconds from the first sample) that ``mute-speech`` replaced."""
    notes: tuple[str, ...] = field(default=())

    @property
    def muted_seconds(self) -> float:
        return float(sum(e - s for s, e in self.muted))


def process(samples: Samples, sample_rate: int, settings: AudioSettings,
            detector: SpeechDetector | None = None,
            rng: np.random.Generator | None = None) -> AudioOutcome:
    """Apply ``settings.mode`` to a whole track (``detector`` is needed for mute-speech)."""
    x = _as_channels(samples)
    if settings.mode == "drop":
        return AudioOutcome(None, "drop")
    if settings.mode == "keep":
        return AudioOutcome(x, "keep")
    if settings.mode == "mute-speech":
        if detector is None:
            raise ValueError("mute-speech needs a speech detector")
        out, muted = mute_speech(x, sample_rate, settings, detector, rng)
        return AudioOutcome(out, "mute-speech", tuple(muted),
                            (N_("{n} stretches of speech muted ({seconds} s)").format(
                                n=len(muted), seconds=f"{sum(e - s for s, e in muted):.1f}"),))
    return AudioOutcome(disguise(x, sample_rate, settings, rng), "disguise",
                        notes=(N_("every voice disguised (parameters drawn at random, not "
                                  "kept)"),))


def _as_channels(samples: NDArray[np.floating]) -> Samples:
    x = np.asarray(samples, np.float32)
    return x[None] if x.ndim == 1 else x


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    # Fresh operating-system entropy for every file unless a test passes its own.
    return rng if rng is not None else np.random.default_rng(secrets.randbits(128))


# --- mute-speech --------------------------------------------------------------------

def mute_speech(samples: Samples, sample_rate: int, settings: AudioSettings,
                detector: SpeechDetector, rng: np.random.Generator | None = None
                ) -> tuple[Samples, list[tuple[float, float]]]:
    """Speech (VAD on the channel mix) replaced with a margin; everything else untouched.

    Returns the new samples and the muted stretches, merged, in seconds.
    """
    x = _as_channels(samples)
    duration = x.shape[1] / sample_rate
    gen = _rng(rng)
    found = SpeechSettings(threshold=settings.mute_threshold, min_speech=0.0, pad=0.0)
    muted: list[tuple[float, float]] = []
    out = x
    for round_ in range(max(1, settings.mute_rounds) + 1):
        segs = detector.segments(out, sample_rate, found if round_ == 0 else
                                 SpeechSettings(min_speech=0.0, pad=0.0))
        new = widen(segs, settings.mute_margin, settings.mute_margin, duration)
        new = [s for s in new if not _inside(s, muted)]
        if not new:
            break
        muted = widen(muted + new, 0.0, 0.0, duration)
        out = fill_stretches(x, sample_rate, muted, settings.mute_fill, gen)
    return out, muted


def _inside(seg: tuple[float, float], spans: list[tuple[float, float]]) -> bool:
    return any(s <= seg[0] and seg[1] <= e for s, e in spans)


def fill_stretches(samples: Samples, sample_rate: int, spans: list[tuple[float, float]],
                   fill: MuteFill, rng: np.random.Generator,
                   fade: float = 0.02) -> Samples:
    """A copy with each span replaced by silence or by noise with the spectrum of
    the unmuted sound nearest to it; ``fade`` seconds of cross-fade at the edges."""
    x = _as_channels(samples)
    out = x.copy()
    n = x.shape[1]
    keep = np.ones(n, bool)
    bounds = [(max(0, int(s * sample_rate)), min(n, int(np.ceil(e * sample_rate))))
              for s, e in spans]
    for a, b in bounds:
        keep[a:b] = False
    f = max(1, int(fade * sample_rate))
    for a, b in bounds:
        if b <= a:
            continue
        if fill == "noise":
            patch = _matched_noise(x, keep, a, b, sample_rate, rng)
        else:
            patch = np.zeros((x.shape[0], b - a), np.float32)
        # Cross-fade at the span's edges (its margins: no speech there).
        ramp = np.ones(b - a, np.float32)
        k = min(f, (b - a) // 2)
        if k:
            ramp[:k] = np.linspace(0, 1, k, dtype=np.float32)
            ramp[-k:] = np.linspace(1, 0, k, dtype=np.float32)
        out[:, a:b] = x[:, a:b] * (1 - ramp) + patch * ramp
    return out


_NOISE_CONTEXT = 2.0
"""Seconds of unmuted sound on each side that the fill noise is matched to."""
_NOISE_FFT = 1024


def _matched_noise(x: Samples, keep: NDArray[np.bool_], a: int, b: int, sample_rate: int,
                   rng: np.random.Generator) -> Samples:
    """Noise for samples ``a:b``: random phases under the average magnitude
    spectrum of the kept samples within a couple of seconds either side
    (wider when too few are kept; very quiet when none are)."""
    n = x.shape[1]
    reach = int(_NOISE_CONTEXT * sample_rate)
    for _ in range(6):
        lo, hi = max(0, a - reach), min(n, b + reach)
        idx = np.flatnonzero(keep[lo:hi]) + lo
        if len(idx) >= _NOISE_FFT * 4 or (lo == 0 and hi == n):
            break
        reach *= 2
    length = b - a
    out = np.zeros((x.shape[0], length), np.float32)
    if len(idx) < _NOISE_FFT:
        return out
    win = np.hanning(_NOISE_FFT)
    hop = _NOISE_FFT // 4  # squared Hann windows at 3/4 overlap sum to a constant
    for c in range(x.shape[0]):
        ctx = x[c, idx].astype(np.float64)
        starts = np.arange(0, len(ctx) - _NOISE_FFT + 1, hop)
        frames = np.stack([ctx[s:s + _NOISE_FFT] for s in starts]) * win
        mag = np.sqrt(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0))
        count = length // hop + 4
        phases = rng.uniform(0, 2 * np.pi, (count, len(mag)))
        grains = np.fft.irfft(mag * np.exp(1j * phases), n=_NOISE_FFT, axis=1) * win
        total = np.zeros((count + 3) * hop, np.float64)
        for i in range(count):
            total[i * hop:i * hop + _NOISE_FFT] += grains[i]
        patch = total[3 * hop:3 * hop + length]
        level = np.sqrt(np.mean(patch ** 2))
        target = np.sqrt(np.mean(ctx ** 2))
        out[c] = (patch * (target / level if level > 0 else 0.0)).astype(np.float32)
    return out


# --- disguise -----------------------------------------------------------------------

HIGH_VOICE_HZ = 165.0
"""Median pitch above which a voice is moved down rather than up."""
_DRIFT_PERIOD = (2.0, 5.0)
"""Seconds per cycle of the McAdams coefficient's wandering (drawn per file)."""


@dataclass(frozen=True)
class _DisguiseDraw:
    mcadams: float
    drift: float
    period: float
    phase: float
    pitch: float
    formant: float


def _draw(settings: AudioSettings, rng: np.random.Generator) -> _DisguiseDraw:
    return _DisguiseDraw(
        mcadams=float(rng.uniform(*settings.mcadams)),
        drift=settings.mcadams_drift,
        period=float(rng.uniform(*_DRIFT_PERIOD)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        pitch=float(rng.uniform(*settings.pitch_factor)),
        formant=float(rng.uniform(*settings.formant_factor)),
    )


def disguise(samples: Samples, sample_rate: int, settings: AudioSettings,
             rng: np.random.Generator | None = None) -> Samples:
    """Every voice in the track transformed: McAdams formant warp (coefficient
    wandering around a random value), then Praat's pitch and formant change by
    random factors, up for low voices and down for high ones. The whole track
    is transformed (not only what the VAD calls speech: a missed voice would be
    a leak); every channel gets the same draw. Nothing drawn is returned or kept.

    Measured (bench/audio.py): an adversary comparing the output with the
    speaker's recordings is defeated, but one who knows this method and undoes
    it at the middle of its ranges re-identifies most voices; see
    `unseen.verify.audio.AudioJudge.judge_disguised` (``informed``).
    """
    x = _as_channels(samples)
    draw = _draw(settings, _rng(rng))
    hop = 0.01
    frames = max(1, int(x.shape[1] / sample_rate / hop) + 1)
    t = np.arange(frames) * hop
    coefficient = np.clip(draw.mcadams + draw.drift * np.sin(2 * np.pi * t / draw.period
                                                             + draw.phase), 0.5, 0.95)
    median = voice_pitch(x.mean(axis=0), sample_rate)
    up = not (median > HIGH_VOICE_HZ)
    pitch = draw.pitch if up else 1.0 / draw.pitch
    formant = draw.formant if up else 1.0 / draw.formant
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        y = mcadams(x[c], sample_rate, coefficient, hop_seconds=hop)
        out[c] = change_voice(y, sample_rate, pitch, formant)
    return out


def undo_disguise(samples: Samples, sample_rate: int, settings: AudioSettings
                  ) -> list[Samples]:
    """The informed adversary's tries at inverting `disguise`: it knows the method
    and the middle of every range, not the draw, and tries both directions."""
    x = _as_channels(samples)
    a = float(np.mean(settings.mcadams))
    p, f = float(np.mean(settings.pitch_factor)), float(np.mean(settings.formant_factor))
    tries = []
    for pitch, formant in ((1 / p, 1 / f), (p, f)):
        tries.append(np.stack([mcadams(change_voice(ch, sample_rate, pitch, formant),
                                       sample_rate, 1.0 / a) for ch in x]))
    return tries


def voice_pitch(x: NDArray[np.floating], sample_rate: int) -> float:
    """Median pitch (Hz) of the voiced parts (Praat); NaN when nothing is voiced."""
    import parselmouth
    from parselmouth.praat import call

    y = np.asarray(x, np.float64)
    if not np.any(y):
        return float("nan")
    sound = parselmouth.Sound(y, sampling_frequency=float(sample_rate))
    pitch_obj = call(sound, "To Pitch", 0.0, 75.0, 600.0)
    return float(call(pitch_obj, "Get quantile", 0.0, 0.0, 0.5, "Hertz"))


def mcadams(x: NDArray[np.floating], sample_rate: int,
            coefficient: float | NDArray[np.floating],
            win_seconds: float = 0.02, hop_seconds: float = 0.01) -> Samples:
    """McAdams-coefficient anonymisation (VoicePrivacy Challenge baseline B2).

    Per 20 ms frame: LPC analysis, the residual kept, the angles of the
    complex poles raised to ``coefficient`` (on the 16 kHz scale, so the
    formant shift is the same at any sample rate), and the frame re-synthesised
    with its original energy; frames are overlap-added. ``coefficient`` is one
    value or one per frame (``hop_seconds`` apart).
    """
    win = int(win_seconds * sample_rate)
    hop = int(hop_seconds * sample_rate)
    order = int(min(48, max(20, round(20 * sample_rate / 16000))))
    original = len(x)
    # Padding puts every sample, the first and last too, under full frames.
    x = np.pad(np.asarray(x, np.float64), (win, 2 * win))
    n = len(x)
    w_pr = np.hanning(win)
    window = np.sqrt(w_pr / (w_pr.sum() / hop))
    count = 1 + (n - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    frames = x[idx] * window
    a = _lpc(frames, order)
    scale = sample_rate / 16000.0
    coeff = np.atleast_1d(np.asarray(coefficient, np.float64))
    # Frame m starts hop * m samples into the padding; per-frame values follow the track.
    lead = win // hop
    coeff = np.concatenate([np.full(lead, coeff[0]), coeff])
    per_frame = np.concatenate([coeff, np.full(max(0, count - len(coeff)), coeff[-1])])[:count]
    new_a = _warped(a, per_frame, scale)
    from scipy.signal import lfilter  # seconds to import: only when disguising

    out = np.zeros(n + win, np.float64)
    e_in = np.sum(frames ** 2, axis=1)
    for m in range(count):
        frame = frames[m]
        if e_in[m] < 1e-12:
            continue
        residual = lfilter(a[m], [1.0], frame)
        rec = lfilter([1.0], new_a[m], residual)
        e_out = float(np.sum(rec ** 2))
        if not np.isfinite(e_out) or e_out <= 0:
            continue
        rec *= np.sqrt(e_in[m] / e_out)
        out[m * hop:m * hop + win] += rec * window
    return np.clip(out[win:win + original], -1.0, 1.0).astype(np.float32)


def _lpc(frames: NDArray[np.float64], order: int) -> NDArray[np.float64]:
    """LPC coefficients ``(frames, order + 1)`` (autocorrelation, Levinson-Durbin)."""
    count, size = frames.shape
    nfft = 1 << int(np.ceil(np.log2(2 * size)))
    spec = np.fft.rfft(frames, nfft, axis=1)
    r = np.fft.irfft(np.abs(spec) ** 2, nfft, axis=1)[:, :order + 1]
    r[:, 0] = r[:, 0] * (1 + 1e-9) + 1e-12  # white-noise floor: stable on silence
    a = np.zeros((count, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = r[:, i] + np.sum(a[:, 1:i] * r[:, i - 1:0:-1], axis=1)
        k = -acc / err
        a[:, 1:i + 1] = a[:, 1:i + 1] + k[:, None] * np.concatenate(
            [a[:, i - 1:0:-1], np.ones((count, 1))], axis=1)
        err = err * (1 - k ** 2)
    return a


def _warped(a: NDArray[np.float64], coefficient: NDArray[np.float64], scale: float
            ) -> NDArray[np.float64]:
    """Each frame's all-pole filter with complex pole angles moved (real poles kept)."""
    count, p1 = a.shape
    order = p1 - 1
    companion = np.zeros((count, order, order))
    companion[:, 0, :] = -a[:, 1:]
    companion[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    poles = np.linalg.eigvals(companion)
    angle = np.angle(poles)
    radius = np.abs(poles)
    complex_ = np.abs(poles.imag) > 1e-9
    # angle^c on the 16 kHz scale: (theta * scale)^c / scale, sign kept.
    moved = np.sign(angle) * (np.abs(angle) * scale) ** coefficient[:, None] / scale
    moved = np.clip(moved, -np.pi + 1e-3, np.pi - 1e-3)
    new_angle = np.where(complex_, moved, angle)
    new_poles = radius * np.exp(1j * new_angle)
    new_poles = np.where(complex_, new_poles, poles.real)
    coeffs = np.zeros((count, p1), np.complex128)
    coeffs[:, 0] = 1.0
    for k in range(order):
        coeffs[:, 1:] = coeffs[:, 1:] - new_poles[:, k:k + 1] * coeffs[:, :-1]
    return coeffs.real


def change_voice(x: NDArray[np.floating], sample_rate: int, pitch: float,
                 formant: float, pitch_range: float = 1.0) -> Samples:
    """Praat's "Change gender": median pitch times ``pitch``, formants times ``formant``
    (PSOLA; duration and the pitch contour's shape kept)."""
    import parselmouth
    from parselmouth.praat import call

    y = np.asarray(x, np.float64)
    if not np.any(y):
        return y.astype(np.float32)
    median = voice_pitch(y, sample_rate)
    # 0 keeps the pitch (nothing voiced: only the formants move).
    new_median = median * pitch if np.isfinite(median) and median > 0 else 0.0
    sound = parselmouth.Sound(y, sampling_frequency=float(sample_rate))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no voiced segments": noise only, formants still move
        out = call(sound, "Change gender", 75.0, 600.0, formant, new_median, pitch_range, 1.0)
    z = np.asarray(out.values[0], np.float32)
    if len(z) < len(y):
        z = np.pad(z, (0, len(y) - len(z)))
    return np.clip(z[:len(y)], -1.0, 1.0)


def pitch_shift(samples: Samples, sample_rate: int, semitones: float) -> Samples:
    """A plain pitch shift (formants move with the pitch; duration kept): the
    benchmark's counter-example, undone by shifting back. Resampling, then
    Praat's overlap-add lengthening back to the original duration, per channel."""
    import parselmouth
    from parselmouth.praat import call
    from scipy.signal import resample_poly

    x = _as_channels(samples)
    factor = 2.0 ** (semitones / 12.0)
    up, down = _ratio(1.0 / factor)
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        faster = resample_poly(x[c].astype(np.float64), up, down)
        sound = parselmouth.Sound(faster, sampling_frequency=float(sample_rate))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            longer = call(sound, "Lengthen (overlap-add)", 75.0, 600.0, factor)
        y = np.asarray(longer.values[0], np.float32)
        if len(y) < x.shape[1]:
            y = np.pad(y, (0, x.shape[1] - len(y)))
        out[c] = np.clip(y[:x.shape[1]], -1.0, 1.0)
    return out


def _ratio(r: float, limit: int = 1000) -> tuple[int, int]:
    from fractions import Fraction

    f = Fraction(r).limit_denominator(limit)
    g = gcd(f.numerator, f.denominator)
    return f.numerator // g, f.denominator // g
