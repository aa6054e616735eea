"""The app (`unseen app`) through FastAPI's TestClient with the real models: add files
by path, choose what to hide, process them through the batch engine, review a photo
(remove a false cover, add a missed one), save into a folder, read the report.
Then: the saved files are safe, the folder holds them and nothing else, and the
job left nothing on disk that names or hashes an original."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.clips import trimmed_clip
from unseen.app import AppError, AppJob, Choices
from unseen.media.image import read_photo
from unseen.settings import Settings
from unseen.web.app import TOKEN_HEADER
from unseen.web.job import create_job_app

TOKEN = "app-test-token"
FACES = "faces/dlib_voc/2007_007763.jpg"  # seven faces (dlib boxes), one false detection
GPS = "metadata/exif-samples/jpg/Kodak_CX7530.jpg"  # GPS, camera, thumbnail
CLIP = "video/short_hamilton_clip.mp4"
ADDED = [440.0, 200.0, 490.0, 260.0]  # a bright wall: no face, nothing detected
WAIT_S = 900


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(box: list[float], gt: list[float], margin: float = 0.5) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x, y, w, h = gt
    return (x - w * margin <= cx <= x + w * (1 + margin)
            and y - h * margin <= cy <= y + h * (1 + margin))


def false_positive(doc: dict[str, Any], gt: list[list[float]]) -> str:
    """A detected region with no face in it that no other region overlaps (the largest)."""
    covers = {r["id"]: r["cover"] for r in doc["regions"] if r["source"] == "detected"}
    alone = [rid for rid, c in covers.items()
             if not any(_inside(c, g) for g in gt)
             and not any(_overlap(c, o) for oid, o in covers.items() if oid != rid)]
    assert alone, "the detector has no isolated false positive on this photo any more"
    assert not any(_overlap(ADDED, c) for c in covers.values())
    return max(alone, key=lambda r: (covers[r][2] - covers[r][0]) * (covers[r][3] - covers[r][1]))


@pytest.fixture(scope="module")
def engines(engine: Any) -> Any:
    """One loaded engine per settings, shared by the tests of this module."""
    from unseen.pipeline import Anonymizer

    loaded: dict[Settings, Any] = {engine.settings: engine}

    def get(settings: Settings) -> Any:
        if settings not in loaded:
            loaded[settings] = Anonymizer(settings)
        return loaded[settings]

    return get


def _wait(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get("/api/job").json()
        if not data["running"]:
            return data
        time.sleep(0.5)
    raise AssertionError("processing did not finish")


def test_app_flow_add_choose_process_review_save_report(
    tmp_path: Path, shared_data: Path, engines: Any, engine: Any,
    face_boxes: dict[str, list[list[float]]],
) -> None:
    from unseen.verify import check_files

    inputs = tmp_path / "card"
    (inputs / "sub").mkdir(parents=True)
    shutil.copyfile(shared_data / FACES, inputs / "group.jpg")
    shutil.copyfile(shared_data / GPS, inputs / "sub" / "IMG_20221127_201455.jpg")
    trimmed_clip(shared_data / CLIP, inputs / "clip.mp4", 12)
    originals = {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    root = tmp_path / "state" / "app"
    job = AppJob(root=root, base=Settings(verify="fast"), workers=1)
    client = TestClient(create_job_app(job, TOKEN, engines), base_url="http://127.0.0.1:8124",
                        headers={TOKEN_HEADER: TOKEN})
    try:
        assert client.get("/api/job", headers={TOKEN_HEADER: "wrong"}).status_code == 401
        page = client.get(f"/?token={TOKEN}")
        assert page.status_code == 200 and 'content="app"' in page.text
        assert "script-src 'nonce-" in page.headers["content-security-policy"]

        # Add by path: a file and a folder; what cannot be added says why, in one line.
        r = client.post("/api/job/add", json={"paths": [
            str(inputs / "group.jpg"), str(inputs / "sub"), str(inputs / "clip.mp4"),
            "relative.jpg", str(tmp_path / "missing.jpg")]})
        assert r.status_code == 200, r.text
        data = r.json()
        assert [f["name"] for f in data["files"]] == [
            "group.jpg", "sub/IMG_20221127_201455.jpg", "clip.mp4"]
        assert len(data["problems"]) == 2
        assert all("\n" not in p for p in data["problems"])
        # Nothing outside the chosen files can be read.
        secret = tmp_path / "private.jpg"
        shutil.copyfile(shared_data / FACES, secret)
        for bad in (str(secret), "../private.jpg", "private.jpg"):
            assert client.get("/api/photo/original", params={"path": bad}).status_code == 404

        # Choose what to hide: faces, plates, voices muted.
        r = client.put("/api/job/choices", json={"cover": "face", "plates": True,
                                                  "text": False, "audio": "mute-speech"})
        assert r.status_code == 200, r.text
        assert r.json()["choices"]["plates"] is True
        assert client.put("/api/job/choices", json={"cover": "everything"}).status_code == 400

        # Process through the batch engine, with progress for each file and the set.
        start = time.monotonic()
        assert client.post("/api/job/process").json()["running"] is True
        data = _wait(client)
        seconds = time.monotonic() - start
        assert data["error"] is None, data["error"]
        states = {f["name"]: (f["state"], f["verdict"]) for f in data["files"]}
        assert all(s == ("written", "safe") for s in states.values()), states
        assert data["progress"] == 1.0
        assert all(f["progress"] == 1.0 for f in data["files"])
        print(f"processed 3 files in {seconds:.1f} s")
        # Names that tell when are neutral in the output.
        renamed = next(f for f in data["files"] if f["name"].startswith("sub/"))
        assert "20221127" not in renamed["output"], renamed

        # Review: remove a false cover, add a missed one, export.
        doc = client.get("/api/photo", params={"path": "group.jpg"}).json()
        gt = face_boxes[FACES.removeprefix("faces/")]
        fp = false_positive(doc, gt)
        removed = next(r["cover"] for r in doc["regions"] if r["id"] == fp)
        r = client.put("/api/photo", params={"path": "group.jpg"},
                       json={"removed": [fp], "added": [{"box": ADDED, "shape": "box"}]})
        assert r.status_code == 200, r.text
        exp = client.post("/api/photo/export", params={"path": "group.jpg"}).json()
        assert exp["status"] == "written" and exp["verdict"]["verdict"] == "safe", exp
        assert exp["output"] == "group.jpg"

        # Saving refuses a folder that holds anything, or a chosen file.
        full = tmp_path / "full"
        full.mkdir()
        (full / "mine.txt").write_text("x")
        assert client.post("/api/job/save", json={"folder": str(full)}).status_code == 400
        assert client.post("/api/job/save", json={"folder": str(inputs)}).status_code == 400
        assert client.post("/api/job/save", json={"folder": "safe"}).status_code == 400

        out = tmp_path / "to publish"
        r = client.post("/api/job/save", json={"folder": str(out)})
        assert r.status_code == 200, r.text
        saved = r.json()["saved"]
        assert saved["not_saved"] == [] and len(saved["files"]) == 3, saved
        # The folder holds the safe files and nothing else.
        found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert found == sorted(saved["files"]), found
        assert not [p for p in out.rglob(".*")]

        # The report, readable in the page: names, verdicts, no path.
        report = client.get("/api/job/report")
        assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
        assert "group.jpg" in report.text and "clip.mp4" in report.text
        assert "safe" in report.text and str(tmp_path) not in report.text
    finally:
        client.close()
        job.close()

    # Every saved file is safe, judged again from the files alone.
    by_name = {"group.jpg": inputs / "group.jpg", "clip.mp4": inputs / "clip.mp4"}
    for rel in saved["files"]:
        original = by_name.get(rel, inputs / "sub" / "IMG_20221127_201455.jpg")
        verdict = check_files(engine.adversary, out / rel, original)
        assert verdict.safe, (rel, verdict.reasons)
    # The review's edits are in the saved photo: the added box filled, the false
    # cover left as it was.
    original = read_photo(inputs / "group.jpg").pixels.astype(float)
    written = read_photo(out / "group.jpg").pixels.astype(float)
    x1, y1, x2, y2 = (int(v) for v in ADDED)
    assert written[y1 + 6 : y2 - 6, x1 + 6 : x2 - 6].mean() < 12
    assert original[y1 + 6 : y2 - 6, x1 + 6 : x2 - 6].mean() > 100
    x1, y1 = int(removed[0]), int(removed[1])
    x2, y2 = int(np.ceil(removed[2])), int(np.ceil(removed[3]))
    assert np.abs(written[y1:y2, x1:x2] - original[y1:y2, x1:x2]).mean() < 6

    # The originals are untouched; the job's own folder is empty again, and nothing
    # under it (job state, staging) holds an original's path or hash.
    assert {p: p.read_bytes() for p in originals} == originals
    leftovers = [p for p in (root / "job").rglob("*") if p.is_file()]
    needles = [os.fsencode(str(inputs)), b"IMG_20221127_201455"]
    needles += [hashlib.sha256(b).hexdigest().encode() for b in originals.values()]
    for p in root.rglob("*"):
        if p.is_file():
            blob = p.read_bytes()
            assert not any(n in blob for n in needles), p
    assert all(p.name in ("jobs.sqlite", "secret", "lock", "owner") for p in leftovers), leftovers


def test_dropped_files_are_private_and_deleted_with_the_job(
    tmp_path: Path, shared_data: Path, engines: Any
) -> None:
    root = tmp_path / "app"
    job = AppJob(root=root, base=Settings(verify="off"), workers=1)
    client = TestClient(create_job_app(job, TOKEN, engines), base_url="http://127.0.0.1:8124",
                        headers={TOKEN_HEADER: TOKEN})
    try:
        body = (shared_data / FACES).read_bytes()
        assert len(body) > 0
        r = client.put("/api/job/upload", params={"name": "../../dropped.jpg"}, content=body)
        assert r.status_code == 200, r.text
        assert [f["name"] for f in r.json()["files"]] == ["dropped.jpg"]
        copies = list((root / "job" / "uploads").rglob("dropped.jpg"))
        assert len(copies) == 1 and copies[0].read_bytes() == body
        assert (copies[0].parent.stat().st_mode & 0o077) == 0  # private to the user
        # Not media, or no token: refused.
        assert client.put("/api/job/upload", params={"name": "notes.txt"},
                          content=b"hello").status_code == 400
        assert client.put("/api/job/upload", params={"name": "a.jpg"}, content=body,
                          headers={TOKEN_HEADER: ""}).status_code == 401
        # Other routes keep the 1 MB cap.
        big = b"{" + b" " * (2 << 20) + b"}"
        assert client.post("/api/job/add", content=big).status_code == 413
        # The file can be reviewed like any other.
        assert client.get("/api/photo", params={"path": "dropped.jpg"}).status_code == 200
        assert client.post("/api/job/discard").status_code == 200
        assert not list((root / "job").rglob("dropped.jpg"))
        assert client.get("/api/job").json()["files"] == []
    finally:
        client.close()
        job.close()
    # A second app on the same job folder is refused while one is open.
    first = AppJob(root=root)
    try:
        with pytest.raises(AppError):
            AppJob(root=root)
    finally:
        first.close()


def test_choices_in_plain_words_map_to_settings() -> None:
    c = Choices.from_dict({"cover": "body", "plates": True, "text": True, "audio": "disguise"})
    s = c.settings(Settings())
    assert (s.cover, s.plates, s.text, s.audio) == ("body", True, True, "disguise")
    assert Choices().settings(Settings()) == Settings()
    for bad in ({"cover": "all"}, {"audio": "loud"}, {"plates": "yes"}):
        with pytest.raises(AppError):
            Choices.from_dict(bad)


def test_unseen_alone_opens_the_app_and_prints_its_address(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    proc = subprocess.Popen([sys.executable, "-m", "unseen"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line and "token=" in line, line
        url = line.split("open ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=30) as r:
            page = r.read().decode()
        assert 'content="app"' in page
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert proc.returncode == 0, err  # SIGTERM ends the app like Ctrl-C
    # The state folder holds the app's job folder, never inside anything else.
    assert (tmp_path / "unseen" / "app" / "job").is_dir()


def test_odd_folders_in_the_app_and_saving_beside_the_inputs(
    tmp_path: Path, shared_data: Path, engines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28 in the app: a folder with names that are not UTF-8, a FIFO and a link to
    a device is added (one line for each entry not added; later adds still work, the
    page's JSON never breaks); a save into a folder files were added from, or below it,
    is refused; Forget removes the job and every job state the command line left."""
    from unseen.batch import plan_jobs, run_batch

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    card = tmp_path / "card"
    card.mkdir()
    data = (shared_data / FACES).read_bytes()
    (card / "good.jpg").write_bytes(data)
    for raw in (os.fsencode(card) + b"/caf\xe9.jpg",
                os.fsencode(card) + b"/" + "抗议现场.jpg".encode("gbk")):
        with open(raw, "wb") as f:
            f.write(data)
    os.mkfifo(card / "pipe.jpg")
    (card / "rand.mp4").symlink_to("/dev/urandom")
    job = AppJob(root=tmp_path / "xdg" / "unseen" / "app", base=Settings(verify="off"),
                 workers=1)
    client = TestClient(create_job_app(job, TOKEN, engines), base_url="http://127.0.0.1:8124",
                        headers={TOKEN_HEADER: TOKEN})
    try:
        r = client.post("/api/job/add", json={"paths": [str(card)]})
        assert r.status_code == 200, r.text
        data_ = r.json()
        assert sorted(f["name"] for f in data_["files"]) == [
            "card/\\xbf\\xb9\\xd2\\xe9\\xcf\\xd6\\xb3\\xa1.jpg", "card/caf\\xe9.jpg",
            "card/good.jpg"]
        assert sorted(data_["problems"]) == [
            "card/pipe.jpg: not added: a named pipe (FIFO), not a file: not read",
            "card/rand.mp4: not added: a device, not a file: not read"]
        extra = tmp_path / "phone" / "more.jpg"
        extra.parent.mkdir()
        shutil.copyfile(shared_data / GPS, extra)
        r = client.post("/api/job/add", json={"paths": [str(extra)]})
        assert r.status_code == 200 and len(r.json()["files"]) == 4, r.text
        # A photo can be reviewed under its escaped name.
        assert client.get("/api/photo", params={"path": "card/caf\\xe9.jpg"}).status_code == 200
        assert client.post("/api/job/process").status_code == 200
        done = _wait(client)
        assert done["counts"] == {"written": 4}, done
        # Saving next to the originals is refused, by the folder they came from.
        for bad in (card / "safe", card, tmp_path / "more-safe" / ".." / "card" / "x"):
            r = client.post("/api/job/save", json={"folder": str(bad)})
            assert r.status_code == 400, (bad, r.text)
        r = client.post("/api/job/save", json={"folder": str(card / "safe")})
        assert "is inside" in r.json()["error"] and str(card) in r.json()["error"]
        assert not (card / "safe").exists()
        assert client.post("/api/job/save", json={"folder": str(tmp_path / "out")}
                           ).status_code == 200
        saved = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
        assert len(saved) == 4 and "more.jpg" in saved and "good.jpg" in saved, saved
        # A job state the command line left (a run that failed a file) and the app's own:
        # Forget removes them.
        bad = tmp_path / "broken"
        bad.mkdir()
        (bad / "b.jpg").write_bytes(b"\xff\xd8\xff\xdb" + b"\x00" * 200)
        run = run_batch(plan_jobs([bad], tmp_path / "cli-out"), Settings(verify="off"),
                        tmp_path / "cli-out")
        assert run.state_kept is not None and run.state_kept.is_dir()
        r = client.post("/api/job/forget")
        assert r.status_code == 200 and r.json()["forgotten"] == 2, r.text
        assert not run.state_kept.exists()
    finally:
        client.close()
        job.close()


