"""Folders as they really are (issue 28), from the command line: each case is a real
folder made here (a FIFO, links that loop or lead to devices, names that are not UTF-8,
a read-only or full output folder), run through ``python -m unseen`` as a person would,
with the line it prints and its exit code checked."""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.clips import make_clip, trimmed_clip

PHOTO = "faces/dlib_voc/2008_001009.jpg"  # two faces
OTHER = "faces/dlib_voc/2008_002470.jpg"
CLIP = "video/short_hamilton_clip.mp4"


@pytest.fixture(autouse=True)
def private_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user state folder of every run here lies under tmp_path."""
    home = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.setenv("UNSEEN_LANG", "en")
    return home


def run(*args: str | Path, lang: str = "en", timeout: int = 600,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UNSEEN_LANG": lang, "COLUMNS": "400"}  # a table row on one line
    return subprocess.run([sys.executable, "-m", "unseen", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          **kwargs)  # type: ignore[call-overload]


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("unseen")]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def unshare_works() -> bool:
    """A user and mount namespace of our own: a tmpfs that is really full or read-only
    (root is not stopped by chmod)."""
    if not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                       capture_output=True)
    return p.returncode == 0


in_namespace = pytest.mark.skipif(not unshare_works(),
                                  reason="needs unshare (user and mount namespaces)")


def namespace_run(setup: str, *args: str | Path, lang: str = "en"
                  ) -> subprocess.CompletedProcess[str]:
    """``setup`` (shell: mount a tmpfs ...) then ``unseen ARGS``, in a namespace of its own."""
    cmd = " ".join([sys.executable, "-m", "unseen", *(f"'{a}'" for a in map(str, args))])
    env = {**os.environ, "UNSEEN_LANG": lang}
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-ec",
                           f"{setup}\n{cmd}"], capture_output=True, text=True, timeout=600,
                          env=env)


# 1. the output folder is never an input -------------------------------------------------


def test_the_output_folder_is_never_an_input_folder(shared_data: Path, tmp_path: Path) -> None:
    """``unseen DCIM -o DCIM`` with phone-named files (whose outputs get neutral names, so no
    name collides): refused by identity, in one line, exit 1, nothing written; also
    through a link to it, a path that leads back to it, or an input inside the output."""
    dcim = tmp_path / "DCIM"
    (dcim / "sub").mkdir(parents=True)
    shutil.copy(shared_data / PHOTO, dcim / "IMG_20221127_201455.jpg")
    make_clip(dcim / "VID_20221127_201500.mp4", list(range(0, 300, 33)))
    before = digest(dcim)
    (tmp_path / "link").symlink_to(dcim)
    for out in (dcim, tmp_path / "link", dcim / "sub" / ".."):
        p = run(dcim, "-o", out, "-j", "1")
        assert p.returncode == 1, p.stderr
        assert lines(p.stderr) == [
            f"unseen: {out}: the output folder is an input folder; choose a new or empty "
            "folder, which will hold the safe files only"], p.stderr
    p = run(dcim / "IMG_20221127_201455.jpg", "-o", tmp_path, "-j", "1")
    assert p.returncode == 1 and "this input is inside the output folder" in p.stderr
    p = run(dcim, "-o", dcim, lang="zh_Hans")
    assert p.returncode == 1 and "输出文件夹就是输入文件夹" in p.stderr
    assert digest(dcim) == before and files(dcim) == sorted(before)


def test_a_later_run_from_another_folder_never_overwrites(shared_data: Path,
                                                          tmp_path: Path) -> None:
    """A second input folder into an output folder that holds files this job did not
    write: refused unless --add-to-output, and then nothing is overwritten (the file
    whose name is taken fails with one line, exit 2; the others are added)."""
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "safe"
    a.mkdir()
    b.mkdir()
    shutil.copy(shared_data / PHOTO, a / "a.jpg")
    shutil.copy(shared_data / OTHER, b / "a.jpg")
    shutil.copy(shared_data / OTHER, b / "c.jpg")
    assert run(a, "-o", out, "-j", "1", "--verify", "off").returncode == 0
    first = digest(out)
    p = run(b, "-o", out, "-j", "1", "--verify", "off")
    assert p.returncode == 1, p.stderr
    assert lines(p.stderr) == [
        f"unseen: {out}: the output folder already holds 1 file(s) this job did not write (for "
        "example a.jpg); choose a new or empty folder, or give --add-to-output to write beside "
        "them (nothing is ever overwritten)"]
    assert digest(out) == first
    p = run(b, "-o", out, "-j", "1", "--verify", "off", "--add-to-output")
    assert p.returncode == 2, p.stderr
    assert f"unseen: {b / 'a.jpg'}: not written: a.jpg is already in the output folder" in p.stderr
    assert digest(out)["a.jpg"] == first["a.jpg"] and files(out) == ["a.jpg", "c.jpg"]


# 2. names that are not UTF-8 ---------------------------------------------------------------


def test_names_that_are_not_utf8_are_kept_and_shown_escaped(shared_data: Path,
                                                             tmp_path: Path) -> None:
    """A GBK name from a Windows ZIP and a Latin-1 ``caf\\xe9.jpg`` beside a good file:
    all three are written (the two get neutral names), every line and the report name
    them escaped, exit 0; nothing stops at the first odd name."""
    src, out, report = tmp_path / "zip", tmp_path / "safe", tmp_path / "report.json"
    src.mkdir()
    data = (shared_data / PHOTO).read_bytes()
    gbk = os.fsencode(src) + b"/" + "抗议现场.jpg".encode("gbk")
    for raw in (gbk, os.fsencode(src) + b"/caf\xe9.jpg"):
        with open(raw, "wb") as f:
            f.write(data)
    (src / "good.jpg").write_bytes(data)
    p = run(src, "-o", out, "-j", "1", "--verify", "off", "--report", report)
    assert p.returncode == 0, p.stderr
    assert "3 written, 0 failed" in " ".join(p.stdout.split())
    assert "Traceback" not in p.stderr and "unexpected" not in p.stderr
    assert "caf\\xe9.jpg" in p.stdout and "\\xbf\\xb9\\xd2\\xe9" in p.stdout
    outputs = files(out)
    assert len(outputs) == 3 and "good.jpg" in outputs
    assert sum(o.startswith("photo-") for o in outputs) == 2
    doc = json.loads(report.read_bytes().decode("utf-8"))  # strict UTF-8: no lone surrogate
    names = {f["input"]: f for f in doc["files"]}
    gbk_shown = "\\xbf\\xb9\\xd2\\xe9\\xcf\\xd6\\xb3\\xa1.jpg"  # 抗议现场.jpg in GBK
    assert set(names) == {"caf\\xe9.jpg", "good.jpg", gbk_shown}
    assert names["caf\\xe9.jpg"]["renamed"] == (
        "the name is not UTF-8 text, so what it tells cannot be checked")


# 3. no trace on a seized laptop ------------------------------------------------------------


def _needles(folder: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for p in [folder, *sorted(folder.rglob("*"))]:
        found[f"path {p}"] = os.fsencode(p)
        if p.is_file():
            found[f"name {p.name}"] = os.fsencode(p.name)
            found[f"stem {p.stem}"] = os.fsencode(p.stem)
            digest_ = hashlib.sha256(p.read_bytes())
            found[f"sha256 {p.name}"] = digest_.hexdigest().encode()
            found[f"raw sha256 {p.name}"] = digest_.digest()
    found["a person's name"] = "张三".encode()
    return found


def _state_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "unseen").rglob("*") if p.is_file()) \
        if (home / "unseen").exists() else []


def test_no_trace_names_an_original_and_forget_removes_every_state(
    shared_data: Path, tmp_path: Path, private_state_home: Path
) -> None:
    """A completed run leaves nothing under the state folder but an empty lock; a run
    with a failure keeps its state (to retry) and it names nothing: no name, no path,
    no hash of an original; refused runs leave nothing; `unseen forget` removes it all;
    `inspect` flags a person's name and a date in a file name."""
    card = tmp_path / "home" / "amira" / "card"
    card.mkdir(parents=True)
    shutil.copy(shared_data / PHOTO, card / "IMG_20221127_201455.jpg")
    shutil.copy(shared_data / OTHER, card / "抗议 照片 张三.jpg")
    needles = _needles(card)
    p = run(card, "-o", tmp_path / "safe", "-j", "1", "--verify", "off")
    assert p.returncode == 0, p.stderr
    assert sorted(files(tmp_path / "safe")) == sorted(
        o for o in files(tmp_path / "safe") if o.startswith("photo-"))
    left = _state_files(private_state_home)
    assert [q.name for q in left] == ["lock"] and left[0].read_bytes() == b"", left
    # A refused run (the output folder is the input) makes nothing at all.
    shutil.rmtree(private_state_home)
    assert run(card, "-o", card).returncode == 1
    assert _state_files(private_state_home) == []
    # A failure keeps the state for a retry; it names nothing of the originals.
    (card / "broken.jpg").write_bytes(b"\xff\xd8\xff\xdb" + b"\x00" * 200)
    needles = _needles(card)
    p = run(card, "-o", tmp_path / "safe2", "-j", "1", "--verify", "off")
    assert p.returncode == 2 and "job state is kept until every file is written" in p.stderr
    kept = _state_files(private_state_home)
    assert {q.name for q in kept} == {"lock", "secret", "owner", "jobs.sqlite"}, kept
    leaks = [f"{q}: {what}" for q in kept for what, n in needles.items()
             if n in q.read_bytes()]
    assert leaks == []
    assert not any("amira" in str(q) or "card" in str(q) for q in kept)
    p = run("forget")
    assert p.returncode == 0 and "unseen: removed 1 job state" in p.stdout, p.stdout
    assert _state_files(private_state_home) == []
    # inspect: the name's date and time, and what may be a person's name
    p = run("inspect", card / "抗议 照片 张三.jpg", card / "IMG_20221127_201455.jpg")
    assert p.returncode == 0, p.stderr
    assert "what may be a person's name: 张三  (file name)" in p.stdout
    assert "a date: 20221127  (file name)" in p.stdout


