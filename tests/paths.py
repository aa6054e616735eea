"""Where the tests find things: the repository, its test data, and the shared data
beside the repository (``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NO_PERSON = ROOT / "tests" / "data" / "no_person.json"
"""Photos of ../shared/data that show no person at all (good negatives)."""
