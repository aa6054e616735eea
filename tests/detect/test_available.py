"""Which features can run (unseen.detect.available) and unseen's own model files
(unseen.detect.shipped): on this installation every feature can; a damaged file is
named, the command line refuses its option up front, and the app offers it disabled."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from unseen.detect import available, blazeface, person, shipped, speaker
from unseen.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """unseen's model folder copied, with the speaker weights cut short and the
    person model deleted."""
    folder = tmp_path / "weights"
    shutil.copytree(shipped.WEIGHTS_DIR, folder)
    data = (folder / shipped.SPEAKER).read_bytes()
    (folder / shipped.SPEAKER).write_bytes(data[: len(data) // 2])
    (folder / shipped.PERSON).unlink()
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", folder)
    available.problem.cache_clear()
    yield folder
    available.problem.cache_clear()


def test_every_feature_is_available_here() -> None:
    available.problem.cache_clear()
    assert available.unavailable() == {}
    assert set(available.FEATURES) == set(available.NEEDS)


def test_shipped_files_are_the_ones_in_the_notice() -> None:
    notice = (shipped.WEIGHTS_DIR / "NOTICE").read_text(encoding="utf-8")
    for name, digest in shipped.SHA256.items():
        data = (shipped.WEIGHTS_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        assert f"{name} ({len(data):,} bytes)\n    sha256 {digest}" in notice
    assert "Apache License" in (shipped.WEIGHTS_DIR / "LICENSE.resemblyzer").read_text()
    assert "Apache License" in (shipped.WEIGHTS_DIR / "LICENSE.mediapipe").read_text()


def test_speaker_weights_hold_the_network_in_float32() -> None:
    weights = speaker.load_weights()
    assert set(weights) == set(speaker.WEIGHT_NAMES)
    assert all(w.dtype == np.float32 for w in weights.values())
    assert weights["lstm.weight_ih_l0"].shape == (1024, 40)
    assert weights["linear.weight"].shape == (256, 256)


def test_a_damaged_file_is_named(damaged: Path) -> None:
    why = available.unavailable()
    assert set(why) == {"cover body", "audio disguise"}
    assert why["audio disguise"] == shipped.DAMAGED.format(file=shipped.SPEAKER)
    assert why["cover body"] == shipped.DAMAGED.format(file=shipped.PERSON)
    assert "reinstall unseen" in why["cover body"]
    with pytest.raises(speaker.SpeakerModelMissingError):
        speaker.weights_path()
    assert person.model_file() is None and not person.available()
    assert blazeface.model_path() is not None  # left intact


def test_features_of_settings() -> None:
    s = Settings(plates=True, cover="body").with_audio("disguise")
    assert available.features_of(s) == ["plates", "cover body", "audio disguise"]
    assert available.features_of(Settings()) == []


def test_the_command_line_refuses_before_reading_a_file(tmp_path: Path) -> None:
    """With the person model gone, --cover body stops at once: one line, exit 1,
    no output folder, whatever the inputs."""
    folder = tmp_path / "weights"
    shutil.copytree(shipped.WEIGHTS_DIR, folder)
    (folder / shipped.PERSON).unlink()
    code = ("import sys; from unseen.detect import shipped; "
            f"shipped.WEIGHTS_DIR = __import__('pathlib').Path({str(folder)!r}); "
            "from unseen.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", code, "no-such-folder", "-o", "out",
                        "--cover", "body", "--plates"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "UNSEEN_LANG": "en",
                            "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)})
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines() == [
        "unseen: --cover body cannot be used: the model file selfie_segmentation.tflite "
        "is missing or damaged: the installation is damaged, reinstall unseen"]
    assert not (tmp_path / "out").exists()


def test_the_app_offers_what_cannot_run_disabled(tmp_path: Path, damaged: Path) -> None:
    from unseen.app import AppJob
    from unseen.web.app import TOKEN_HEADER
    from unseen.web.job import create_job_app

    job = AppJob(root=tmp_path / "state" / "app", base=Settings(verify="off"), workers=1)
    client = TestClient(create_job_app(job, "t0ken"), base_url="http://127.0.0.1:8124",
                        headers={TOKEN_HEADER: "t0ken"})
    doc = client.get("/api/job").json()
    assert set(doc["unavailable"]) == {"cover body", "audio disguise"}
    refused = client.put("/api/job/choices", json={"cover": "body", "plates": False,
                                                   "text": False, "audio": "drop"})
    assert refused.status_code == 400
    assert refused.json()["error"] == doc["unavailable"]["cover body"]
    assert client.get("/api/job").json()["choices"]["cover"] == "face"
    ok = client.put("/api/job/choices", json={"cover": "head", "plates": True,
                                              "text": False, "audio": "mute-speech"})
    assert ok.status_code == 200 and ok.json()["choices"]["cover"] == "head"


def test_the_page_shows_the_choice_disabled_with_the_reason(tmp_path: Path,
                                                            damaged: Path) -> None:
    """In the page (headless Chromium), in 简体中文: whole people and disguised voices
    cannot be chosen, and each says why; the other choices can."""

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from tests.e2e.test_web_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.serving import serve
    from unseen.app import AppJob
    from unseen.web.server import make_app_server

    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    job = AppJob(root=tmp_path / "state" / "app", base=Settings(verify="off"), workers=1)
    server = make_app_server(job)
    stop = serve(server)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            context.add_init_script("window.localStorage.setItem('unseen-lang', 'zh_Hans')")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url)
            page.wait_for_selector("input[name=cover][value=body]")
            off = {f"{n} {v}": page.is_disabled(f"input[name={n}][value={v}]")
                   for n, v in (("cover", "face"), ("cover", "body"), ("audio", "drop"),
                                ("audio", "mute-speech"), ("audio", "disguise"))}
            assert off == {"cover face": False, "cover body": True, "audio drop": False,
                           "audio mute-speech": False, "audio disguise": True}
            assert not page.is_disabled("input[name=plates]")
            reasons = page.locator(".unavailable").all_inner_texts()
            page.screenshot(path=str(tmp_path / "unavailable.png"), full_page=True)
            browser.close()
        assert len(reasons) == 2 and all("请重新安装 unseen" in r for r in reasons), reasons
        assert not errors, errors
    finally:
        stop()
