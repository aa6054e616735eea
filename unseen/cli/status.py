"""`unseen status OUT [--state DIR]`: the job recorded for an output folder.
Printing only; the record is `unseen.batch.jobdb`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from unseen.cli.common import SUMMARY_ROWS, ExitCode, Parser, stdout
from unseen.i18n import _, translate
from unseen.metadata.names import shown


def parser() -> Parser:
    p = Parser(prog="unseen status",
               description=_("Show the job recorded for an output folder (while it is "
                             "unfinished, or kept with --resume): how many files were "
                             "written, how many failed and why."))
    p.add_argument("output", type=Path, metavar="OUT", help=_("the output folder of the job"))
    p.add_argument("--state", type=Path, metavar="DIR",
                   help=_("the job state folder, if the run was given --state DIR"))
    return p


def run(a: argparse.Namespace) -> int:
    from unseen.batch.jobdb import JobDatabase

    db = JobDatabase.open_existing(a.output, a.state)
    try:
        st = db.status()
    finally:
        db.close()
    out = stdout()

    def when(t: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"

    out.print(_("{output}: {runs} run(s); last started {started}, finished {finished}").format(
        output=shown(str(a.output)), runs=st.runs, started=when(st.last_started),
        finished=when(st.last_finished)), markup=False)
    labels = {"written": _("written"), "unsafe": _("unsafe"), "failed": _("failed")}
    width = max([8, *(len(v) for v in labels.values())])
    for state, label in labels.items():
        out.print(f"  {label:{width}s} {st.counts.get(state, 0)}", markup=False)
    for reason, n in st.reasons[:SUMMARY_ROWS]:
        out.print(f"  {n} × {translate(reason)}", markup=False)
    out.print("  " + _("The job state keeps no file names; the report (--report) names each "
                       "file and its output."), markup=False)
    return ExitCode.OK
