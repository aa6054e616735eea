"""Text and licence plates: PP-OCRv4's detector (DB) and recogniser (CTC), the
ONNX files inside the `rapidocr-onnxruntime` wheel (a dependency of unseen), read
from the installed package and run here; rapidocr's own wrapper is never imported.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import re
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from unseen.detect import RGBImage
from unseen.detect.multiscale import tiles
from unseen.detect.onnx import make_session
from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_

MODEL_PACKAGE = "rapidocr-onnxruntime"
DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"

ALIGN = 32
BIN_THRESHOLD = 0.3  # DB probability that a pixel is text (PP-OCR's value)
UNCLIP = 1.6  # DB kernels are shrunk text; grow them back by area * this / perimeter
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_BATCH = 6
LEGIBLE = 0.5  # mean character confidence below which a reading is noise
LEGIBLE_ONE = 0.8  # the same for a single character (textures read as one)
PLATE_EXTEND = 1.0  # plate boxes reach this many region heights further left and right

CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CN_PLATE = re.compile(f"[{CN_PROVINCES}][A-Z][A-Z0-9]{{5,6}}[挂学警港澳]?")
# Numbers, dates and clock times are text, not plates: 0.005, 12,50,
# 2014-05-08, 16.03.2020, 06:11:40, 10:00 AM.
_NOT_PLATE = re.compile(
    r"\d[.,]\d|\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2}:\d{2}|\d{1,2}:\d{2}\s?[AP]M",
    re.IGNORECASE,
)
Quads = NDArray[np.float32]  # (N, 4, 2): tl, tr, br, bl in image pixels


MODEL_MISSING = N_("the text detector's model was not found: the installation is damaged, "
                  "reinstall unseen")
MODEL_FILE_MISSING = N_("the text detector's model file {file} is missing from its package: "
                        "the installation is damaged, reinstall unseen")


def model_dir() -> Path:
    """The folder of ONNX files inside the installed rapidocr wheel (not imported:
    its wrapper is not used)."""
    try:
        spec = importlib.util.find_spec("rapidocr_onnxruntime")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UnseenError(MODEL_MISSING)
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for file in (DET_MODEL, REC_MODEL):
        if not (folder / file).is_file():
            raise UnseenError(MODEL_FILE_MISSING.format(file=file))
    return folder


def problem() -> str | None:
    """Why the text detector cannot run (a message to translate), or None."""
    try:
        model_dir()
    except UnseenError as exc:
        return str(exc)
    return None


def model_version() -> str:
    try:
        return f"{MODEL_PACKAGE} {version(MODEL_PACKAGE)} (PP-OCRv4)"
    except PackageNotFoundError:
        return f"{MODEL_PACKAGE} (not installed)"


MODEL_NAMES = {"ppocrv4-det": DET_MODEL, "ppocrv4-rec": REC_MODEL}
"""The text models by the name reports give them."""


def model_versions() -> dict[str, str]:
    """``name: package version, file, sha256 <first 16 hex digits>`` of the
    detector and the recogniser, for reports (the package alone when a file
    is missing)."""
    try:
        package = f"{MODEL_PACKAGE} {version(MODEL_PACKAGE)}"
    except PackageNotFoundError:
        return {name: f"{MODEL_PACKAGE} (not installed)" for name in MODEL_NAMES}
    try:
        folder = model_dir()
    except UnseenError:
        return {name: f"{package}, {file} missing" for name, file in MODEL_NAMES.items()}
    return {name: f"{package}, {file}, sha256 {file_digest(folder / file)[:16]}"
            for name, file in MODEL_NAMES.items()}


@functools.cache
def file_digest(path: Path) -> str:
    """SHA-256 of a model file, hex (read once per process)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class TextRegions:
    """What the text detector found: `detections` (kinds ``plate`` and ``text``,
    boxes that cover each region with a margin), the rotated region each box
    came from, and what the recogniser read (``None`` where it did not run).

    Readings identify people (a plate number is a name): keep them out of
    reports unless the user asks; `Detections.to_list` never holds them.
    """

    detections: Detections
    quads: Quads
    readings: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.detections)


def characters(text: str) -> str:
    """A reading's letters and digits (and Chinese characters), upper case:
    separators, the coat of arms read as ':' or '·', quotes dropped."""
    return "".join(c for c in text.upper() if c.isalnum())


