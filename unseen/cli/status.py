"""`unseen status OUT [--state DIR]`: the job recorded for an output folder.
Printing only; the record is `unseen.batch.jobdb`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from unseen.cli.common import SUMMARY_ROWS, ExitCode, Parser, stdout


def parser() -> Parser:
    p = Parser(prog="unseen status",
               description="Show the job recorded for an output folder: what was written, "
               "what failed and why, which outputs got neutral names.")
    p.add_argument("output", type=Path, metavar="OUT", help="the output folder of the job")
    p.add_argument("--state", type=Path, metavar="DIR",
                   help="the job state folder, if the run was given --state DIR")
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

    out.print(f"{a.output}: {st.runs} run(s); last started {when(st.last_started)}, "
              f"finished {when(st.last_finished)}", markup=False)
    for state in ("written", "unsafe", "failed"):
        out.print(f"  {state:8s} {st.counts.get(state, 0)}")
    for name, reason in st.failures[:SUMMARY_ROWS]:
        out.print(f"  {name}: {reason}", markup=False)
    if st.renamed:
        out.print(f"  neutral names ({len(st.renamed)}):")
        for name, dest in st.renamed[:SUMMARY_ROWS]:
            out.print(f"    {name} -> {dest}", markup=False)
        if len(st.renamed) > SUMMARY_ROWS:
            out.print(f"    ... and {len(st.renamed) - SUMMARY_ROWS} more (see the report)")
    return ExitCode.OK
