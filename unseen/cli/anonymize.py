"""`unseen INPUT... -o OUT`: anonymize photos and videos (the default verb).

Parsing and printing only: the plan, the run and the report are `unseen.batch` and
`unseen.report`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from unseen import __version__
from unseen.cli.common import SUMMARY_ROWS, ExitCode, Parser, UsageError, stderr, stdout
from unseen.i18n import _, ngettext, translate
from unseen.metadata.names import shown
from unseen.report import FileResult, summarize
from unseen.settings import AUDIO_MODES, PRECISIONS, Settings

if TYPE_CHECKING:
    from unseen.batch import Job
    from unseen.batch.engines import FrameProgress

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow")


def parser(verbs: Sequence[str] = ()) -> Parser:
    p = Parser(
        prog="unseen",
        description=_(
            "Remove every face from photos and videos before publishing them. Outputs carry no "
            "metadata; originals are never changed. Runs offline."
        ),
        epilog=_("Other commands: {commands}").format(
            commands=", ".join(f"unseen {k}" for k in verbs)),
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help=_("photos, videos or folders"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help=_("output folder (or file, for a single input with a file name); it "
                          "receives the safe files and nothing else"))
    p.add_argument("--redact", choices=("fill", "blur", "pixelate"), default="fill",
                   help=_("fill (default, irreversible), or the weaker blur / pixelate"))
    p.add_argument("--mask-scale", type=float, default=Settings.mask_scale, metavar="M",
                   help=_("grow each face region by this factor (default {value})").format(
                       value=Settings.mask_scale))
    p.add_argument("--shape", choices=("ellipse", "box"), default="ellipse",
                   help=_("region shape (default ellipse)"))
    p.add_argument("--thresh", type=float, default=Settings.threshold, metavar="T",
                   help=_("detection threshold; lower covers more (default {value})").format(
                       value=Settings.threshold))
    p.add_argument("--report", type=Path, metavar="PATH",
                   help=_("write a JSON report here, and a readable PATH.html beside it (never "
                          "inside the output folder)"))
    p.add_argument("--verify", choices=("off", "fast", "full"), default=Settings.verify,
                   help=_("check every output like an attacker: re-detect faces, re-identify "
                          "people, read metadata (default fast)"))
    p.add_argument("--no-verify", action="store_true",
                   help=_("same as --verify off (not advised)"))
    p.add_argument("--allow-unsafe", action="store_true",
                   help=_("keep outputs judged unsafe, named *.UNSAFE.*, instead of deleting "
                          "them"))
    p.add_argument("--keep-names", action="store_true",
                   help=_("keep file and folder names that tell when or with what a file was "
                          "made (IMG_20221127_201455.jpg ...); by default they get neutral "
                          "names"))
    p.add_argument("--state", type=Path, metavar="DIR",
                   help=_("keep the job state (what makes a run resumable) in DIR instead of "
                          "the per-user state folder; never inside the output folder"))
    p.add_argument("--resume", action="store_true",
                   help=_("keep the job state when every file is written, so that the same "
                          "command run later skips what is done (by default it is removed "
                          "then; `unseen forget` removes it)"))
    p.add_argument("--add-to-output", action="store_true",
                   help=_("write into an output folder that already holds files this job "
                          "did not write; they are never overwritten (a file whose output "
                          "name is taken fails)"))
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help=_("files processed in parallel (default: number of cores)"))
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help=_("local processes (default) or a Ray cluster (pip install "
                          "'unseen[ray]')"))
    p.add_argument("--address", metavar="ADDR",
                   help=_("Ray cluster address (default: start a local Ray instance)"))
    p.add_argument("--precision", choices=PRECISIONS, default=Settings.precision,
                   help=_("arithmetic of the face detectors: int8 (faster, derived from the "
                          "shipped weights; more false cover on photos without people) or fp32 "
                          "(the weights as shipped); verification always runs fp32 (default "
                          "{value})").format(
                              value=Settings.precision))
    video = p.add_argument_group(_("video"))
    video.add_argument("--audio", choices=AUDIO_MODES, default=None,
                       help=_("the sound: drop (default: voices identify people), keep "
                              "(untouched), mute-speech (speech removed, the rest kept) or "
                              "disguise (every voice changed, words kept); muted and disguised "
                              "sound is verified"))
    video.add_argument("--keep-audio", action="store_true",
                       help=_("same as --audio keep"))
    video.add_argument("--crf", type=int, default=Settings.crf, metavar="Q",
                       help=_("H.264 quality, lower is better (default {value})").format(
                           value=Settings.crf))
    video.add_argument("--preset", default=Settings.preset, choices=X264_PRESETS,
                       help=_("H.264 speed preset (default {value})").format(
                           value=Settings.preset))
    video.add_argument("--fps", type=frame_rate, metavar="F",
                       help=_("frame rate of raw H.264/H.265 streams (.h264, .hevc ...) that "
                              "do not state one, e.g. 25 or 30000/1001"))
    video.add_argument("--partial", action="store_true",
                       help=_("on a damaged video, write the frames before the damage to "
                              "NAME.PARTIAL.mp4 instead of nothing"))
    cover = p.add_argument_group(_("wider cover"))
    cover.add_argument("--cover", choices=("face", "head", "body"), default=Settings.cover,
                       help=_("cover the face, the whole head (hair) or the whole body "
                              "(clothes) of every person (default {value})").format(
                                  value=Settings.cover))
    cover.add_argument("--crowd", action=argparse.BooleanOptionalAction, default=None,
                       help=_("cover bands through crowds of small faces (default: on for "
                              "photos with many small faces)"))
    cover.add_argument("--plates", action="store_true",
                       help=_("also cover licence plates (found by a text detector and read)"))
    cover.add_argument("--text", action="store_true",
                       help=_("also cover all other legible text: name tags, signs, burned-in "
                              "camera dates and times (off by default: slogans are often the "
                              "point)"))
    p.add_argument("-q", "--quiet", action="store_true", help=_("print only errors"))
    p.add_argument("--version", action="version", version=f"unseen {__version__}",
                   help=_("show the version and exit"))
    return p


def frame_rate(text: str) -> float:
    """``25``, ``29.97`` or ``30000/1001`` as frames per second."""
    try:
        rate = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            _("not a frame rate: {value}").format(value=repr(text))) from None
    if not 0 < rate <= 1000:
        raise argparse.ArgumentTypeError(_("the frame rate must be above 0 and at most 1000"))
    return rate


def settings_from(a: argparse.Namespace) -> Settings:
    try:
        settings = Settings(
            redact=a.redact, mask_scale=a.mask_scale, shape=a.shape, threshold=a.thresh,
            verify="off" if a.no_verify else a.verify, allow_unsafe=a.allow_unsafe,
            cover=a.cover, crowd=a.crowd, plates=a.plates, text=a.text,
            precision=a.precision,
        )
    except ValueError as exc:
        raise UsageError(f"unseen: {translate(str(exc))}") from exc
    if not 0 <= a.crf <= 51:
        raise UsageError("unseen: " + _("--crf must be between 0 and 51"))
    if a.jobs < 1:
        raise UsageError("unseen: " + _("--jobs must be 1 or more"))
    if a.keep_audio and a.audio not in (None, "keep"):
        raise UsageError("unseen: " + _("--keep-audio and --audio {mode} contradict each "
                                        "other").format(mode=a.audio))
    settings = settings.with_audio("keep" if a.keep_audio else (a.audio or "drop"))
    return replace(settings, crf=a.crf, preset=a.preset,
                   partial_output=a.partial, video_fps=a.fps)


def refuse_unavailable(settings: Settings) -> None:
    """One line, before any file is read, when an option asks for a model that this
    installation cannot run (unseen.detect.available)."""
    from unseen.detect.available import features_of, unavailable

    by_reason: dict[str, list[str]] = {}
    for feature, why in unavailable(features_of(settings)).items():
        by_reason.setdefault(why, []).append(f"--{feature}")
    if by_reason:
        raise UsageError("unseen: " + _("; ").join(
            _("{options} cannot be used: {reason}").format(options=", ".join(options),
                                                           reason=translate(why))
            for why, options in by_reason.items()))


def run(a: argparse.Namespace) -> int:
    from unseen.batch import check_report_path, output_folder, prepare_batch, run_batch
    from unseen.batch.plan import NOT_MEDIA

    settings = settings_from(a)
    refuse_unavailable(settings)
    if a.report is not None:
        check_report_path(a.report, output_folder(a.inputs, a.output))
    plan = prepare_batch(a.inputs, a.output, a.state, keep_names=a.keep_names)
    out, err = stdout(a.quiet), stderr()
    if settings.redact != "fill" and not a.quiet:
        err.print(_("warning: --redact {method} is weaker than fill; see docs/verification.md "
                    "before publishing").format(method=settings.redact), markup=False)
    if settings.verify == "off":
        # The first pass leaves the faces it is unsure of to verification
        # (unseen.detect.confirm): without it they stay uncovered.
        err.print(_("warning: verification is off: only faces the first pass is sure of are "
                    "covered (it protects less, see docs/verification.md), and nothing checks the "
                    "outputs for faces and metadata"), markup=False)
    warned: dict[str, int] = {}

    def report_line(r: FileResult) -> None:
        name = shown(r.input)
        if r.status == "failed" or (r.status == "unsafe" and r.error):
            err.print(f"unseen: {name}: {translate(r.error or '')}", markup=False)
        elif r.status == "skipped" and r.error and r.error != NOT_MEDIA:
            err.print(_("unseen: {name}: skipped: {reason}").format(
                name=name, reason=translate(r.error)), markup=False)
        if a.quiet:
            return
        # What the report says about the safety of a written file, on the terminal
        # too: each warning once, with how many more files it concerns at the end.
        for w in r.warnings:
            if w in warned:
                warned[w] += 1
                continue
            warned[w] = 0
            err.print(_("unseen: {name}: warning: {warning}").format(
                name=name, warning=translate(w)), markup=False)

    def stopping() -> None:
        err.print(_("unseen: stopping: the files in progress are finished first (their "
                    "outputs are complete); press Ctrl-C again to stop at once"), markup=False)

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
        console=err,
        transient=True,
        disable=a.quiet,
    ) as progress:
        task = progress.add_task(_("anonymizing"), total=None, current="")

        def started(n: int) -> None:
            progress.update(task, total=n)

        frames_tasks: dict[str, TaskID] = {}

        def frame_done(job: Job, p: FrameProgress) -> None:
            # Two passes over the video: detect, then redact and encode.
            total = 2 * p.total if p.total else None
            key = str(job.source)
            if key not in frames_tasks:
                frames_tasks[key] = progress.add_task(escape(job.display_name), total=total,
                                                      current="")
            t = frames_tasks[key]
            if p.stage == "detect" and p.frame == 1:
                progress.reset(t, total=total)
            progress.update(t, completed=p.frame + (p.total if p.stage == "redact" else 0))
            speed = next(x.speed for x in progress.tasks if x.id == t) or 0.0
            stage = _("detect") if p.stage == "detect" else _("redact")
            progress.update(t, current=_("{stage}, {speed} frames/s").format(
                stage=stage, speed=f"{speed:.1f}"))

        def done(r: FileResult) -> None:
            report_line(r)
            t = frames_tasks.pop(r.input, None)
            if t is not None:
                progress.remove_task(t)
            if r.status not in ("skipped", "done"):
                progress.update(task, advance=1, current=escape(shown(Path(r.input).name)))

        run = run_batch(
            plan.jobs, settings, plan.output, plan.state,
            workers=1 if len(plan.jobs) == 1 else a.jobs,  # one file: no pool to start
            engine=a.engine, address=a.address,
            on_result=done, on_start=started, on_progress=frame_done, debug=a.debug,
            secret=plan.secret, resume=a.resume, add_to_output=a.add_to_output,
            to_file=plan.to_file, on_stop=stopping,
        )
    if run.removed_legacy_state:
        err.print(_("unseen: removed an old job database from the output folder (it held "
                    "the originals' paths and hashes)"), markup=False)
    for w, more in warned.items():
        if more:
            err.print(ngettext("unseen: the same warning for {n} more file: {warning}",
                               "unseen: the same warning for {n} more files: {warning}",
                               more).format(n=more, warning=translate(w)), markup=False)
    results = run.results
    report_failed = ""
    if a.report:
        from unseen.report import write_report
        from unseen.report_html import html_path, write_html

        try:
            write_report(a.report, results, settings.as_dict(), __version__)
            write_html(html_path(a.report), results, settings.as_dict(), __version__)
        except OSError as exc:
            report_failed = _("cannot write the report {path}: {reason}").format(
                path=a.report, reason=translate(exc.strerror or str(exc)))
    print_summary(out, results, run.seconds, run.bytes_processed)
    if report_failed:
        err.print(f"unseen: {report_failed}", markup=False)
        return ExitCode.FAILED
    if run.interrupted:
        err.print(_("unseen: stopped early; run the same command again to finish (until then "
                    "its job state is kept; `unseen forget` removes it)"), markup=False)
        return ExitCode.INTERRUPTED
    if run.state_kept is not None and not a.quiet:
        if a.resume:
            err.print(_("unseen: the job state is kept (--resume): the same command skips "
                        "what is done; `unseen forget` removes it"), markup=False)
        else:
            err.print(_("unseen: the job state is kept until every file is written: the same "
                        "command retries only the files that were not; `unseen forget` "
                        "removes it"), markup=False)
    if any(r.status == "unsafe" for r in results):
        return ExitCode.UNSAFE
    return ExitCode.FAILED if any(r.status == "failed" for r in results) else ExitCode.OK


def print_summary(
    console: Console, results: Sequence[FileResult], seconds: float = 0.0, nbytes: int = 0
) -> None:
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column(_("file"), overflow="fold")
    table.add_column(_("faces"), justify="right")
    table.add_column(_("result"), overflow="fold")
    rows = [r for r in results if r.status in ("failed", "unsafe")]
    rows += [r for r in results if r.status == "written"][: max(0, SUMMARY_ROWS - len(rows))]
    for r in rows:
        if r.status == "written":
            wider = ", ".join(f"{n} {cover_word(k)}" for k, n in r.covered.items() if k != "face")
            line = f"-> {shown(r.output or '')}" + (f" ({wider})" if wider else "")
            table.add_row(escape(shown(r.input)), str(r.faces), escape(line))
        else:
            label = _("FAILED") if r.status == "failed" else _("UNSAFE")
            table.add_row(escape(shown(r.input)), str(r.faces),
                          f"[red]{escape(label)}[/red]: {escape(translate(r.error or ''))}")
    listed = len(rows)
    s = summarize(results)
    if rows:
        console.print(table)
    hidden = s["written"] + s["failed"] + s["unsafe"] - listed
    if hidden > 0:
        console.print(ngettext("... and {n} more written file", "... and {n} more written files",
                               hidden).format(n=hidden), markup=False)
    parts = [_("{n} written").format(n=s["written"]), _("{n} failed").format(n=s["failed"])]
    if s["unsafe"]:
        parts.append(_("{n} unsafe (not delivered)").format(n=s["unsafe"]))
    if s["skipped"]:
        parts.append(_("{n} skipped").format(n=s["skipped"]))
    if s["done"]:
        parts.append(_("{n} already done").format(n=s["done"]))
    line = _(", ").join(parts) + _("; {n} faces removed").format(n=s["faces"])
    processed = s["written"] + s["failed"] + s["unsafe"]
    if seconds > 0 and processed:
        line += _("; {seconds} s, {files} files/s, {mb} MB/s").format(
            seconds=f"{seconds:.1f}", files=f"{processed / seconds:.2f}",
            mb=f"{nbytes / 1e6 / seconds:.1f}")
    console.print(line, markup=False)
    renamed = sum(1 for r in results if r.renamed and r.status in ("written", "done"))
    if renamed:
        console.print(_("{n} output(s) got neutral names: their names told when, with what or "
                        "whom (--keep-names keeps them; the report (--report) lists the "
                        "mapping)").format(n=renamed), markup=False)


def cover_word(kind: str) -> str:
    """A kind of region (``head``, ``plate`` ...) as the summary names it."""
    words = {"head": _("head"), "body": _("body"), "crowd": _("crowd"), "plate": _("plate"),
             "text": _("text")}
    return words.get(kind, kind)
