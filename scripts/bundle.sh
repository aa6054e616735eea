#!/usr/bin/env bash
# Build the self-contained Linux bundle of unseen (PyInstaller, one folder, every
# model inside) into dist/unseen/, then run it headless on the demo sample with
# no Python on its path and, where the system allows, no network: it must exit 0
# and write safe files (and nothing else) into the output folder.
#   bash scripts/bundle.sh            # build + smoke run
#   bash scripts/bundle.sh --no-smoke # build only
# Needs the project's .venv (scripts/test.sh or scripts/demo.sh make it).
# Windows and macOS: see docs/app.md ("A bundle that needs no Python"); not tested.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "bundle.sh: no .venv; run bash scripts/demo.sh (or scripts/test.sh) first" >&2
  exit 1
fi
# PyInstaller is pinned here (it is a build tool, not a dependency of unseen).
"$PY" -m pip install -q -c constraints/test.txt 'pyinstaller==6.22.3'
start=$(date +%s)
"$PY" scripts/bundle.py --dist dist --work build/pyinstaller
end=$(date +%s)
size=$(du -sm dist/unseen | cut -f1)
echo "bundle.sh: built dist/unseen in $((end - start)) s, ${size} MB"
[ "${1:-}" = "--no-smoke" ] && exit 0

smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
"$PY" scripts/make_sample.py "$smoke/sample" >/dev/null
run=(env -i "HOME=$smoke/home" "XDG_STATE_HOME=$smoke/state" "PATH=/usr/bin:/bin" "LANG=C.UTF-8")
if unshare -n true 2>/dev/null; then
  run=(unshare -n "${run[@]}")  # no network at all: the models are inside
fi
"${run[@]}" dist/unseen/unseen "$smoke/sample" -o "$smoke/safe" --report "$smoke/report.json"
found=$(cd "$smoke/safe" && find . -type f | sort | tr '\n' ' ')
if [ "$found" != "./astronaut.jpg ./crowd.png ./pan.mp4 " ]; then
  echo "bundle.sh: smoke run wrote [$found], not the three safe files" >&2
  exit 1
fi
echo "bundle.sh: smoke run passed: the bundle anonymized the sample (exit 0): $found"
