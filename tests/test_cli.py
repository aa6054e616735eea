"""The command line as a user meets it: exit codes, one-line errors, summary."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unseen", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def mixed_folder(shared_data: Path, tmp_path: Path) -> Path:
    src = tmp_path / "card"
    (src / "day2").mkdir(parents=True)
    shutil.copy(shared_data / "faces" / "dlib_voc" / "2008_001009.jpg", src / "group.jpg")
    shutil.copy(
        shared_data / "metadata" / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg",
        src / "day2" / "street.jpg",
    )
    (src / "day2" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    shutil.copy(shared_data / "metadata" / "exiftool" / "GIF.gif", src / "anim.gif")
    (src / "notes.txt").write_text("interview notes")
    return src


def test_folder_run_continues_past_bad_files(mixed_folder: Path, tmp_path: Path) -> None:
    before = digest(mixed_folder)
    out = tmp_path / "safe"
    report = tmp_path / "report.json"
    p = run(mixed_folder, "-o", out, "--report", report)
    assert p.returncode == 2, p.stderr
    # one line per bad file, naming it, no traceback
    assert "Traceback" not in p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("unseen:")]
    assert any("broken.jpg" in e for e in errors) and any(
        "anim.gif" in e and "not supported" in e for e in errors
    )
    assert "2 written, 2 failed, 1 skipped" in " ".join(p.stdout.split())
    # outputs keep names and relative paths; originals untouched
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".unseen-jobs")]
    assert sorted(str(p.relative_to(out)) for p in written) == [
        "day2/street.jpg",
        "group.jpg",
    ]
    assert digest(mixed_folder) == before
    doc = json.loads(report.read_text())
    assert doc["summary"]["written"] == 2 and doc["summary"]["failed"] == 2
    assert {f["status"] for f in doc["files"]} == {"written", "failed", "skipped"}
    group = next(f for f in doc["files"] if f["input"].endswith("group.jpg"))
    assert group["faces"] >= 5
    assert sum(r["kind"] == "face" for r in group["regions"]) == group["faces"]
    assert "base64" not in report.read_text() and len(report.read_text()) < 200_000


def test_single_file_to_file_and_refuse_overwrite(mixed_folder: Path, tmp_path: Path) -> None:
    src = mixed_folder / "group.jpg"
    p = run(src, "-o", tmp_path / "x" / "safe.jpg", "-q")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "x" / "safe.jpg").is_file() and p.stdout == ""
    before = src.read_bytes()
    p = run(src, "-o", src)
    assert p.returncode != 0 and "overwrite" in p.stderr and "Traceback" not in p.stderr
    p = run(mixed_folder, "-o", mixed_folder)
    assert p.returncode != 0 and "overwrite" in p.stderr
    assert src.read_bytes() == before


def test_output_folder_inside_input_is_not_reprocessed(mixed_folder: Path) -> None:
    (mixed_folder / "day2" / "broken.jpg").unlink()
    (mixed_folder / "anim.gif").unlink()
    out = mixed_folder / "safe"
    assert run(mixed_folder, "-o", out, "-q").returncode == 0
    p = run(mixed_folder, "-o", out)
    assert p.returncode == 0
    assert not (out / "safe").exists()


def test_usage_errors_exit_1() -> None:
    p = run("--redact", "smudge", "x.jpg", "-o", "y")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    p = run("does-not-exist.jpg", "-o", "y")
    assert p.returncode == 1 and "does-not-exist.jpg" in p.stderr
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("unseen ")
