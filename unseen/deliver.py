"""The last stage: a judged file goes into place, or does not.

The pipeline writes every output into a staging file beside its destination
(`unseen.media.atomic.staging`) and judges it there; `deliver` then checks
its metadata (fail closed: anything identifying left and nothing is
delivered) and moves it into place when the verdict is safe, under a
``*.UNSAFE.*`` name when the person asked to keep unsafe outputs, or not at
all. It never calls back into the pipeline: every way of writing a safe file
(the CLI, the batch runners, Ray, the review UI) ends here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from unseen.i18n import N_
from unseen.media.atomic import move_into_place
from unseen.metadata import check_output
from unseen.verify.verdict import Verdict

UNSAFE_MARK = ".UNSAFE"


def unsafe_name(dest: Path) -> Path:
    """Where an unsafe output goes with ``allow_unsafe``: ``name.UNSAFE.jpg``."""
    return dest.with_name(f"{dest.stem}{UNSAFE_MARK}{dest.suffix}")


@dataclass(frozen=True)
class Delivery:
    """What became of a judged file: ``written`` (at ``output``), or ``unsafe``
    (withheld, or kept at ``output`` under an ``*.UNSAFE.*`` name)."""

    status: Literal["written", "unsafe"]
    output: Path | None
    error: str | None = None
    warning: str | None = None


def deliver(staged: Path, dest: Path, verdict: Verdict | None, allow_unsafe: bool = False
            ) -> Delivery:
    """Put the judged file ``staged`` at ``dest`` if ``verdict`` calls it safe
    (None: verification was off). Raises `IncompleteRedactionError` when the
    file still carries metadata; then, as when it is withheld, nothing is
    left of it."""
    check_output(staged)  # fail closed, whatever verification said: deleted and raised
    if verdict is None or verdict.safe:
        move_into_place(staged, dest)
        return Delivery("written", dest)
    reasons = "; ".join(verdict.reasons[:3])
    if allow_unsafe:
        marked = unsafe_name(dest)
        move_into_place(staged, marked)
        return Delivery("unsafe", marked, warning=N_(
            "UNSAFE output kept as {name}: {reasons}").format(name=marked.name, reasons=reasons))
    staged.unlink(missing_ok=True)
    more = f" (+{len(verdict.reasons) - 3} more)" if len(verdict.reasons) > 3 else ""
    return Delivery("unsafe", None, error=N_(
        "judged unsafe, not delivered: {reasons} (--allow-unsafe keeps it as "
        "*.UNSAFE.*)").format(reasons=reasons + more))
