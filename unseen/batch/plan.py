"""Which inputs go where: every output path decided before anything is read.

`prepare_batch` (or `plan_jobs`) walks the inputs once, safely (`walk_inputs`: links
to folders are not followed, loops are seen, only regular files are taken, and an entry
that cannot be taken is a skipped job with its reason, never the end of the run), and
maps each file to an output path, keeping its path relative to its input folder (with
neutral names for names that tell when, with what or whom). The output folder can never
hold an input: that is decided by identity (device and inode, resolved paths), not by
name (`check_output_folder`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media import MEDIA_SUFFIXES, PHOTO_SUFFIXES, VIDEO_SUFFIXES
from unseen.media.atomic import TEMP_PREFIX
from unseen.metadata.names import shown

if TYPE_CHECKING:
    from unseen.metadata.names import NamePlan

NOT_MEDIA = N_("not a photo or video")
"""The skip reason of a regular file that is not media: counted, not printed."""
FIFO = N_("a named pipe (FIFO), not a file: not read")
DEVICE = N_("a device, not a file: not read")
SOCKET = N_("a socket, not a file: not read")
NOT_REGULAR = N_("not a regular file: not read")
BROKEN_LINK = N_("a link that leads nowhere")
LINK_LOOP = N_("a loop of links (it leads back to itself)")
FOLDER_LINK = N_("a link to a folder: links to folders are not followed")
FOLDER_LOOP = N_("a folder already walked (a loop): not walked again")
INTO_OUTPUT = N_("leads into the output folder: not read")
UNREADABLE = N_("cannot be read: {reason}")
TOO_DEEP = N_("folders nested too deep: not walked")
MAX_DEPTH = 200


@dataclass(frozen=True)
class Job:
    """One input file and where its anonymized copy goes."""

    source: Path
    dest: Path
    skip_reason: str | None = None
    name: str = ""
    """The input relative to the folder it was found in (its file name, for a file
    given directly): what reports call it (`display_name`)."""
    renamed: str | None = None
    """Why the output got a neutral name (the input's name told when, with what or whom)."""

    @property
    def display_name(self) -> str:
        """The name reports and messages use: relative, printable (bytes that are not
        UTF-8 escaped, `unseen.metadata.names.shown`)."""
        return shown(self.name or self.source.name)

    @property
    def noticed(self) -> bool:
        """A skipped entry worth a line of its own (a FIFO, a link loop ...), not a
        plain file that is not media."""
        return self.skip_reason is not None and self.skip_reason != NOT_MEDIA


@dataclass(frozen=True)
class BatchPlan:
    """The jobs of a run, the folder receiving the outputs and where its job state is."""

    jobs: list[Job]
    output: Path
    state: Path | None
    """The job state folder: ``--state DIR``, or the one an earlier run of this job
    left (interrupted, or kept with ``--resume``); None for a new job (`run_batch`
    makes one)."""
    secret: bytes
    """The job's secret: the neutral names were made with it."""
    to_file: bool = False
    """A single input written to exactly the file ``-o`` names (not into a folder)."""


def output_folder(inputs: Sequence[Path], out: Path) -> Path:
    """The folder that receives the outputs: ``out``, or its parent when a single
    file is written to exactly ``out``."""
    return out.parent if _out_is_file(inputs, out) else out


def prepare_batch(
    inputs: Sequence[Path], out: Path, state: Path | None = None, keep_names: bool = False
) -> BatchPlan:
    """Plan a run into ``out``. Nothing is written: the job state (``state``:
    ``--state DIR``) is only looked for, to resume a job with the same neutral names;
    outputs whose names tell when, with what or whom get neutral names unless
    ``keep_names``."""
    import secrets

    from unseen.batch.jobdb import find_state, read_secret
    from unseen.metadata.names import NamePlan

    _check_inputs(inputs)
    output = output_folder(inputs, out)
    if state is not None and inside(state, output):
        raise UnseenError(N_("the job state would go into the output folder ({state}); give "
                             "--state DIR outside it").format(state=state))
    found = find_state(output, state)
    secret = (read_secret(found) if found is not None else None) or secrets.token_bytes(32)
    names = None if keep_names else NamePlan(secret)
    return BatchPlan(plan_jobs(inputs, out, names), output, found or state, secret,
                     _out_is_file(inputs, out))


def plan_jobs(inputs: Sequence[Path], out: Path, names: NamePlan | None = None) -> list[Job]:
    """Decide every output path before anything is read or written.

    A single file with an ``out`` that has a media suffix and is not a folder
    is written to exactly ``out``; otherwise ``out`` is a folder. With ``names``,
    files and folders whose names tell when, with what or whom get the neutral names
    of that plan (`unseen.metadata.names.NamePlan`). Refuses (`OutputError`) an output
    folder that is or holds an input (`check_output_folder`).
    """
    _check_inputs(inputs)
    out_is_file = _out_is_file(inputs, out)
    if not out_is_file:  # one file to a file: only that file is the output (collisions)
        check_output_folder(inputs, out)
    jobs: list[Job] = []
    for entry in walk_inputs(inputs, out.parent if out_is_file else out):
        if entry.reason is not None:
            jobs.append(Job(entry.path, out / entry.rel, entry.reason, name=entry.rel))
        elif out_is_file:
            jobs.append(Job(entry.path, out, name=entry.rel))
        else:
            skip = None if entry.path.suffix.lower() in MEDIA_SUFFIXES else NOT_MEDIA
            jobs.append(_job(entry.path, out, PurePosixPath(entry.rel), names, skip))
    if names is not None:
        jobs = _longer_names_on_collision(jobs, out, names)
    _check_collisions(jobs)
    return jobs


# walking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One thing found among the inputs: a regular file to read (``reason`` None), or
    an entry that is not read, and why."""

    path: Path
    rel: str
    """Relative to the input folder (the file's own name for a file given directly);
    bytes that are not UTF-8 are kept (as Python keeps them), never decoded."""
    reason: str | None = None


def walk_inputs(inputs: Sequence[Path], output: Path | None = None) -> Iterator[Entry]:
    """Every entry under ``inputs``, once, in order: regular files (a link to a regular
    file counts as one), and what is not read with its reason. Links to folders are not
    followed, a folder reached twice (a loop through a mount) is walked once, FIFOs,
    devices and sockets are never opened, and neither hidden names nor unseen's own
    temporary files nor the ``output`` folder are walked."""
    out_id = _identity(output) if output is not None else None
    out_real = _resolved(output) if output is not None else None
    seen: set[tuple[int, int]] = set()
    for p in inputs:
        try:
            st = os.stat(p)
        except OSError as exc:
            yield Entry(p, p.name, _link_problem(p, exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            seen.add((st.st_dev, st.st_ino))
            yield from _walk_folder(p, "", seen, out_id, out_real, 0)
        else:
            yield _file_entry(p, p.name, st, out_real)


def _walk_folder(folder: Path, rel: str, seen: set[tuple[int, int]],
                 out_id: tuple[int, int] | None, out_real: Path | None, depth: int
                 ) -> Iterator[Entry]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Entry(folder, rel or folder.name,
                    UNREADABLE.format(reason=exc.strerror or exc))
        return
    for e in entries:
        if e.name.startswith(".") or e.name.startswith(TEMP_PREFIX):
            continue
        path = Path(e.path)
        child = f"{rel}/{e.name}" if rel else e.name
        try:
            lst = e.stat(follow_symlinks=False)
        except OSError as exc:
            yield Entry(path, child, UNREADABLE.format(reason=exc.strerror or exc))
            continue
        if stat.S_ISDIR(lst.st_mode):
            ident = (lst.st_dev, lst.st_ino)
            if ident == out_id:
                continue  # the output folder inside an input: never walked
            if ident in seen:
                yield Entry(path, child, FOLDER_LOOP)
                continue
            if depth >= MAX_DEPTH:
                yield Entry(path, child, TOO_DEEP)
                continue
            seen.add(ident)
            yield from _walk_folder(path, child, seen, out_id, out_real, depth + 1)
            continue
        if stat.S_ISLNK(lst.st_mode):
            try:
                st = os.stat(path)
            except OSError as exc:
                yield Entry(path, child, _link_problem(path, exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                yield Entry(path, child, FOLDER_LINK)
                continue
            yield _file_entry(path, child, st, out_real)
            continue
        yield _file_entry(path, child, lst, None)


def _file_entry(path: Path, rel: str, st: os.stat_result, out_real: Path | None) -> Entry:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if out_real is not None and path.is_symlink():
            target = _resolved(path)
            if target is not None and target.is_relative_to(out_real):
                return Entry(path, rel, INTO_OUTPUT)
        return Entry(path, rel)
    if stat.S_ISFIFO(mode):
        return Entry(path, rel, FIFO)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Entry(path, rel, DEVICE)
    if stat.S_ISSOCK(mode):
        return Entry(path, rel, SOCKET)
    return Entry(path, rel, NOT_REGULAR)


def _link_problem(path: Path, exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return LINK_LOOP
    if exc.errno == errno.ENOENT and os.path.lexists(path):
        return BROKEN_LINK
    return UNREADABLE.format(reason=exc.strerror or exc)


# identity ---------------------------------------------------------------------------


def _identity(path: Path | None) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` leads to, or None when there is nothing."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _resolved(path: Path | None) -> Path | None:
    """``path`` with every link resolved, or None when it cannot be (a loop)."""
    if path is None:
        return None
    try:
        return Path(os.path.realpath(path))
    except (OSError, RuntimeError, ValueError):
        return None


def _folders_above(path: Path) -> Iterator[tuple[int, int]]:
    """The identities of ``path`` and of every folder that holds it, as the file
    system has them (a bind mount of the output folder is the output folder)."""
    real = _resolved(path)
    if real is None:
        return
    for p in (real, *real.parents):
        ident = _identity(p)
        if ident is not None:
            yield ident


def check_output_folder(inputs: Sequence[Path], output: Path) -> None:
    """Refuse an output folder that is an input folder or holds an input (a file or a
    folder given, by identity: device and inode, through links and mounts). An output
    folder inside an input folder is fine: it is never walked."""
    out_id = _identity(output)
    out_real = _resolved(output)
    for p in inputs:
        real = _resolved(p)
        if out_id is not None and out_id in set(_folders_above(p)):
            if _identity(p) == out_id:
                raise OutputError(N_("{folder}: the output folder is an input folder; choose a "
                                     "new or empty folder, which will hold the safe files "
                                     "only").format(folder=shown(str(output))))
            raise OutputError(N_("{path}: this input is inside the output folder {folder}; "
                                 "choose an output folder that holds no input").format(
                path=shown(str(p)), folder=shown(str(output))))
        if out_real is not None and real is not None and real.is_relative_to(out_real):
            raise OutputError(N_("{path}: this input is inside the output folder {folder}; "
                                 "choose an output folder that holds no input").format(
                path=shown(str(p)), folder=shown(str(output))))


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (resolved; by identity when both exist)."""
    real, root = _resolved(path), _resolved(folder)
    if real is not None and root is not None and real.is_relative_to(root):
        return True
    root_id = _identity(folder)
    return root_id is not None and root_id in set(_folders_above(path))


# jobs -------------------------------------------------------------------------------


def _job(source: Path, out: Path, rel: PurePosixPath, names: NamePlan | None,
         skip: str | None = None, longer: bool = False) -> Job:
    dest, reasons = names.neutral(rel, longer=longer) if names else (rel, [])
    return Job(source, out / dest, skip, name=rel.as_posix(), renamed="; ".join(reasons) or None)


def _longer_names_on_collision(jobs: list[Job], out: Path, names: NamePlan) -> list[Job]:
    by_dest: dict[Path, list[int]] = {}
    for i, j in enumerate(jobs):
        if not j.skip_reason:
            by_dest.setdefault(_resolved(j.dest) or j.dest, []).append(i)
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
        if not os.path.lexists(p):
            raise UnseenError(N_("{path}: no such file or folder").format(path=shown(str(p))))


def _out_is_file(inputs: Sequence[Path], out: Path) -> bool:
    return (
        len(inputs) == 1
        and inputs[0].is_file()
        and not out.is_dir()
        and not str(out).endswith(os.sep)
        and out.suffix.lower() in (PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    )


def check_report_path(report: Path, output: Path) -> None:
    """Reports never go into the output folder: refuse a ``--report`` path inside it."""
    from unseen.report_html import html_path

    for p in (report, html_path(report)):
        if inside(p, output):
            raise UnseenError(
                N_("{path}: the report must not go into the output folder, which should hold "
                   "the safe files only; choose a path outside it").format(path=report)
            )


def _check_collisions(jobs: list[Job]) -> None:
    sources: dict[tuple[int, int], Path] = {}
    for j in jobs:
        if not j.skip_reason:
            ident = _identity(j.source)
            if ident is not None:
                sources[ident] = j.source
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.skip_reason:
            continue
        ident = _identity(j.dest)
        if ident is not None and ident in sources:
            raise OutputError(
                N_("{file}: its output would overwrite an input file; choose another output "
                   "folder").format(file=shown(str(j.source)))
            )
        d = _resolved(j.dest) or j.dest
        if d in seen:
            raise OutputError(N_("{first} and {second} would both be written to {dest}").format(
                first=shown(str(j.source)), second=shown(str(seen[d])),
                dest=shown(str(j.dest))))
        seen[d] = j.source