@pytest.mark.slow
def test_two_workers_move_each_videos_bar_and_warnings_reach_the_page(
    tmp_path: Path, shared_data: Path
) -> None:
    """With two worker processes a video's progress still reaches the page while it is
    processed (not only when it is done); a kept sound track's warning is in the file's
    row."""
    from tests.clips import make_clip

    card = tmp_path / "card"
    card.mkdir()
    trimmed_clip(shared_data / CLIP, card / "a.mp4", 60)
    trimmed_clip(shared_data / CLIP, card / "b.mp4", 45)
    make_clip(card / "speech.mp4", list(range(0, 1000, 33)), audio=True)
    job = AppJob(root=tmp_path / "app", base=Settings(verify="off"), workers=2)
    try:
        assert job.add_paths([str(card)]) == []
        job.set_choices(Choices(audio="keep"))
        seen: list[float] = []

        def changed() -> None:
            seen.extend(f.progress for f in job.files if f.state == "working")

        job.process(changed)
        snap = job.snapshot()
    finally:
        job.close()
    assert snap["counts"] == {"written": 3}, snap
    assert any(0 < p < 1 for p in seen), seen
    speech = next(f for f in snap["files"] if f["name"] == "card/speech.mp4")
    assert any("voices can identify people" in w for w in speech["warnings"]), speech


