"""The languages of unseen's messages: English (the source), 简体中文 and 繁體中文.

The catalogs are gettext files in ``unseen/locale/``, managed with Babel
(``scripts/i18n.sh``). The library speaks English (reports, results, errors);
what a person reads is translated where it is shown: the command line, the
readable report and the page call `_()` and `translate()`. Missing strings fall
back to English.
"""

from __future__ import annotations

import _locale
import contextlib
import gettext as _gettext
import json
import locale
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from pathlib import Path

DOMAIN = "unseen"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
"""Language code -> its name in that language; the first is the source."""
HTML_LANG: dict[str, str] = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}
"""Language code -> its BCP 47 tag, for ``<html lang>`` (fonts pick the script's glyphs)."""
ENV_OVERRIDE = "UNSEEN_LANG"
SYSTEM_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""Where the system locale is read from, in gettext's order."""

# Traditional script: Taiwan, Hong Kong, Macau (and an explicit "Hant").
_HANT_REGIONS = ("TW", "HK", "MO", "HANT")
_current: str | None = None


def normalize(code: str | None) -> str | None:
    """A shipped language code for a locale name (``zh_CN.UTF-8``, ``zh-TW``,
    ``zh_Hant_HK``, ``en_GB`` ...), or None when unseen has no such language."""
    if not code:
        return None
    name = code.split(".", 1)[0].split("@", 1)[0].replace("-", "_").strip()
    if not name:
        return None
    parts = [p for p in name.split("_") if p]
    lang = parts[0].lower()
    if lang == "en":
        return "en"
    if lang == "zh":
        rest = [p.upper() for p in parts[1:]]
        if "HANS" in rest:  # the script named outright wins over the region
            return "zh_Hans"
        return "zh_Hant" if any(p in _HANT_REGIONS for p in rest) else "zh_Hans"
    # Windows names its locales in words ("Chinese (Traditional)_Taiwan").
    words = name.lower()
    if words.startswith("chinese"):
        hant = any(w in words for w in ("traditional", "taiwan", "hong kong", "macao", "macau"))
        return "zh_Hant" if hant else "zh_Hans"
    if words.startswith("english"):
        return "en"
    return None


def system_language(environ: Mapping[str, str] | None = None) -> str:
    """The language the system locale asks for: the first of LANGUAGE, LC_ALL,
    LC_MESSAGES and LANG that is set decides (LANGUAGE may list several, the first
    shipped one wins); English when that locale is not one unseen speaks."""
    env = os.environ if environ is None else environ
    for var in SYSTEM_VARIABLES:
        value = env.get(var, "").strip()
        if not value:
            continue
        if var == "LANGUAGE":
            if env.get("LC_ALL", "").strip() in ("C", "POSIX"):
                continue  # gettext ignores LANGUAGE under the C locale
            for item in value.split(":"):
                if code := normalize(item):
                    return code
            continue
        return normalize(value) or SOURCE_LANGUAGE
    if environ is None:
        # Windows and macOS apps started from the desktop often have no variable.
        return normalize(desktop_locale()) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def desktop_locale() -> str | None:
    """The user's language as the desktop keeps it, when no variable says it: the
    first of macOS's AppleLanguages, Windows' user locale, else Python's locale.
    (Not tested on macOS or Windows.)"""
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["defaults", "read", "-g", "AppleLanguages"],
                                 capture_output=True, text=True, timeout=2).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        if first := apple_language(out):
            return first
    if sys.platform == "win32":
        get = getattr(_locale, "_getdefaultlocale", None)
        if get is not None:
            with contextlib.suppress(Exception):
                return str(get()[0] or "") or None
    try:
        return locale.getlocale()[0]
    except ValueError:
        return None


