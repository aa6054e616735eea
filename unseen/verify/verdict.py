"""The adversary's verdict on one output: safe or unsafe, and why.

`Finding` is one thing an attacker could still do with the file; `Verdict`
collects them. Numbers and words only, never pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from unseen.i18n import N_
from unseen.settings import VerifyMode

FindingKind = Literal["detected", "reidentified", "metadata", "unchecked", "sound", "plate"]
Severity = Literal["unsafe", "note"]


@dataclass(frozen=True)
class Finding:
    """One thing the adversary could still do with the output."""

    kind: FindingKind
    severity: Severity
    message: str
    box: tuple[float, float, float, float] | None = None
    size: float = 0.0
    distance: float | None = None
    detectors: tuple[str, ...] = ()
    frame: int | None = None
    """The video frame it was found in (None for photos and metadata)."""

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": self.kind, "severity": self.severity,
                                "message": self.message}
        if self.frame is not None:
            d["frame"] = self.frame
        if self.box is not None:
            d["box"] = [round(v, 1) for v in self.box]
            d["size"] = round(self.size, 1)
        if self.distance is not None:
            d["distance"] = round(self.distance, 3)
        if self.detectors:
            d["detectors"] = list(self.detectors)
        return d


@dataclass
class Verdict:
    """Safe or unsafe, and why; numbers and words only."""

    findings: list[Finding] = field(default_factory=list)
    mode: VerifyMode = "fast"
    faces_checked: int = 0
    """Original faces compared with the output (re-identification attempted;
    whether any matched is in the findings)."""
    faces_skipped: int = 0
    """Original faces too small (or over the budget) to compare."""
    distances: list[float] = field(default_factory=list)
    """Descriptor distance, original to output, per re-identified face."""
    seconds: dict[str, float] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    """What a first check found and unseen then fixed (before this verdict)."""

    @property
    def safe(self) -> bool:
        return not any(f.severity == "unsafe" for f in self.findings)

    @property
    def reasons(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "unsafe"]

    @property
    def notes(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "note"]

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def matches(self) -> int:
        """Original faces that still match the person in the output."""
        return sum(1 for f in self.findings
                   if f.kind == "reidentified" and f.severity == "unsafe")

    def comparison(self) -> str:
        """One line on the re-identification: how many faces were compared
        with the original person, and whether any still matches."""
        if not self.faces_checked and not self.faces_skipped:
            return N_("no face of the original was compared with the output")
        n = self.matches
        result = (N_("no match") if n == 0 else
                  N_("1 still matches the original person") if n == 1 else
                  N_("{n} still match the original person").format(n=n))
        line = N_("{n} face(s) compared with the original person: {result}").format(
            n=self.faces_checked, result=result)
        if self.faces_skipped:
            line += "; " + N_("{n} too small or over the budget to compare").format(
                n=self.faces_skipped)
        if self.distances:
            line += "; " + N_("closest distance {distance}").format(
                distance=f"{min(self.distances):.2f}")
        return line

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": "safe" if self.safe else "unsafe",
            "mode": self.mode,
            "reasons": self.reasons,
            "notes": self.notes,
            "findings": [f.to_dict() for f in self.findings],
            "faces_compared": self.faces_checked,
            "faces_not_compared": self.faces_skipped,
            "faces_matched": self.matches,
            "comparison": self.comparison(),
            "min_distance": round(min(self.distances), 3) if self.distances else None,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "repaired": self.repaired,
        }
