"""What happens to a video's sound: drop it, keep it, mute the speech, or disguise voices.

Pure functions on ``(channels, n)`` float32 samples. ``mute-speech`` removes what
Silero VAD calls speech (plus a margin) and fills the gap with silence or with
noise shaped like the sound around it; ``disguise`` re-synthesises every voice
with an LPC vocoder: a new excitation at a new, smoothed pitch, the envelope's
formants moved toward another kind of voice, warped by a McAdams coefficient and a
high-band stretch drawn anew every 0.5-2 s, its bandwidths set by one formula;
drawn at random for each file and never stored. Channels get the same transform.
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
from unseen.settings import AUDIO_MODES, AudioMode

if TYPE_CHECKING:
    from unseen.detect.speech import SpeechDetector

MuteFill = Literal["noise", "silence"]
Samples = NDArray[np.float32]


DISGUISE_WARNING = N_(
    "disguise is weaker than mute-speech: in our tests a speaker model no longer links the "
    "disguised voices to the speakers' own, but an attacker who disguised recordings of the "
    "people it suspects the same way still matched most of them; use --audio mute-speech "
    "(or drop) for material that puts people at risk"
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
    """Range of the McAdams coefficient (pole angles raised to this power),
    drawn anew for every stretch. Measured alone on the speech data
    (Resemblyzer, median similarity to the same utterance untouched): 0.7 ->
    0.59, 0.8 -> 0.71, 0.9 -> 0.88 (still the same speaker). In the vocoder
    (bench/audio.py --quick), drawn per stretch from (0.65, 0.8) with the formant
    medians moved and the high band stretched: the informed adversary's rank-1
    11 %; without moving the formant medians 50 %."""
    stretch_seconds: tuple[float, float] = (0.5, 2.0)
    """The McAdams coefficient and the high-band stretch are drawn anew for
    every stretch of this many seconds (itself drawn), so no single inverse fits."""
    high_band_scale: tuple[float, float] = (0.6, 1.4)
    """Range of the factor on resonances' distances above 2 kHz, per stretch."""
    formant_jitter: float = 0.1
    """The formant medians go to the other kind of voice's times 1 +- up to this."""
    pitch_jitter: float = 0.1
    """The median pitch goes to the other kind of voice's times 1 +- up to this."""
    pitch_spread: tuple[float, float] = (3.0, 5.0)
    """Range of the new pitch spread, semitones (standard deviation)."""

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
"""Median pitch above which a voice counts as high (it is moved to a low one)."""


@dataclass(frozen=True)
class _Voice:
    """A typical voice as this module measures voices (`_voice_of`)."""

    pitch: float
    """Median pitch, Hz."""
    pitch_range: float
    """Spread of the pitch, semitones (standard deviation)."""
    formants: tuple[float, float, float]
    """Medians of the three lowest narrow LPC resonances, Hz (`_formant_medians`)."""


_TYPICAL = {
    "low": _Voice(118.0, 4.2, (510.0, 1870.0, 2970.0)),
    "high": _Voice(200.0, 4.3, (560.0, 1810.0, 3030.0)),
}
"""Medians over the 181 voiced LibriSpeech utterances in ../shared/data/speech
(96 below 165 Hz, 85 above), measured with `_voice_of`. Disguised voices are
moved to the other kind; the informed adversary moves them back to these."""
_HIGH_BAND_HZ = 2000.0
"""Resonances above this are stretched or squeezed (speaker detail more than words)."""
_VOCODER_ORDER = 14
"""LPC order (at 16 kHz) of the disguise's envelope: coarser than the analysis's 20,
so the finer detail of a vocal tract is not carried over."""


@dataclass(frozen=True)
class _MeasuredVoice:
    pitch: NDArray[np.float64]
    """Pitch every 10 ms (interpolated over unvoiced frames), Hz."""
    voiced: NDArray[np.bool_]
    median: float
    spread: float
    formants: NDArray[np.float64] | None


