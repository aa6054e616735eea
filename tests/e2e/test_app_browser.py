"""The app (`unseen app`) end to end in headless Chromium (Debian's package, driven by
Playwright's Python API), as a person uses it, in English and in Simplified Chinese:
add files by path and by choosing them in the page, choose what to hide, process,
review a photo (remove a false cover, add a missed one), save into a folder, read
the report. Screenshots of each step go to the test's temporary folder. The checks
read the page's state (data attributes), not its words, so both languages run them."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clips import trimmed_clip
from tests.serving import serve

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
    stop = serve(server)
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
        save_to(page, out)
        assert page.get_attribute("#savedinfo", "data-saved") == "3"
        assert str(out) in page.inner_text("#savedinfo")
        report = page.inner_text("#report")
        assert "group.jpg" in report and "clip.mp4" in report and str(tmp_path) not in report
        assert page.locator("#downloadreport").count() == 1
        screenshot("saved-report")
    finally:
        context.close()
        stop()
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


def save_to(page: Any, out: Path) -> None:
    """Save into ``out`` from the page and wait until its report is shown."""
    page.fill("#outdir", str(out))
    page.click("#save")
    page.wait_for_selector("#savedinfo")
    page.wait_for_selector("#report section")
    _idle(page)


def server_api(page: Any, path: str) -> Any:
    """A GET with the page's own token (read from the page, as its script does)."""
    return page.evaluate(
        "async (p) => (await fetch(p, { headers: { 'X-Unseen-Token': TOKEN } })).json()", path)


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_app_report_errors_progress_and_traces_in_the_browser(
    browser: Any, shared_data: Path, tmp_path: Path, lang: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 28, case 8, as a person meets it: with two workers a video's bar moves
    while it is processed; a kept sound track's warning is in its row; a save into the
    folder the files came from is refused, and its red line goes once a save works; the
    report keeps to the page's policy (no console error, styled as saved); Forget
    everything removes the job and the command line's job states."""
    from tests.clips import make_clip
    from unseen.batch import plan_jobs, run_batch

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    card = tmp_path / "card"
    card.mkdir()
    shutil.copyfile(shared_data / FACES, card / "group.jpg")
    trimmed_clip(shared_data / CLIP, card / "long.mp4", 90)
    make_clip(card / "speech.mp4", list(range(0, 1000, 33)), audio=True)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "b.jpg").write_bytes(b"\xff\xd8\xff\xdb" + b"\x00" * 200)
    left = run_batch(plan_jobs([broken], tmp_path / "cli-out"), Settings(verify="off"),
                     tmp_path / "cli-out").state_kept
    assert left is not None and left.is_dir()
    job = AppJob(root=tmp_path / "xdg" / "unseen" / "app", base=Settings(verify="off"),
                 workers=2)
    server = make_app_server(job)
    stop = serve(server)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(f"window.localStorage.setItem('unseen-lang', '{lang}')")
    # Every violation of the page's own Content-Security-Policy, as the page sees it.
    context.add_init_script("window.__csp = []; document.addEventListener("
                            "'securitypolicyviolation', (e) => window.__csp.push("
                            "e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile"
                            " + ':' + e.lineNumber + ' ' + e.sample))")
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(server.url)
        page.wait_for_selector("#paths")
        page.fill("#paths", str(card))
        page.click("#add")
        page.wait_for_selector('.filerow[data-name="card/speech.mp4"]')
        page.check('input[name="audio"][value="keep"]')
        _idle(page)
        page.click("#process")
        seen: list[float] = []
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            seen += page.evaluate(
                "() => [...document.querySelectorAll('.filerow[data-name=\"card/long.mp4\"] "
                "progress')].map((p) => Number(p.value))")
            if page.locator('.filerow[data-state="written"]').count() == 3:
                break
            time.sleep(0.1)
        assert page.locator('.filerow[data-state="written"]').count() == 3
        assert any(0 < v < 1 for v in seen), seen  # the bar moved before the end
        warning = page.inner_text('.filerow[data-name="card/speech.mp4"] .warning')
        assert ("voices can identify people" in warning) == (lang == "en"), warning
        assert ("声音能认出人" in warning) == (lang == "zh_Hans"), warning

        # A save next to the originals: refused, in red, in the page's language.
        page.fill("#outdir", str(card / "safe"))
        page.click("#save")
        page.wait_for_function("() => document.getElementById('errors').textContent !== ''")
        refused = page.inner_text("#errors")
        assert str(card) in refused
        assert ("where you added files from" in refused) == (lang == "en"), refused
        assert not (card / "safe").exists()
        # A save elsewhere works, and the red line of the refused one is gone.
        out = tmp_path / "to publish"
        save_to(page, out)
        assert page.inner_text("#errors") == ""
        assert page.get_attribute("#savedinfo", "data-saved") == "3"

        # The report in the page: no violation of its policy, coloured as when saved.
        assert page.evaluate("() => window.__csp") == []
        colour = page.evaluate("() => getComputedStyle(document.querySelector("
                               "'#report .c-detected')).color")
        assert colour == "rgb(255, 80, 80)", colour
        settings = page.inner_text("#report pre") if page.locator("#report pre").count() \
            else ""
        assert ("redact" not in settings) or lang == "en"

        # Forget everything: this job and the state the command line kept.
        page.click("#forget")
        page.wait_for_function("() => document.getElementById('forgotten').textContent !== ''")
        assert not left.exists()
        assert job.files == []
    finally:
        context.close()
        stop()
        job.close()
    assert not errors, errors
    # The refused save answered 400 (the browser logs it); nothing else went wrong.
    refused_400 = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert console == [refused_400], console
    assert sorted(p.name for p in out.rglob("*") if p.is_file())[0] == "group.jpg"
