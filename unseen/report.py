"""What happened to each file, as numbers and words; never a single pixel.

`FileResult` is returned by the API for every input; `write_report` saves a
run as JSON. Boxes, counts, timings and messages only: no thumbnails, no
face crops, no original metadata values, no paths (files are named relative
to their input and output folders).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from unseen.detections import Detections
from unseen.media.atomic import atomic_output

if TYPE_CHECKING:
    from unseen.verify import Verdict

Status = Literal["written", "failed", "skipped", "unsafe", "done"]
"""``unsafe``: written, then judged unsafe by verification and not delivered.
``done``: already written by an earlier run with the same input and settings."""


@dataclass
class FileResult:
    """The outcome for one input file (or one in-memory image)."""

    input: str
    output: str | None = None
    kind: str = "photo"
    status: Status = "written"
    detections: Detections = field(default_factory=Detections.empty)
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    image: NDArray[np.uint8] | None = field(default=None, repr=False)
    """The redacted pixels, for in-memory calls; never written to reports."""
    verdict: Verdict | None = None
    """What the adversary (unseen.verify) found in the output; None if not run."""
    name: str | None = None
    """The input relative to the folder it came from (set by batch runs); reports
    use it, or the bare file name, never ``input`` itself (a path as typed)."""
    output_name: str | None = None
    """The output relative to the output folder (set by batch runs)."""
    renamed: str | None = None
    """Why the output got a neutral name instead of the input's."""
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage (videos): decode, detection passes, tracking, cover,
    verification, encoding."""

    @property
    def report_input(self) -> str:
        """How reports name the input: relative to its input folder, never a path."""
        return self.name or Path(self.input).name

    @property
    def report_output(self) -> str | None:
        """How reports name the output: relative to the output folder."""
        if self.output is None:
            return None
        return self.output_name or Path(self.output).name

    @property
    def faces(self) -> int:
        """Face regions (wider cover adds head, body, crowd and plate regions)."""
        return int((self.detections.kinds == "face").sum())

    @property
    def covered(self) -> dict[str, int]:
        """How many regions of each kind were covered."""
        from unseen.cover import count_kinds

        return count_kinds(self.detections)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "input": self.report_input,
            "output": self.report_output,
            "kind": self.kind,
            "status": self.status,
            "faces": self.faces,
            "covered": self.covered,
            "width": self.width,
            "height": self.height,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "warnings": self.warnings,
        }
        if self.renamed:
            d["renamed"] = self.renamed
        if self.kind == "video":
            d["frames"] = self.frames
            if self.stages:
                d["seconds_by_stage"] = self.stages
        else:
            d["regions"] = self.detections.to_list()
        if self.verdict is not None:
            d["verification"] = self.verdict.to_dict()
        return d


def write_report(
    path: Path, results: Sequence[FileResult], settings: dict[str, object], version: str
) -> None:
    """Save a run's results as JSON (atomically)."""
    from unseen.detect.models import model_versions

    doc = {
        "unseen": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "models": {**model_versions(text=_reads_text(settings)),
                   **_adversary_versions(settings)},
        "settings": settings,
        "summary": summarize(results),
        "files": [r.to_dict() for r in results],
    }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")


def _reads_text(settings: dict[str, object]) -> bool:
    """Whether the run used the text models (``--plates`` or ``--text``)."""
    return bool(settings.get("plates")) or bool(settings.get("text"))


def _adversary_versions(settings: dict[str, object]) -> dict[str, str]:
    if settings.get("verify", "off") == "off":
        return {}
    from unseen.verify import adversary_versions

    versions = adversary_versions()
    if settings.get("plates"):  # verification reads the written photo for plates too
        from unseen.detect.text import model_versions as text_versions

        versions.update(text_versions())
    return {f"verify: {k}": v for k, v in versions.items()}


def summarize(results: Sequence[FileResult]) -> dict[str, int]:
    out = {
        "files": len(results), "written": 0, "failed": 0, "skipped": 0, "unsafe": 0, "done": 0,
        "faces": 0,
    }
    for r in results:
        out[r.status] += 1
        out["faces"] += r.faces
    return out
