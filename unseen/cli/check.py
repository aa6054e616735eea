"""`unseen check [ORIGINAL] OUTPUT`: the verdict on any tool's photo or video output.

`unseen check ORIGINAL OUTPUT` judges a pair made by any tool; `unseen check
OUTPUT` runs detection and metadata checks alone. The work is `unseen.verify`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from unseen.cli.common import ExitCode, Parser, stdout
from unseen.i18n import _, translate
from unseen.verify import Adversary, Verdict, check_files


def parser() -> Parser:
    p = Parser(
        prog="unseen check",
        description=_(
            "Judge an anonymized photo or video the way an attacker would: are faces still "
            "detectable, does a face-recognition model still match the original person, "
            "does a speaker model still link a video's voices to the original's, is "
            "identifying metadata left? Exit code 0 safe, 3 unsafe."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help=_("ORIGINAL OUTPUT (a pair, from any tool), or OUTPUT alone"))
    p.add_argument("--full", action="store_true",
                   help=_("more scales, and every face compared with the original person "
                          "(slower)"))
    p.add_argument("--json", action="store_true", help=_("print JSON for machines"))
    return p


def run(a: argparse.Namespace) -> int:
    if len(a.files) > 2:
        parser().error(_("give ORIGINAL OUTPUT, or OUTPUT alone"))
    original, output = (a.files[0], a.files[1]) if len(a.files) == 2 else (None, a.files[0])
    adversary = Adversary("full" if a.full else "fast")
    from unseen.verify.audio import AudioJudge

    verdict = check_files(adversary, output, original, AudioJudge())
    if a.json:
        doc = {"output": str(output), "original": str(original) if original else None,
               **verdict.to_dict()}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_verdict(stdout(), output, verdict, with_original=original is not None)
    return ExitCode.OK if verdict.safe else ExitCode.UNSAFE


def print_verdict(out: Console, output: Path, verdict: Verdict, with_original: bool) -> None:
    name = escape(str(output))
    if verdict.safe:
        out.print(f"[bold]{name}[/bold]: [green]" + escape(_("safe")) + "[/green]")
    else:
        out.print(f"[bold]{name}[/bold]: [red bold]" + escape(_("UNSAFE")) + "[/red bold]")
        for reason in verdict.reasons:
            out.print(f"  - {escape(translate(reason))}")
    for note in verdict.notes:
        out.print("  [dim]" + escape(_("note: {note}").format(note=translate(note))) + "[/dim]")
    if with_original:
        out.print(f"  [dim]{escape(translate(verdict.comparison()))}[/dim]")
    else:
        out.print("  [dim]" + escape(_("no original given: re-identification was not run"))
                  + "[/dim]")
