"""The app's job: the photos and videos a person chose, what to hide, processing them
through the batch engine, and saving the safe files to a folder of their choice.

A job keeps everything it writes in one private folder under the per-user state
folder (`app_root`): the staged safe files, the batch job state (reviews too) and
the copies of files dropped into a browser page. The folder is deleted when the
job is saved or discarded. The chosen files' paths are held in memory only: the
job state names files relative to where they were chosen and keys them by HMAC
(`unseen.batch.jobdb`), so nothing on disk matches an original's path or hash.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from unseen.batch import Job, exclusive_lock
from unseen.batch.plan import inside, walk_inputs
from unseen.batch.run import MIN_FREE_BYTES, check_writable
from unseen.errors import OutputError, UnseenError
from unseen.i18n import N_
from unseen.media import MEDIA_SUFFIXES, media_kind
from unseen.media.atomic import atomic_output
from unseen.metadata.names import shown
from unseen.report import FileResult
from unseen.settings import AUDIO_MODES, AudioMode, CoverMode, Settings

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from unseen.batch.engines import FrameProgress
    from unseen.batch.jobdb import Forgotten

COVER_MODES: tuple[CoverMode, ...] = ("face", "head", "body")
MAX_FILES = 10_000
UPLOAD_MAX_BYTES = 8 << 30
"""The largest file a browser may drop into the page (a long phone video)."""
_NAME_OK = re.compile(r"[^\w .()+,=@-]", re.UNICODE)


class AppError(UnseenError):
    """Something a person asked the app for that it cannot do (one line, shown in the page)."""


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, outermost first (what a
    failed save removes again)."""
    missing: list[Path] = []
    for p in [folder, *folder.parents]:
        if os.path.lexists(p):
            break
        missing.append(p)
    return missing[::-1]


def app_root() -> Path:
    """Where the app keeps its job: ``<per-user state folder>/unseen/app``."""
    import platformdirs

    return Path(platformdirs.user_state_dir("unseen", appauthor=False)) / "app"


@dataclass(frozen=True)
class Choices:
    """What to hide, in the words the page uses; the rest of the settings stay safe defaults."""

    cover: CoverMode = "face"
    """``face``, whole ``head`` or whole ``body`` (whole people)."""
    plates: bool = False
    text: bool = False
    audio: AudioMode = "drop"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Choices:
        cover = d.get("cover", "face")
        audio = d.get("audio", "drop")
        if cover not in COVER_MODES:
            raise AppError(N_("unknown choice of what to cover: {value}").format(
                value=repr(cover)))
        if audio not in AUDIO_MODES:
            raise AppError(N_("unknown choice for the sound: {value}").format(
                value=repr(audio)))
        plates, text = d.get("plates", False), d.get("text", False)
        if not isinstance(plates, bool) or not isinstance(text, bool):
            raise AppError(N_("plates and text are yes or no"))
        return cls(cover, plates, text, audio)

    def to_dict(self) -> dict[str, Any]:
        return {"cover": self.cover, "plates": self.plates, "text": self.text,
                "audio": self.audio}

    def settings(self, base: Settings) -> Settings:
        return replace(base, cover=self.cover, plates=self.plates,
                       text=self.text).with_audio(self.audio)


def forget_app(root: Path | None = None) -> Forgotten:
    """Remove the app's job (staged safe copies, job state, dropped copies) unless an
    app holds it (then ``busy``)."""
    from unseen.batch.jobdb import Forgotten

    root = root if root is not None else app_root()
    if not root.is_dir():
        return Forgotten(0, 0)
    try:
        lock = exclusive_lock(root / "lock")
    except OSError:
        return Forgotten(0, 1)
    try:
        had = (root / "job").exists()
        shutil.rmtree(root / "job", ignore_errors=True)
    finally:
        lock.release()
    with contextlib.suppress(OSError):
        (root / "lock").unlink()
        root.rmdir()
    return Forgotten(int(had), 0)


@dataclass
class ChosenFile:
    """One photo or video in the job. ``source`` is never written anywhere."""

    name: str
    """Unique in the job, relative and printable (`unseen.metadata.names.shown`):
    ``march.mp4``, or ``folder/sub/a.jpg`` for a folder; what the page shows and sends."""
    source: Path
    kind: str
    uploaded: bool = False
    rel: str = ""
    """The name as found (bytes that are not UTF-8 kept): its neutral name is made
    from it."""
    state: str = "waiting"
    """waiting, working, written (safe), unsafe, failed, or done (by an earlier run)."""
    progress: float = 0.0
    result: FileResult | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        verdict = None
        if r is not None and r.verdict is not None:
            verdict = "safe" if r.verdict.safe else "unsafe"
        return {"name": self.name, "kind": self.kind, "state": self.state,
                "progress": round(self.progress, 3), "uploaded": self.uploaded,
                "faces": r.faces if r is not None and r.status != "done" else None,
                "output": r.report_output if r is not None else None,
                "verdict": verdict, "error": r.error if r is not None else None,
                "warnings": list(r.warnings) if r is not None else []}


