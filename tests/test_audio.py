"""Sound: Silero VAD, the numpy GE2E speaker encoder, mute-speech, disguise, their
judge, and sound through real containers. Real models on real speech and real
street/drone sound from ../shared/data."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from unseen import audio as A
from unseen.detect.speaker import similarity, speech_only
from unseen.detect.speech import to_mono_16k, total_seconds
from unseen.media.audio import AudioParams, read_audio, write_audio_file
from unseen.verify.audio import JUDGE_SPEECH, SPEAKER_MATCH, AudioJudge

SR = 16000


@pytest.fixture(scope="module")
def judge() -> AudioJudge:
    return AudioJudge()


@pytest.fixture(scope="module")
def speech(shared_data: Path) -> dict[str, list[np.ndarray]]:
    """Three utterances of each of two speakers (first 9 s of each)."""
    labels = json.loads((shared_data / "speech" / "speakers.json").read_text())
    out: dict[str, list[np.ndarray]] = {}
    for spk in ("1998", "3005"):
        files = sorted(f for f, s in labels.items() if s == spk)[:3]
        out[spk] = [read_audio(shared_data / "speech" / f).samples[0][: 9 * SR] for f in files]
    return out


def _bed(shared_data: Path, name: str, seconds: float) -> np.ndarray:
    track = read_audio(shared_data / "metadata" / "gopro" / name)
    x = to_mono_16k(track.samples, track.sample_rate)
    return np.tile(x, int(np.ceil(seconds * SR / len(x))))[: int(seconds * SR)]


def test_vad_finds_speech_in_speech_and_little_in_noise(
        judge: AudioJudge, speech: dict[str, list[np.ndarray]], shared_data: Path) -> None:
    vad = judge.detector
    for x in speech["1998"][:2]:
        found = total_seconds(vad.segments(x, SR))
        assert found > 0.6 * len(x) / SR
    for name in ("karma.mp4", "max-heromode.mp4"):
        track = read_audio(shared_data / "metadata" / "gopro" / name)
        assert total_seconds(vad.segments(track.samples, track.sample_rate)) < 0.5


def test_speaker_encoder_port(judge: AudioJudge, speech: dict[str, list[np.ndarray]]) -> None:
    enc = judge.encoder
    # The onnxruntime graph computes what the plain numpy LSTM computes.
    partial = enc.partials(speech["1998"][0])[:1]
    assert np.abs(enc.embed_partials(partial) - enc.embed_partials_numpy(partial)).max() < 1e-4
    # Known behaviour: two utterances of one speaker match, of two speakers do not.
    a1, a2 = (enc.embed(x) for x in speech["1998"][:2])
    b1 = enc.embed(speech["3005"][0])
    assert similarity(a1, a2) >= SPEAKER_MATCH > similarity(a1, b1)


def _mix(utterances: list[np.ndarray], bed: np.ndarray, snr_db: float
         ) -> tuple[np.ndarray, np.ndarray]:
    gap = 3 * SR
    total = gap + sum(len(u) + gap for u in utterances)
    clean = np.zeros(total, np.float32)
    pos = gap
    for u in utterances:
        clean[pos:pos + len(u)] = u
        pos += len(u) + gap
    placed = clean != 0
    level = np.sqrt(np.mean(np.concatenate(utterances) ** 2))
    noise = bed[:total] * level / np.sqrt(np.mean(bed[:total] ** 2)) / 10 ** (snr_db / 20)
    return (clean + noise).astype(np.float32), placed


def test_mute_speech_leaves_no_speech_and_keeps_the_scene(
        judge: AudioJudge, speech: dict[str, list[np.ndarray]], shared_data: Path) -> None:
    vad = judge.detector
    utterances = [speech["1998"][0][: 6 * SR], speech["3005"][0][: 6 * SR]]
    bed = _bed(shared_data, "karma.mp4", 25.0)
    x, placed = _mix(utterances, bed, snr_db=5.0)
    truth = vad.probabilities(np.where(placed, x, 0), SR) >= 0.5
    settings = A.AudioSettings(mode="mute-speech")
    outcome = A.process(x, SR, settings, vad, np.random.default_rng(0))
    assert outcome.samples is not None and outcome.samples.shape == (1, len(x))
    y = outcome.samples[0]
    left = vad.probabilities(y, SR) >= 0.5
    assert np.sum(left & truth) <= 0.01 * np.sum(truth)
    assert judge.judge("mute-speech", y, SR, x, SR).safe
    assert not judge.judge("mute-speech", x, SR, x, SR).safe
    # Outside the utterances (margins included) the energy stays within 1 dB.
    w = 512
    n = len(x) // w
    quiet = ~placed[: n * w].reshape(n, w).any(axis=1)
    e_in = np.sum(x[: n * w].reshape(n, w)[quiet] ** 2)
    e_out = np.sum(y[: n * w].reshape(n, w)[quiet] ** 2)
    assert abs(10 * np.log10(e_out / e_in)) < 1.0
    assert A.process(x, SR, A.AudioSettings()).samples is None  # drop
    kept = A.process(x, SR, A.AudioSettings(mode="keep")).samples
    assert kept is not None and np.array_equal(kept[0], x)


def test_disguise_unlinks_the_voice_an_untouched_copy_does_not(
        judge: AudioJudge, speech: dict[str, list[np.ndarray]]) -> None:
    x = speech["3005"][1]
    settings = A.AudioSettings(mode="disguise")
    y = A.disguise(x[None], SR, settings, np.random.default_rng(3))[0]
    assert y.shape == x.shape and np.isfinite(y).all()
    verdict = judge.judge("disguise", y, SR, x, SR)
    assert verdict.safe, verdict.reasons
    assert verdict.numbers["similarity_max"] < SPEAKER_MATCH
    # Still a voice speaking over the same stretches (a proxy for the words).
    kept = total_seconds(judge.detector.segments(y, SR, JUDGE_SPEECH))
    assert kept > 0.7 * total_seconds(judge.detector.segments(x, SR, JUDGE_SPEECH))
    copy = judge.judge("disguise", x.copy(), SR, x, SR)
    assert not copy.safe and copy.numbers["similarity_whole"] > 0.95


def test_pitch_shift_is_undone_and_caught(
        judge: AudioJudge, speech: dict[str, list[np.ndarray]]) -> None:
    x = speech["1998"][2]
    shifted = A.pitch_shift(x[None], SR, 4.0)
    back = A.pitch_shift(shifted, SR, -4.0)[0]
    enc = judge.encoder
    segs = judge.detector.segments(x, SR, JUDGE_SPEECH)
    original = enc.embed(speech_only(x, segs))
    assert similarity(original, enc.embed(speech_only(back, segs))) >= SPEAKER_MATCH


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_sound_round_trip_through_a_container(tmp_path: Path, shared_data: Path,
                                              suffix: str) -> None:
    from unseen.metadata import inspect

    track = read_audio(shared_data / "video" / "short_hamilton_clip.mp4")
    assert (track.sample_rate, track.channels, track.params.layout) == (44100, 2, "stereo")
    out = tmp_path / f"sound{suffix}"
    write_audio_file(out, track.samples, track.params)
    back = read_audio(out)
    rate = 48000 if suffix == ".webm" else 44100  # WebM takes only Opus: 48 kHz
    assert (back.sample_rate, back.channels) == (rate, 2)
    end_in = float(track.params.start) + track.duration
    end_out = float(back.params.start) + back.duration
    assert abs(end_out - end_in) <= 1024 / 44100 + 0.002  # one AAC frame
    assert inspect(out) == []


def test_sound_stays_in_sync(tmp_path: Path) -> None:
    """A click at 1.0 s on the video's clock is heard at 1.0 s after the round
    trip, with the sound starting 0.25 s into the file."""
    import av

    from unseen.media.audio import AudioStreamWriter

    rate = 48000
    x = np.zeros((1, 3 * rate), np.float32)
    at = int(0.75 * rate)  # 0.75 s after the track's start (0.25 s) is 1.0 s
    x[0, at:at + 48] = 0.9
    params = AudioParams(rate, "mono", 1, Fraction(1, 4))
    out = tmp_path / "sync.mp4"
    with av.open(str(out), "w", format="mp4", options={"fflags": "+bitexact"}) as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        writer = AudioStreamWriter(c, params, x)
        for i in range(75):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            c.mux(v.encode(frame))
            writer.write_until((i + 1) / 25)
        writer.close()
        c.mux(v.encode(None))
    back = read_audio(out)
    heard = float(back.params.start) + int(np.argmax(np.abs(back.samples[0]))) / rate
    assert abs(heard - 1.0) < 0.003
