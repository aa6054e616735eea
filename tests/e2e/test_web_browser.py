"""The review UI end to end in headless Chromium (Debian's package, driven by
Playwright's Python API): real clicks and drags in the page against the real
server on loopback, then the exported files checked pixel by pixel.

Screenshots go to pytest's temporary folders only, never into the repository.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from tests.clips import trimmed_clip
from tests.serving import serve
from tests.test_app import ADDED, FACES, _overlap, false_positive

pytest.importorskip("fastapi", reason="the review UI needs the web extra")
pytest.importorskip("uvicorn", reason="the review UI needs the web extra")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

from unseen.media.image import read_photo  # noqa: E402
from unseen.media.video import read_frames  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.web.app import TOKEN_HEADER  # noqa: E402
from unseen.web.server import make_server  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHOTO = FACES  # seven faces (dlib boxes), one false detection
CLIP = "video/short_hamilton_clip.mp4"
CLIP_FRAMES = 16  # a singer and a pianist, before the first cut
WAIT_MS = 180_000


@dataclass
class Running:
    base: str
    token: str
    folder: Path
    out: Path

    def api(self, path: str) -> Any:
        req = urllib.request.Request(self.base + path, headers={TOKEN_HEADER: self.token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, engine: Any
) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("browser")
    folder, out = base / "in", base / "out"
    folder.mkdir()
    shutil.copyfile(shared_data / PHOTO, folder / "group.jpg")
    trimmed_clip(shared_data / CLIP, folder / "clip.mp4", CLIP_FRAMES, key_every=6)
    # Unsafe outputs are kept (as *.UNSAFE.*) so that the test can look at them.
    review = make_server(
        folder, out, Settings(verify="fast", allow_unsafe=True), engine_factory=lambda: engine
    )
    stop = serve(review)
    parts = urlsplit(review.url)
    token = parse_qs(parts.query)["token"][0]
    try:
        yield Running(f"{parts.scheme}://{parts.netloc}", token, folder, out)
    finally:
        stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: Running) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: d.accept())
    pg.set_default_timeout(WAIT_MS)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, errors


# helpers ---------------------------------------------------------------------------


def _idle(page: Any) -> None:
    """No request of the page is under way."""
    page.wait_for_selector("#busy", state="hidden")


def _loaded(page: Any, img_id: str) -> None:
    page.wait_for_function(
        "id => { const i = document.getElementById(id); "
        "return i && i.complete && i.naturalWidth > 0; }",
        arg=img_id,
    )


def _drag(page: Any, overlay: str, box: list[float], size: tuple[int, int]) -> None:
    """Drag a rectangle on an overlay, ``box`` in image pixels of a ``size`` image."""
    bb = page.locator(overlay).bounding_box()
    sx, sy = bb["width"] / size[0], bb["height"] / size[1]
    x1, y1 = bb["x"] + box[0] * sx, bb["y"] + box[1] * sy
    x2, y2 = bb["x"] + box[2] * sx, bb["y"] + box[3] * sy
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=4)
    page.mouse.move(x2, y2, steps=4)
    page.mouse.up()


def _crop(img: np.ndarray, box: list[float], shrink: float = 0.25) -> np.ndarray:
    """The middle of ``box`` (``shrink`` of each side left out)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return img[int(y1 + h * shrink) : int(np.ceil(y2 - h * shrink)),
               int(x1 + w * shrink) : int(np.ceil(x2 - w * shrink))]


# the photo ---------------------------------------------------------------------------


