"""`unseen clean FILE... -o OUT`: copies without metadata (faces are not removed).
Parsing and printing only; the work is `unseen.metadata.clean`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from unseen.cli.common import ExitCode, Parser, stderr, stdout
from unseen.errors import UnseenError
from unseen.i18n import _, translate
from unseen.metadata import clean
from unseen.metadata.names import identifying_name, shown


def parser() -> Parser:
    p = Parser(prog="unseen clean",
               description=_("Copy files without metadata (faces are NOT removed; use "
                             "`unseen`)."))
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help=_("photos, videos or folders"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help=_("output folder (or file, for a single input)"))
    p.add_argument("-q", "--quiet", action="store_true", help=_("print only errors"))
    return p


def run(a: argparse.Namespace) -> int:
    from unseen.batch import plan_jobs

    out, err = stdout(a.quiet), stderr()
    failed = 0
    for job in plan_jobs(a.files, a.output):
        if job.skip_reason:
            if job.noticed:
                err.print(_("unseen: {name}: skipped: {reason}").format(
                    name=shown(str(job.source)), reason=translate(job.skip_reason)),
                    markup=False)
            continue
        try:
            r = clean(job.source, job.dest)
        except UnseenError as exc:
            failed += 1
            err.print(f"unseen clean: {shown(str(job.source))}: {translate(str(exc))}",
                      markup=False)
            continue
        out.print(_("{source} -> {output}: {n} fields removed ({method})").format(
            source=shown(str(job.source)), output=shown(str(r.output)), n=len(r.removed),
            method=r.method), markup=False)
        for note in r.notes:
            out.print("  " + _("note: {note}").format(note=translate(note)), markup=False)
        if why := identifying_name(job.dest.name):
            out.print("  " + _("note: the file name {why}; rename it before publishing").format(
                why=translate(why)), markup=False)
    return ExitCode.FAILED if failed else ExitCode.OK
