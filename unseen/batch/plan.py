"""Which inputs go where: every output path decided before anything is read.

`prepare_batch` (or `plan_jobs`) maps inputs (files and folders) to output paths,
keeping each file's path relative to its input folder (with neutral names for
names that tell when or with what) and refusing any mapping that would write
onto an input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media import MEDIA_SUFFIXES, PHOTO_SUFFIXES, VIDEO_SUFFIXES
from unseen.media.atomic import TEMP_PREFIX

if TYPE_CHECKING:
    from unseen.metadata.names import NamePlan


@dataclass(frozen=True)
class Job:
    """One input file and where its anonymized copy goes."""

    source: Path
    dest: Path
    skip_reason: str | None = None
    name: str = ""
    """The input relative to the folder it was found in (its file name, for a file
    given directly): what reports and the job state call it."""
    renamed: str | None = None
    """Why the output got a neutral name (the input's name told when, or with what)."""

    @property
    def display_name(self) -> str:
        return self.name or self.source.name


@dataclass(frozen=True)
class BatchPlan:
    """The jobs of a run, the folder receiving the outputs and the job's state folder."""

    jobs: list[Job]
    output: Path
    state: Path


def output_folder(inputs: Sequence[Path], out: Path) -> Path:
    """The folder that receives the outputs: ``out``, or its parent when a single
    file is written to exactly ``out``."""
    return out.parent if _out_is_file(inputs, out) else out


def prepare_batch(
    inputs: Sequence[Path], out: Path, state: Path | None = None, keep_names: bool = False
) -> BatchPlan:
    """Plan a run into ``out``: the state folder (`unseen.batch.jobdb.state_folder`;
    ``state``: ``--state DIR``) and the jobs, where outputs whose names tell when or
    with what they were made get neutral names unless ``keep_names``."""
    from unseen.batch.jobdb import job_secret, state_folder
    from unseen.metadata.names import NamePlan

    _check_inputs(inputs)
    output = output_folder(inputs, out)
    folder = state_folder(output, state)
    if inside(folder, output):
        raise UnseenError(N_("the job state would go into the output folder ({state}); give "
                             "--state DIR outside it").format(state=folder))
    names = None if keep_names else NamePlan(job_secret(folder))
    return BatchPlan(plan_jobs(inputs, out, names), output, folder)


def plan_jobs(inputs: Sequence[Path], out: Path, names: NamePlan | None = None) -> list[Job]:
    """Decide every output path before anything is read or written.

    A single file with an ``out`` that has a media suffix and is not a folder
    is written to exactly ``out``; otherwise ``out`` is a folder. With ``names``,
    files and folders whose names tell when or with what they were made get
    the neutral names of that plan (`unseen.metadata.names.NamePlan`).
    """
    _check_inputs(inputs)
    out_is_file = _out_is_file(inputs, out)
    jobs: list[Job] = []
    out_resolved = out.resolve()
    for p in inputs:
        if p.is_file():
            if out_is_file:
                jobs.append(Job(p, out, name=p.name))
            else:
                jobs.append(_job(p, out, PurePosixPath(p.name), names))
            continue
        for f in _walk(p, skip=out_resolved):
            rel = PurePosixPath(f.relative_to(p).as_posix())
            skip = None if f.suffix.lower() in MEDIA_SUFFIXES else "not a photo or video"
            jobs.append(_job(f, out, rel, names, skip))
    if names is not None:
        jobs = _longer_names_on_collision(jobs, out, names)
    _check_collisions(jobs)
    return jobs


def _job(source: Path, out: Path, rel: PurePosixPath, names: NamePlan | None,
         skip: str | None = None, longer: bool = False) -> Job:
    dest, reasons = names.neutral(rel, longer=longer) if names else (rel, [])
    return Job(source, out / dest, skip, name=rel.as_posix(), renamed="; ".join(reasons) or None)


def _longer_names_on_collision(jobs: list[Job], out: Path, names: NamePlan) -> list[Job]:
    by_dest: dict[Path, list[int]] = {}
    for i, j in enumerate(jobs):
        if not j.skip_reason:
            by_dest.setdefault(j.dest.resolve(), []).append(i)
    for idx in by_dest.values():
        if len(idx) < 2:
            continue
        for i in idx:
            j = jobs[i]
            if j.renamed:
                jobs[i] = _job(j.source, out, PurePosixPath(j.name), names, j.skip_reason, True)
    return jobs


def _check_inputs(inputs: Sequence[Path]) -> None:
    if not inputs:
        raise UnseenError(N_("no input given"))
    for p in inputs:
        if not p.exists():
            raise UnseenError(N_("{path}: no such file or folder").format(path=p))


def _out_is_file(inputs: Sequence[Path], out: Path) -> bool:
    return (
        len(inputs) == 1
        and inputs[0].is_file()
        and not out.is_dir()
        and not str(out).endswith(os.sep)
        and out.suffix.lower() in (PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    )


def inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def check_report_path(report: Path, output: Path) -> None:
    """Reports never go into the output folder: refuse a ``--report`` path inside it."""
    from unseen.report_html import html_path

    for p in (report, html_path(report)):
        if inside(p, output):
            raise UnseenError(
                N_("{path}: the report must not go into the output folder, which should hold "
                   "the safe files only; choose a path outside it").format(path=report)
            )


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
                N_("{file}: its output would overwrite an input file; choose another output "
                   "folder").format(file=j.source)
            )
        if d in seen:
            raise OutputError(N_("{first} and {second} would both be written to {dest}").format(
                first=j.source, second=seen[d], dest=j.dest))
        seen[d] = j.source
