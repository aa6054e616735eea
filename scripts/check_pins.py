"""Check that this interpreter's installed packages are the pinned ones.

Run by scripts/test.sh after installing: a pinned package at another version
or torch installed fails (exit 1); an installed package without a pin is
named (a dependency was added without regenerating the constraints file).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

# Not pinned in the constraints file: the project itself and the packaging tools
# (PyInstaller, pinned where scripts/bundle.sh and scripts/test.sh install it).
UNPINNED_OK = {"unseen", "pip", "setuptools", "wheel", "pyinstaller",
               "pyinstaller-hooks-contrib", "altgraph"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line that applies here."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req, _, marker = line.partition(";")
        if marker.strip():
            from packaging.markers import Marker

            if not Marker(marker).evaluate():
                continue
        name, sep, version = req.partition("==")
        if sep:
            out[normalize(name.split("[")[0])] = version.strip()
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "constraints/test.txt")
    pinned = pins(path)
    installed = {
        normalize(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    wrong = sorted(
        f"{name} {installed[name]} (pinned {pinned[name]})"
        for name in pinned.keys() & installed.keys()
        if installed[name] != pinned[name]
    )
    loose = sorted(set(installed) - set(pinned) - UNPINNED_OK)
    regen = next(
        (ln.strip("# ").strip() for ln in path.read_text().splitlines() if "compile" in ln), ""
    )
    if loose:
        print(
            f"check_pins: installed without a pin in {path}: {', '.join(loose)}\n"
            f"  regenerate the pins: {regen}",
            file=sys.stderr,
        )
    if wrong:
        print(f"check_pins: not the pinned versions: {'; '.join(wrong)}", file=sys.stderr)
    banned = sorted({"torch", "torchvision"} & (set(installed) | set(pinned)))
    if banned:
        print(f"check_pins: must never be installed: {', '.join(banned)}", file=sys.stderr)
    return 1 if wrong or banned else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
