"""A video's sound through the whole pipeline (`--audio`): dropped by default,
kept untouched, speech muted or voices disguised, then judged by the adversary
(the VAD for speech left, the speaker model for a voice still matched).

The clip is made from real data: frames of a shared clip and LibriSpeech
utterances of one speaker over the clip's own street/stage sound."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from unseen.cli import main
from unseen.media.audio import has_audio, read_audio
from unseen.pipeline import Anonymizer
from unseen.settings import Settings
from unseen.verify.audio import AudioJudge, judge_files

RATE = 16000


def speech_clip(shared_data: Path, path: Path, seconds: float = 6.0) -> Path:
    """``seconds`` of the Hamilton clip's frames (at half size: the picture is
    not what these tests measure, and every run finds its faces) with a
    LibriSpeech speaker (16 kHz mono) over the clip's own sound, as H.264 + AAC
    in MP4."""
    import json

    from unseen.detect.speech import to_mono_16k

    speakers = json.loads((shared_data / "speech" / "speakers.json").read_text())
    files = sorted(f for f, s in speakers.items() if s == "1998")[:2]
    talk = np.concatenate([read_audio(shared_data / "speech" / f).samples[0] for f in files])
    bed_track = read_audio(shared_data / "video" / "short_hamilton_clip.mp4")
    bed = to_mono_16k(bed_track.samples, bed_track.sample_rate)
    n = int(seconds * RATE)
    bed = np.resize(bed, n) * 0.3
    sound = bed.copy()
    sound[: min(n, len(talk))] += talk[:n] * 0.8
    sound = np.clip(sound, -1, 1).astype(np.float32)
    frames = round(seconds * 25)
    with av.open(str(path), "w") as out, av.open(
            str(shared_data / "video" / "short_hamilton_clip.mp4")) as src:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 640, 360, "yuv420p"
        a = out.add_stream("aac", rate=RATE, layout="mono")
        done = 0
        while done < frames:
            src.seek(0)
            for f in src.decode(video=0):
                img = f.reformat(width=f.width // 2, height=f.height // 2).to_ndarray(
                    format="rgb24")
                if done == 0:
                    v.width, v.height = img.shape[1], img.shape[0]
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                for p in v.encode(frame):
                    out.mux(p)
                done += 1
                if done >= frames:
                    break
        for p in v.encode():
            out.mux(p)
        for i in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(sound[None, i:i + 1024], format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts, af.time_base = RATE, i, Fraction(1, RATE)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path


@pytest.fixture(scope="module")
def clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_clip(shared_data, tmp_path_factory.mktemp("sound") / "talk.mp4")


@pytest.fixture(scope="module")
def judge() -> AudioJudge:
    return AudioJudge()


@pytest.fixture(scope="module")
def kept(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip with its sound kept as it is (what the judges must refuse)."""
    out = tmp_path_factory.mktemp("kept") / "kept.mp4"
    assert Anonymizer(Settings(verify="off").with_audio("keep")).file(clip, out).status \
        == "written"
    return out


def test_sound_is_dropped_by_default(clip: Path, tmp_path: Path) -> None:
    r = Anonymizer(Settings(verify="off")).file(clip, tmp_path / "out.mp4")
    assert r.status == "written", r.error
    assert not has_audio(tmp_path / "out.mp4")
    assert any("sound track was removed" in w for w in r.warnings)


@pytest.mark.parametrize("mode", ["mute-speech", "disguise"])
def test_processed_sound_is_verified_and_kept_in_step(
        mode: str, clip: Path, kept: Path, tmp_path: Path, judge: AudioJudge) -> None:
    out = tmp_path / f"{mode}.mp4"
    r = Anonymizer(Settings().with_audio(mode)).file(clip, out)  # type: ignore[arg-type]
    assert r.status == "written", (r.error, r.verdict and r.verdict.reasons)
    assert r.verdict is not None and r.verdict.safe
    assert any(f.kind == "sound" for f in r.verdict.findings), r.verdict.findings
    before, after = read_audio(clip), read_audio(out)
    # Same rate and channels, same length within one AAC frame, same start.
    assert (after.sample_rate, after.channels) == (before.sample_rate, before.channels)
    assert abs(after.duration - before.duration) < 2048 / RATE
    assert abs(float(after.params.start - before.params.start)) < 0.03
    # The independent judge agrees on the delivered file.
    heard = judge_files(judge, mode, out, clip)
    assert heard.safe, heard.reasons
    # The untouched sound fails the same judge: the check can fail.
    assert not judge_files(judge, mode, kept, clip).safe


def test_cli_audio_option(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    assert main([str(clip), "-o", str(out), "-q", "--audio", "mute-speech",
                 "--state", str(tmp_path / "state")]) == 0
    written = list(out.glob("*.mp4"))
    assert len(written) == 1 and has_audio(written[0])
    assert main([str(clip), "-o", str(out), "-q", "--audio", "disguise", "--keep-audio",
                 "--state", str(tmp_path / "state")]) == 1