# 4. one bad entry never stops the others --------------------------------------------------


def test_hostile_entries_are_skipped_each_with_a_line(shared_data: Path, tmp_path: Path) -> None:
    """A FIFO named like a photo, links to /dev/urandom and /dev/zero named like media
    (never read: hashing them would not end), link loops, a link that leads nowhere, a
    socket, links to folders out of the tree and back up it: each is one line naming it,
    the good photo is written, exit 0, quickly."""
    card = tmp_path / "card"
    (card / "sub").mkdir(parents=True)
    shutil.copy(shared_data / PHOTO, card / "sub" / "good.jpg")
    os.mkfifo(card / "pipe.jpg")
    (card / "rand.mp4").symlink_to("/dev/urandom")
    (card / "zero.jpg").symlink_to("/dev/zero")
    (card / "loop.jpg").symlink_to("loop.jpg")
    (card / "a1.jpg").symlink_to("a2.jpg")
    (card / "a2.jpg").symlink_to("a1.jpg")
    (card / "broken.jpg").symlink_to("missing.jpg")
    (card / "elsewhere").symlink_to(tmp_path)
    (card / "sub" / "up").symlink_to("..")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(card / "sock.jpg"))
    try:
        start = time.monotonic()
        p = run(card, "-o", tmp_path / "safe", "-j", "1", "--verify", "off", timeout=300)
        took = time.monotonic() - start
    finally:
        sock.close()
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "unexpected" not in p.stderr
    said = {ln.split(": ")[1]: ln.split(": skipped: ")[1] for ln in lines(p.stderr)
            if ": skipped: " in ln}
    assert said == {
        f"{card}/a1.jpg": "a loop of links (it leads back to itself)",
        f"{card}/a2.jpg": "a loop of links (it leads back to itself)",
        f"{card}/broken.jpg": "a link that leads nowhere",
        f"{card}/elsewhere": "a link to a folder: links to folders are not followed",
        f"{card}/loop.jpg": "a loop of links (it leads back to itself)",
        f"{card}/pipe.jpg": "a named pipe (FIFO), not a file: not read",
        f"{card}/rand.mp4": "a device, not a file: not read",
        f"{card}/sock.jpg": "a socket, not a file: not read",
        f"{card}/sub/up": "a link to a folder: links to folders are not followed",
        f"{card}/zero.jpg": "a device, not a file: not read",
    }, p.stderr
    assert files(tmp_path / "safe") == ["sub/good.jpg"]
    assert "1 written, 0 failed, 10 skipped" in " ".join(p.stdout.split())
    assert took < 120, took