def _voice_of(x16: NDArray[np.floating], hop: float = 0.01) -> _MeasuredVoice:
    """Pitch contour (Praat) and formant medians of a 16 kHz mono track."""
    import parselmouth
    from parselmouth.praat import call

    y = np.asarray(x16, np.float64)
    frames = max(1, int(len(y) / 16000 / hop) + 1)
    grid = np.arange(frames) * hop
    f0 = np.zeros(0)
    if np.any(y):
        sound = parselmouth.Sound(y, sampling_frequency=16000.0)
        pitch_obj = call(sound, "To Pitch", hop, 75.0, 600.0)
        f0 = pitch_obj.selected_array["frequency"]
        t = pitch_obj.xs()
    if np.count_nonzero(f0) < 2:
        return _MeasuredVoice(np.full(frames, 120.0), np.zeros(frames, bool), float("nan"),
                              float("nan"), _formant_medians(y))
    voiced = np.interp(grid, t, (f0 > 0).astype(float), left=0, right=0) > 0.5
    log_f0 = np.log(f0[f0 > 0])
    contour = np.exp(np.interp(grid, t[f0 > 0], log_f0))
    return _MeasuredVoice(contour, voiced, float(np.exp(np.median(log_f0))),
                          float(np.std(log_f0) * 12 / np.log(2)), _formant_medians(y))