def apple_language(defaults_output: str) -> str | None:
    """The first language of ``defaults read -g AppleLanguages`` (``("zh-Hant-TW",
    "en-US")``), or None."""
    m = re.search(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*", defaults_output)
    return m.group(0) if m else None


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """``UNSEEN_LANG`` if it names a shipped language, else the system locale's."""
    env = os.environ if environ is None else environ
    return normalize(env.get(ENV_OVERRIDE)) or system_language(environ)


def set_language(code: str | None) -> str:
    """Make ``code`` the language of every later message (None: from the
    environment, `environment_language`). Returns the code used; ValueError for
    a language unseen does not ship."""
    global _current
    if code is None:
        _current = environment_language()
    else:
        found = normalize(code)
        if found is None:
            raise ValueError(f"unknown language {code!r} (known: {', '.join(LANGUAGES)})")
        _current = found
    return _current


def current_language() -> str:
    """The language messages are translated into now (first use: the environment's)."""
    return _current if _current is not None else set_language(None)


def languages() -> dict[str, str]:
    """Shipped language code -> its native name, the source language first."""
    return dict(LANGUAGES)


@cache
def _translations(code: str) -> _gettext.NullTranslations:
    if code == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code], fallback=True)


def gettext(message: str) -> str:
    """``message`` in the current language (itself when there is no translation)."""
    return _translations(current_language()).gettext(message)


def gettext_in(code: str | None) -> Callable[[str], str]:
    """``gettext`` for language ``code`` (default: the current one), whatever the
    current language is: a page asks for its report in its own language."""
    lang = (normalize(code) if code else None) or current_language()
    return _translations(lang).gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for ``n`` things, in the current language."""
    return _translations(current_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it: the library keeps
    English, and `translate` finds it again where it is shown."""
    return message


def catalog(code: str | None = None) -> dict[str, str]:
    """English message -> its translation in ``code`` (default: the current language),
    for the page; plural messages under their singular. Empty for English."""
    lang = normalize(code) if code else current_language()
    if lang is None:
        raise ValueError(f"unknown language {code!r} (known: {', '.join(LANGUAGES)})")
    t = _translations(lang)
    raw: dict[object, str] = getattr(t, "_catalog", {})
    out: dict[str, str] = {}
    for key, text in raw.items():
        if isinstance(key, tuple):
            if key[1] == 0 and text:
                out[str(key[0])] = text
        elif key and text:
            out[str(key)] = text
    return out


def page_data(default: str | None = None) -> str:
    """What the page needs to speak every shipped language, as JSON that is safe inside
    an HTML ``<script type="application/json">`` block: the starting language
    (default: the current one), the languages' names and every catalog. The page
    (``unseen/web/static/i18n.js``) switches between them without asking the server."""
    start = normalize(default) if default else current_language()
    doc = {"default": start or SOURCE_LANGUAGE, "languages": languages(),
           "catalogs": {code: catalog(code) for code in LANGUAGES if code != SOURCE_LANGUAGE},
           "numeric": sorted(NUMERIC_PLACEHOLDERS)}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


