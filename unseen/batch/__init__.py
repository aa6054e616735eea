"""Many files: which inputs go where, and running them one after another.

`plan_jobs` maps inputs (files and folders) to output paths, keeping each
file's name and its path relative to an input folder, and refuses any
mapping that would write onto an input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import OutputError, UnseenError
from unseen.media import MEDIA_SUFFIXES, PHOTO_SUFFIXES, VIDEO_SUFFIXES
from unseen.media.atomic import TEMP_PREFIX
from unseen.report import FileResult


@dataclass(frozen=True)
class Job:
    """One input file and where its anonymized copy goes."""

    source: Path
    dest: Path
    skip_reason: str | None = None


def plan_jobs(inputs: Sequence[Path], out: Path) -> list[Job]:
    """Decide every output path before anything is read or written.

    A single file with an ``out`` that has a media suffix and is not a folder
    is written to exactly ``out``; otherwise ``out`` is a folder.
    """
    if not inputs:
        raise UnseenError("no input given")
    for p in inputs:
        if not p.exists():
            raise UnseenError(f"{p}: no such file or folder")
    single_file = len(inputs) == 1 and inputs[0].is_file()
    out_is_file = (
        single_file
        and not out.is_dir()
        and not str(out).endswith(os.sep)
        and out.suffix.lower() in (PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    )
    jobs: list[Job] = []
    out_resolved = out.resolve()
    for p in inputs:
        if p.is_file():
            dest = out if out_is_file else out / p.name
            jobs.append(Job(p, dest))
            continue
        for f in _walk(p, skip=out_resolved):
            rel = f.relative_to(p)
            if f.suffix.lower() in MEDIA_SUFFIXES:
                jobs.append(Job(f, out / rel))
            else:
                jobs.append(Job(f, out / rel, skip_reason="not a photo or video"))
    _check_collisions(jobs)
    return jobs


def _walk(folder: Path, skip: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        rootp = Path(root)
        # Never descend into the output folder (it may sit inside the input)
        # nor into hidden folders.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (rootp / d).resolve() != skip)
        for name in sorted(files):
            if name.startswith(".") or name.startswith(TEMP_PREFIX):
                continue
            yield rootp / name


def _check_collisions(jobs: list[Job]) -> None:
    sources = {j.source.resolve() for j in jobs}
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.skip_reason:
            continue
        d = j.dest.resolve()
        if d in sources:
            raise OutputError(
                f"{j.source}: its output would overwrite an input file; "
                "choose another output folder"
            )
        if d in seen:
            raise OutputError(f"{j.source} and {seen[d]} would both be written to {j.dest}")
        seen[d] = j.source


def run_jobs(
    jobs: Sequence[Job],
    process: Callable[[Job], FileResult],
    on_done: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Process jobs in order; one failure never stops the rest."""
    results = []
    for job in jobs:
        if job.skip_reason:
            r = FileResult(input=str(job.source), status="skipped", error=job.skip_reason)
        else:
            r = process(job)
        results.append(r)
        if on_done:
            on_done(r)
    return results
