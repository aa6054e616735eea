"""File and folder names that tell when, with what or with which app: found, listed by
`unseen inspect`, and given neutral names that are stable and never collide."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath

import pytest

from unseen.batch import plan_jobs
from unseen.cli import main
from unseen.metadata import check_output
from unseen.metadata.names import NamePlan, identifying_name, name_clues

TELLING = {
    "IMG_20221127_201455.jpg": {"a date", "a time"},
    "PXL_20221127_201455123.mp4": {"a date", "a time", "the prefix of a Google Pixel phone"},
    "VID_20221127_201455.mp4": {"a date", "a time"},
    "IMG-20221127-WA0001.jpg": {"a date", "the app (WhatsApp)"},
    "Screenshot_2022-11-27-20-14-55.png": {
        "a date", "a time", "the naming of a screenshot or screen recording tool"},
    "signal-2022-11-27-201455.jpg": {"a date", "a time", "the app (Signal)"},
    "WhatsApp Image 2022-11-27 at 20.14.55.jpeg": {"a date", "a time", "the app (WhatsApp)"},
    "Screen Shot 2022-11-27 at 20.14.55.png": {
        "a date", "a time", "the naming of a screenshot or screen recording tool"},
    "20221127_201455.jpg": {"a date", "a time"},
    "Photo on 27-11-2022 at 20.14.jpg": {"a date"},
    "27 Nov 2022.png": {"a date"},
    "mmexport1669580095123.jpg": {"a Unix time", "the app (WeChat)"},
    "FB_IMG_1669580095123.jpg": {"a Unix time", "the app (Facebook)"},
    "GOPR0123.MP4": {"a file counter of a GoPro"},
    "GH010123.MP4": {"a file counter of a GoPro"},
    "DJI_0001.JPG": {"a file counter of a DJI drone"},
    "DSC_1234.JPG": {"a camera's file counter"},
    "DSCN0010.jpg": {"a camera's file counter"},
    "IMG_1234.HEIC": {"a camera's file counter"},
    "IMG_E1234.HEIC": {"a camera's file counter"},
    "P1010001.JPG": {"a camera's file counter"},
    "2022-11-27": {"a date"},
    "2022.11.27": {"a date"},
    "100APPLE": {"a camera's folder name"},
    "100_PANA": {"a camera's folder name"},
    "3F2504E0-4F89-11D3-9A0C-0305E82C3301.jpg": {"an ID the phone or app gave the file"},
}
NEUTRAL = [
    "protest.jpg", "march_2.mp4", "march.mp4", "photo1.jpg", "holiday-2.png", "group.jpg",
    "street.jpg", "team-2019.png", "2008_001009.jpg", "0_Parade_marchingband_1_20.jpg",
    "crowd_0001.jpg", "IMG.jpg", "v1.2.3.png", "day2", "DCIM", "Camera", "may-day.jpg",
    "photo-bcdfghjkmn.jpg", "folder-zzzzzzzzzz",
]


@pytest.mark.parametrize("name", sorted(TELLING))
def test_names_that_tell(name: str) -> None:
    assert {c.what for c in name_clues(name)} == TELLING[name]
    why = identifying_name(name)
    assert why is not None and why.startswith("holds ")


@pytest.mark.parametrize("name", NEUTRAL)
def test_names_that_do_not(name: str) -> None:
    assert name_clues(name) == [] and identifying_name(name) is None


def test_clues_give_the_part_and_its_category() -> None:
    clues = {(c.category, c.text) for c in name_clues("WhatsApp Image 2022-11-27 at 20.14.55.jpeg")}
    assert clues == {("time", "2022-11-27"), ("time", "20.14.55"), ("software", "WhatsApp")}
    assert {c.category for c in name_clues("GOPR0123.MP4")} == {"device"}


def test_neutral_names_stable_keyed_and_neutral() -> None:
    rel = PurePosixPath("2022-11-27/IMG_20221127_201455.jpg")
    a, why = NamePlan(b"k" * 32).neutral(rel)
    assert a == NamePlan(b"k" * 32).neutral(rel)[0], "the same job: the same names"
    assert a != NamePlan(b"j" * 32).neutral(rel)[0], "another job's secret: other names"
    assert a.parts[0].startswith("folder-") and a.name.startswith("photo-") and a.suffix == ".jpg"
    assert all(identifying_name(part) is None for part in a.parts)
    assert why == ["a folder name holds a date", "the name holds a date and a time"]
    assert NamePlan(b"k" * 32).neutral(PurePosixPath("day2/street.jpg")) == (
        PurePosixPath("day2/street.jpg"), [])
    # video suffixes are kept, lower-cased
    assert NamePlan(b"k" * 32).neutral(PurePosixPath("GOPR0123.MP4"))[0].name.startswith("video-")


def test_plan_never_collides(shared_data: Path, tmp_path: Path) -> None:
    """A file already named like another file's neutral name: the neutral one grows."""
    plan = NamePlan(b"s" * 32)
    src = tmp_path / "in"
    src.mkdir()
    photo = shared_data / "faces" / "dlib_voc" / "2008_001009.jpg"
    shutil.copy(photo, src / "IMG_20221127_201455.jpg")
    taken = plan.neutral(PurePosixPath("IMG_20221127_201455.jpg"))[0].name
    shutil.copy(photo, src / taken)
    jobs = plan_jobs([src], tmp_path / "out", plan)
    dests = sorted(j.dest.name for j in jobs)
    assert len(set(dests)) == 2 and taken in dests
    renamed = next(j for j in jobs if j.name == "IMG_20221127_201455.jpg")
    assert renamed.dest.name != taken and len(renamed.dest.stem) > len(Path(taken).stem)
    assert renamed.renamed == "the name holds a date and a time"
    # without a plan (the review UI, --keep-names) names are kept
    assert sorted(j.dest.name for j in plan_jobs([src], tmp_path / "out")) == sorted(
        ["IMG_20221127_201455.jpg", taken])


def test_inspect_lists_the_name_but_the_output_check_does_not(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "IMG_20221127_201455.jpg"
    shutil.copy(shared_data / "metadata" / "exif-samples" / "jpg" / "gps" / "DSCN0010.jpg", src)
    assert main(["inspect", "--json", str(src)]) == 0
    doc = json.loads(capsys.readouterr().out)
    named = [f for f in doc[0]["findings"] if f["where"] == "file name"]
    assert {(f["category"], f["name"], f["value"]) for f in named} == {
        ("time", "a date", "20221127"), ("time", "a time", "201455")}
    assert main(["inspect", str(src)]) == 0
    assert "a date: 20221127  (file name)" in capsys.readouterr().out
    # an output that only keeps its name (--keep-names) passes the fail-closed check
    out = tmp_path / "out" / "IMG_20221127_201455.jpg"
    assert main(["clean", str(src), "-o", str(out)]) == 0
    assert "note: the file name holds a date and a time" in capsys.readouterr().out
    check_output(out)
    assert out.is_file()