def test_a_fifo_or_device_is_never_read_for_the_job_state(tmp_path: Path) -> None:
    """Hashing for the job state opens only regular files: a FIFO named like a photo
    and a link to /dev/urandom are refused at once, whatever the plan said."""
    from unseen.batch.jobdb import JobDatabase
    from unseen.errors import UnseenError

    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "rand.mp4").symlink_to("/dev/urandom")
    db = JobDatabase(tmp_path / "state", tmp_path / "out")
    try:
        for name in ("pipe.jpg", "rand.mp4"):
            start = time.monotonic()
            with pytest.raises(UnseenError, match="not a regular file"):
                db.content_key(tmp_path / name)
            assert time.monotonic() - start < 1
    finally:
        db.close()


@in_namespace
def test_a_folder_mounted_inside_itself_is_walked_once(shared_data: Path, tmp_path: Path) -> None:
    """A bind mount of a folder inside itself (a loop no link shows): walked once, the
    repeat is one line, exit 0."""
    card = tmp_path / "card"
    (card / "sub" / "again").mkdir(parents=True)
    shutil.copy(shared_data / PHOTO, card / "good.jpg")
    p = namespace_run(f"mount --bind '{card}' '{card}/sub/again'", card, "-o",
                      tmp_path / "safe", "-j", "1", "--verify", "off")
    assert p.returncode == 0, p.stderr
    assert f"unseen: {card}/sub/again: skipped: a folder already walked (a loop): not walked " \
           "again" in p.stderr
    assert files(tmp_path / "safe") == ["good.jpg"]


