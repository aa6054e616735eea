"""The `unseen` command: argument parsing and printing only.

``unseen [OPTIONS] INPUT... -o OUT`` anonymizes; other verbs (``unseen
inspect``, ``unseen clean`` ...) are registered in `SUBCOMMANDS`. Exit codes:
0 every file written, 1 usage error, 2 some files failed, 3 some output was
judged unsafe by verification (and not delivered unless --allow-unsafe).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
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
from unseen.errors import UnseenError
from unseen.report import FileResult, summarize, write_report
from unseen.settings import Settings

if TYPE_CHECKING:
    from unseen.video import VideoProgress

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow")

EXIT_OK, EXIT_USAGE, EXIT_FAILED, EXIT_UNSAFE = 0, 1, 2, 3
SUMMARY_ROWS = 40


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with 1 and one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def anonymize_parser() -> Parser:
    p = Parser(
        prog="unseen",
        description=(
            "Remove every face from photos and videos before publishing them. Outputs carry no "
            "metadata; originals are never changed. Runs offline."
        ),
        epilog="Other commands: " + ", ".join(f"unseen {k}" for k in SUBCOMMANDS),
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="photos, videos or folders")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="output folder (or file, for a single input with a file name)",
    )
    p.add_argument(
        "--redact",
        choices=("fill", "blur", "pixelate"),
        default="fill",
        help="fill (default, irreversible), or the weaker blur / pixelate",
    )
    p.add_argument(
        "--mask-scale",
        type=float,
        default=Settings.mask_scale,
        metavar="M",
        help=f"grow each face region by this factor (default {Settings.mask_scale})",
    )
    p.add_argument(
        "--shape",
        choices=("ellipse", "box"),
        default="ellipse",
        help="region shape (default ellipse)",
    )
    p.add_argument(
        "--thresh",
        type=float,
        default=Settings.threshold,
        metavar="T",
        help=f"detection threshold; lower covers more (default {Settings.threshold})",
    )
    p.add_argument("--report", type=Path, metavar="PATH",
                   help="write a JSON report here, and a readable PATH.html beside it")
    p.add_argument("--verify", choices=("off", "fast", "full"), default=Settings.verify,
                   help="check every output like an attacker: re-detect faces, re-identify "
                   "people, read metadata (default fast)")
    p.add_argument("--no-verify", action="store_true", help="same as --verify off (not advised)")
    p.add_argument("--allow-unsafe", action="store_true",
                   help="keep outputs judged unsafe, named *.UNSAFE.*, instead of deleting them")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="files processed in parallel (default: number of cores)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or a Ray cluster (pip install 'unseen[ray]')",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster address (default: start a local Ray instance)",
    )
    video = p.add_argument_group("video")
    video.add_argument("--keep-audio", action="store_true",
                       help="keep the sound track (off by default: voices identify people)")
    video.add_argument("--crf", type=int, default=Settings.crf, metavar="Q",
                       help=f"H.264 quality, lower is better (default {Settings.crf})")
    video.add_argument("--preset", default=Settings.preset, choices=X264_PRESETS,
                       help=f"H.264 speed preset (default {Settings.preset})")
    video.add_argument("--partial", action="store_true",
                       help="on a damaged video, write the frames before the damage to "
                       "NAME.PARTIAL.mp4 instead of nothing")
    cover = p.add_argument_group("wider cover")
    cover.add_argument("--cover", choices=("face", "head", "body"), default=Settings.cover,
                       help="cover the face, the whole head (hair) or the whole body "
                       f"(clothes) of every person (default {Settings.cover})")
    cover.add_argument("--crowd", action=argparse.BooleanOptionalAction, default=None,
                       help="cover bands through crowds of small faces (default: on for "
                       "photos with many small faces)")
    cover.add_argument("--plates", action="store_true",
                       help="also cover licence plates (best effort; see the README)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("--version", action="version", version=f"unseen {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Pillow warns about damaged EXIF and similar on stderr; the per-file
    # result already says what matters, in one line.
    warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args and args[0] in SUBCOMMANDS:
            return SUBCOMMANDS[args[0]](args[1:])
        return run_anonymize(args)
    except UsageError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    except UnseenError as exc:
        err.print(f"unseen: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("unseen: interrupted; no partial output was left behind", markup=False)
        return 130


def run_anonymize(argv: list[str]) -> int:
    parser = anonymize_parser()
    if argv in (["--version"], ["-V"]):
        print(f"unseen {__version__}")
        return EXIT_OK
    a = parser.parse_args(argv)
    try:
        settings = Settings(
            redact=a.redact, mask_scale=a.mask_scale, shape=a.shape, threshold=a.thresh,
            verify="off" if a.no_verify else a.verify, allow_unsafe=a.allow_unsafe,
            cover=a.cover, crowd=a.crowd, plates=a.plates,
        )
    except ValueError as exc:
        raise UsageError(f"unseen: {exc}") from exc
    if not 0 <= a.crf <= 51:
        raise UsageError("unseen: --crf must be between 0 and 51")
    settings = replace(settings, keep_audio=a.keep_audio, crf=a.crf, preset=a.preset,
                       partial_output=a.partial)

    from unseen.batch import plan_jobs, run_batch

    jobs = plan_jobs(a.inputs, a.output)
    state_dir = a.output.parent if len(jobs) == 1 and jobs[0].dest == a.output else a.output
    out = Console(highlight=False, soft_wrap=True, quiet=a.quiet)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if settings.redact != "fill" and not a.quiet:
        err.print(
            f"warning: --redact {settings.redact} is weaker than fill; "
            "see the README before publishing",
            markup=False,
        )
    if settings.verify == "off":
        err.print("warning: verification is off: nothing checks that the outputs are free "
                  "of faces and metadata", markup=False)

    def report_line(r: FileResult) -> None:
        if r.status == "failed" or (r.status == "unsafe" and r.error):
            err.print(f"unseen: {r.input}: {r.error}", markup=False)

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
        task = progress.add_task("anonymizing", total=None, current="")

        def started(n: int) -> None:
            progress.update(task, total=n)

        frames_task: list[TaskID] = []

        def frame_done(p: VideoProgress) -> None:
            # Two passes over the video: detect, then redact and encode.
            total = 2 * p.total if p.total else None
            if not frames_task:
                frames_task.append(progress.add_task("frames", total=total, current=""))
            t = frames_task[0]
            if p.stage == "detect" and p.frame == 1:
                progress.reset(t, total=total)
            progress.update(t, completed=p.frame + (p.total if p.stage == "redact" else 0))
            speed = next(x.speed for x in progress.tasks if x.id == t) or 0.0
            progress.update(t, current=f"{p.stage}, {speed:.1f} frames/s")

        def done(r: FileResult) -> None:
            report_line(r)
            if r.status not in ("skipped", "done"):
                progress.update(task, advance=1, current=Path(r.input).name)

        run = run_batch(
            jobs,
            settings,
            state_dir,
            workers=1 if len(jobs) == 1 else a.jobs,  # one file: frame progress
            engine=a.engine,
            address=a.address,
            on_result=done,
            on_start=started,
            on_progress=frame_done,
        )
    results = run.results
    if a.report:
        write_report(a.report, results, settings.as_dict(), __version__)
        from unseen.report_html import html_path, write_html

        write_html(html_path(a.report), results, settings.as_dict(), __version__)
    print_summary(out, results, run.seconds, run.bytes_processed)
    if run.interrupted:
        err.print("unseen: stopped early; run the same command again to finish", markup=False)
        return 130
    if any(r.status == "unsafe" for r in results):
        return EXIT_UNSAFE
    return EXIT_FAILED if any(r.status == "failed" for r in results) else EXIT_OK


def print_summary(
    console: Console, results: Sequence[FileResult], seconds: float = 0.0, nbytes: int = 0
) -> None:
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column("file", overflow="fold")
    table.add_column("faces", justify="right")
    table.add_column("result", overflow="fold")
    rows = [r for r in results if r.status in ("failed", "unsafe")]
    rows += [r for r in results if r.status == "written"][: max(0, SUMMARY_ROWS - len(rows))]
    for r in rows:
        if r.status == "written":
            wider = ", ".join(f"{n} {k}" for k, n in r.covered.items() if k != "face")
            out = f"-> {r.output}" + (f" ({wider})" if wider else "")
            table.add_row(r.input, str(r.faces), out)
        else:
            label = "FAILED" if r.status == "failed" else "UNSAFE"
            table.add_row(r.input, str(r.faces), f"[red]{label}[/red]: {_escape(r.error or '')}")
    shown = len(rows)
    s = summarize(results)
    if rows:
        console.print(table)
    if shown < s["written"] + s["failed"] + s["unsafe"]:
        console.print(
            f"... and {s['written'] + s['failed'] + s['unsafe'] - shown} more written files"
        )
    parts = [f"{s['written']} written", f"{s['failed']} failed"]
    if s["unsafe"]:
        parts.append(f"{s['unsafe']} unsafe (not delivered)")
    if s["skipped"]:
        parts.append(f"{s['skipped']} skipped (not media)")
    if s["done"]:
        parts.append(f"{s['done']} already done")
    line = ", ".join(parts) + f"; {s['faces']} faces removed"
    processed = s["written"] + s["failed"] + s["unsafe"]
    if seconds > 0 and processed:
        line += (
            f"; {seconds:.1f} s, {processed / seconds:.2f} files/s, "
            f"{nbytes / 1e6 / seconds:.1f} MB/s"
        )
    console.print(line)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {}


def _run_inspect(argv: list[str]) -> int:
    from unseen.cli_metadata import run_inspect

    return run_inspect(argv)


def _run_clean(argv: list[str]) -> int:
    from unseen.cli_metadata import run_clean

    return run_clean(argv)


def _run_status(argv: list[str]) -> int:
    p = Parser(prog="unseen status", description="Show the job recorded in an output folder.")
    p.add_argument("output", type=Path, metavar="OUT")
    a = p.parse_args(argv)
    from unseen.batch.jobdb import JobDatabase

    db = JobDatabase.open_existing(a.output)
    st = db.status()
    db.close()
    console = Console(highlight=False, soft_wrap=True)
    import time as _time

    def when(t: float | None) -> str:
        return _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(t)) if t else "-"

    console.print(
        f"{a.output}: {st.runs} run(s); last started {when(st.last_started)}, "
        f"finished {when(st.last_finished)}"
    )
    for state in ("written", "unsafe", "failed"):
        console.print(f"  {state:8s} {st.counts.get(state, 0)}")
    for source, reason in st.failures[:SUMMARY_ROWS]:
        console.print(f"  {source}: {reason}", markup=False)
    return EXIT_OK


SUBCOMMANDS["status"] = _run_status
SUBCOMMANDS["inspect"] = _run_inspect
SUBCOMMANDS["clean"] = _run_clean


def _run_check(argv: list[str]) -> int:
    from unseen.cli_verify import run_check

    return run_check(argv)


SUBCOMMANDS["check"] = _run_check


def _run_serve(argv: list[str]) -> int:
    from unseen.web.server import run_serve

    return run_serve(argv)


SUBCOMMANDS["serve"] = _run_serve


def entry() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    entry()