LIBRARY_MESSAGES = (
    # Pillow's
    N_("image file is truncated ({n} bytes not processed)"),
    N_("image file is truncated"),
    N_("Image size ({n} pixels) exceeds limit of {limit} pixels, could be decompression bomb "
       "DOS attack."),
    N_("broken data stream when reading image file"),
    N_("unrecognized data stream contents when reading image file"),
    N_("Truncated File Read"),
    N_("buffer is not large enough"),
    N_("Not a TIFF file"),
    N_("not a PNG file"),
    N_("not a JPEG file"),
    N_("cannot identify image file"),
    N_("image is too large"),
    N_("decoder error {n}"),
    # FFmpeg's (through PyAV)
    N_("Invalid data found when processing input"),
    N_("moov atom not found"),
    N_("End of file"),
    N_("Invalid argument"),
    N_("Operation not permitted"),
    N_("Resource temporarily unavailable"),
    N_("Decoder not found"),
    N_("Not yet implemented in FFmpeg, patches welcome"),
    N_("Bug detected, please report the issue"),
    N_("Unknown error occurred"),
    # SQLite's (the job state's database)
    N_("disk I/O error"),
    N_("database or disk is full"),
    N_("database is locked"),
    N_("file is not a database"),
    N_("unable to open database file"),
    N_("attempt to write a readonly database"),
    # the system's (strerror)
    N_("No space left on device"),
    N_("Read-only file system"),
    N_("Permission denied"),
    N_("No such file or directory"),
    N_("File too large"),
    N_("Disk quota exceeded"),
    N_("Input/output error"),
    N_("Is a directory"),
    N_("Not a directory"),
    N_("Too many levels of symbolic links"),
    N_("File name too long"),
    N_("Cannot allocate memory"),
    N_("Device or resource busy"),
    N_("Too many open files"),
)
"""What Pillow, FFmpeg and the system say inside our messages ("truncated or damaged
image data ({reason})"), in the catalog too: `translate` finds them as the values of
our messages, so a Chinese sentence holds no English. In English they stay as the
libraries word them."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MIN_LITERAL = 4  # a template of placeholders (and "and") alone would match any text
LIST_COMMA = N_("{items}, {item}")
LIST_AND = N_("{items} and {item}")
"""How a list of things is written ("a date, a time and a Unix time"), for `translate`."""
_LIST_SPLIT = re.compile(r", | and ")
NUMERIC_PLACEHOLDERS = frozenset({
    "n", "count", "done", "total", "checked", "runs", "written", "unsafe", "failed", "faces",
    "plates", "frame", "frames", "found", "declared", "seconds", "hours", "mp", "limit",
    "width", "height", "size", "offset", "turn", "number", "rate", "speed", "files", "mb",
    "distance", "null", "similarity", "score",
})
"""Placeholders that always hold a number ("{n} failed" must not match "the upload
failed"); `translate` and the page's tm() match them to numbers only."""
_NUMBER = r"-?\d[\d.,]*\+?"


@lru_cache(maxsize=8)
def _templates(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """(pattern of the English message, its translation) for every message with
    placeholders, the most specific (longest fixed text) first."""
    found: list[tuple[int, re.Pattern[str], str]] = []
    for english, text in catalog(lang).items():
        pieces = _PLACEHOLDER.split(english)
        literal = "".join(pieces[0::2])
        if len(pieces) == 1 or sum(c.isalpha() for c in literal) < _MIN_LITERAL:
            continue
        regex, seen = [], set()
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                regex.append(re.escape(piece))
            elif piece in seen:
                regex.append(f"(?P={piece})")
            else:
                seen.add(piece)
                value = _NUMBER if piece in NUMERIC_PLACEHOLDERS else ".+?"
                regex.append(f"(?P<{piece}>{value})")
        found.append((len(literal), re.compile("".join(regex), re.DOTALL), text))
    found.sort(key=lambda x: -x[0])
    return [(p, t) for _, p, t in found]


def translate(text: str, lang: str | None = None, _depth: int = 0) -> str:
    """A finished English message (placeholders filled in, as the library wrote it)
    in ``lang`` (default: the current language): the catalog's entry for it, or for
    the message it was made from, with the same values put back (values that are
    messages themselves are translated too). Text the catalog does not know is kept."""
    code = normalize(lang) if lang else current_language()
    if not text or code in (None, SOURCE_LANGUAGE):
        return text
    t = _translations(code)
    exact = t.gettext(text)
    if exact != text:
        return exact
    for pattern, translated in _templates(code):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        values = m.groupdict()
        if _depth < 4:
            values = {k: _translate_value(v, code, _depth + 1) for k, v in values.items()}
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _translate_list(value: str, code: str, depth: int) -> str | None:
    """A list of messages ("a date, a time and a Unix time") in ``code``, or None
    unless every item is known."""
    parts = _LIST_SPLIT.split(value)
    if len(parts) < 2:
        return None
    done = [translate(p, code, depth) for p in parts]
    if any(d == p for d, p in zip(done, parts, strict=True)):
        return None
    t = _translations(code)
    out = done[0]
    for item in done[1:-1]:
        out = t.gettext(LIST_COMMA).format(items=out, item=item)
    return t.gettext(LIST_AND).format(items=out, item=done[-1])


def _translate_value(value: str, code: str, depth: int) -> str:
    # Only phrases: a single word (a method name, a file name) is kept as written.
    if len(value.split()) < 2:
        return value
    out = translate(value, code, depth)
    if out != value:
        return out
    if listed := _translate_list(value, code, depth):
        return listed
    if "; " in value:
        out = "；".join(translate(v, code, depth) for v in value.split("; "))
        return value if out == value.replace("; ", "；") else out
    return value
