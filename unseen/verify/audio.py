"""The adversary's ear: is any voice left in an output's sound?

For ``mute-speech`` the VAD must find no speech left; for ``disguise`` the
speaker encoder compares the output's voice with the original's, over the
whole speech and per long segment, and a match fails the file. Verdicts
hold words and numbers only, never samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unseen.detect.models import Models
from unseen.detect.speaker import SpeakerEncoder, similarity, speech_only
from unseen.detect.speech import (
    SAMPLE_RATE,
    SpeechDetector,
    SpeechSettings,
    to_mono_16k,
    total_seconds,
)
from unseen.i18n import N_

JUDGE_SPEECH = SpeechSettings(threshold=0.5, min_speech=0.25, min_silence=0.1, pad=0.0)
"""What the judge calls speech: Silero's defaults. Tolerance for ``mute-speech``:
bursts shorter than 0.25 s (one or two 32 ms windows over 0.5, as a cough, a
bang or a siren's edge can give) are not speech; any longer segment fails."""

SPEAKER_MATCH = 0.72
"""Cosine similarity (Resemblyzer GE2E) at or above which the output's voice
is the original speaker. Measured on ../shared/data/speech (181 LibriSpeech
utterances, 127 speakers; `python -m bench.audio`): same speaker, different
utterances 0.59-0.98 (median 0.87, 5th percentile 0.75); different speakers
0.25-0.85 (median 0.54, 99th percentile 0.74); the equal error rate (1.8 %)
is at 0.72. The judge compares each output with its own original (same words,
same room), which scores higher than any other utterance would, so this
threshold is strict for disguised speech: untouched copies score 0.99."""

SEGMENT_SECONDS = 2.0
"""Speech segments at least this long are also compared one by one (several
speakers in one file would blur a single whole-track comparison)."""
MIN_SPEECH_TO_COMPARE = 1.0
"""Less speech than this (seconds) in the original: nothing to compare."""


@dataclass(frozen=True)
class AudioVerdict:
    """Safe or not, why, and the measured numbers (one-line strings, numbers only)."""

    safe: bool
    mode: str
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    numbers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"verdict": "safe" if self.safe else "unsafe", "mode": self.mode,
                "reasons": list(self.reasons), "notes": list(self.notes),
                "numbers": {k: round(v, 3) for k, v in self.numbers.items()}}


