"""The output folder holds the safe files and nothing else; the job state and the report,
kept elsewhere, hold no path or hash of an original (threat model A9). Resuming, the
one-run lock and the cleanup of stale temporaries work from the state folder."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unseen.cli import main


@pytest.fixture(autouse=True)
def private_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user state folder (platformdirs: $XDG_STATE_HOME/unseen) under tmp_path."""
    home = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture
def card(shared_data: Path, tmp_path: Path) -> Path:
    """A phone's pictures under a path that names its owner, with names that tell when."""
    src = tmp_path / "home" / "amira" / "card"
    (src / "2022-11-27").mkdir(parents=True)
    faces = shared_data / "faces" / "dlib_voc"
    shutil.copy(faces / "2008_001009.jpg", src / "2022-11-27" / "IMG_20221127_201455.jpg")
    shutil.copy(shared_data / "metadata" / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg",
                src / "DSCN0010.jpg")
    shutil.copy(faces / "2008_002470.jpg", src / "group.jpg")
    (src / "notes.txt").write_text("interview notes")
    return src


def needles(folder: Path) -> dict[str, bytes]:
    """Byte strings that would link a file back to the originals in ``folder``."""
    found: dict[str, bytes] = {}
    inputs = sorted(p for p in folder.rglob("*") if p.is_file())
    for p in [folder, *inputs]:
        for q in {p.absolute(), p.resolve()}:
            found[f"the path {q}"] = os.fsencode(q)
    for p in inputs:
        digest = hashlib.sha256(p.read_bytes())
        found[f"SHA-256 of {p.name} (hex)"] = digest.hexdigest().encode()
        found[f"SHA-256 of {p.name} (HEX)"] = digest.hexdigest().upper().encode()
        found[f"SHA-256 of {p.name} (raw)"] = digest.digest()
    return found


def leaks(where: list[Path], links: dict[str, bytes]) -> list[str]:
    files = [q for w in where for q in ([w] if w.is_file() else sorted(w.rglob("*")))]
    out = []
    for f in files:
        if not f.is_file():
            continue
        data = f.read_bytes()
        out += [f"{f}: {what}" for what, needle in links.items() if needle in data]
    return out


