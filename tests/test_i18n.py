"""The languages: every message has a translation in every shipped language, the
translations keep the English placeholders, the shipped .mo files are the .po
files compiled, and the command line speaks the language the system (or
UNSEEN_LANG, or --lang) asks for."""

from __future__ import annotations

import ast
import gettext
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from unseen import i18n

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [code for code in i18n.LANGUAGES if code != i18n.SOURCE_LANGUAGE]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
DAMAGED_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"  # a JPEG cut short inside its first segment


def _template() -> Catalog:
    """The messages of the source as it is now, extracted the way scripts/i18n.sh does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@pytest.fixture(scope="module")
def template() -> Catalog:
    found = _template()
    assert len(found) > 200, "the extraction found almost nothing: is babel.cfg right?"
    return found


def _mo(code: str) -> gettext.GNUTranslations:
    path = i18n.LOCALE_DIR / code / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    with open(path, "rb") as f:
        return gettext.GNUTranslations(f)


def _where(message: object) -> str:
    locations = getattr(message, "locations", [])
    return ", ".join(sorted({str(p) for p, _ in locations}))


@pytest.mark.parametrize("code", SHIPPED)
def test_every_message_has_a_translation(template: Catalog, code: str) -> None:
    """A message added to the source (Python or the page's JavaScript) fails here until
    it is translated: run scripts/i18n.sh, translate the new entries, run it again."""
    shipped: dict[object, str] = _mo(code)._catalog  # type: ignore[attr-defined]
    missing = []
    for message in template:
        if not message.id:
            continue
        key = (message.id[0], 0) if isinstance(message.id, tuple) else message.id
        if not shipped.get(key):
            missing.append(f"{message.id!r} ({_where(message)})")
    assert not missing, (f"{len(missing)} message(s) without a {code} translation "
                         "(scripts/i18n.sh, then translate them):\n" + "\n".join(missing))


def test_no_message_hides_inside_an_f_string() -> None:
    """Babel does not look inside f-strings: ``f"{_('x')}"`` would never be extracted,
    so never translated, and the test above could not see it."""
    hidden = []
    for path in sorted((ROOT / "unseen").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in ("_", "N_", "gettext", "ngettext")
                        and call.args and isinstance(call.args[0], ast.Constant)):
                    hidden.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not hidden, "messages inside f-strings: " + ", ".join(hidden)


# Not messages for a person: the library API's misuse by a program, and the review
# UI's HTTP errors (routes answer 404 with them).
UNTRANSLATED_ERRORS = ("unseen/__init__.py", "unseen/web/")


def test_every_user_error_is_marked_for_translation() -> None:
    """``raise SomeUnseenError("...")`` with a bare string (or an f-string) would reach
    the person in English only: its message must go through N_ (or _)."""
    import importlib

    from unseen.errors import UnseenError

    bare = []
    for path in sorted((ROOT / "unseen").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(UNTRANSLATED_ERRORS) or path.name == "__main__.py":
            continue
        module = importlib.import_module(rel.removesuffix(".py").removesuffix("/__init__")
                                         .replace("/", "."))
        family = {name for name, v in vars(module).items()
                  if isinstance(v, type) and issubclass(v, UnseenError)}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            args = node.exc.args
            if name in family and args and isinstance(args[0], (ast.Constant, ast.JoinedStr)):
                bare.append(f"{rel}:{node.lineno}")
    assert not bare, "errors a person reads, not marked with N_: " + ", ".join(bare)


def test_an_option_whose_model_is_missing_is_refused_up_front(tmp_path: Path) -> None:
    """--plates with the text model's package hidden (find_spec finds nothing, as on a
    damaged installation): one line in 繁體中文 before any file is read, exit 1."""
    from PIL import Image

    Image.new("RGB", (160, 120), (90, 120, 150)).save(tmp_path / "photo.png")
    hide = ("import sys; sys.modules['rapidocr_onnxruntime'] = None; "
            "from unseen.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", hide, "photo.png", "-o", "out", "-j", "1",
                        "--plates", "--text", "--cover", "body"], cwd=tmp_path,
                       env=_env(UNSEEN_LANG="zh_Hant", XDG_STATE_HOME=str(tmp_path)),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines() == [
        "unseen: 無法使用 --plates, --text：找不到文字偵測模型：安裝已損壞，請重新安裝 unseen"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("package", "option", "expected"), [
    ("face_recognition_models", "--verify=fast",
     "驗證需要 'face-recognition-models' 套件（dlib 的權重）"),
])
def test_a_missing_model_is_reported_in_the_language_asked(
    tmp_path: Path, package: str, option: str, expected: str
) -> None:
    """A model package that is not installed (hidden here: find_spec then finds
    nothing) fails the file with one line in 繁體中文, not in English."""
    from PIL import Image

    Image.new("RGB", (160, 120), (90, 120, 150)).save(tmp_path / "photo.png")
    hide = (f"import sys; sys.modules[{package!r}] = None; "
            "from unseen.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", hide, "photo.png", "-o", "out", "-j", "1",
                        option], cwd=tmp_path, env=_env(UNSEEN_LANG="zh_Hant",
                                                            XDG_STATE_HOME=str(tmp_path)),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert f"unseen: photo.png: {expected}" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("code", SHIPPED)
def test_translations_keep_the_placeholders(code: str) -> None:
    with open(i18n.LOCALE_DIR / code / "LC_MESSAGES" / f"{i18n.DOMAIN}.po", "rb") as f:
        catalog = read_po(f, locale=code)
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        want = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for s in strings:
            got = set(PLACEHOLDER.findall(s))
            # ngettext: a singular may say "one" where the plural has {n}.
            if got != want and not (len(ids) == 2 and got <= want):
                wrong.append(f"{ids[0]!r}: {sorted(want)} vs {s!r}: {sorted(got)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("code", SHIPPED)
def test_shipped_mo_is_the_po_compiled(code: str) -> None:
    """A .po edited without compiling would ship the old translations."""
    folder = i18n.LOCALE_DIR / code / "LC_MESSAGES"
    with open(folder / f"{i18n.DOMAIN}.po", "rb") as f:
        catalog = read_po(f, locale=code)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    compiled = gettext.GNUTranslations(buf)
    shipped = _mo(code)
    assert compiled._catalog == shipped._catalog  # type: ignore[attr-defined]


@pytest.mark.parametrize(("environ", "code"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh_Hans"),
    ({"LANG": "zh_SG.UTF-8"}, "zh_Hans"),
    ({"LANG": "zh_TW.UTF-8"}, "zh_Hant"),
    ({"LANG": "zh_HK.UTF-8"}, "zh_Hant"),
    ({"LANG": "zh_MO"}, "zh_Hant"),
    ({"LC_ALL": "zh_Hant_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh_Hant"),
    ({"LC_MESSAGES": "zh_CN.GB18030", "LANG": "en_US.UTF-8"}, "zh_Hans"),
    ({"LANGUAGE": "fr:zh_TW:en", "LANG": "fr_FR.UTF-8"}, "zh_Hant"),
    ({"LANGUAGE": "zh_CN", "LC_ALL": "C"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8", "UNSEEN_LANG": "zh_Hant"}, "zh_Hant"),
    ({"LANG": "zh_TW.UTF-8", "UNSEEN_LANG": "en"}, "en"),
    ({"LANG": "zh_TW.UTF-8", "UNSEEN_LANG": "klingon"}, "zh_Hant"),
])
def test_language_follows_the_locale(environ: dict[str, str], code: str) -> None:
    assert i18n.environment_language(environ) == code


def test_desktop_languages() -> None:
    """macOS keeps the language in AppleLanguages (no LANG for apps started from the
    Finder); Windows names its locales in words."""
    assert i18n.apple_language('(\n    "zh-Hant-TW",\n    "en-US"\n)') == "zh-Hant-TW"
    assert i18n.normalize(i18n.apple_language('(\n    "zh-Hans-CN"\n)')) == "zh_Hans"
    assert i18n.normalize(i18n.apple_language('(\n    "zh-HK"\n)')) == "zh_Hant"
    assert i18n.apple_language("") is None


def test_names_and_codes() -> None:
    assert i18n.languages() == {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
    for name, code in [("zh-Hans", "zh_Hans"), ("zh-hant", "zh_Hant"), ("zh", "zh_Hans"),
                       ("zh_CN", "zh_Hans"), ("zh-TW", "zh_Hant"), ("en_GB", "en"),
                       ("zh_Hans_HK", "zh_Hans"), ("zh-Hant-CN", "zh_Hant"),
                       ("Chinese (Traditional)_Taiwan", "zh_Hant"),
                       ("Chinese (Simplified)_China", "zh_Hans"), ("fr", None), ("", None)]:
        assert i18n.normalize(name) == code, name
    with pytest.raises(ValueError):
        i18n.set_language("fr")


@pytest.fixture
def language():  # type: ignore[no-untyped-def]
    """Set a language for one test; English again afterwards."""
    yield i18n.set_language
    i18n.set_language("en")


def test_gettext_and_fallback(language) -> None:  # type: ignore[no-untyped-def]
    language("zh_Hant")
    assert i18n.current_language() == "zh_Hant"
    assert i18n._("print only errors") == "只顯示錯誤"
    assert i18n._("a message nobody translated") == "a message nobody translated"
    n = 3
    assert i18n.ngettext("... and {n} more written file", "... and {n} more written files",
                         n).format(n=n) == "……另有 3 個已寫入的檔案"
    language("zh_Hans")
    assert i18n._("print only errors") == "只显示错误"
    language("en")
    assert i18n._("print only errors") == "print only errors"


def test_translate_finds_a_finished_message() -> None:
    """The library writes English with the values filled in; translate finds the
    message it came from and puts the values back, nested messages too."""
    # What Pillow, FFmpeg and the system say inside a message is translated too (issue 28)
    assert i18n.translate("cannot be read: Truncated File Read", "zh_Hans") == \
        "无法读取：读取到不完整的文件"
    assert i18n.translate("truncated or damaged image data (image file is truncated (51 bytes "
                          "not processed))", "zh_Hans") == \
        "图像数据不完整或已损坏（图像文件不完整（51 字节未处理））"
    assert i18n.translate("cannot open as video: Invalid data found when processing input",
                          "zh_Hant") == "無法當作影片開啟：處理輸入時發現無效資料"
    assert i18n.translate("cannot write video-bcd.mp4: No space left on device", "zh_Hans") \
        == "无法写入 video-bcd.mp4：磁盘空间不足"
    nested = ("the output could not be checked for metadata (damaged JPEG (no marker at "
              "byte 12)); it was deleted")
    assert i18n.translate(nested, "zh_Hant") == \
        "無法檢查輸出中的中繼資料（JPEG 已損毀（第 12 位元組處沒有標記））；已刪除該輸出"
    unsafe = ("judged unsafe, not delivered: frame 3: a face at 10,20 (30 px) is still "
              "detectable (centerface); metadata: GPSLatitude (location) found in EXIF "
              "(--allow-unsafe keeps it as *.UNSAFE.*)")
    assert i18n.translate(unsafe, "zh_Hans") == (
        "判定为不安全，未交付：第 3 帧：10,20（30 像素）处仍能检测到一张脸（centerface）；"
        "元数据：在 EXIF 中找到 GPSLatitude（location）（--allow-unsafe 会把它保留为 *.UNSAFE.*）")
    # Lists of known things, as the file-name clues give them.
    assert i18n.translate("note: the file name holds a date, a time and the app (WeChat); "
                          "rename it before publishing", "zh_Hant") == \
        "注意：檔名帶有日期、時間和WeChat 的命名方式；發布前請改名"
    assert i18n.translate("the processing of input and output failed", "zh_Hans") == \
        "the processing of input and output failed"
    assert i18n.translate("something only English knows", "zh_Hans") == \
        "something only English knows"
    assert i18n.translate("cannot be read: x", "en") == "cannot be read: x"


def test_catalog_for_the_page() -> None:
    zh = i18n.catalog("zh_Hans")
    assert zh["print only errors"] == "只显示错误"
    assert zh["... and {n} more written file"] == "……另有 {n} 个已写入的文件"
    assert "" not in zh
    assert i18n.catalog("en") == {}
    assert i18n.catalog("zh-TW")["print only errors"] == "只顯示錯誤"
    with pytest.raises(ValueError):
        i18n.catalog("fr")


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "UNSEEN_LANG")}
    env.update(values)
    return env


def _unseen(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unseen", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("env", "expected"), [
    ({"LANG": "zh_CN.UTF-8"}, "JPEG 数据段不完整或已损坏"),
    ({"LANG": "zh_CN.UTF-8", "UNSEEN_LANG": "zh_Hant"}, "JPEG 資料段不完整或已損毀"),
    ({"LANG": "zh_HK.UTF-8"}, "JPEG 資料段不完整或已損毀"),
    ({"LANG": "en_US.UTF-8"}, "truncated or damaged JPEG segment"),
    ({"LANG": "zh_CN.UTF-8", "UNSEEN_LANG": "en"}, "truncated or damaged JPEG segment"),
])
def test_inspect_says_what_is_wrong_in_the_language_asked(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    (tmp_path / "broken.jpg").write_bytes(DAMAGED_JPEG)
    p = _unseen(["inspect", "broken.jpg"], tmp_path, **env)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == f"unseen inspect: broken.jpg: {expected}", p.stderr


def test_anonymizing_a_damaged_file_in_chinese(tmp_path: Path) -> None:
    """The one-line error per file, the summary and the warnings in 繁體中文 (UNSEEN_LANG
    over a Simplified system locale); --lang over both."""
    (tmp_path / "broken.jpg").write_bytes(DAMAGED_JPEG)
    p = _unseen(["broken.jpg", "-o", "out", "--verify", "off", "-j", "1"], tmp_path,
                LANG="zh_CN.UTF-8", UNSEEN_LANG="zh_Hant")
    assert p.returncode == 2, p.stderr
    assert "unseen: broken.jpg: 無法讀取：" in p.stderr
    assert "警告：驗證已關閉" in p.stderr
    assert "0 個已寫入，1 個失敗；去掉了 0 張臉" in p.stdout
    # A usage error comes before any model loads; --lang en wins over both.
    p = _unseen(["broken.jpg", "--lang", "en"], tmp_path, LANG="zh_CN.UTF-8",
                UNSEEN_LANG="zh_Hant")
    assert p.returncode == 1
    assert p.stderr.strip() == ("unseen: the following arguments are required: -o/--output "
                                "(see unseen --help)")


def test_help_and_usage_errors_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    from unseen.cli import main

    try:
        with pytest.raises(SystemExit):
            main(["--lang", "zh_Hans", "--help"])
        out = capsys.readouterr().out
        assert out.startswith("用法：unseen ")
        assert "只显示错误" in out and "选项" in out
        assert main(["x.jpg", "--lang", "zh_Hant"]) == 1
        err = capsys.readouterr().err
        assert err.strip() == "unseen: 缺少必要的參數：-o/--output（見 unseen --help）"
        assert main(["x.jpg", "-o", "out", "--lang", "fr"]) == 1
        assert "unknown language 'fr'" in capsys.readouterr().err  # UNSEEN_LANG=en here
    finally:
        i18n.set_language("en")


CHROMIUM = Path("/usr/bin/chromium")


def test_the_page_switches_language_and_remembers_it(tmp_path: Path) -> None:
    """The review page in headless Chromium: it starts in the server's language
    (zh_Hans here), the switch redraws it in 繁體中文 and English, and a page opened
    later on the same address starts in the language chosen last (localStorage).
    Screenshots go to the test's temporary folder."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")

    from tests.serving import serve
    from unseen.web.server import make_server

    folder = tmp_path / "in"
    folder.mkdir()
    review = make_server(folder, tmp_path / "out", state=tmp_path / "state")
    i18n.set_language("zh_Hans")
    stop = serve(review)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--no-sandbox", "--disable-gpu"])
            context = browser.new_context()
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(review.url)
            hint = page.locator("main p.hint")
            hint.wait_for()
            assert hint.inner_text() == "0 个文件。点击一个进行检查。 验证：快速。"
            assert page.evaluate("() => document.documentElement.lang") == "zh-Hans"
            assert page.title() == "unseen：检查"
            page.screenshot(path=str(tmp_path / "zh_Hans.png"))
            page.select_option("#lang", "zh_Hant")
            page.wait_for_function("() => document.querySelector('main p.hint')"
                                   ".textContent.startsWith('0 個檔案')")
            assert hint.inner_text() == "0 個檔案。點擊一個進行檢查。 驗證：快速。"
            assert page.title() == "unseen：檢查"
            assert page.evaluate("() => document.documentElement.lang") == "zh-Hant"
            page.screenshot(path=str(tmp_path / "zh_Hant.png"))
            # A new page on the same address: the server still says zh_Hans, the
            # choice made in the page wins.
            again = context.new_page()
            again.goto(review.url)
            again.locator("main p.hint").wait_for()
            assert again.locator("main p.hint").inner_text().startswith("0 個檔案")
            again.select_option("#lang", "en")
            again.wait_for_function("() => document.querySelector('main p.hint')"
                                    ".textContent.startsWith('0 file(s)')")
            assert again.locator("main p.hint").inner_text() == \
                "0 file(s). Click one to review it. Verification: fast."
            assert again.title() == "unseen: review"
            again.screenshot(path=str(tmp_path / "en.png"))
            browser.close()
        assert not errors, errors
    finally:
        i18n.set_language("en")
        stop()