def plate_reading(text: str) -> bool:
    """Does a reading look like a licence-plate number? Chinese (province,
    letter, 5-6 letters or digits), or European/US (4-8 letters and digits
    with at least one digit; digits alone need 5)."""
    if _NOT_PLATE.search(text) or _lower(text) > 1:
        return False  # "Arkansas": a word
    t = characters(text)
    if _CN_PLATE.fullmatch(t):
        return True
    if not (4 <= len(t) <= 8 and t.isascii()):
        return False
    digits = sum(c.isdigit() for c in t)
    return digits > 0 and (digits < len(t) or digits >= 5)


def partial_plate_reading(text: str) -> bool:
    """A reading that could be part of a plate: three to ten characters,
    mostly Latin, with letters and digits, or a Chinese province character
    and a letter."""
    if _NOT_PLATE.search(text) or _lower(text) > 1:
        return False
    t = characters(text)
    if not 3 <= len(t) <= 10:
        return False
    if t[0] in CN_PROVINCES and t[1].isascii() and t[1].isalpha():
        return True
    latin = sum(c.isascii() for c in t)
    return latin >= 0.7 * len(t) and any(c.isdigit() for c in t) and any(c.isalpha() for c in t)


def _lower(text: str) -> int:
    return sum(c.isascii() and c.islower() for c in text)


def reading_kind(text: str, confidence: float, plate_shaped: bool) -> str:
    """``plate``, ``text``, or ``""`` (nothing legible) for a region's reading."""
    chars = characters(text)
    if not chars or confidence < (LEGIBLE if len(chars) > 1 else LEGIBLE_ONE):
        return ""
    if plate_reading(text) or (plate_shaped and partial_plate_reading(text)):
        return "plate"
    return "text"


def plate_shape(quad: NDArray[np.floating], width: int, height: int) -> bool:
    """Is a rotated text region shaped like the characters of a plate: a
    single line 1.5 to 8 times longer than high, not tilted steeply, and small
    in the frame."""
    w = float(np.linalg.norm(quad[1] - quad[0]))
    h = float(np.linalg.norm(quad[3] - quad[0]))
    if h < 4 or w < h:
        return False
    angle = abs(math.degrees(math.atan2(quad[1][1] - quad[0][1], quad[1][0] - quad[0][0])))
    return 1.5 <= w / h <= 8.0 and angle <= 30 and h <= 0.25 * height and w <= 0.6 * width