def test_output_folder_holds_only_the_safe_files(
    card: Path, tmp_path: Path, private_state_home: Path
) -> None:
    links = needles(card)
    out, report = tmp_path / "safe", tmp_path / "report.json"
    p = subprocess.run(
        [sys.executable, "-m", "unseen", str(card), "-o", str(out), "--report", str(report),
         "-j", "1"],
        capture_output=True, text=True, timeout=900,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(report.read_text())
    delivered = sorted(f["output"] for f in doc["files"] if f["status"] == "written")
    # (a) the output folder holds exactly the outputs: no job file, no report, no temporary
    assert len(delivered) == 3
    assert sorted(q.relative_to(out).as_posix() for q in out.rglob("*") if q.is_file()) == (
        delivered)
    # (b) nothing in it, in the job state or in the report matches a path or hash of an input;
    # the job is done, so its state is gone (the shared lock of the state folder stays, empty)
    assert leaks([out], links) == []
    left = sorted(p for p in (private_state_home / "unseen").rglob("*") if p.is_file())
    assert [p.name for p in left] == ["lock"] and left[0].read_bytes() == b""
    assert leaks([report, report.with_suffix(".html")], links) == []
    # names relative to the input root; names that told when or with what are neutral
    by_input = {f["input"]: f for f in doc["files"]}
    assert sorted(by_input) == ["2022-11-27/IMG_20221127_201455.jpg", "DSCN0010.jpg",
                                "group.jpg", "notes.txt"]
    assert by_input["group.jpg"]["output"] == "group.jpg" and "renamed" not in by_input[
        "group.jpg"]
    for name in ("2022-11-27/IMG_20221127_201455.jpg", "DSCN0010.jpg"):
        assert by_input[name]["renamed"].startswith(("the name holds", "a folder name holds"))
    for rel in delivered:
        assert not any(s in rel for s in ("2022", "1127", "201455", "DSCN", "IMG")), rel
    assert by_input["2022-11-27/IMG_20221127_201455.jpg"]["output"].startswith("folder-")
    html = report.with_suffix(".html").read_text()
    assert "2022-11-27/IMG_20221127_201455.jpg" in html and "renamed:" in html


def test_state_folder_resume_lock_and_names(
    card: Path, tmp_path: Path, private_state_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (card / "group.jpg").unlink()
    out, state = tmp_path / "safe", tmp_path / "state"
    base = [str(card), "-o", str(out), "--state", str(state), "-j", "1", "--verify", "off",
            "--resume"]
    assert main(base) == 0
    first = {q: q.stat().st_mtime_ns for q in out.rglob("*") if q.is_file()}
    assert len(first) == 2 and all(q.name.startswith("photo-") for q in first)
    assert not private_state_home.exists(), "--state: nothing in the per-user folder"
    capsys.readouterr()
    # same input, same settings: already done, under the same neutral names; the job
    # database older versions left in the output folder is removed
    (out / ".unseen-jobs.sqlite").write_bytes(b"SQLite format 3\x00 /home/amira/card")
    assert main(base) == 0
    assert "2 already done" in " ".join(capsys.readouterr().out.split())
    assert not (out / ".unseen-jobs.sqlite").exists()
    assert {q: q.stat().st_mtime_ns for q in out.rglob("*") if q.is_file()} == first
    # a report that cannot be written: one line, exit code 2 (the files are still there)
    assert main([*base, "--report", "/proc/unseen-report.json"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the report" in err and "Traceback" not in err
    # a state "folder" that is a file: a usage error
    (tmp_path / "a-file").write_text("x")
    assert main([str(card), "-o", str(out), "--state", str(tmp_path / "a-file")]) == 1
    assert "needs a folder" in capsys.readouterr().err
    # a changed input is redone, the other is not
    shutil.copy(card / "DSCN0010.jpg", card / "2022-11-27" / "IMG_20221127_201455.jpg")
    (out / ".unseen-stale.jpg.part").write_bytes(b"left by a killed run")
    assert main(base) == 0
    summary = " ".join(capsys.readouterr().out.split())
    assert "1 written" in summary and "1 already done" in summary
    assert not (out / ".unseen-stale.jpg.part").exists(), "stale temporaries are removed"
    # status reads the state folder: counts, no names
    assert main(["status", str(out), "--state", str(state)]) == 0
    status = capsys.readouterr().out
    assert "written  2" in status and "DSCN0010" not in status and "keeps no file names" in status
    # one run at a time per output folder: the lock is in the state folder
    with open(state / "lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(base) == 1
        assert "another unseen run" in capsys.readouterr().err
    # --keep-names keeps them (outputs with such names are still delivered)
    assert main([*base, "--keep-names", "--add-to-output"]) == 0
    assert (out / "DSCN0010.jpg").is_file()
    assert (out / "2022-11-27" / "IMG_20221127_201455.jpg").is_file()
    # neither the report nor the state may go into the output folder
    assert main([*base, "--report", str(out / "report.json")]) == 1
    assert "must not go into the output folder" in capsys.readouterr().err
    assert main([str(card), "-o", str(out), "--state", str(out / "state")]) == 1
    assert "output folder" in capsys.readouterr().err
    assert not (out / "report.json").exists() and not (out / "state").exists()


def test_html_report_shows_reasons_and_notes_without_paths(tmp_path: Path) -> None:
    from unseen.report import FileResult
    from unseen.report_html import write_html
    from unseen.verify import Verdict
    from unseen.verify.verdict import Finding

    verdict = Verdict(findings=[
        Finding("detected", "unsafe", "a face at 812,330 (41 px) is still detectable",
                box=(800.0, 320.0, 841.0, 361.0), size=41.0),
        Finding("detected", "note", "a face at 10,20 (9 px) is below 12 px <small>",
                box=(10.0, 20.0, 19.0, 29.0), size=9.0),
    ])
    r = FileResult(input="/home/amira/card/2022-11-27/IMG_20221127_201455.jpg",
                   output="/home/amira/safe/folder-bcd/photo-fgh.jpg", status="unsafe",
                   width=1000, height=800, verdict=verdict,
                   name="2022-11-27/IMG_20221127_201455.jpg",
                   output_name="folder-bcd/photo-fgh.jpg",
                   renamed="the name holds a date and a time")
    bare = FileResult(input="/home/amira/elsewhere/protest.jpg", output="/tmp/x/protest.jpg")
    page = tmp_path / "r.html"
    write_html(page, [r, bare], {"verify": "fast"}, "test")
    text = page.read_text()
    assert "a face at 812,330 (41 px) is still detectable" in text
    assert "note: a face at 10,20 (9 px) is below 12 px &lt;small&gt;" in text
    assert "renamed: the name holds a date and a time" in text
    assert "2022-11-27/IMG_20221127_201455.jpg" in text and "folder-bcd/photo-fgh.jpg" in text
    assert "/home/amira" not in text and "/tmp/x" not in text and "protest.jpg" in text
    assert r.to_dict()["input"] == "2022-11-27/IMG_20221127_201455.jpg"
    assert bare.to_dict()["input"] == "protest.jpg" and bare.to_dict()["output"] == "protest.jpg"
