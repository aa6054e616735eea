"""The one delivery step (unseen/deliver.py): every path that writes a safe file
(CLI and library, batch, the review UI) gets the same metadata check, cover and
wording. Real models on real files; clips are made from real data or drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import unseen.deliver as deliver
from tests.clips import make_clip
from unseen.media.image import read_photo
from unseen.pipeline import Anonymizer
from unseen.pipeline.sound import sound_warnings
from unseen.review import VideoReview, export_video
from unseen.settings import Settings


def test_video_metadata_is_checked_with_verification_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--verify off used to skip the metadata check of videos; now the real
    inspector reads every delivered video, and what it finds withholds it."""
    src = make_clip(tmp_path / "tagged.mp4", list(range(0, 400, 33)))
    checked: list[Path] = []
    real = deliver.check_output

    def spy(path: Path) -> None:
        checked.append(path)
        real(path)

    monkeypatch.setattr(deliver, "check_output", spy)
    engine = Anonymizer(Settings(verify="off"))
    r = engine.file(src, tmp_path / "out" / "tagged.mp4")
    assert r.status == "written", r.error
    # Checked once, where it was judged: its staging file beside the output,
    # which then became the output.
    assert len(checked) == 1 and checked[0].parent == tmp_path / "out", checked
    assert not checked[0].exists() and (tmp_path / "out" / "tagged.mp4").is_file()

    from unseen.errors import UnseenError

    def leaky(path: Path) -> None:
        real(path)
        raise UnseenError("metadata: a GPS position was left in the output")

    monkeypatch.setattr(deliver, "check_output", leaky)
    r = engine.file(src, tmp_path / "out2" / "tagged.mp4")
    assert r.status == "failed" and "GPS" in (r.error or "")
    assert list((tmp_path / "out2").iterdir()) == []  # neither the output nor its staging


def test_sound_warning_is_the_same_everywhere(tmp_path: Path) -> None:
    """The CLI/library path and the review export tell the person the same thing
    about a dropped sound track."""
    src = make_clip(tmp_path / "talk.mp4", list(range(0, 400, 33)), audio=True)
    engine = Anonymizer(Settings(verify="off"))
    r = engine.file(src, tmp_path / "cli" / "talk.mp4")
    assert r.status == "written", r.error
    expected = sound_warnings(True, False)
    assert all(w in r.warnings for w in expected)

    from unseen.media.video import probe_video

    info = probe_video(src)
    review = VideoReview.from_timeline(engine.videos.find_faces(src, info), info.width,
                                       info.height, info.fps, engine.settings)
    exported = export_video(engine, src, tmp_path / "review" / "talk.mp4", review)
    assert exported.status == "written", exported.error
    assert [w for w in exported.warnings if "sound" in w] == expected


def test_review_export_gets_the_wider_cover_a_cli_run_gets(
        shared_data: Path, tmp_path: Path) -> None:
    """Photos exported from the review UI used to get faces only, even with
    --cover head; now the review shows and exports what a CLI run covers."""
    pytest.importorskip("fastapi")
    from unseen.review import export_photo
    from unseen.web.context import ReviewContext

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(shared_data / "faces" / "dlib_voc" / "2008_001009.jpg", folder / "group.jpg")
    settings = Settings(cover="head", verify="off")
    ctx = ReviewContext(folder, tmp_path / "out", settings, state=tmp_path / "state")
    review = ctx.photo_review("group.jpg")
    kinds = {r.kind for r in review.regions}
    assert {"face", "head"} <= kinds, kinds

    cli = Anonymizer(settings).file(folder / "group.jpg", tmp_path / "cli.jpg")
    assert cli.status == "written"
    job = ctx.job("group.jpg")
    r = export_photo(ctx.engine, job.source, job.dest, review)
    assert r.status == "written", r.error
    assert r.covered.get("head", 0) == cli.covered.get("head", 0) > 0
    # The same pixels as the CLI run: same regions, same style.
    a = read_photo(Path(r.output or "")).pixels.astype(np.int16)
    b = read_photo(tmp_path / "cli.jpg").pixels.astype(np.int16)
    assert float(np.abs(a - b).mean()) < 1.0
    # Nothing but the safe file in the output folder.
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == [Path(r.output or "").name]