def _formant_medians(x16: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Medians (Hz) of the three lowest resonances between 200 and 4000 Hz narrower
    than 400 Hz, over the louder 40 % of 25 ms frames (LPC order 14, pre-emphasis);
    None when too few frames show three."""
    y = np.append(x16[:1], x16[1:] - 0.97 * x16[:-1])
    win, hop, order = 400, 160, 14
    if len(y) < 4 * win:
        return None
    count = 1 + (len(y) - win) // hop
    frames = y[np.arange(win)[None, :] + hop * np.arange(count)[:, None]] * np.hamming(win)
    energy = np.sum(frames ** 2, axis=1)
    loud = frames[energy >= np.percentile(energy, 60)]
    poles = _poles(_lpc(loud, order))
    freq = np.angle(poles) * 16000 / (2 * np.pi)
    bandwidth = -np.log(np.abs(poles) + 1e-12) * 16000 / np.pi
    freq = np.where((freq > 200) & (freq < 4000) & (bandwidth < 400), freq, np.inf)
    freq.sort(axis=1)
    three = np.isfinite(freq[:, 2])
    return np.median(freq[three, :3], axis=0) if three.sum() >= 10 else None


def _walk(frames: int, rng: np.random.Generator, lo: float, hi: float,
          seconds: tuple[float, float], hop: float = 0.01) -> NDArray[np.float64]:
    """A value per frame: drawn anew in ``[lo, hi]`` for every stretch of
    ``seconds`` (itself drawn), moving linearly from one stretch's middle to the next."""
    edges = [0.0]
    while edges[-1] < frames * hop:
        edges.append(edges[-1] + float(rng.uniform(*seconds)))
    middles = (np.array(edges[:-1]) + np.array(edges[1:])) / 2
    return np.interp(np.arange(frames) * hop, middles, rng.uniform(lo, hi, len(middles)))


def disguise(samples: Samples, sample_rate: int, settings: AudioSettings,
             rng: np.random.Generator | None = None) -> Samples:
    """Every voice in the track re-synthesised as another: an LPC vocoder.

    What is measured on the original (its pitch contour, median and spread,
    its formant medians) sets where the voice goes but is not carried over:
    the median pitch goes to a random value near the other kind of voice's
    (`_TYPICAL`), the pitch spread to a random one, the contour is smoothed,
    and a new excitation (pulses at that pitch, noise where unvoiced) replaces
    the speaker's own. The envelope (LPC order 14) has its formant medians moved
    to random values near the other kind's, a McAdams coefficient and a stretch
    above 2 kHz drawn anew for every 0.5-2 s, and its resonances' bandwidths set
    by one formula. So no inverse restores the speaker: the values that would
    be needed were never kept, and the same output comes from any voice that
    measures alike. The whole track is transformed (a voice the VAD missed
    would leak); every channel gets the same draws. Nothing drawn is returned or kept.
    """
    from unseen.detect.speech import to_mono_16k

    x = _as_channels(samples)
    gen = _rng(rng)
    voice = _voice_of(to_mono_16k(x, sample_rate))
    frames = len(voice.pitch)
    low = not (voice.median > HIGH_VOICE_HZ)
    target = _TYPICAL["high" if low else "low"]
    # Pitch: smoothed contour, new median and spread.
    median = voice.median if np.isfinite(voice.median) else 120.0
    spread = gen.uniform(*settings.pitch_spread) / voice.spread \
        if np.isfinite(voice.spread) and voice.spread > 0 else 1.0
    new_median = target.pitch * gen.uniform(1 - settings.pitch_jitter, 1 + settings.pitch_jitter)
    new_pitch = new_median * np.exp(spread * (_smoothed(np.log(voice.pitch), 5) - np.log(median)))
    excitation = _excitation(new_pitch, voice.voiced, x.shape[1], sample_rate, gen)
    # Envelope.
    knots = None
    if voice.formants is not None:
        goal = np.array(target.formants) * gen.uniform(
            1 - settings.formant_jitter, 1 + settings.formant_jitter, 3)
        knots = (voice.formants, np.sort(goal))
    warp = _EnvelopeWarp(
        coefficient=_walk(frames, gen, *settings.mcadams, settings.stretch_seconds),
        knots=knots,
        high_scale=_walk(frames, gen, *settings.high_band_scale, settings.stretch_seconds),
        bandwidth=60.0 * float(gen.uniform(0.8, 1.25)))
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        out[c] = resynthesize(x[c], sample_rate, warp, excitation, order=_VOCODER_ORDER)
    return out


def _smoothed(v: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    w = np.hanning(k + 2)[1:-1]
    w /= w.sum()
    return np.convolve(np.pad(v, (k, k), mode="edge"), w, mode="same")[k:-k]


def _excitation(pitch: NDArray[np.float64], voiced: NDArray[np.bool_], n: int,
                sample_rate: int, rng: np.random.Generator, hop: float = 0.01
                ) -> NDArray[np.float64]:
    """Unit-power pulses at ``pitch`` (per 10 ms frame) where voiced, white noise elsewhere."""
    t = np.arange(n) / sample_rate
    grid = np.arange(len(pitch)) * hop
    f = np.interp(t, grid, pitch)
    pulses = np.diff(np.floor(np.cumsum(f / sample_rate)), prepend=0.0) > 0
    voiced_here = np.interp(t, grid, voiced.astype(float)) > 0.5
    return np.where(voiced_here, pulses * np.sqrt(sample_rate / np.maximum(f, 1.0)),
                    rng.standard_normal(n))


def undo_disguise(samples: Samples, sample_rate: int, settings: AudioSettings
                  ) -> list[Samples]:
    """The informed adversary's tries at inverting `disguise`: it knows the method
    and the distribution of every draw, not the draw, and tries both kinds of
    original voice. Per try: the pitch moved to that kind's typical median and
    spread (Praat), the McAdams coefficient undone at the middle of its range,
    and the formant medians moved back to that kind's typical ones. (What is
    drawn around 1, the stretch above 2 kHz, is best left alone; what was
    replaced, the excitation and the bandwidths, cannot be brought back.)"""
    from unseen.detect.speech import to_mono_16k

    x = _as_channels(samples)
    heard = _voice_of(to_mono_16k(x, sample_rate))
    undo_mcadams = _EnvelopeWarp(coefficient=np.array([1.0 / float(np.mean(settings.mcadams))]))
    tries = []
    for kind in ("low", "high"):
        typical = _TYPICAL[kind]
        pitch = typical.pitch / heard.median if np.isfinite(heard.median) else 1.0
        spread = typical.pitch_range / heard.spread \
            if np.isfinite(heard.spread) and heard.spread > 0 else 1.0
        chans = []
        for ch in x:
            y = resynthesize(change_voice(ch, sample_rate, pitch, 1.0, spread), sample_rate,
                             undo_mcadams)
            formants = _formant_medians(to_mono_16k(y[None], sample_rate).astype(np.float64))
            if formants is not None:
                y = resynthesize(y, sample_rate, _EnvelopeWarp(
                    np.array([1.0]), (formants, np.array(typical.formants))))
            chans.append(y)
        tries.append(np.stack(chans))
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


@dataclass(frozen=True)
class _EnvelopeWarp:
    """Where each LPC resonance goes, per 10 ms frame (arrays: one value or one per frame).

    In order: ``knots`` (Hz -> Hz, piecewise linear: formant medians moved),
    the McAdams ``coefficient`` (pole angles on the 16 kHz scale raised to it),
    ``high_scale`` (distances above `_HIGH_BAND_HZ` multiplied by it), and
    ``bandwidth`` (resonances narrower than 600 Hz given ``bandwidth + 0.06 f`` Hz).
    """

    coefficient: NDArray[np.float64]
    knots: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    high_scale: NDArray[np.float64] | None = None
    bandwidth: float | None = None


def mcadams(x: NDArray[np.floating], sample_rate: int,
            coefficient: float | NDArray[np.floating],
            win_seconds: float = 0.02, hop_seconds: float = 0.01) -> Samples:
    """McAdams-coefficient anonymisation (VoicePrivacy Challenge baseline B2):
    the angles of the complex LPC poles raised to ``coefficient`` (one value or
    one per frame, ``hop_seconds`` apart) on the 16 kHz scale; see `resynthesize`."""
    return resynthesize(x, sample_rate, _EnvelopeWarp(np.atleast_1d(
        np.asarray(coefficient, np.float64))), win_seconds=win_seconds, hop_seconds=hop_seconds)


def resynthesize(x: NDArray[np.floating], sample_rate: int, warp: _EnvelopeWarp,
                 excitation: NDArray[np.float64] | None = None, order: int = 20,
                 win_seconds: float = 0.02, hop_seconds: float = 0.01) -> Samples:
    """Per 20 ms frame: LPC analysis (``order`` on the 16 kHz scale), the poles
    moved by ``warp``, and the frame re-synthesised from its own residual or,
    given one, from the same stretch of ``excitation``, with the frame's
    original energy; frames are overlap-added."""
    win = int(win_seconds * sample_rate)
    hop = int(hop_seconds * sample_rate)
    order = int(min(48, max(order, round(order * sample_rate / 16000))))
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
    lead = win // hop  # frame m starts hop * m samples into the padding

    def per_frame(v: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
        if v is None:
            return None
        v = np.concatenate([np.full(lead, v[0]), np.atleast_1d(v)])
        return np.concatenate([v, np.full(max(0, count - len(v)), v[-1])])[:count]

    new_a = _warped(a, sample_rate, warp, per_frame(warp.coefficient),
                    per_frame(warp.high_scale))
    source = None
    if excitation is not None:
        source = np.pad(np.asarray(excitation, np.float64)[:original], (win, 2 * win))
        source = np.pad(source, (0, max(0, n - len(source))))
    from scipy.signal import lfilter  # seconds to import: only when disguising

    out = np.zeros(n + win, np.float64)
    e_in = np.sum(frames ** 2, axis=1)
    for m in range(count):
        frame = frames[m]
        if e_in[m] < 1e-12:
            continue
        drive = lfilter(a[m], [1.0], frame) if source is None else source[idx[m]] * window
        with np.errstate(over="ignore", invalid="ignore"):  # an unstable frame: skipped
            rec = lfilter([1.0], new_a[m], drive)
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


def _poles(a: NDArray[np.float64]) -> NDArray[np.complex128]:
    """The roots of each frame's LPC polynomial ``(frames, order)``."""
    count, p1 = a.shape
    order = p1 - 1
    companion = np.zeros((count, order, order))
    companion[:, 0, :] = -a[:, 1:]
    companion[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    return np.asarray(np.linalg.eigvals(companion), np.complex128)


def _warped(a: NDArray[np.float64], sample_rate: int, warp: _EnvelopeWarp,
            coefficient: NDArray[np.float64] | None, high_scale: NDArray[np.float64] | None
            ) -> NDArray[np.float64]:
    """Each frame's all-pole filter with complex poles moved (real poles kept)."""
    count, p1 = a.shape
    poles = _poles(a)
    radius = np.abs(poles)
    complex_ = np.abs(poles.imag) > 1e-9
    nyquist = sample_rate / 2.0
    hz = np.abs(np.angle(poles)) * nyquist / np.pi
    if warp.knots is not None:
        source, goal = warp.knots
        hz = np.interp(hz, [0.0, *source, nyquist], [0.0, *goal, nyquist])
    if coefficient is not None:
        # angle^c on the 16 kHz scale, so the shift is the same at any sample rate.
        hz = 8000.0 / np.pi * (hz * np.pi / 8000.0) ** coefficient[:, None]
    if high_scale is not None:
        hz = np.where(hz > _HIGH_BAND_HZ, _HIGH_BAND_HZ + (hz - _HIGH_BAND_HZ)
                      * high_scale[:, None], hz)
    angle = np.clip(hz * np.pi / nyquist, 1e-3, np.pi - 1e-3)
    if warp.bandwidth is not None:
        narrow = -np.log(radius + 1e-12) * sample_rate / np.pi < 600.0
        radius = np.where(narrow, np.exp(-np.pi * (warp.bandwidth + 0.06 * hz) / sample_rate),
                          radius)
    new_poles = np.where(complex_, radius * np.exp(1j * np.sign(poles.imag) * angle),
                         poles.real)
    order = p1 - 1
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
