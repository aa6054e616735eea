"""Batches: parallel, resumable after a signal, every file done exactly once; a worker
that dies fails its own file only."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from unseen.batch import plan_jobs, run_batch
from unseen.batch.jobdb import DB_NAME
from unseen.errors import UnseenError
from unseen.settings import Settings


@pytest.fixture(autouse=True)
def private_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Job state that a test does not place itself goes under tmp_path, never into the
    real per-user state folder."""
    home = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture
def card(shared_data: Path, tmp_path: Path) -> Path:
    """A card dump: 12 real photos in two folders, a corrupt file, a text file."""
    src = tmp_path / "card"
    (src / "b").mkdir(parents=True)
    photos = sorted((shared_data / "faces" / "wider_val_416").glob("*.jpg"))[:8]
    photos += sorted((shared_data / "faces" / "dlib_voc").glob("*.jpg"))
    for i, p in enumerate(photos):
        shutil.copy(p, src / ("b" if i % 2 else ".") / p.name)
    (src / "b" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xdb" + b"\x00" * 200)
    (src / "readme.txt").write_text("not media")
    return src


def db_rows(state: Path) -> dict[str, str]:
    with sqlite3.connect(state / DB_NAME) as db:
        return dict(db.execute("SELECT dest, state FROM files"))  # dest: a keyed hash


def outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_interrupted_run_resumes_without_redoing(card: Path, tmp_path: Path) -> None:
    out, state = tmp_path / "safe", tmp_path / "state"
    cmd = [sys.executable, "-m", "unseen", str(card), "-o", str(out), "--jobs", "2",
           "--state", str(state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Signal the run once the first files are recorded, well before the end.
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (state / DB_NAME).is_file():
            try:
                if sum(s == "written" for s in db_rows(state).values()) >= 2:
                    break
            except sqlite3.Error:
                pass
        time.sleep(0.2)
    assert proc.poll() is None, "run finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "run the same command again" in err
    first = {p: p.stat().st_mtime_ns for p in outputs(out)}
    assert 2 <= len(first) < 12
    assert not list(out.rglob("*.part")), "no partial output after a signal"
    assert all(s in ("written", "failed") for s in db_rows(state).values())

    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, p.stderr  # the corrupt file
    summary = " ".join(p.stdout.split())
    done_before = sum(1 for s in db_rows(state).values() if s == "written") - (12 - len(first))
    assert f"{12 - len(first)} written" in summary
    assert f"{len(first)} already done" in summary, summary
    assert done_before == len(first)
    # files finished in the first run were not written again
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())
    assert len(outputs(out)) == 12
    assert "corrupt.jpg" in p.stderr and "1 failed" in summary

    status = subprocess.run(
        [sys.executable, "-m", "unseen", "status", str(out), "--state", str(state)],
        capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "written" in status.stdout
    # the reason, without the file's name: the job state keeps none
    assert "1 × not an image, or damaged beyond reading" in status.stdout
    assert "corrupt" not in status.stdout
    # without --state, status looks in the per-user state folder: no job there
    status = subprocess.run([sys.executable, "-m", "unseen", "status", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 1 and "no unseen job" in status.stderr


def test_changed_settings_or_input_redo_only_what_they_affect(card: Path, tmp_path: Path) -> None:
    out, state = tmp_path / "safe", tmp_path / "state"
    # Which jobs are redone is the state's doing: verification is not needed here.
    plain = Settings(verify="off")
    jobs = plan_jobs([card / "b"], out)
    first = run_batch(jobs, plain, out, state, resume=True)
    assert sum(r.status == "written" for r in first.results) == 6
    again = run_batch(jobs, plain, out, state, resume=True)
    assert sum(r.status == "done" for r in again.results) == 6
    # the same input under another path is still the same job
    moved = tmp_path / "moved"
    shutil.copytree(card / "b", moved)
    assert sum(r.status == "done" for r in run_batch(plan_jobs([moved], out), plain, out,
                                                      state, resume=True).results) == 6
    # one input changes: only it is redone
    victim = next(j.source for j in jobs if "corrupt" not in j.source.name)
    shutil.copy(sorted(card.glob("*.jpg"))[0], victim)
    third = run_batch(jobs, plain, out, state, resume=True)
    assert [r.input for r in third.results if r.status == "written"] == [str(victim)]
    # a setting that changes outputs redoes everything
    fourth = run_batch(jobs, replace(plain, mask_scale=1.5), out, state, resume=True)
    assert sum(r.status == "written" for r in fourth.results) == 6
    # an output deleted by hand is written again
    (out / victim.name).unlink()
    fifth = run_batch(jobs, replace(plain, mask_scale=1.5), out, state, resume=True)
    assert [r.input for r in fifth.results if r.status == "written"] == [str(victim)]
    # a state folder belongs to one output folder
    with pytest.raises(UnseenError, match="another output folder"):
        run_batch(jobs, plain, tmp_path / "elsewhere", state)


def test_ray_engine_local_instance(card: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the Ray extra is not installed (pip install 'unseen[ray]')")
    out = tmp_path / "safe"
    jobs = plan_jobs([card / "b"], out)
    run = run_batch(jobs, Settings(), out, tmp_path / "state", workers=2, engine="ray")
    by_status = {s: sum(r.status == s for r in run.results) for s in ("written", "failed")}
    assert by_status == {"written": 6, "failed": 1}
    assert len(outputs(out)) == 6


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(x) for x in (task / "children").read_text().split()]
    return pids


def _holds_open(pid: int, path: Path) -> bool:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if Path(os.readlink(fd)) == path:
                return True
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_worker_that_dies_fails_only_its_own_file(
    card: Path, shared_data: Path, tmp_path: Path
) -> None:
    """Every worker process that opens one clip is killed (as the kernel's OOM killer
    would): that clip fails alone with a readable line, the run goes on, every other
    file is written (including those in flight when the pool broke)."""
    from tests.clips import trimmed_clip

    src = tmp_path / "in"
    src.mkdir()
    for p in [p for p in sorted((card / "b").glob("*.jpg")) if "corrupt" not in p.name][:3]:
        shutil.copy(p, src / p.name)
    video = shared_data / "video" / "short_hamilton_clip.mp4"
    clip = trimmed_clip(video, src / "a_clip.mp4", frames=60).resolve()
    kills: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set():
            for pid in _children():
                if _holds_open(pid, clip):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                        kills.append(pid)
            time.sleep(0.02)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    try:
        out = tmp_path / "safe"
        run = run_batch(plan_jobs([src], out), Settings(verify="off"), out, tmp_path / "state",
                        workers=2)
    finally:
        stop.set()
        watcher.join()
    by_name = {r.name: r for r in run.results}
    assert len(kills) >= 2, "the clip was killed in the pool and again alone"
    assert by_name["a_clip.mp4"].status == "failed"
    assert "worker process" in (by_name["a_clip.mp4"].error or "")
    assert "ArgumentError" not in (by_name["a_clip.mp4"].error or "")
    others = [r for n, r in by_name.items() if n != "a_clip.mp4"]
    assert len(others) == 3 and all(r.status == "written" for r in others), others
    assert len(outputs(out)) == 3


HOLD_LOCK = """
import sys
from pathlib import Path
from unseen.batch import exclusive_lock
lock = exclusive_lock(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("lang", ["en", "zh_Hant"])
def test_a_second_run_on_the_same_job_is_refused_in_one_line(
    tmp_path: Path, lang: str
) -> None:
    """While another process holds the job's lock, a run stops at once with one
    translated line; the lock file is in the state folder, empty, never in the output."""
    from unseen.batch.jobdb import LOCK_NAME

    src, out, state = tmp_path / "in", tmp_path / "safe", tmp_path / "state"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"\xff\xd8\xff\xdb" + b"\x00" * 200)
    state.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(state / LOCK_NAME)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(UnseenError, match="another unseen run is writing"):
            run_batch(plan_jobs([src], out), Settings(verify="off"), out, state)
        env = {**os.environ, "UNSEEN_LANG": lang}
        cli = subprocess.run([sys.executable, "-m", "unseen", str(src), "-o", str(out),
                              "--state", str(state)], capture_output=True, text=True,
                             env=env, timeout=300)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert cli.returncode != 0
    lines = [ln for ln in cli.stderr.splitlines() if ln.strip()]
    expected = {"en": "another unseen run is writing to this output folder",
                "zh_Hant": "另一個 unseen 正在寫入這個輸出資料夾"}[lang]
    assert len(lines) == 1 and expected in lines[0], cli.stderr
    assert "Traceback" not in cli.stderr
    assert (state / LOCK_NAME).read_bytes() == b""
    assert not (out / LOCK_NAME).exists()
    # Once the other run has ended, the lock is free again.
    run = run_batch(plan_jobs([src], out), Settings(verify="off"), out, state)
    assert [r.status for r in run.results] == ["failed"]  # the corrupt photo, alone