# 5. safety warnings on the terminal ------------------------------------------------------


def two_video_streams(path: Path) -> Path:
    """A clip with a second video stream (another angle, a preview)."""
    with av.open(str(path), "w") as c:
        streams = [c.add_stream("libx264", rate=30) for _ in range(2)]
        for s in streams:
            s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        for i in range(15):
            img = np.full((96, 160, 3), 40 + 4 * i, np.uint8)
            for s in streams:
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 30)
                for pkt in s.encode(frame):
                    c.mux(pkt)
        for s in streams:
            for pkt in s.encode():
                c.mux(pkt)
    return path


def test_every_safety_warning_reaches_the_terminal(tmp_path: Path) -> None:
    """--audio keep says that voices can identify people, a second video stream removed
    is said, a repeated warning is said once with how many more files; translated."""
    src = tmp_path / "clips"
    src.mkdir()
    make_clip(src / "speech.mp4", list(range(0, 500, 33)), audio=True)
    make_clip(src / "speech2.mp4", list(range(0, 500, 33)), audio=True)
    two_video_streams(src / "angles.mp4")
    p = run(src, "-o", tmp_path / "safe", "-j", "1", "--audio", "keep", "--verify", "off")
    assert p.returncode == 0, p.stderr
    warned = [ln for ln in lines(p.stderr) if "warning" in ln]
    keep = ("the sound track was kept untouched: voices can identify people (--audio "
            "mute-speech or disguise keeps the sound without them)")
    assert f"unseen: {src}/speech.mp4: warning: {keep}" in warned, p.stderr
    assert (f"unseen: {src}/angles.mp4: warning: 1 more video stream(s) (another angle, a "
            "preview or a cover picture) removed; only the main video is written") in warned
    assert f"unseen: the same warning for 1 more file: {keep}" in warned
    p = run(src / "speech.mp4", "-o", tmp_path / "safe-zh", "-j", "1", "--audio", "keep",
            "--verify", "off", lang="zh_Hans")
    assert p.returncode == 0, p.stderr
    warned = [ln for ln in lines(p.stderr) if "警告" in ln]
    assert len(warned) == 1 and "音轨原样保留：声音能认出人" in warned[0], warned
    assert not re.search(r"[A-Za-z]{4,}", warned[0].split("警告：", 1)[1].replace(
        "--audio", "").replace("mute-speech", "").replace("disguise", "")), warned


def test_disguise_says_it_is_weaker(tmp_path: Path) -> None:
    make_clip(tmp_path / "speech.mp4", list(range(0, 500, 33)), audio=True)
    p = run(tmp_path / "speech.mp4", "-o", tmp_path / "safe", "-j", "1", "--audio",
            "disguise", "--verify", "off")
    assert p.returncode == 0, p.stderr
    assert "warning: disguise is weaker than mute-speech" in p.stderr


# 6. Chinese from end to end ---------------------------------------------------------------