class AudioJudge:
    """The adversary's ear: the speech detector and the speaker encoder of a
    run's `Models` (loaded once; thread-safe runs)."""

    def __init__(self, models: Models | None = None) -> None:
        self._models = models or Models()
        self.detector: SpeechDetector = self._models.speech

    @property
    def encoder(self) -> SpeakerEncoder:
        """The speaker encoder, loaded when a disguised voice is first compared."""
        return self._models.speaker

    def judge(self, mode: str, output: NDArray[np.floating] | None, sample_rate: int,
              original: NDArray[np.floating] | None = None, original_rate: int | None = None,
              offset: float = 0.0) -> AudioVerdict:
        """The verdict for one output's sound.

        ``output`` and ``original`` are ``(channels, n)`` (or mono) samples;
        ``offset``: seconds by which the output's first sample plays later
        than the original's (from the two streams' start times).
        """
        if mode == "drop":
            if output is not None and np.asarray(output).size:
                return AudioVerdict(False, mode, (N_("the sound was to be dropped but is "
                                                     "there"),))
            return AudioVerdict(True, mode, notes=(N_("no sound"),))
        if output is None:
            return AudioVerdict(True, mode, notes=(N_("no sound"),))
        out16 = to_mono_16k(output, sample_rate)
        if mode == "keep":
            speech = total_seconds(self.detector.segments(out16, SAMPLE_RATE, JUDGE_SPEECH))
            return AudioVerdict(True, mode, notes=(
                N_("sound kept untouched ({seconds} s of speech: voices can identify "
                   "people)").format(seconds=f"{speech:.1f}"),),
                numbers={"speech_seconds": speech})
        orig16 = None if original is None else to_mono_16k(original, original_rate or sample_rate)
        if mode == "mute-speech":
            return self.judge_muted(out16, orig16, offset)
        if mode == "disguise":
            return self.judge_disguised(out16, orig16, offset)
        raise ValueError(f"unknown audio mode {mode!r}")

    def judge_muted(self, out16: NDArray[np.float32], orig16: NDArray[np.float32] | None,
                    offset: float = 0.0) -> AudioVerdict:
        """No speech segment (by `JUDGE_SPEECH`) may be left in the output."""
        segments = self.detector.segments(out16, SAMPLE_RATE, JUDGE_SPEECH)
        left = total_seconds(segments)
        numbers = {"speech_seconds_left": left, "speech_segments_left": float(len(segments))}
        notes: list[str] = []
        if orig16 is not None:
            before = total_seconds(self.detector.segments(orig16, SAMPLE_RATE, JUDGE_SPEECH))
            numbers["speech_seconds_original"] = before
            notes.append(N_("{seconds} s of speech in the original").format(
                seconds=f"{before:.1f}"))
        if segments:
            first = segments[0][0] - offset
            return AudioVerdict(False, "mute-speech", (
                N_("speech is still audible: {n} stretch(es), {seconds} s in all, the first "
                   "at {first} s").format(n=len(segments), seconds=f"{left:.1f}",
                                          first=f"{max(first, 0.0):.1f}"),),
                tuple(notes), numbers)
        notes.append(N_("no speech found in the output"))
        return AudioVerdict(True, "mute-speech", (), tuple(notes), numbers)

    def judge_disguised(self, out16: NDArray[np.float32], orig16: NDArray[np.float32] | None,
                        offset: float = 0.0, informed: bool = False) -> AudioVerdict:
        """The output's voice over the original's speech must not match the original's.

        ``informed``: also try to undo the disguise as an adversary who knows
        the method would (`unseen.audio.undo_disguise`) and fail on a match
        there too. Off by default: the inverse still lifts some voices over
        the threshold (bench/audio.py), which would withhold those files.
        """
        if orig16 is None:
            return AudioVerdict(False, "disguise", (
                N_("the disguised voice cannot be compared without the original"),))
        segments = self.detector.segments(orig16, SAMPLE_RATE, JUDGE_SPEECH)
        speech = total_seconds(segments)
        numbers: dict[str, float] = {"speech_seconds": speech}
        if speech < MIN_SPEECH_TO_COMPARE:
            return AudioVerdict(True, "disguise", notes=(
                N_("too little speech to compare ({seconds} s)").format(
                    seconds=f"{speech:.1f}"),), numbers=numbers)
        shift = round(offset * SAMPLE_RATE)
        aligned = _aligned(out16, shift, len(orig16))
        enc = self.encoder
        reference = enc.embed(speech_only(orig16, segments))
        whole = similarity(reference, enc.embed(speech_only(aligned, segments)))
        scores = [whole]
        long_ = [s for s in segments if s[1] - s[0] >= SEGMENT_SECONDS]
        for seg in long_ if len(long_) > 1 else []:
            scores.append(similarity(enc.embed(speech_only(orig16, [seg])),
                                     enc.embed(speech_only(aligned, [seg]))))
        if informed:
            from unseen.audio import AudioSettings, undo_disguise

            tries = undo_disguise(aligned, SAMPLE_RATE, AudioSettings(mode="disguise"))
            inverted = max(similarity(reference, enc.embed(speech_only(t[0], segments)))
                           for t in tries)
            numbers["similarity_after_inverse"] = inverted
            scores.append(inverted)
        worst = max(scores)
        numbers.update({"similarity_whole": whole, "similarity_max": worst,
                        "segments_compared": float(len(long_) if len(long_) > 1 else 0),
                        "match_threshold": SPEAKER_MATCH})
        if worst >= SPEAKER_MATCH:
            return AudioVerdict(False, "disguise", (
                N_("the disguised voice still matches the original speaker (similarity "
                   "{similarity}, match at {limit})").format(
                       similarity=f"{worst:.2f}", limit=f"{SPEAKER_MATCH:.2f}"),),
                numbers=numbers)
        return AudioVerdict(True, "disguise", notes=(
            N_("voice not linked to the original (similarity {similarity} < {limit}, "
               "{seconds} s of speech)").format(similarity=f"{worst:.2f}",
                                                limit=f"{SPEAKER_MATCH:.2f}",
                                                seconds=f"{speech:.1f}"),), numbers=numbers)


def _aligned(x: NDArray[np.float32], shift: int, length: int) -> NDArray[np.float32]:
    """``x`` moved so that its sample ``shift`` lands at 0 (the original's clock)."""
    if shift > 0:
        x = x[shift:]
    elif shift < 0:
        x = np.pad(x, (-shift, 0))
    return np.pad(x, (0, max(0, length - len(x))))[:length]


def judge_files(judge: AudioJudge, mode: str, output: Path,
                original: Path | None = None) -> AudioVerdict:
    """Read both files' sound (the written output, as a viewer would hear it) and judge."""
    from unseen.media.audio import has_audio, read_audio

    out = read_audio(output) if has_audio(output) else None
    if out is None:
        return judge.judge(mode, None, SAMPLE_RATE)
    orig = read_audio(original) if original is not None and has_audio(original) else None
    offset = float(out.params.start - (orig.params.start if orig else Fraction(0)))
    return judge.judge(mode, out.samples, out.sample_rate,
                       None if orig is None else orig.samples,
                       None if orig is None else orig.sample_rate, offset)
