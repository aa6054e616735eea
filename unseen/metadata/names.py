"""File and folder names that tell when, with what or with which app a picture was made,
or whom it shows.

`name_clues(name)` lists what a name gives away (a date, a time, a camera's file counter,
an app, what may be a person's name); `identifying_name(name)` says it in one line;
`NamePlan` gives such names neutral replacements, stable for one job because they are
keyed by the job's secret. `shown(name)` is a name as it can be printed: bytes that are
not UTF-8 (a GBK name from a Windows ZIP) and control characters escaped.
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

ClueCategory = Literal["time", "device", "software", "person", "other"]


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


# Chinese names: a common surname (the most frequent hundred or so, and the compound
# ones) and one or two more characters, standing alone between other words.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟"
    "殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游"
    "辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫"
    "费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明"
    "佘池乐匡钮鞠丰蔺揭鄢涛郁陳張劉楊黃趙吳許韓馮鄧蕭葉蘇魏呂盧鍾譚陸賈鄒龔錢嚴湯溫齊龐"
    "顏聶魯嶽詹歐關蘭鄺麥饒費衛欒")
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "令狐",
                      "慕容", "夏侯", "歐陽", "司馬", "諸葛", "東方")
# Words that start like a name but are not one (高清 "HD", 文件 "file" ...).
_NOT_NAMES = {
    "高清", "文件", "文档", "文檔", "照片", "视频", "視頻", "图片", "圖片", "时间", "時間",
    "明天", "明日", "安全", "方向", "成都", "全部", "常用", "温度", "华为", "華為", "路口",
    "路上", "金色", "白色", "黄色", "黃色", "蓝色", "藍色", "高楼", "高樓", "石头", "石頭",
    "和平", "向前", "万人", "萬人", "时代", "時代", "江边", "江邊", "关于", "關於", "于是",
    "方式", "安装", "安裝", "成功", "应用", "應用", "和谐", "和諧", "包括", "毛巾", "龙门",
    "龍門", "孙子", "孫子", "江南", "牛肉", "米饭", "米飯", "夏天", "冷静", "冷靜", "柏林",
    "香港", "任务", "任務", "申请", "申請", "宁波", "寧波", "单位", "單位", "路透", "段落",
    "全景", "全体", "全體", "游行", "遊行", "武警", "武汉", "武漢", "常州", "温州", "溫州",
    "汤圆", "湯圓", "龙华", "龍華", "明星", "万达", "萬達", "华人", "華人", "宋体", "宋體",
    "黄昏", "黃昏", "白天", "车站", "車站", "车牌", "車牌", "项目", "項目", "连接", "連接",
}
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_HAN_RUN = re.compile(rf"[{_HAN}]+")
# What often stands beside a name in a file name: split there ("张三的照片").
_HAN_SPLIT = re.compile("的|和|与|與|跟|在|照片|相片|视频|視頻|录像|錄像|图片|圖片|合影|合照|现场|"
                        "現場|抗议|抗議|游行|遊行|集会|集會")
# Latin script: two capitalised words in a row ("Amira Haddad", "Li Wei"), not words
# that name what a file is.
_CAPITALISED = re.compile(r"(?<![A-Za-z])([A-Z][a-z]+)[ _.-]([A-Z][a-z]+)(?![A-Za-z])")
_NOT_NAME_WORDS = {
    "Image", "Images", "Img", "Photo", "Photos", "Picture", "Pictures", "Pic", "Video",
    "Videos", "Movie", "Clip", "Screen", "Shot", "Screenshot", "Recording", "Record", "Camera",
    "Scan", "Copy", "New", "Untitled", "Edited", "Edit", "Final", "Export", "Exported", "Document",
    "File", "Folder", "Day", "Night", "Morning", "Evening", "Street", "Square", "Road", "Park",
    "March", "Protest", "Rally", "Demo", "Crowd", "Group", "Police", "The", "And", "With", "From",
    "Part", "Take", "Scene", "Portrait", "Landscape", "Panorama", "Burst", "Cover", "Live",
    "Sound", "Audio", "Voice", "Memo", "Saved", "Sent", "Received", "Download",
    "Downloads", "Desktop", "Backup", "Album", "Selfie", "Front", "Back", "Left", "Right",
    "North", "South", "East", "West", "Old", "Big", "Small", "High", "Low", "Hong", "Kong",
    "Tiananmen", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sunday", "January", "February", "April", "June", "July", "August", "September", "October",
    "November", "December", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
    "Nov", "Dec",
}


def _person_names(name: str) -> list[str]:
    """Parts of ``name`` that may be a person's name (an honest guess, never proof)."""
    found: list[str] = []
    words = [w for m in _HAN_RUN.finditer(name) for w in _HAN_SPLIT.split(m.group(0)) if w]
    for word in words:
        if word in _NOT_NAMES:
            continue
        compound = word[:2] in _COMPOUND_SURNAMES and len(word) in (3, 4)
        if compound or (word[0] in _SURNAMES and len(word) in (2, 3)):
            found.append(word)
    for m in _CAPITALISED.finditer(name):
        first, last = m.group(1), m.group(2)
        if first in _NOT_NAME_WORDS or last in _NOT_NAME_WORDS:
            continue
        found.append(m.group(0))
    return found


def not_text(name: str) -> bool:
    """Whether ``name`` holds bytes that are not UTF-8 (Python keeps them as lone
    surrogates: ``os.fsdecode(b"caf\\xe9.jpg")``)."""
    return any("\udc80" <= c <= "\udcff" for c in name)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(name: str) -> str:
    """``name`` as it can be printed, stored and sent: a name that is not UTF-8 with
    every byte beyond ASCII as ``\\xe9`` (a GBK name is not half decoded by chance),
    and control characters (a newline, a terminal escape) as ``\\x1b``."""
    if not_text(name):
        name = name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
    if _CONTROL.search(name):
        name = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", name)
    return name


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
    clues += [NameClue("person", N_("what may be a person's name"), text)
              for text in _person_names(name)]
    return list(dict.fromkeys(clues))


def identifying_name(name: str) -> str | None:
    """One line saying what ``name`` gives away ("holds a date and a time"), or None."""
    if not_text(name):
        return NOT_TEXT
    clues = name_clues(name)
    if not clues:
        return None
    whats = list(dict.fromkeys(c.what for c in clues))
    listed = whats[0] if len(whats) == 1 else ", ".join(whats[:-1]) + " and " + whats[-1]
    return N_("holds {what}").format(what=listed)


NOT_TEXT = N_("is not UTF-8 text, so what it tells cannot be checked")


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
