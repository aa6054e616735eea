"""A video's sound through the stages: read -> mute or disguise -> (encoded by pass 2)
-> judge the written sound.

What to tell the person about the sound is worded here once, for the
command line and the review UI alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unseen.audio import DISGUISE_WARNING, AudioSettings, process
from unseen.detect.models import Models
from unseen.i18n import N_
from unseen.media.audio import AudioParams, has_audio, read_audio
from unseen.settings import Settings
from unseen.verify.audio import AudioJudge, judge_files
from unseen.verify.verdict import Finding, Verdict


def sound_warnings(has_sound: bool, mode: str) -> list[str]:
    """What to tell the person about a video's sound track (one wording everywhere)."""
    if not has_sound:
        return []
    if mode == "keep":
        return [N_("the sound track was kept untouched: voices can identify people "
                   "(--audio mute-speech or disguise keeps the sound without them)")]
    if mode == "mute-speech":
        return [N_("speech was muted in the sound track; the rest of the sound was kept")]
    if mode == "disguise":
        return [N_("every voice in the sound track was disguised (words kept, voices "
                   "changed)"), DISGUISE_WARNING]
    return [N_("the sound track was removed (--audio mute-speech or disguise keeps the sound "
               "without the voices)")]


@dataclass(frozen=True)
class ProcessedSound:
    """A video's sound after ``mute-speech`` or ``disguise``, ready to encode
    (held in memory for the second pass; never written anywhere else)."""

    params: AudioParams
    samples: NDArray[np.float32]
    mode: str
    notes: tuple[str, ...] = ()


def prepare_sound(source: Path, settings: Settings, models: Models) -> ProcessedSound | None:
    """Read and process the sound of ``source`` as ``settings.audio`` says; None
    when nothing is to be encoded (no sound, or ``drop`` / ``keep``)."""
    if not settings.processes_audio or not has_audio(source):
        return None
    track = read_audio(source)
    outcome = process(track.samples, track.sample_rate, AudioSettings(mode=settings.audio),
                      models.speech)
    if outcome.samples is None:  # pragma: no cover - only drop gives none
        return None
    return ProcessedSound(track.params, outcome.samples, settings.audio, outcome.notes)


def judge_sound(audio_judge: AudioJudge, mode: str, output: Path, original: Path | None,
                verdict: Verdict) -> None:
    """The written sound, judged as a listener would hear it: findings added to
    ``verdict`` (speech left after muting, a voice still matched after disguise)."""
    t = time.perf_counter()
    heard = judge_files(audio_judge, mode, output, original)
    for reason in heard.reasons:
        verdict.add(Finding("sound", "unsafe", f"sound: {reason}"))
    for note in heard.notes:
        verdict.add(Finding("sound", "note", f"sound: {note}"))
    verdict.seconds["sound"] = time.perf_counter() - t
