"""Batches: parallel, resumable after a signal, every file done exactly once."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unseen.batch import plan_jobs, run_batch
from unseen.batch.jobdb import DB_NAME
from unseen.settings import Settings


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


def db_rows(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / DB_NAME) as db:
        return dict(db.execute("SELECT source, state FROM files"))


def outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_interrupted_run_resumes_without_redoing(card: Path, tmp_path: Path) -> None:
    out = tmp_path / "safe"
    cmd = [sys.executable, "-m", "unseen", str(card), "-o", str(out), "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Signal the run once the first files are recorded, well before the end.
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (out / DB_NAME).is_file():
            try:
                if sum(s == "written" for s in db_rows(out).values()) >= 2:
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
    assert all(s in ("written", "failed") for s in db_rows(out).values())

    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, p.stderr  # the corrupt file
    summary = " ".join(p.stdout.split())
    done_before = sum(1 for s in db_rows(out).values() if s == "written") - (12 - len(first))
    assert f"{12 - len(first)} written" in summary
    assert f"{len(first)} already done" in summary, summary
    assert done_before == len(first)
    # files finished in the first run were not written again
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())
    assert len(outputs(out)) == 12
    assert "corrupt.jpg" in p.stderr and "1 failed" in summary

    status = subprocess.run([sys.executable, "-m", "unseen", "status", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "written" in status.stdout and "corrupt.jpg" in status.stdout


def test_changed_settings_or_input_redo_only_what_they_affect(card: Path, tmp_path: Path) -> None:
    out = tmp_path / "safe"
    jobs = plan_jobs([card / "b"], out)
    first = run_batch(jobs, Settings(), out)
    assert sum(r.status == "written" for r in first.results) == 6
    again = run_batch(jobs, Settings(), out)
    assert sum(r.status == "done" for r in again.results) == 6
    # one input changes: only it is redone
    victim = next(j.source for j in jobs if "corrupt" not in j.source.name)
    shutil.copy(sorted(card.glob("*.jpg"))[0], victim)
    third = run_batch(jobs, Settings(), out)
    assert [r.input for r in third.results if r.status == "written"] == [str(victim)]
    # a setting that changes outputs redoes everything
    fourth = run_batch(jobs, Settings(mask_scale=1.5), out)
    assert sum(r.status == "written" for r in fourth.results) == 6


def test_ray_engine_local_instance(card: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the Ray extra is not installed (pip install 'unseen[ray]')")
    out = tmp_path / "safe"
    jobs = plan_jobs([card / "b"], out)
    run = run_batch(jobs, Settings(), out, workers=2, engine="ray")
    by_status = {s: sum(r.status == s for r in run.results) for s in ("written", "failed")}
    assert by_status == {"written": 6, "failed": 1}
    assert len(outputs(out)) == 6