class TextDetector:
    """PP-OCRv4 text detection, and recognition, on onnxruntime (CPU).

    With recognition (the default) every region is read: a region whose
    reading looks like a plate number (or, if it is shaped like a plate, part
    of one) is a ``plate``; other legible lines are ``text``; regions with
    nothing legible (textures: leaves, bricks) are dropped. ``recognize=False``
    is the fast path: no recogniser, kinds from the shape alone (every
    plate-shaped line is a ``plate``), nothing dropped. Regions beyond
    ``max_read`` (lowest detection scores first) are kept unread, as in the
    fast path.

    Resolution: the detection pass sees the image scaled so that its shorter
    side is at least ``min_side`` (small photos are upscaled) and its area at
    most ``max_megapixels``; passes larger than ``tile`` run as overlapping
    tiles. Plates about 55 px wide in the pass are found (the smallest in
    ../shared/data/plates), so a 12 MP photo at 2 MP finds plates from about
    135 px wide in the photo (at 4 MP: 95 px); the cost grows with the pass
    area, about 0.75 CPU-seconds per megapixel.
    """

    name = "text"

    def __init__(
        self,
        threads: int = 0,
        recognize: bool = True,
        min_side: int = 512,
        max_megapixels: float = 2.0,
        tile: int = 2048,
        box_threshold: float = 0.5,
        margin: float = 0.2,
        equalize: bool = True,
        max_read: int = 64,
    ) -> None:
        folder = model_dir()
        self._det = make_session((folder / DET_MODEL).read_bytes(), threads)
        self._rec: ort.InferenceSession | None = None
        self._charset: list[str] = []
        if recognize:
            self._rec = make_session((folder / REC_MODEL).read_bytes(), threads)
            meta = self._rec.get_modelmeta().custom_metadata_map
            # CTC classes: blank, the dictionary stored in the model, space.
            self._charset = ["", *meta["character"].splitlines(), " "]
        self._lock = threading.Lock()
        self.min_side = min_side
        self.max_megapixels = max_megapixels
        self.tile = tile
        self.box_threshold = box_threshold
        self.margin = margin
        self.equalize = equalize
        self.max_read = max_read

    @property
    def recognizes(self) -> bool:
        return self._rec is not None

    # public -------------------------------------------------------------
    def detect(self, image: RGBImage, threshold: float = 0.0) -> Detections:
        """Plates and text lines in ``image`` as ``plate``/``text`` boxes."""
        return self.read(image, threshold).detections

    def read(self, image: RGBImage, threshold: float = 0.0) -> TextRegions:
        """Plates and text lines, with the rotated regions and readings."""
        h, w = image.shape[:2]
        quads, scores = self.find_quads(image)
        keep = scores >= threshold
        quads, scores = quads[keep], scores[keep]
        kinds = ["plate" if plate_shape(q, w, h) else "text" for q in quads]
        readings: list[str | None] = [None] * len(quads)
        if self._rec is not None:
            wanted = np.argsort(-scores, kind="stable")[: self.max_read]
            for i, (text, conf) in zip(wanted, self.recognize(image, quads[wanted]), strict=True):
                readings[i] = text
                kinds[i] = reading_kind(text, conf, kinds[i] == "plate")
        found = np.array([k != "" for k in kinds], bool)
        quads, scores = quads[found], scores[found]
        kept = [i for i in range(len(kinds)) if found[i]]
        kept_kinds = np.array([kinds[i] for i in kept], np.str_)
        boxes = self.cover_boxes(quads, w, h, kept_kinds == "plate")
        dets = Detections(boxes, scores, kept_kinds)
        return TextRegions(dets, quads, tuple(readings[i] for i in kept))

    def cover_boxes(
        self, quads: Quads, width: int, height: int, plates: NDArray[np.bool_] | None = None
    ) -> NDArray[np.float32]:
        """Axis-aligned boxes around rotated regions, grown by ``margin`` of
        the region's height on every side (and 2 px), and plates by one more
        height to the left and right (the detector often splits a plate at the
        gap between its groups of characters), clipped to the image."""
        if not len(quads):
            return np.zeros((0, 4), np.float32)
        lo, hi = quads.min(axis=1), quads.max(axis=1)
        side = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
        pad = np.repeat((side * self.margin + 2)[:, None], 2, axis=1)
        if plates is not None:
            pad[:, 0] += np.where(plates, side * PLATE_EXTEND, 0)
        boxes = np.concatenate([lo - pad, hi + pad], axis=1)
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
        return boxes.astype(np.float32)

    # detection ------------------------------------------------------------
    def pass_scale(self, width: int, height: int) -> float:
        up = max(1.0, self.min_side / max(1, min(width, height)))
        cap = math.sqrt(self.max_megapixels * 1e6 / max(1, width * height))
        return min(up, cap)

    def find_quads(self, image: RGBImage) -> tuple[Quads, NDArray[np.float32]]:
        """Rotated text regions (tl, tr, br, bl) and their DB scores."""
        h, w = image.shape[:2]
        scale = self.pass_scale(w, h)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        scaled = image
        if (sw, sh) != (w, h):
            interp = cv2.INTER_AREA if sw < w else cv2.INTER_LINEAR
            scaled = np.asarray(cv2.resize(image, (sw, sh), interpolation=interp), np.uint8)
        if self.equalize:
            scaled = equalized(scaled)
        quads: list[Quads] = []
        scores: list[NDArray[np.float32]] = []
        if max(sw, sh) <= self.tile:
            q, s = self._detect_pass(scaled)
            quads.append(q)
            scores.append(s)
        else:
            for x1, y1, x2, y2 in tiles(sw, sh, self.tile, self.tile // 8):
                q, s = self._detect_pass(np.ascontiguousarray(scaled[y1:y2, x1:x2]))
                quads.append(q + np.array([x1, y1], np.float32))
                scores.append(s)
        all_q = np.concatenate(quads) if quads else np.zeros((0, 4, 2), np.float32)
        all_s = np.concatenate(scores) if scores else np.zeros((0,), np.float32)
        all_q = all_q * np.array([w / sw, h / sh], np.float32)
        all_q[..., 0] = np.clip(all_q[..., 0], 0, w)
        all_q[..., 1] = np.clip(all_q[..., 1], 0, h)
        return all_q.astype(np.float32), all_s.astype(np.float32)

    def _detect_pass(self, image: RGBImage) -> tuple[Quads, NDArray[np.float32]]:
        h, w = image.shape[:2]
        pad_w, pad_h = -w % ALIGN, -h % ALIGN
        if pad_w or pad_h:
            image = np.asarray(
                cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=0),
                np.uint8,
            )
        x = (image.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        with self._lock:
            prob = self._det.run(None, {"x": np.ascontiguousarray(x)})[0][0, 0, :h, :w]
        return db_regions(prob, self.box_threshold)

    # recognition ----------------------------------------------------------
    def recognize(self, image: RGBImage, quads: Quads) -> list[tuple[str, float]]:
        """The recogniser's reading of each rotated region of ``image``, with
        its confidence."""
        if self._rec is None or not len(quads):
            return [("", 0.0)] * len(quads)
        crops = [upright_crop(image, q) for q in quads]
        ratios = np.array([c.shape[1] / max(1, c.shape[0]) for c in crops])
        order = np.argsort(ratios)
        out = [("", 0.0)] * len(crops)
        for start in range(0, len(crops), REC_BATCH):
            idx = order[start : start + REC_BATCH]
            width = max(REC_MIN_WIDTH, math.ceil(REC_HEIGHT * float(ratios[idx].max())))
            batch = np.zeros((len(idx), 3, REC_HEIGHT, width), np.float32)
            for j, i in enumerate(idx):
                cw = min(width, max(1, math.ceil(REC_HEIGHT * float(ratios[i]))))
                line = cv2.resize(crops[i], (cw, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
                batch[j, :, :, :cw] = (line.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)
            with self._lock:
                probs = self._rec.run(None, {"x": batch})[0]
            for j, i in enumerate(idx):
                out[i] = ctc_decode(probs[j], self._charset)
        return out


def equalized(image: RGBImage) -> RGBImage:
    """Local contrast equalised (CLAHE on lightness): dim and low-contrast
    plates that the detector does not see as they are stand out."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(3.0, (8, 8)).apply(lab[..., 0])
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), np.uint8)


def db_regions(
    prob: NDArray[np.float32], box_threshold: float
) -> tuple[Quads, NDArray[np.float32]]:
    """DB post-processing: binarise the probability map, take each blob's
    rotated rectangle, keep it if its mean probability is high enough, and grow
    it back from the shrunk kernel to the text's extent."""
    mask = cv2.dilate((prob > BIN_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads, scores = [], []
    for contour in contours[:1000]:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 3:
            continue
        score = region_score(
            prob, np.asarray(cv2.boxPoints(((cx, cy), (rw, rh), angle)), np.float32)
        )
        if score < box_threshold:
            continue
        # Offsetting a rectangle by d (round joins) and taking the rotated
        # rectangle of the result adds d on every side: PP-OCR's unclip.
        d = rw * rh * UNCLIP / (2 * (rw + rh))
        rw, rh = rw + 2 * d, rh + 2 * d
        if min(rw, rh) < 5:
            continue
        quads.append(ordered(np.asarray(cv2.boxPoints(((cx, cy), (rw, rh), angle)), np.float32)))
        scores.append(score)
    if not quads:
        return np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32)
    return np.asarray(quads, np.float32), np.asarray(scores, np.float32)


def region_score(prob: NDArray[np.float32], points: NDArray[np.floating]) -> float:
    """Mean text probability inside a polygon (PP-OCR's 'fast' box score)."""
    h, w = prob.shape
    x1, y1 = np.clip(np.floor(points.min(0)).astype(int), 0, [w - 1, h - 1])
    x2, y2 = np.clip(np.ceil(points.max(0)).astype(int), 0, [w - 1, h - 1])
    mask = np.zeros((y2 - y1 + 1, x2 - x1 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(points - [x1, y1]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y1 : y2 + 1, x1 : x2 + 1], mask)[0])


def ordered(points: NDArray[np.floating]) -> NDArray[np.float32]:
    """Four corners as top-left, top-right, bottom-right, bottom-left (by x,
    then y: PP-OCR's order)."""
    p = np.asarray(points, np.float32)
    xs = p[np.argsort(p[:, 0], kind="stable")]
    left, right = xs[:2][np.argsort(xs[:2, 1])], xs[2:][np.argsort(xs[2:, 1])]
    return np.array([left[0], right[0], right[1], left[1]], np.float32)


def upright_crop(image: RGBImage, quad: NDArray[np.floating]) -> RGBImage:
    """The rotated region cut out and straightened; tall regions turned to read
    left to right."""
    w = max(1, round(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2]))))
    h = max(1, round(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), target)
    crop = cv2.warpPerspective(
        image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if h >= 1.5 * w:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def ctc_decode(probs: NDArray[np.float32], charset: list[str]) -> tuple[str, float]:
    """Greedy CTC: best class per step, repeats merged, blanks dropped; with
    the mean probability of the characters kept (0 when none)."""
    best = probs.argmax(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    text = "".join(charset[i] for i in best[keep] if i < len(charset))
    conf = float(probs[keep, best[keep]].mean()) if keep.any() else 0.0
    return text, conf
