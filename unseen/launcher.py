"""The desktop launcher: a freedesktop entry (``unseen.desktop``, shipped in the
package) that opens the app from the applications menu, and writing it for the
user with the full path of the running ``unseen`` (`install_launcher`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from unseen.i18n import N_, gettext_in

FILE_NAME = "unseen.desktop"
NAME = "unseen"
"""Not translated: the Chinese READMEs call it unseen too."""
GENERIC_NAME = N_("Photo and video anonymizer")
COMMENT = N_("Remove the people from photos and videos before you publish them")
KEYWORDS = N_("faces;anonymize;privacy;blur;photos;videos;")
LOCALES: dict[str, str] = {"zh_CN": "zh_Hans", "zh_TW": "zh_Hant", "zh_HK": "zh_Hant"}
"""Desktop entry locale -> the catalog its strings come from."""
SHIPPED_COMMAND = ("unseen", "app")
"""The Exec of the shipped file: works when ``unseen`` is on the PATH."""

# Characters that make an Exec argument need double quotes (Desktop Entry spec,
# "The Exec key"); inside the quotes these four take a backslash.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = re.compile(r'(["`$\\])')


def shipped_entry() -> str:
    """The ``unseen.desktop`` inside the installed package."""
    return (files("unseen") / FILE_NAME).read_text(encoding="utf-8")


def desktop_entry(command: Sequence[str] = SHIPPED_COMMAND) -> str:
    """The desktop entry that runs ``command``, its texts in English and, from the
    catalogs, in Chinese (simplified for zh_CN, traditional for zh_TW and zh_HK)."""
    lines = ["[Desktop Entry]", "Type=Application", "Version=1.5", f"Name={NAME}"]
    lines += [f"Name[{loc}]={NAME}" for loc in LOCALES]
    for key, message in (("GenericName", GENERIC_NAME), ("Comment", COMMENT),
                         ("Keywords", KEYWORDS)):
        lines.append(f"{key}={_value(message)}")
        lines += [f"{key}[{loc}]={_value(gettext_in(lang)(message))}"
                  for loc, lang in LOCALES.items()]
    exec_line = " ".join(_exec_argument(a) for a in command)
    lines += [f"Exec={_value(exec_line)}", "Terminal=false",
              "Categories=Graphics;Photography;"]
    return "\n".join(lines) + "\n"


def launcher_command() -> list[str]:
    """How the launcher starts the app: the running ``unseen`` by its full path (the
    bundle's executable when frozen), else this Python with ``-m unseen``."""
    if getattr(sys, "frozen", False):
        return [os.path.abspath(sys.executable), "app"]
    candidates = [Path(sys.argv[0]) if sys.argv and sys.argv[0] else None,
                  Path(sys.executable).parent / _script_name()]
    for c in candidates:
        if c is not None and c.name == _script_name() and _runnable(c):
            return [os.path.abspath(c), "app"]
    return [os.path.abspath(sys.executable), "-m", "unseen", "app"]


def install_launcher(applications: Path, command: Sequence[str] | None = None) -> Path:
    """Write the launcher into the folder ``applications`` (the user's is
    ``$XDG_DATA_HOME/applications``); returns the file written."""
    applications.mkdir(parents=True, exist_ok=True)
    path = applications / FILE_NAME
    tmp = path.with_name(f".{FILE_NAME}.tmp")
    tmp.write_text(desktop_entry(command or launcher_command()), encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)  # a menu reading the folder never sees half a file
    return path


def _script_name() -> str:
    return "unseen.exe" if sys.platform == "win32" else "unseen"


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _exec_argument(arg: str) -> str:
    arg = arg.replace("%", "%%")  # % starts a field code
    if not any(c in _RESERVED for c in arg):
        return arg
    return '"' + _ESCAPED_IN_QUOTES.sub(r"\\\1", arg) + '"'


def _value(text: str) -> str:
    """A value of the key file format: backslashes and line breaks escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")