_SAVE_SCRIPT = r'''
import json, sys
from pathlib import Path
from unseen.app import AppError, AppJob
from unseen.i18n import set_language, translate
from unseen.settings import Settings

tmp, lang = Path(sys.argv[1]), sys.argv[2]
job = AppJob(root=tmp / "app", base=Settings(verify="off"), workers=1)
said = {}
try:
    assert job.add_paths([str(tmp / "card")]) == []
    job.process()
    for name in ("ro", "full/safe", "ro/new/deeper"):
        try:
            job.save(tmp / "mnt" / name)
            said[name] = "saved"
        except AppError as exc:
            set_language(lang)
            said[name] = translate(str(exc))
    said["left"] = sorted(p.name for p in (tmp / "mnt").rglob("*"))
    said["ok"] = job.save(tmp / "out")["files"]
finally:
    job.close()
print(json.dumps(said))
'''


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare (user and mount namespaces)")
@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_save_into_a_read_only_or_full_folder_is_one_line_and_keeps_the_job(
    tmp_path: Path, shared_data: Path, lang: str
) -> None:
    """Issue 28, case 7, in the app: saving into a read-only file system (a real one:
    root ignores chmod) or a disk without room for the safe files is refused in one line
    before any file is copied, in the page's language; nothing is left there, the job is
    kept, and a save elsewhere then works."""
    card, mnt = tmp_path / "card", tmp_path / "mnt"
    card.mkdir()
    mnt.mkdir()
    shutil.copyfile(shared_data / FACES, card / "group.jpg")
    shutil.copyfile(shared_data / GPS, card / "gps.jpg")
    noise = np.random.default_rng(0).integers(0, 255, (1200, 1200, 3), np.uint8)
    Image.fromarray(noise).save(card / "noise.png")  # about 4 MB: more than the room left
    script = tmp_path / "save.py"
    script.write_text(_SAVE_SCRIPT)
    setup = (f"mkdir -p '{mnt}/ro' '{mnt}/full'\n"
             f"mount -t tmpfs -o ro,size=4m tmpfs '{mnt}/ro'\n"
             f"mount -t tmpfs -o size=24m tmpfs '{mnt}/full'\n"
             f"head -c 6500000 /dev/zero > '{mnt}/full/filler'\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "XDG_STATE_HOME": str(tmp_path / "xdg")}
    p = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-ec",
                        f"{setup}exec '{sys.executable}' '{script}' '{tmp_path}' {lang}"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    said = json.loads(p.stdout.splitlines()[-1])
    if lang == "en":
        assert said["ro"] == (f"{mnt}/ro: cannot write into the output folder: "
                              "Read-only file system"), said
        assert said["ro/new/deeper"].startswith(f"{mnt}/ro/new/deeper: cannot write"), said
        assert re.fullmatch(rf"{mnt}/full/safe: not enough free space to save: 1\d MB free, about "
                            r"\d\d MB needed", said["full/safe"]), said
    else:
        assert said["ro"] == f"{mnt}/ro：无法写入输出文件夹：只读文件系统", said
        assert said["full/safe"].startswith(f"{mnt}/full/safe：空间不足，无法保存"), said
        words = said["full/safe"].replace(f"{mnt}/full/safe", "")
        assert not re.search(r"[A-Za-z]{4,}", words), said
    assert said["left"] == ["filler", "full", "ro"], said  # nothing copied, no folder made
    assert sorted(said["ok"]) == ["card/gps.jpg", "card/group.jpg", "card/noise.png"], said
