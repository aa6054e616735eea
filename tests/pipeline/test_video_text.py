"""Plates and text in videos: found on key frames, tracked between them and
covered in every frame (`--plates`, `--text`). The clip pans over a real
European plate photo from ../shared/data/plates."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from unseen.media.video import read_frames
from unseen.pipeline import Anonymizer
from unseen.settings import Settings


def test_a_plate_is_covered_in_every_frame(shared_data: Path, tmp_path: Path) -> None:
    boxes = json.loads((shared_data / "plates" / "boxes.json").read_text())
    name = sorted(k for k in boxes if k.startswith("eu/"))[0]
    im = np.asarray(Image.open(shared_data / "plates" / name).convert("RGB"))
    h, w = (im.shape[0] // 2) * 2, (im.shape[1] // 2) * 2
    im = np.ascontiguousarray(im[:h, :w])
    src = tmp_path / "car.mp4"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        for i in range(30):  # a slow pan: the plate moves 1 px a frame
            for p in v.encode(av.VideoFrame.from_ndarray(np.roll(im, i, axis=1), "rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    out = tmp_path / "out.mp4"
    r = Anonymizer(Settings(plates=True)).file(src, out)
    assert r.status == "written", (r.error, r.verdict and r.verdict.reasons)
    assert r.covered.get("plate", 0) >= 1, r.covered  # the report counts the plate
    x, y, bw, bh = boxes[name][0]["box"]
    for frame in read_frames(out):
        i = frame.index
        inner = frame.rgb()[int(y + bh * 0.2):int(y + bh * 0.8),
                            int(x + i + bw * 0.2):int(x + i + bw * 0.8)]
        assert float(inner.mean()) < 40, f"frame {i}: the plate is not filled"
    # Not asked for: the plate stays.
    plain = tmp_path / "plain.mp4"
    assert Anonymizer(Settings(verify="off")).file(src, plain).status == "written"
    first = next(iter(read_frames(plain))).rgb()
    assert float(first[int(y + bh * 0.2):int(y + bh * 0.8),
                       int(x + bw * 0.2):int(x + bw * 0.8)].mean()) > 60


def test_a_plate_the_first_pass_missed_is_found_and_covered(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adversary looks for plates in the written photo too: a plate the
    redaction missed (here: its text pass switched off) is covered before
    delivery, and the result says so."""
    from unseen.detections import Detections

    boxes = json.loads((shared_data / "plates" / "boxes.json").read_text())
    name = sorted(k for k in boxes if k.startswith("eu/"))[0]
    engine = Anonymizer(Settings(plates=True))
    monkeypatch.setattr("unseen.pipeline.regions.text_regions",
                        lambda pixels, models, settings: Detections.empty())
    r = engine.file(shared_data / "plates" / name, tmp_path / "car.jpg")
    assert r.status == "written", (r.error, r.verdict and r.verdict.reasons)
    assert any("readable plate" in w for w in r.warnings), r.warnings
    assert r.verdict is not None and r.verdict.safe
    x, y, bw, bh = boxes[name][0]["box"]
    out = np.asarray(Image.open(tmp_path / "car.jpg").convert("RGB"))
    assert float(out[int(y + bh * 0.2):int(y + bh * 0.8),
                     int(x + bw * 0.2):int(x + bw * 0.8)].mean()) < 40