def test_photo_remove_add_export_in_the_browser(
    page: Any,
    server: Running,
    engine: Any,
    face_boxes: dict[str, list[list[float]]],
    tmp_path: Path,
) -> None:
    from unseen.verify import check_files

    gt = face_boxes[PHOTO.removeprefix("faces/")]
    page.goto(f"{server.base}/?token={server.token}")
    page.locator('.card[data-path="group.jpg"]').click()
    page.wait_for_selector(".region.detected")
    _loaded(page, "original")
    _idle(page)
    assert "token" not in page.url  # kept out of the address bar and history

    # A false positive to remove: no face there, and no other region covers it.
    doc = server.api("/api/photo?path=group.jpg")
    width, height = doc["width"], doc["height"]
    covers = {r["id"]: r["cover"] for r in doc["regions"] if r["source"] == "detected"}
    fp = false_positive(doc, gt)
    removed = covers[fp]
    added = list(ADDED)  # a bright wall: no face, nothing detected

    page.locator('button[data-tool="select"]').click()
    page.locator(f'#overlay [data-id="{fp}"]').click()
    page.wait_for_selector(f'#overlay .region.removed[data-id="{fp}"]')
    _idle(page)
    page.locator('button[data-tool="box"]').click()
    _drag(page, "#overlay", added, (width, height))
    page.wait_for_selector("#overlay .region.added")
    _idle(page)
    _loaded(page, "result")
    page.screenshot(path=str(tmp_path / "photo-edited.png"))

    # What the server kept is what was clicked and drawn.
    doc = server.api("/api/photo?path=group.jpg")
    assert [r["id"] for r in doc["regions"] if r["removed"]] == [fp]
    drawn = [r["box"] for r in doc["regions"] if r["source"] == "added"]
    assert len(drawn) == 1
    assert np.allclose(drawn[0], added, atol=2.0), drawn

    page.locator("#export").click()
    verdict = page.wait_for_selector("#verdict[data-state]")
    _idle(page)
    page.screenshot(path=str(tmp_path / "photo-exported.png"))
    shown = verdict.get_attribute("data-state")
    text = verdict.inner_text()
    assert shown in ("safe", "unsafe"), text
    assert f"Verification: {shown.upper()}" in text
    name = text.split("→", 1)[1].split()[0]
    assert name in ("group.jpg", "group.UNSAFE.jpg"), text
    output = server.out / name

    original = read_photo(server.folder / "group.jpg").pixels.astype(float)
    written = read_photo(output).pixels.astype(float)
    # The added region is filled: near-uniform and dark, where the photo was bright.
    inner = _crop(written, drawn[0], 0.1)
    assert inner.std() < 6 and inner.mean() < 12, (inner.mean(), inner.std())
    assert _crop(original, drawn[0], 0.1).mean() > 60
    # The removed region is the original's (JPEG noise only), and it is not flat.
    x1, y1 = int(removed[0]), int(removed[1])
    x2, y2 = int(np.ceil(removed[2])), int(np.ceil(removed[3]))
    before, after = original[y1:y2, x1:x2], written[y1:y2, x1:x2]
    assert before.std() > 10
    assert np.abs(after - before).mean() < 6, np.abs(after - before).mean()
    # The faces are covered.
    for g in gt:
        assert _crop(written, [g[0], g[1], g[0] + g[2], g[1] + g[3]]).mean() < 12

    # The verdict the page shows is what `unseen check ORIGINAL OUTPUT` says.
    again = check_files(engine.adversary, output, server.folder / "group.jpg")
    assert ("safe" if again.safe else "unsafe") == shown


# the video ---------------------------------------------------------------------------


def _go_to(page: Any, frame: int) -> None:
    """Scrub with the keyboard on the slider, as a person would."""
    slider = page.locator("#scrub")
    slider.focus()
    current = int(page.locator("#framelabel").get_attribute("data-frame") or 0)
    if frame < current:
        page.keyboard.press("Home")
        current = 0
    for _ in range(frame - current):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector(f'#framelabel[data-frame="{frame}"]')
    _idle(page)
    _loaded(page, "frame")


