#!/usr/bin/env bash
# Set up a virtualenv with the test extras at the pinned versions of
# constraints/test.txt (so a fresh machine tests exactly what was tested),
# then run the whole test suite, the linters and the docs build. The linters
# and the docs build run even when tests fail; the script exits non-zero at the
# end if pytest (any failure, or no test collected), ruff, mypy or
# `mkdocs build --strict` (a broken link or anchor in docs/) failed. Installs
# exiftool (the independent metadata reader the tests use), ffmpeg and Debian's chromium
# (the review UI's browser tests, driven by Playwright's Python API; no
# browser is downloaded) with apt-get when they are missing and we are root.
# Arguments go to pytest (e.g. `bash scripts/test.sh tests/pipeline/test_video.py`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CONSTRAINTS=constraints/test.txt
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
# Chinese glyphs for the browser tests' screenshots (their assertions do not
# need them, so a failed install is only a note).
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq fonts-wqy-microhei; } >/dev/null 2>&1 \
    || echo "note: no Chinese font installed; screenshots show boxes for Chinese text" >&2
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Every model ships with unseen or with one of its dependencies: one install.
.venv/bin/pip install -q -c "$CONSTRAINTS" -e '.[test,ray,web]'
# tests/e2e/test_bundle.py builds the PyInstaller bundle from this tree and runs it
# headless (2-3 minutes and 0.7 GB in the temporary folder); UNSEEN_BUNDLE=0
# leaves it out.
if [ "${UNSEEN_BUNDLE:-1}" != 0 ]; then
  .venv/bin/pip install -q -c "$CONSTRAINTS" 'pyinstaller==6.22.3'
  export UNSEEN_BUNDLE_TEST=1
fi
# The environment must be the pinned one: a version other than the pin fails
# here; a package with no pin (a new dependency) is named, with the command
# that regenerates the constraints (see the top of constraints/test.txt).
.venv/bin/python scripts/check_pins.py "$CONSTRAINTS"

set +e
failed=()
.venv/bin/python -m pytest -q "$@"
rc=$?
case $rc in
  0) ;;
  5) echo "test.sh: pytest collected no test (exit 5)" >&2; failed+=("pytest (no tests)") ;;
  *) failed+=("pytest (exit $rc)") ;;
esac
.venv/bin/ruff check unseen tests bench scripts || failed+=(ruff)
.venv/bin/mypy unseen || failed+=(mypy)
# The manual (docs/, mkdocs.yml), built into a temporary folder so nothing lands
# in the tree; strict: a warning (a broken link or anchor) fails it. Not --quiet:
# it hides the warnings from --strict too, and the build would pass.
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$site" \
  || failed+=(mkdocs)
rm -rf "$site"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: pytest, ruff, mypy and mkdocs passed"