@dataclass
class AppJob:
    """The files a person chose, their choices, and where the work is.

    ``root`` holds the job (default `app_root`); one app at a time may use it.
    ``workers``: files processed in parallel (default: one per core).
    """

    root: Path = field(default_factory=app_root)
    base: Settings = field(default_factory=Settings)
    workers: int = 0
    choices: Choices = field(default_factory=Choices)
    files: list[ChosenFile] = field(default_factory=list)
    running: bool = False
    stopping: bool = False
    saved: dict[str, Any] | None = None
    """What the last save wrote (folder, names), for the page."""
    last_results: list[FileResult] = field(default_factory=list)
    """The results of the job before the last save or discard (for its report)."""
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    roots: list[Path] = field(default_factory=list)
    """The folders files were added from (and those holding files added one by one):
    saving into one of them, or below, is refused."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lockfile = _hold_lock(self.root / "lock")
        self.folder = self.root / "job"
        self.staged = self.folder / "staged"
        """The batch's output folder: safe files only, until they are saved."""
        self.state = self.folder / "state"
        self.uploads = self.folder / "uploads"
        # Copies dropped into an earlier app's page: that job's list of files is
        # gone with it (it is never written down), so they can only be removed.
        shutil.rmtree(self.uploads, ignore_errors=True)
        self._make_folders()

    def _make_folders(self) -> None:
        for p in (self.folder, self.staged, self.state, self.uploads):
            p.mkdir(parents=True, exist_ok=True, mode=0o700)

    def close(self) -> None:
        """The app closes: uploaded copies go (the staged files and the job state
        stay, so adding the same files again resumes the job)."""
        shutil.rmtree(self.uploads, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._lockfile.release()

    @property
    def settings(self) -> Settings:
        return self.choices.settings(self.base)

    # choosing files --------------------------------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> list[str]:
        """Add photos, videos and folders (their media files, sub-folders included),
        walked safely (`unseen.batch.plan.walk_inputs`). Returns one line per path or
        entry that was not added, saying why."""
        problems: list[str] = []
        with self.lock:
            self._not_running()
            for raw in paths:
                text = str(raw).strip().strip('"')
                if not text:
                    continue
                p = Path(os.path.expanduser(text))
                if not p.is_absolute():
                    problems.append(N_("{path}: give the full path of the file or "
                                       "folder").format(path=shown(text)))
                    continue
                if not os.path.lexists(p):
                    problems.append(N_("{path}: no such file or folder").format(
                        path=shown(text)))
                    continue
                folder = p.is_dir()
                before = len(self.files)
                found = 0
                for entry in walk_inputs([p]):
                    rel = f"{p.name}/{entry.rel}" if folder else entry.rel
                    if entry.reason is not None:
                        problems.append(N_("{name}: not added: {reason}").format(
                            name=shown(rel), reason=entry.reason))
                        continue
                    if entry.path.suffix.lower() not in MEDIA_SUFFIXES:
                        continue
                    found += 1
                    problems += self._add(entry.path, rel)
                if folder and not found:
                    problems.append(N_("{path}: no photos or videos in this "
                                       "folder").format(path=shown(text)))
                if len(self.files) > before:
                    root = os.path.realpath(p if folder else p.parent)
                    if Path(root) not in self.roots:
                        self.roots.append(Path(root))
        return problems

    def add_upload(self, name: str, chunks: Iterable[bytes]) -> ChosenFile:
        """A file dropped into the page: copied into the job's private folder
        (deleted with the job) and added under its own name."""
        upload = self.begin_upload(name)
        try:
            for chunk in chunks:
                upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        return upload.finish()

    def begin_upload(self, name: str) -> Upload:
        """Start receiving a dropped file (`Upload.write`, then `Upload.finish`)."""
        clean = _NAME_OK.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip(" .")
        if not clean or Path(clean).suffix.lower() not in MEDIA_SUFFIXES:
            raise AppError(N_("{name}: not a photo or video unseen reads").format(name=name))
        with self.lock:
            self._not_running()
            folder = self.uploads / secrets.token_hex(8)
            folder.mkdir(mode=0o700)
        return Upload(self, folder / clean)

    def _add(self, path: Path, rel: str, uploaded: bool = False) -> list[str]:
        name = shown(rel)
        real = Path(os.path.realpath(path))
        if not uploaded and inside(real, self.root):
            return [N_("{name}: a file of unseen's own job folder").format(name=name)]
        if any(f.source == real for f in self.files):
            return []  # already in the job
        kind = media_kind(real)
        if kind not in ("photo", "video"):
            why = {"raw": N_("{name}: camera RAW files are not supported yet"),
                   "gif": N_("{name}: GIF files are not supported yet")}.get(
                       kind, N_("{name}: not a photo or video"))
            return [why.format(name=name)]
        if len(self.files) >= MAX_FILES:
            return [N_("{name}: at most {count} files in one job").format(
                name=name, count=MAX_FILES)]
        self.files.append(ChosenFile(self._unique(name), real, kind, uploaded, rel=rel))
        self.saved = None
        return []

    def _unique(self, name: str) -> str:
        taken = {f.name.lower() for f in self.files}
        if name.lower() not in taken:
            return name
        p = PurePosixPath(name)
        for i in range(2, MAX_FILES + 2):
            candidate = str(p.with_name(f"{p.stem} ({i}){p.suffix}"))
            if candidate.lower() not in taken:
                return candidate
        raise AppError(N_("{name}: too many files of this name").format(name=name))

    def remove(self, name: str) -> None:
        with self.lock:
            self._not_running()
            f = self.file(name)
            self.files.remove(f)
            if f.uploaded:
                shutil.rmtree(f.source.parent, ignore_errors=True)

    def file(self, name: str) -> ChosenFile:
        for f in self.files:
            if f.name == name:
                return f
        raise AppError(N_("no such file in this job"))

    def set_choices(self, choices: Choices) -> bool:
        """New choices; True when they differ (the files are then processed again)."""
        with self.lock:
            self._not_running()
            if choices == self.choices:
                return False
            self.choices = choices
            for f in self.files:
                f.state, f.progress, f.result = "waiting", 0.0, None
            return True

    def _not_running(self) -> None:
        if self.running:
            raise AppError(N_("wait until the files are processed"))

    # the plan ----------------------------------------------------------------------
    def jobs(self) -> dict[str, Job]:
        """Name -> batch job (into the staged folder), for the chosen files only."""
        from unseen.batch.jobdb import job_secret
        from unseen.metadata.names import NamePlan

        names = NamePlan(job_secret(self.state))
        out: dict[str, Job] = {}
        for f in list(self.files):
            dest, reasons = names.neutral(PurePosixPath(f.rel or f.name))
            out[f.name] = Job(f.source, self.staged / dest, name=f.name,
                              renamed="; ".join(reasons) or None)
        return out

    # processing ----------------------------------------------------------------------
    def process(self, on_change: Callable[[], None] | None = None) -> None:
        """Process every chosen file through `unseen.batch.run_batch` (resumable: what
        an earlier run or a review export already wrote with the same settings is
        kept). Blocks; progress is in `snapshot`. Errors of single files are theirs."""
        self.claim()
        self.run_claimed(on_change)

    def claim(self) -> None:
        """Mark the job as processing (`run_claimed` does it, e.g. in a thread)."""
        with self.lock:
            self._not_running()
            if not self.files:
                raise AppError(N_("add photos or videos first"))
            self.running, self.stopping, self.error = True, False, None
            self.started, self.finished = time.time(), None

    def run_claimed(self, on_change: Callable[[], None] | None = None) -> None:
        """The processing `claim` started; blocks until every file is done."""
        from unseen.batch import run_batch

        with self.lock:
            jobs = self.jobs()
            by_source = {j.source: self.file(n) for n, j in jobs.items()}
            order = [by_source[j.source] for j in jobs.values()]
            for f in order:
                f.state, f.progress = "waiting", 0.0
        workers = self.workers or os.cpu_count() or 1
        workers = 1 if len(order) == 1 else workers
        pending = list(order)

        def working() -> list[ChosenFile]:
            # The engine takes files in order, ``workers`` at a time.
            return [f for f in pending if f.state in ("waiting", "working")][:workers]

        def started(n: int) -> None:
            for f in working():
                f.state = "working"

        def frame(job: Job, p: FrameProgress) -> None:
            f = by_source.get(job.source)
            if f is not None and p.total:
                done = p.frame + (p.total if p.stage == "redact" else 0)
                f.state = "working"
                f.progress = min(0.99, done / (2 * p.total))
            if on_change:
                on_change()

        def result(r: FileResult) -> None:
            f = by_source.get(Path(r.input))
            if f is None:
                return
            f.result = r
            f.state = "written" if r.status == "written" else r.status
            f.progress = 1.0
            for g in working():
                g.state = "working"
            if on_change:
                on_change()

        try:
            # The job state stays until the job is saved or discarded (resume); the
            # staged folder is the job's own (add_to_output: a review's export is there).
            run_batch(list(jobs.values()), self.settings, self.staged, self.state,
                      workers=workers, on_result=result, on_start=started, on_progress=frame,
                      resume=True, add_to_output=True)
        except UnseenError as exc:
            self.error = str(exc)
        except Exception as exc:  # one line in the page, never a traceback
            self.error = N_("processing stopped (unexpected error, {what})").format(
                what=f"{type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                for f in order:
                    if f.state in ("waiting", "working"):
                        f.state, f.progress = "waiting", 0.0
                self.running, self.finished = False, time.time()

    def record(self, name: str, result: FileResult) -> None:
        """A review export's result replaces the file's (the report shows the latest)."""
        with self.lock:
            f = self.file(name)
            job = self.jobs()[name]
            result.name, result.renamed = name, job.renamed
            result.error = shown(result.error) if result.error else result.error
            result.warnings = [shown(w) for w in result.warnings]
            if result.output:
                out = Path(result.output).resolve()
                staged = self.staged.resolve()
                result.output_name = (out.relative_to(staged).as_posix()
                                      if out.is_relative_to(staged) else out.name)
            f.result = result
            f.state = "written" if result.status == "written" else result.status
            f.progress = 1.0
            self.saved = None

    def snapshot(self) -> dict[str, Any]:
        """What the page shows: the files, their states and progress, the whole set's."""
        with self.lock:
            files = [f.to_dict() for f in self.files]
            total = sum(f.progress for f in self.files) / len(self.files) if self.files else 0.0
            return {"files": files, "choices": self.choices.to_dict(), "running": self.running,
                    "progress": round(total, 3), "error": self.error, "saved": self.saved,
                    "counts": _counts(self.files),
                    "report": bool(self.results() or self.last_results)}

    def results(self) -> list[FileResult]:
        return [f.result for f in self.files if f.result is not None]

    def report_html(self, lang: str | None = None) -> str:
        """The readable report of the job (of the last saved one once it is saved), in
        ``lang`` (default: the current language): names relative to where the files
        were chosen, no path, no pixel."""
        from unseen import __version__
        from unseen.report_html import render_html

        with self.lock:
            results = self.results() or self.last_results
            return render_html(results, self.settings.as_dict(), __version__, lang)

    # saving ----------------------------------------------------------------------------
    def save(self, out: Path | str) -> dict[str, Any]:
        """Copy the safe files into ``out`` (a new or empty folder), then forget the
        job: its private folder (staged files, job state, uploaded copies) is deleted.
        Files that are not safe are not copied; the result says which and why."""
        out = Path(os.path.expanduser(str(out).strip()))
        with self.lock:
            self._not_running()
            if not str(out) or not out.is_absolute():
                raise AppError(N_("give the full path of the folder to save into"))
            if out.exists() and not out.is_dir():
                raise AppError(N_("{folder}: this is a file, not a folder").format(
                    folder=shown(str(out))))
            real = Path(os.path.realpath(out))
            if inside(real, self.root) or inside(self.root, real):
                raise AppError(N_("{folder}: choose a folder outside unseen's own job "
                                  "folder").format(folder=shown(str(out))))
            if any(inside(f.source, real) for f in self.files if not f.uploaded):
                raise AppError(N_("{folder}: a chosen file is in this folder; choose "
                                  "another").format(folder=shown(str(out))))
            for root in self.roots:
                if inside(out, root):
                    raise AppError(N_("{folder}: this folder is inside {input}, where you "
                                      "added files from; choose a folder outside it, so that "
                                      "safe copies and originals never mix").format(
                                          folder=shown(str(out)), input=shown(str(root))))
            if out.is_dir() and any(out.iterdir()):
                raise AppError(N_("{folder}: this folder is not empty; choose a new or empty "
                                  "folder, which will then hold the safe files and nothing "
                                  "else").format(folder=shown(str(out))))
            ready, left = self._safe_outputs()
            if not ready:
                raise AppError(N_("no safe file to save yet: process the files first"))
            made = _missing_parents(out)
            written: list[str] = []
            try:
                # Before a file is copied: the folder can be written and has room for all.
                try:
                    check_writable(out)
                except OutputError as exc:
                    raise AppError(str(exc)) from exc
                need = sum((self.staged / rel).stat().st_size for rel in ready)
                free = shutil.disk_usage(out).free
                if need + MIN_FREE_BYTES > free:
                    raise AppError(N_("{folder}: not enough free space to save: {free} MB free, "
                                      "about {need} MB needed").format(
                        folder=shown(str(out)), free=f"{free / 1e6:.0f}",
                        need=f"{(need + MIN_FREE_BYTES) / 1e6:.0f}"))
                for rel in ready:
                    dest = out / rel
                    if not Path(os.path.realpath(dest)).is_relative_to(real):
                        left.append((rel, "its name would leave the folder"))
                        continue
                    with atomic_output(dest) as tmp:
                        shutil.copyfile(self.staged / rel, tmp)
                    written.append(rel)
            except (OSError, AppError) as exc:
                # Nothing half saved: what this save wrote goes, the job stays as it was,
                # and the same save can be tried again (elsewhere, or after making room).
                for rel in written:
                    with contextlib.suppress(OSError):
                        (out / rel).unlink()
                for folder in sorted({*(out / rel for rel in written)}, reverse=True):
                    for parent in folder.parents:
                        if parent == out or not inside(parent, out):
                            break
                        with contextlib.suppress(OSError):
                            parent.rmdir()
                for folder in reversed(made):
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                if isinstance(exc, AppError):
                    raise
                raise AppError(N_("{folder}: cannot save into this folder: {reason}").format(
                    folder=shown(str(out)), reason=exc.strerror or exc)) from exc
            self.saved = {"folder": str(out), "files": written,
                          "not_saved": [{"name": n, "why": w} for n, w in left]}
            saved = self.saved
            self._forget()
            self.saved = saved
            return saved

    def _safe_outputs(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Staged outputs to save (relative names), and the files left out with why."""
        ready: list[str] = []
        left: list[tuple[str, str]] = []
        staged = self.staged.resolve()
        for f in self.files:
            r = f.result
            name = r.report_output if r is not None else None
            if r is None or f.state not in ("written", "done") or not name:
                why = {"unsafe": N_("judged unsafe"), "failed": r.error if r else N_("failed"),
                       "waiting": N_("not processed")}.get(f.state, f.state)
                left.append((f.name, why or f.state))
                continue
            path = (self.staged / name).resolve()
            if ".UNSAFE." in path.name or not path.is_relative_to(staged) or not path.is_file():
                left.append((f.name, "its safe file is missing; process it again"))
                continue
            ready.append(path.relative_to(staged).as_posix())
        return ready, left

    def discard(self) -> None:
        """Forget the job: the staged files, the job state and the uploaded copies go."""
        with self.lock:
            self._not_running()
            self._forget()
            self.saved = None

    def _forget(self) -> None:
        self.last_results = self.results()
        self.files = []
        self.roots = []
        shutil.rmtree(self.folder, ignore_errors=True)
        self._make_folders()

    def forget_everything(self) -> int:
        """Discard this job and remove every other job state unseen keeps (`unseen
        forget`, from the page); returns how many job states went."""
        from unseen.batch.jobdb import forget

        with self.lock:
            self._not_running()
            self._forget()
            self.saved = None
            self.last_results = []
            return 1 + forget().removed


class Upload:
    """A file arriving from the page, written into the job's private upload folder."""

    def __init__(self, job: AppJob, dest: Path) -> None:
        self.job, self.dest, self.size = job, dest, 0
        self._f = open(dest, "xb")  # noqa: SIM115 - closed by finish or abort

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > UPLOAD_MAX_BYTES:
            raise AppError(N_("{name}: larger than unseen accepts from a page ({size} GB); "
                              "give its path instead").format(name=self.dest.name,
                                                             size=UPLOAD_MAX_BYTES >> 30))
        self._f.write(chunk)

    def finish(self) -> ChosenFile:
        try:
            self._f.close()
            if self.size == 0:
                raise AppError(N_("{name}: the file is empty").format(name=self.dest.name))
            with self.job.lock:
                problems = self.job._add(self.dest, self.dest.name, uploaded=True)
                if problems:
                    raise AppError(problems[0])
                return self.job.files[-1]
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._f.close()
        shutil.rmtree(self.dest.parent, ignore_errors=True)


def _counts(files: list[ChosenFile]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in files:
        out[f.state] = out.get(f.state, 0) + 1
    return out


def _hold_lock(path: Path) -> BaseFileLock:
    """An exclusive lock held while the app runs (one app per job folder)."""
    try:
        return exclusive_lock(path)
    except OSError as exc:
        raise AppError(N_("another unseen app is open; use that one, or close it first")) from exc
