"""The desktop launcher: `unseen app --install-launcher` writes a freedesktop entry
into the user's applications folder whose Exec runs this very unseen; the entry
shipped in the package is the same one with ``unseen app``, its texts from the
catalogs."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unseen.i18n import gettext_in
from unseen.launcher import (
    COMMENT,
    FILE_NAME,
    desktop_entry,
    launcher_command,
    shipped_entry,
)

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                                reason="freedesktop launchers are for Linux desktops")


def parse(text: str) -> dict[str, str]:
    p = configparser.ConfigParser(interpolation=None, strict=True)
    p.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    p.read_string(text)
    assert p.sections() == ["Desktop Entry"]
    return dict(p["Desktop Entry"])


def exec_argv(value: str) -> list[str]:
    """The Exec key's arguments (the key file's \\\\ first, then the quoting)."""
    return shlex.split(value.replace("\\\\", "\\").replace("%%", "%"))


def validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool:
        run = subprocess.run([tool, str(path)], capture_output=True, text=True)
        assert run.returncode == 0 and "error" not in run.stdout.lower(), run.stdout


def install(env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    env.update({"HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state"),
                "UNSEEN_LANG": "en", **env_extra})
    return subprocess.run([sys.executable, "-m", "unseen", "app", "--install-launcher"],
                          capture_output=True, text=True, env=env, timeout=120)


def test_install_launcher_writes_an_entry_that_runs_this_unseen(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = install({"XDG_DATA_HOME": str(data)}, tmp_path)
    assert run.returncode == 0, run.stderr
    path = data / "applications" / FILE_NAME
    assert str(path) in run.stdout, run.stdout
    assert not (tmp_path / "state").exists()  # nothing but the launcher is written
    entry = parse(path.read_text(encoding="utf-8"))
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Name"] == "unseen" and entry["Categories"].endswith(";")
    for loc, lang in (("zh_CN", "zh_Hans"), ("zh_TW", "zh_Hant")):
        assert entry[f"Name[{loc}]"] == "unseen"
        assert entry[f"Comment[{loc}]"] == gettext_in(lang)(COMMENT) != COMMENT
    argv = exec_argv(entry["Exec"])
    exe = Path(argv[0])
    assert exe.is_absolute() and exe.is_file() and os.access(exe, os.X_OK), argv
    # python -m unseen: the console script beside this Python when there is one.
    script = Path(sys.executable).parent / "unseen"
    assert argv == ([str(script), "app"] if script.is_file()
                    else [sys.executable, "-m", "unseen", "app"])
    validate(path)
    # What the menu would start is unseen's app.
    helped = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "UNSEEN_LANG": "en"})
    assert helped.returncode == 0 and "--install-launcher" in helped.stdout, helped.stderr


def test_install_launcher_defaults_to_the_home_data_folder(tmp_path: Path) -> None:
    run = install({"XDG_DATA_HOME": "relative/ignored", "UNSEEN_LANG": "zh_Hans"}, tmp_path)
    assert run.returncode == 0, run.stderr
    path = tmp_path / "home" / ".local" / "share" / "applications" / FILE_NAME
    assert path.is_file()
    assert "已加到应用程序菜单" in run.stdout and str(path) in run.stdout
    assert not Path("relative").exists()
    assert (path.stat().st_mode & 0o777) == 0o644


def test_the_shipped_entry_is_the_one_the_catalogs_make() -> None:
    """unseen/unseen.desktop is written by scripts/i18n.sh: run it after changing
    the launcher's texts or their translations."""
    shipped = shipped_entry()
    assert shipped == desktop_entry()
    entry = parse(shipped)
    assert entry["Exec"] == "unseen app"
    assert entry["Comment[zh_CN]"] == gettext_in("zh_Hans")(COMMENT)
    assert entry["Comment[zh_TW]"] == gettext_in("zh_Hant")(COMMENT)


def test_exec_quotes_paths_with_spaces_and_quotes(tmp_path: Path) -> None:
    odd = str(tmp_path / 'my "tools" 100%' / "unseen")
    entry = parse(desktop_entry([odd, "app"]))
    assert exec_argv(entry["Exec"]) == [odd, "app"]


def test_a_frozen_bundle_launches_its_own_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = tmp_path / "dist" / "unseen" / "unseen"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert launcher_command() == [str(exe), "app"]