def test_video_delete_track_add_region_export_in_the_browser(
    page: Any, server: Running, tmp_path: Path
) -> None:
    page.goto(f"{server.base}/?token={server.token}")
    page.locator('.card[data-path="clip.mp4"]').click()
    page.wait_for_selector("#timeline .trackrow")  # pass 1 has run
    _loaded(page, "frame")
    _idle(page)
    state = server.api("/api/video?path=clip.mp4")
    assert state["status"] == "ready" and state["frames"] == CLIP_FRAMES
    size = (state["width"], state["height"])

    # The biggest of the faces detected most often: the singer.
    def regions(i: int) -> list[dict[str, Any]]:
        return list(server.api(f"/api/video/regions?path=clip.mp4&index={i}"))

    most = max(t["detections"] for t in state["tracks"])
    steady = [t for t in state["tracks"] if t["detections"] == most]

    def area(t: dict[str, Any]) -> float:
        b = next(r["box"] for r in regions(t["first"]) if r["track"] == t["id"])
        return float((b[2] - b[0]) * (b[3] - b[1]))

    gone = max(steady, key=area)
    assert area(gone) > 30 * 30, gone
    before = {i: [r for r in regions(i) if r["track"] == gone["id"]] for i in range(CLIP_FRAMES)}

    page.locator(f'#timeline button[data-track="{gone["id"]}"]').click()
    page.wait_for_selector(f'#timeline button[data-track="{gone["id"]}"]:text("Restore")')
    _idle(page)

    # A region on the lit curtain (no face), keyframes on frames 2 and 8.
    first, last = [320.0, 10.0, 380.0, 70.0], [340.0, 10.0, 400.0, 70.0]
    page.locator('button[data-tool="box"]').click()
    _go_to(page, 2)
    _drag(page, "#voverlay", first, size)
    page.wait_for_selector("#voverlay .region.added")
    _idle(page)
    _go_to(page, 8)
    _drag(page, "#voverlay", last, size)
    _idle(page)
    for _ in range(100):
        added = server.api("/api/video?path=clip.mp4")["added"]
        if added and len(added[0]["keyframes"]) == 2:
            break
        time.sleep(0.1)
    assert len(added) == 1 and [k[0] for k in added[0]["keyframes"]] == [2, 8], added
    kfs = added[0]["keyframes"]
    assert np.allclose(kfs[0][1:], first, atol=2) and np.allclose(kfs[1][1:], last, atol=2), kfs
    _go_to(page, 5)  # between the keyframes: carried along
    assert page.locator("#voverlay .region.added").count() == 1
    page.screenshot(path=str(tmp_path / "video-edited.png"))

    # Cover everything as boxes: an added box is then covered exactly as drawn.
    page.locator('select[data-name="cover"]').select_option("box")
    _idle(page)
    assert server.api("/api/video?path=clip.mp4")["shape"] == "box"

    page.locator("#vexportbtn").click()
    verdict = page.wait_for_selector("#vexport #verdict[data-state]")
    _idle(page)
    page.screenshot(path=str(tmp_path / "video-exported.png"))
    exp = server.api("/api/video?path=clip.mp4")["export"]
    assert exp["status"] in ("written", "unsafe"), exp
    assert verdict.get_attribute("data-state") == ("safe" if exp["status"] == "written"
                                                   else "unsafe")

    # The singer's face is in plain view now: the adversary flags it, the page
    # marks those frames and steps through them.
    assert exp["status"] == "unsafe" and exp["flagged"], exp
    flagged = exp["flagged"]
    assert page.locator("#timeline .trackrow.flags .seg.flag").count() == len(flagged)
    found = [f for f in exp["verdict"]["findings"] if f.get("frame") in flagged and "box" in f]
    assert any(_overlap(f["box"], r["box"]) for f in found for r in before[f["frame"]]), found
    _go_to(page, 0)
    for expected in [f for f in flagged if f > 0]:
        page.locator("#nextflag").click()
        page.wait_for_selector(f'#framelabel[data-frame="{expected}"]')
    if len(flagged) > 1:
        page.locator("#prevflag").click()
        page.wait_for_selector(f'#framelabel[data-frame="{flagged[-2]}"]')
    _idle(page)

    output = server.out / exp["output"]
    assert output.name == "clip.UNSAFE.mp4"
    written = [vf.rgb().astype(float) for vf in read_frames(output)]
    original = [vf.rgb().astype(float) for vf in read_frames(server.folder / "clip.mp4")]
    assert len(written) == CLIP_FRAMES
    for i in range(2, 9):  # filled: flat and black where the curtain was lit
        a = (i - 2) / 6
        box = [f * (1 - a) + g * a for f, g in zip(first, last, strict=True)]
        cover, was = _crop(written[i], box, 0.1), _crop(original[i], box, 0.1)
        assert cover.mean() < 8 and cover.std() < 4, (i, cover.mean(), cover.std())
        assert was.mean() - cover.mean() > 12, (i, was.mean())
        # A box, as drawn: just right of it the curtain is untouched.
        x2, y1, y2 = round(box[2]), round(box[1]), round(box[3])
        beside = np.s_[y1 + 10 : y2 - 10, x2 + 3 : x2 + 12]
        assert np.abs(written[i][beside] - original[i][beside]).mean() < 8, i
    # Outside the keyframes nothing was added there.
    assert np.abs(_crop(written[12], first) - _crop(original[12], first)).mean() < 8
    # The deleted face is left as it was wherever nothing else covers it.
    h, w = original[0].shape[:2]
    checked = 0
    for i, mine in before.items():
        others = np.zeros((h, w), bool)
        for r in regions(i):  # after the edits: other tracks and the added region
            x1, y1, x2, y2 = r["cover"]
            others[max(0, int(y1)) : int(np.ceil(y2)) + 1,
                   max(0, int(x1)) : int(np.ceil(x2)) + 1] = True
        for r in mine:
            x1, y1, x2, y2 = (round(v) for v in r["box"])
            face = np.zeros((h, w), bool)
            face[max(0, y1) : y2, max(0, x1) : x2] = True
            free = face & ~others
            if free.sum() < 200:
                continue
            diff = np.abs(written[i][free] - original[i][free]).mean()
            assert diff < 10, (i, diff)
            checked += 1
    assert checked >= CLIP_FRAMES // 2, checked
