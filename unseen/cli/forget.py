"""`unseen forget`: remove every job state unseen keeps on this computer (what makes
an unfinished run resumable, the app's unsaved job). Printing only; the work is
`unseen.batch.jobdb.forget` and `unseen.app.forget_app`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from unseen.cli.common import ExitCode, Parser, stdout
from unseen.i18n import _, ngettext


def parser() -> Parser:
    p = Parser(prog="unseen forget",
               description=_("Remove every job state unseen keeps on this computer: "
                             "unfinished and --resume jobs, and the app's unsaved job (its "
                             "safe copies too). Outputs and originals are not touched."))
    p.add_argument("--state", type=Path, action="append", default=[], metavar="DIR",
                   help=_("also the job state a run was given with --state DIR (may be "
                          "given more than once)"))
    return p


def run(a: argparse.Namespace) -> int:
    from unseen.app import forget_app
    from unseen.batch.jobdb import forget

    out = stdout()
    jobs = forget(extra=a.state)
    app = forget_app()
    out.print(ngettext("unseen: removed {n} job state", "unseen: removed {n} job states",
                       jobs.removed + app.removed).format(n=jobs.removed + app.removed),
              markup=False)
    if jobs.busy:
        out.print(ngettext("unseen: {n} job state is in use by a running unseen and was kept",
                           "unseen: {n} job states are in use by a running unseen and were "
                           "kept", jobs.busy).format(n=jobs.busy), markup=False)
    if app.busy:
        out.print(_("unseen: the app is open: its job was kept (use its Forget button, or "
                    "close it and run this again)"), markup=False)
    return ExitCode.OK if not (jobs.busy or app.busy) else ExitCode.FAILED
