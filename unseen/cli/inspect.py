"""`unseen inspect FILE...`: what in each file (and its name) identifies place, time,
device or person. Parsing and printing only; the work is `unseen.metadata.inspect`.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from unseen.batch.jobdb import NOT_REGULAR
from unseen.cli.common import ExitCode, Parser, stderr, stdout
from unseen.errors import UnseenError
from unseen.i18n import N_, _, translate
from unseen.metadata import CATEGORIES, CATEGORY_TITLES, FILE_NAME, MetadataFinding, inspect
from unseen.metadata.names import shown

RISK_NOTE = {
    "location": N_("where it was made"),
    "time": N_("when it was made"),
    "device": N_("with what (make, model, serial numbers, vendor data)"),
    "person": N_("who made it or is named in it"),
    "software": N_("what edited it"),
    "hidden-image": N_("a copy of the picture that unseen's face removal would not touch"),
    "other": N_("other fields"),
}


def parser() -> Parser:
    p = Parser(prog="unseen inspect",
               description=_("List what in each file identifies place, time, device or "
                             "person (its file name included)."))
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help=_("photos or videos"))
    p.add_argument("--json", action="store_true", help=_("print JSON for machines"))
    return p


def run(a: argparse.Namespace) -> int:
    out, err = stdout(), stderr()
    failed = False
    doc: list[dict[str, object]] = []
    for path in a.files:
        try:
            _regular(path)
            findings = inspect(path, names=True)
        except UnseenError as exc:
            failed = True
            err.print(f"unseen inspect: {shown(str(path))}: {translate(str(exc))}",
                      markup=False)
            doc.append({"file": shown(str(path)), "error": str(exc)})
            continue
        if a.json:
            doc.append({"file": shown(str(path)),
                        "findings": [f.to_dict() for f in findings]})
        else:
            _print_findings(out, path, findings)
    if a.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    return ExitCode.FAILED if failed else ExitCode.OK


def _regular(path: Path) -> None:
    """Only a regular file is opened (a FIFO named like a photo would block)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnseenError(N_("cannot be read: {reason}").format(
            reason=exc.strerror or exc)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise UnseenError(NOT_REGULAR)


def _print_findings(out: Console, path: Path, findings: list[MetadataFinding]) -> None:
    if not findings:
        out.print(f"[bold]{escape(shown(str(path)))}[/bold]: "
                  + escape(_("no identifying metadata found")))
        return
    out.print(f"[bold]{escape(shown(str(path)))}[/bold]: "
              + escape(_("{n} fields").format(n=len(findings))))
    for cat in CATEGORIES:
        group = [f for f in findings if f.category == cat]
        if not group:
            continue
        out.print("  [bold]" + escape(_("{title} ({what})").format(
            title=_(CATEGORY_TITLES[cat]), what=_(RISK_NOTE[cat]))) + "[/bold]")
        for f in group:
            value = f": {escape(shown(f.value))}" if f.value else ""
            # Field names are the format's own (GPSLatitude); what a file name gives
            # away is unseen's wording.
            name, where = ((translate(f.name), _(f.where)) if f.where == FILE_NAME
                           else (f.name, f.where))
            out.print(f"    {escape(name)}{value}  [dim]({escape(where)})[/dim]")
