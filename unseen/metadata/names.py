"""File and folder names that tell when, with what or with which app a picture was made.

`name_clues(name)` lists what a name gives away (a date, a time, a camera's file counter,
an app); `identifying_name(name)` says it in one line; `NamePlan` gives such names neutral
replacements, stable for one job because they are keyed by the job's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from unseen.i18n import N_
from unseen.media import PHOTO_SUFFIXES, VIDEO_SUFFIXES

ClueCategory = Literal["time", "device", "software", "other"]


@dataclass(frozen=True)
class NameClue:
    """One thing a name gives away, e.g. ("time", "a date", "2022-11-27")."""

    category: ClueCategory
    what: str
    text: str


_YEAR = r"(?:19[7-9]\d|20\d\d)"
_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12]\d|3[01])"
# A year, month and day in that order (one separator or none), then maybe a time.
_YMD = re.compile(
    rf"(?<!\d)(?P<date>{_YEAR}(?P<s>[-_. ]?){_MONTH}(?P=s){_DAY})"
    r"(?:[-_ T.]?(?P<time>(?:[01]\d|2[0-3])(?P<t>[-_.:]?)[0-5]\d(?P=t)[0-5]\d)\d{0,3})?(?!\d)"
)
# Day and month (either order) before the year, with a separator: 27-11-2022, 11.27.2022.
_DMY = re.compile(rf"(?<!\d)(?P<a>\d{{1,2}})(?P<s>[-_. ])(?P<b>\d{{1,2}})(?P=s){_YEAR}(?!\d)")
_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_WORD_DATE = re.compile(
    rf"(?<![a-z])(?:\d{{1,2}}[-_. ]?{_MON}|{_MON}[-_. ]?\d{{1,2}}(?:st|nd|rd|th)?)"
    rf"[-_., ]+{_YEAR}(?!\d)",
    re.IGNORECASE,
)
_TIME = re.compile(r"(?<!\d)(?:[01]\d|2[0-3])(?P<t>[-_.:])[0-5]\d(?P=t)[0-5]\d(?!\d)")
# Seconds (or milliseconds) since 1970 between 2001 and 2033, as apps name files.
_EPOCH = re.compile(r"(?<!\d)1\d{9}(?:\d{3})?(?!\d)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

# Camera and phone file counters (DCF names and their relatives); they say what
# made the file, and the number is the same on the card or phone it came from.
_COUNTER = re.compile(
    r"(?<![a-z0-9])(?P<p>IMG_E|IMG|DSCN|DSCF|DSCI|DSC|_DSC|_MG|MVI|MOV|VID|PICT|CIMG|IMGP|SAM|"
    r"DJI|GOPR|G[HXPS]\d\d|HPIM|DCP|KIF|RIMG|R00|SDC|MAH|C)[_-]?(?P<n>\d{4,5})(?!\d)"
    r"|(?<![a-z0-9])P\d{7}(?!\d)",
    re.IGNORECASE,
)
_GOPRO = N_("a file counter of a GoPro")
_BRANDS = {"GOPR": _GOPRO, "GH": _GOPRO, "GX": _GOPRO, "GP": _GOPRO, "GS": _GOPRO,
           "DJI": N_("a file counter of a DJI drone")}
# DCF camera folders: three digits and five letters or digits (100CANON, 101APPLE).
_DCF_FOLDER = re.compile(r"^\d{3}(?=[A-Z0-9_]*[A-Z])[A-Z0-9_]{5}$", re.IGNORECASE)
_DEVICE_PREFIX = [
    (re.compile(r"^PXL_", re.I), N_("the prefix of a Google Pixel phone")),
    (re.compile(r"^MVIMG_", re.I), N_("the prefix of a Google camera motion photo")),
    (re.compile(r"^WIN_\d{8}", re.I), N_("the prefix of the Windows camera app")),
    (re.compile(r"\.insv$|^LRV_", re.I), N_("the naming of an action camera")),
]
_APPS = [
    (re.compile(r"whatsapp|(?<![a-z0-9])WA\d{4}(?!\d)", re.I), "WhatsApp"),
    (re.compile(r"^signal[-_ ]", re.I), "Signal"),
    (re.compile(r"telegram", re.I), "Telegram"),
    (re.compile(r"^FB_IMG|facebook", re.I), "Facebook"),
    (re.compile(r"^received_\d|messenger", re.I), "Facebook Messenger"),
    (re.compile(r"snapchat", re.I), "Snapchat"),
    (re.compile(r"instagram", re.I), "Instagram"),
    (re.compile(r"viber", re.I), "Viber"),
    (re.compile(r"mmexport|wx_camera|wechat|weixin|微信", re.I), "WeChat"),
    (re.compile(r"^QQ图片|^QQ截图|^QQ_", re.I), "QQ"),
    (re.compile(r"tiktok|douyin|抖音", re.I), "TikTok or Douyin"),
    (re.compile(r"weibo|微博", re.I), "Weibo"),
    (re.compile(r"screenshot|screen[ _-]?shot|screen[ _-]?record|截图|截屏|录屏", re.I),
     N_("the naming of a screenshot or screen recording tool")),
]


def name_clues(name: str) -> list[NameClue]:
    """What the file or folder name ``name`` (no folders) gives away; [] for a neutral name."""
    clues: list[NameClue] = []
    rest = name  # what is matched is blanked, so one date is not read again as a time

    def take(rx: re.Pattern[str]) -> list[re.Match[str]]:
        nonlocal rest
        found = list(rx.finditer(rest))
        for m in found:
            rest = rest[: m.start()] + "\0" * (m.end() - m.start()) + rest[m.end():]
        return found

    for m in take(_YMD):
        clues.append(NameClue("time", N_("a date"), m.group("date")))
        if m.group("time"):
            clues.append(NameClue("time", N_("a time"), m.group("time")))
    for m in take(_DMY):
        a, b = int(m.group("a")), int(m.group("b"))
        if (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31):
            clues.append(NameClue("time", N_("a date"), m.group(0)))
    clues += [NameClue("time", N_("a date"), m.group(0)) for m in take(_WORD_DATE)]
    clues += [NameClue("time", N_("a time"), m.group(0)) for m in take(_TIME)]
    clues += [NameClue("time", N_("a Unix time"), m.group(0)) for m in take(_EPOCH)]
    for m in take(_COUNTER):
        prefix = (m.group("p") or "").upper()
        brand = _BRANDS.get(prefix) or _BRANDS.get(prefix[:2])
        what = brand or N_("a camera's file counter")
        clues.append(NameClue("device", what, m.group(0)))
    if _DCF_FOLDER.match(name):
        clues.append(NameClue("device", N_("a camera's folder name"), name))
    for rx, what in _DEVICE_PREFIX:
        if hit := rx.search(name):
            clues.append(NameClue("device", what, hit.group(0)))
    for rx, app in _APPS:
        if hit := rx.search(name):
            what = app if app.startswith("the ") else N_("the app ({app})").format(app=app)
            clues.append(NameClue("software", what, hit.group(0)))
    clues += [NameClue("other", N_("an ID the phone or app gave the file"), m.group(0))
              for m in _UUID.finditer(name)]
    return list(dict.fromkeys(clues))


def identifying_name(name: str) -> str | None:
    """One line saying what ``name`` gives away ("holds a date and a time"), or None."""
    clues = name_clues(name)
    if not clues:
        return None
    whats = list(dict.fromkeys(c.what for c in clues))
    listed = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
    return N_("holds {what}").format(what=listed)


# Consonants only: a neutral name can never spell a date, a counter or an app.
_ALPHABET = "bcdfghjkmnpqrstvwxz"


@dataclass(frozen=True)
class NamePlan:
    """Neutral names for identifying ones, the same for every run of one job.

    ``key`` is the job's secret: the neutral name of ``IMG_20221127_201455.jpg``
    is derived from it, so it cannot be turned back into the original name.
    """

    key: bytes
    length: int = 10

    def neutral(self, rel: PurePosixPath, is_file: bool = True, longer: bool = False
                ) -> tuple[PurePosixPath, list[str]]:
        """``rel`` (a path relative to an input folder) with every identifying part
        renamed, and one line per renamed part saying why."""
        parts = list(rel.parts)
        out: list[str] = []
        reasons: list[str] = []
        for i, part in enumerate(parts):
            why = identifying_name(part)
            if why is None:
                out.append(part)
                continue
            last = is_file and i == len(parts) - 1
            word = _kind_word(part) if last else "folder"
            tag = self._tag("/".join(parts[: i + 1]), 3 * self.length if longer else self.length)
            suffix = PurePosixPath(part).suffix.lower() if last else ""
            out.append(f"{word}-{tag}{suffix}")
            reasons.append((N_("the name {why}") if last else N_("a folder name {why}")).format(
                why=why))
        return PurePosixPath(*out), reasons

    def _tag(self, text: str, length: int) -> str:
        digest = hmac.new(self.key, b"unseen name\0" + text.encode("utf-8", "surrogateescape"),
                          hashlib.sha256).digest()
        n = int.from_bytes(digest, "big")
        chars = []
        for _ in range(length):
            n, r = divmod(n, len(_ALPHABET))
            chars.append(_ALPHABET[r])
        return "".join(chars)


def _kind_word(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in PHOTO_SUFFIXES:
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "file"
