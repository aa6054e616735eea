#!/usr/bin/env bash
# Set up a virtualenv, install unseen, make a sample and anonymize it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# The tested versions (constraints/test.txt); every model comes with this one install.
.venv/bin/pip install -q -c constraints/test.txt -e .
.venv/bin/python scripts/make_sample.py sample
# The report goes beside safe/, not into it: safe/ holds the safe files and nothing else.
.venv/bin/unseen sample -o safe --report demo-report.json
echo "anonymized copies are in safe/ (originals in sample/ are unchanged); report: demo-report.html"