def test_library_messages_and_the_report_in_chinese(tmp_path: Path, shared_data: Path) -> None:
    """Pillow's and FFmpeg's own words inside an error, the report's verification mode
    and its settings block: Chinese, not English, for a Chinese reader."""
    src = tmp_path / "card"
    src.mkdir()
    whole = (shared_data / PHOTO).read_bytes()
    (src / "trunc.jpg").write_bytes(whole[: len(whole) // 2])
    (src / "nomoov.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000)
    shutil.copy(shared_data / PHOTO, src / "good.jpg")
    report = tmp_path / "report.json"
    p = run(src, "-o", tmp_path / "safe", "-j", "1", "--report", report, lang="zh_Hans")
    assert p.returncode == 2, p.stderr
    errors = {ln.split(": ", 2)[1]: ln.split(": ", 2)[2] for ln in lines(p.stderr)
              if "good.jpg" not in ln and ln.count(": ") >= 2 and "/" in ln.split(": ")[1]}
    assert set(errors) == {f"{src}/trunc.jpg", f"{src}/nomoov.mp4"}, p.stderr
    for name, text in errors.items():
        english = re.findall(r"[A-Za-z]{3,}", text)
        assert english in ([], ["moov"]), (name, text)
    assert "图像文件不完整" in errors[f"{src}/trunc.jpg"]
    html = report.with_suffix(".html").read_text()
    assert "验证：快速" in html
    settings = html.split("<pre>", 1)[1].split("</pre>", 1)[0]
    assert "遮盖方式 = 填充" in settings and "redact" not in settings
    assert not re.search(r"\b(True|False|None|fast|fill|ellipse)\b", settings), settings


def test_the_open_line_of_the_app_in_chinese(tmp_path: Path) -> None:
    env = {**os.environ, "UNSEEN_LANG": "zh_Hans"}
    proc = subprocess.Popen([sys.executable, "-m", "unseen", "app", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert first.startswith("unseen: 打开 http://127.0.0.1:"), first


# 7. the output folder is checked before any file --------------------------------------------


@in_namespace
def test_a_read_only_or_full_output_folder_is_one_line_before_the_work(
    shared_data: Path, tmp_path: Path
) -> None:
    """A read-only file system (a real one: root ignores chmod) and a full disk: one
    line, before any file is read, exit 1; in Chinese too."""
    src, mnt = tmp_path / "card", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shutil.copy(shared_data / PHOTO, src / "a.jpg")
    p = namespace_run(f"mount -t tmpfs -o ro,size=4m tmpfs '{mnt}'", src, "-o", mnt / "out",
                      "-j", "1")
    assert p.returncode == 1, p.stderr
    assert lines(p.stderr) == [f"unseen: {mnt}/out: cannot write into the output folder: "
                               "Read-only file system"], p.stderr
    assert p.stdout == ""  # no summary: nothing was processed
    p = namespace_run(f"mount -t tmpfs -o ro,size=4m tmpfs '{mnt}'", src, "-o", mnt,
                      "-j", "1", lang="zh_Hans")
    assert lines(p.stderr) == [f"unseen: {mnt}：无法写入输出文件夹：只读文件系统"], p.stderr
    p = namespace_run(f"mount -t tmpfs -o size=4m tmpfs '{mnt}'", src, "-o", mnt / "out",
                      "-j", "1")
    assert p.returncode == 1, p.stderr
    assert re.fullmatch(rf"unseen: {mnt}/out: the output folder's disk is full \(4\.\d MB "
                        r"free\)", "\n".join(lines(p.stderr))), p.stderr


@in_namespace
def test_a_file_too_large_for_the_room_left_fails_alone_before_it_is_read(
    shared_data: Path, tmp_path: Path
) -> None:
    src, mnt = tmp_path / "card", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shutil.copy(shared_data / PHOTO, src / "small.jpg")
    noise = np.random.default_rng(0).integers(0, 255, (1200, 1200, 3), np.uint8)
    Image.fromarray(noise).save(src / "big.png")  # about 4 MB
    p = namespace_run(f"mount -t tmpfs -o size=24m tmpfs '{mnt}'\n"
                      f"head -c 7000000 /dev/zero > '{mnt}/filler'", src, "-o", mnt / "out",
                      "-j", "1", "--verify", "off", "--add-to-output")
    assert p.returncode == 2, p.stderr
    assert re.search(rf"unseen: {src}/big.png: not enough free space for its output: 1\d MB "
                     r"free, about 2\d MB needed", p.stderr), p.stderr
    assert "1 written, 1 failed" in " ".join(p.stdout.split())


def test_a_disk_that_will_not_take_the_file_is_one_line(shared_data: Path,
                                                         tmp_path: Path) -> None:
    """The output cannot grow (a file size limit: EFBIG, as a full disk gives ENOSPC)
    while it is written: one line naming the file and the reason, never "unexpected
    error"; for a photo and for a video."""
    src = tmp_path / "card"
    src.mkdir()
    noise = np.random.default_rng(0).integers(0, 255, (900, 900, 3), np.uint8)
    Image.fromarray(noise).save(src / "noise.jpg", quality=98)
    trimmed_clip(shared_data / CLIP, src / "clip.mp4", 30)

    def limited(size: int) -> Any:
        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        return limit

    def too_large(given: Path, out: Path, size: int, name: str) -> None:
        """Run with files limited to ``size`` bytes: ``name`` alone cannot be
        written, in one line, exit 2."""
        p = run(given, "-o", out, "-j", "1", "--verify", "off", preexec_fn=limited(size))
        assert p.returncode == 2, p.stderr
        failed = [ln for ln in lines(p.stderr) if "cannot write" in ln]
        assert failed == [f"unseen: {src}/{name}: cannot write {name}: File too large"], \
            p.stderr
        assert "unexpected" not in p.stderr and "Traceback" not in p.stderr

    # 400 kB: the photo (about 1 MB) cannot be written, the clip (about 57 kB) is.
    too_large(src, tmp_path / "safe", 400_000, "noise.jpg")
    assert files(tmp_path / "safe") == ["clip.mp4"]
    # 40 kB: the clip cannot be written either (the job state, about 25 kB, still can).
    too_large(src / "clip.mp4", tmp_path / "safe-video", 40_000, "clip.mp4")
    assert not (tmp_path / "safe-video").exists() or files(tmp_path / "safe-video") == []


def test_the_first_ctrl_c_is_acknowledged_and_a_finished_run_is_not_stopped_early(
    shared_data: Path, tmp_path: Path
) -> None:
    """Ctrl-C while the last file is being written: the terminal says it stops after
    the file in progress; the file is finished, and the run ends as a finished run
    (exit 0), not "stopped early" with 130."""
    src, out = tmp_path / "card", tmp_path / "safe"
    src.mkdir()
    trimmed_clip(shared_data / CLIP, src / "clip.mp4", 60)
    proc = subprocess.Popen([sys.executable, "-m", "unseen", src, "-o", out, "-j", "1",
                             "--verify", "off"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and any(p.name.startswith(".unseen-") for p in out.iterdir()):
            break  # the clip's output is being written
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert ("unseen: stopping: the files in progress are finished first (their outputs are "
            "complete); press Ctrl-C again to stop at once") in stderr
    assert "stopped early" not in stderr
    assert files(out) == ["clip.mp4"] and "1 written" in stdout


# 9. the documented size limit ---------------------------------------------------------------


def _declared_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` (grey) and holds almost no data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    return path


def test_the_documented_250_megapixel_limit_holds(tmp_path: Path) -> None:
    """225 MP is within the documented limit: not refused for its size (this one then
    fails for its missing data); 300 MP is refused for its size, before decoding."""
    src = tmp_path / "big"
    src.mkdir()
    _declared_png(src / "p225.png", 15000, 15000)
    _declared_png(src / "p300.png", 20000, 15000)
    p = run(src, "-o", tmp_path / "safe", "-j", "1", "--verify", "off")
    assert p.returncode == 2, p.stderr
    said = {ln.split(": ", 2)[1]: ln.split(": ", 2)[2] for ln in lines(p.stderr)
            if ln.count(": ") >= 2 and ".png" in ln}
    assert said[f"{src}/p225.png"].startswith("truncated or damaged image data"), said
    assert said[f"{src}/p300.png"] == "is 20000x15000 pixels (300 MP), above the 250 MP limit"


def test_a_state_folder_that_cannot_grow_is_one_line_in_chinese(shared_data: Path,
                                                                tmp_path: Path) -> None:
    """The job state's own disk will not take its database (a 20 kB file size limit):
    one line naming the database and SQLite's reason, in Chinese from end to end,
    exit 1, no traceback."""
    src = tmp_path / "card"
    src.mkdir()
    shutil.copy(shared_data / PHOTO, src / "a.jpg")

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    p = run(src, "-o", tmp_path / "safe", "-j", "1", "--verify", "off", lang="zh_Hans",
            preexec_fn=limited)
    assert p.returncode == 1, p.stderr
    said = lines(p.stderr)
    assert len(said) == 1 and said[0].endswith("jobs.sqlite：任务数据库无法读取（磁盘读写错误）"), \
        p.stderr
    assert "Traceback" not in p.stderr
