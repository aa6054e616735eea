"""The app (`unseen app`) end to end in headless Chromium (Debian's package, driven by
Playwright's Python API), as a person uses it, in English and in Simplified Chinese:
add files by path and by choosing them in the page, choose what to hide, process,
review a photo (remove a false cover, add a missed one), save into a folder, read
the report. Screenshots of each step go to the test's temporary folder. The checks
read the page's state (data attributes), not its words, so both languages run them."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clips import trimmed_clip

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

from tests.e2e.test_web_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, _drag, _idle, _loaded  # noqa: E402
from tests.test_app import ADDED, FACES, GPS, false_positive  # noqa: E402
from unseen.app import AppJob  # noqa: E402
from unseen.media.image import read_photo  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.web.server import make_app_server  # noqa: E402

CLIP = "video/short_hamilton_clip.mp4"
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans"}


@pytest.fixture
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
def engines(engine: Any) -> Any:
    from unseen.pipeline import Anonymizer

    loaded: dict[Settings, Any] = {engine.settings: engine}

    def get(settings: Settings) -> Any:
        if settings not in loaded:
            loaded[settings] = Anonymizer(settings)
        return loaded[settings]

    return get


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_app_whole_flow_in_the_browser(
    browser: Any, engines: Any, engine: Any, shared_data: Path, tmp_path: Path,
    face_boxes: dict[str, list[list[float]]], lang: str,
) -> None:
    from unseen.verify import check_files

    inputs = tmp_path / "card"
    (inputs / "sub").mkdir(parents=True)
    shutil.copyfile(shared_data / FACES, inputs / "group.jpg")
    shutil.copyfile(shared_data / GPS, inputs / "sub" / "gps.jpg")
    dropped = trimmed_clip(shared_data / CLIP, tmp_path / "clip.mp4", 12)
    job = AppJob(root=tmp_path / "state" / "app", base=Settings(verify="fast"), workers=1)
    server = make_app_server(job, engines=engines)
    thread = threading.Thread(target=server.run, daemon=True, name="unseen-test-app")
    thread.start()
    for _ in range(200):
        if server.server.started:
            break
        time.sleep(0.05)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The language switch keeps its choice here (unseen/web/static/i18n.js).
    context.add_init_script(f"window.localStorage.setItem('unseen-lang', '{lang}')")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    page.set_default_timeout(WAIT_MS)
    shot = 0

    def screenshot(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(tmp_path / f"{shot:02d}-{name}.png"), full_page=True)

    try:
        page.goto(server.url)
        page.wait_for_selector("#paths")
        assert "token" not in page.url
        assert page.get_attribute("html", "lang") == HTML_LANG[lang]
        heading = page.inner_text("#job h2")
        assert (heading == "1. Add photos and videos") == (lang == "en"), heading
        # Add: a file and a folder by path, a video chosen in the page (uploaded).
        page.fill("#paths", str(inputs / "group.jpg"))
        page.click("#add")
        page.wait_for_selector('.filerow[data-name="group.jpg"]')
        page.fill("#paths", str(inputs / "sub"))
        page.press("#paths", "Enter")
        page.wait_for_selector('.filerow[data-name="sub/gps.jpg"]')
        page.set_input_files("#upload", str(dropped))
        page.wait_for_selector('.filerow[data-name="clip.mp4"]')
        page.fill("#paths", str(tmp_path / "nothing-here.jpg"))
        page.click("#add")
        page.wait_for_selector("#problems div")
        assert "nothing-here.jpg" in page.inner_text("#problems")
        _idle(page)
        screenshot("added")

        # Choose what to hide, in plain words.
        page.check('input[name="plates"]')
        _idle(page)
        page.check('input[name="audio"][value="mute-speech"]')
        _idle(page)
        assert job.choices.plates and job.choices.audio == "mute-speech"
        screenshot("choices")

        # Process: a bar per file and one for the set.
        page.click("#process")
        page.wait_for_function(
            "() => document.querySelectorAll('.filerow[data-state=\"written\"]').length === 3")
        _idle(page)
        assert page.locator(".filerow progress.fprogress").count() == 3
        assert float(page.get_attribute("#overall", "value") or 0) == 1.0
        label = page.locator("#overall-label")
        assert (label.get_attribute("data-done"), label.get_attribute("data-total")) == ("3", "3")
        screenshot("processed")

        # Review the photo: remove a false cover, add a missed one, export.
        page.locator('.filerow[data-name="group.jpg"] button.review').click()
        page.wait_for_selector(".region.detected")
        _loaded(page, "original")
        _idle(page)
        doc = server_api(page, "/api/photo?path=group.jpg")
        gt = face_boxes[FACES.removeprefix("faces/")]
        fp = false_positive(doc, gt)
        page.locator('button[data-tool="select"]').click()
        page.locator(f'#overlay [data-id="{fp}"]').click()
        page.wait_for_selector(f'#overlay .region.removed[data-id="{fp}"]')
        _idle(page)
        page.locator('button[data-tool="box"]').click()
        _drag(page, "#overlay", ADDED, (doc["width"], doc["height"]))
        page.wait_for_selector("#overlay .region.added")
        _idle(page)
        _loaded(page, "result")
        screenshot("review-edited")
        page.click("#export")
        verdict = page.wait_for_selector("#verdict[data-state]")
        _idle(page)
        assert verdict.get_attribute("data-state") == "safe", verdict.inner_text()
        screenshot("review-exported")
        page.click("#back")
        page.wait_for_selector('.filerow[data-name="group.jpg"][data-state="written"]')

        # Save into a folder of the person's choice; the report is shown.
        out = tmp_path / "to publish"
        page.fill("#outdir", str(out))
        page.click("#save")
        page.wait_for_selector("#savedinfo")
        page.wait_for_selector("#report section")
        _idle(page)
        assert page.get_attribute("#savedinfo", "data-saved") == "3"
        assert str(out) in page.inner_text("#savedinfo")
        report = page.inner_text("#report")
        assert "group.jpg" in report and "clip.mp4" in report and str(tmp_path) not in report
        assert page.locator("#downloadreport").count() == 1
        screenshot("saved-report")
    finally:
        context.close()
        server.server.should_exit = True
        thread.join(10)
        job.close()
    assert not errors, errors

    saved = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert saved == ["clip.mp4", "group.jpg", "sub/gps.jpg"], saved
    originals = {"clip.mp4": dropped, "group.jpg": inputs / "group.jpg",
                 "sub/gps.jpg": inputs / "sub" / "gps.jpg"}
    for rel, original in originals.items():
        verdict_ = check_files(engine.adversary, out / rel, original)
        assert verdict_.safe, (rel, verdict_.reasons)
    written = read_photo(out / "group.jpg").pixels.astype(float)
    x1, y1, x2, y2 = (int(v) for v in ADDED)
    assert written[y1 + 6 : y2 - 6, x1 + 6 : x2 - 6].mean() < 12
    # The uploaded copy went with the job.
    assert not list((tmp_path / "state").rglob("clip.mp4"))
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "01-added.png", "02-choices.png", "03-processed.png", "04-review-edited.png",
        "05-review-exported.png", "06-saved-report.png"]


def server_api(page: Any, path: str) -> Any:
    """A GET with the page's own token (read from the page, as its script does)."""
    return page.evaluate(
        "async (p) => (await fetch(p, { headers: { 'X-Unseen-Token': TOKEN } })).json()", path)
