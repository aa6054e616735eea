#!/usr/bin/env bash
# Set up a virtualenv with the test extras and run the whole test suite,
# then the linters. Installs exiftool (the independent metadata reader the
# tests use), ffmpeg and Debian's chromium (the review UI's browser tests,
# driven by Playwright's Python API; no browser is downloaded) with apt-get
# when they are missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
missing=()
command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} missing; tests that need them will skip" >&2
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q -e '.[test,ray,web,cover]'
# Only the person-segmentation model file is used from this wheel (unseen/detect/person.py).
.venv/bin/pip install -q --no-deps 'mediapipe==0.10.21'
.venv/bin/python -m pytest -q "$@"
.venv/bin/ruff check unseen tests bench scripts
.venv/bin/mypy unseen
