"""`unseen inspect` and `unseen clean`: parsing and printing for the metadata verbs.

The work is done by `unseen.metadata`; this module only turns arguments into
calls and results into lines (or JSON). Exit codes as for `unseen`.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from unseen.cli import EXIT_FAILED, EXIT_OK, Parser
from unseen.errors import UnseenError
from unseen.metadata import CATEGORIES, CATEGORY_TITLES, MetadataFinding, clean, inspect

RISK_NOTE = {
    "location": "where it was made",
    "time": "when it was made",
    "device": "with what (make, model, serial numbers, vendor data)",
    "person": "who made it or is named in it",
    "software": "what edited it",
    "hidden-image": "a copy of the picture that unseen's face removal would not touch",
    "other": "other fields",
}


def run_inspect(argv: list[str]) -> int:
    p = Parser(prog="unseen inspect",
               description="List what in each file identifies place, time, device or person.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    a = p.parse_args(argv)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    failed = False
    doc: list[dict[str, object]] = []
    for path in a.files:
        try:
            findings = inspect(path)
        except UnseenError as exc:
            failed = True
            err.print(f"unseen inspect: {path}: {exc}", markup=False)
            doc.append({"file": str(path), "error": str(exc)})
            continue
        if a.json:
            doc.append({"file": str(path), "findings": [f.to_dict() for f in findings]})
        else:
            _print_findings(out, path, findings)
    if a.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    return EXIT_FAILED if failed else EXIT_OK


def _print_findings(out: Console, path: Path, findings: list[MetadataFinding]) -> None:
    if not findings:
        out.print(f"[bold]{escape(str(path))}[/bold]: no identifying metadata found")
        return
    out.print(f"[bold]{escape(str(path))}[/bold]: {len(findings)} fields")
    for cat in CATEGORIES:
        group = [f for f in findings if f.category == cat]
        if not group:
            continue
        out.print(f"  [bold]{CATEGORY_TITLES[cat]}[/bold] ({RISK_NOTE[cat]})")
        for f in group:
            value = f": {escape(f.value)}" if f.value else ""
            out.print(f"    {escape(f.name)}{value}  [dim]({escape(f.where)})[/dim]")


def run_clean(argv: list[str]) -> int:
    p = Parser(prog="unseen clean",
               description="Copy files without metadata (faces are NOT removed; use `unseen`).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help="output folder (or file, for a single input)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    a = p.parse_args(argv)
    from unseen.batch import plan_jobs

    out = Console(highlight=False, soft_wrap=True, quiet=a.quiet)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    failed = 0
    for job in plan_jobs(a.files, a.output):
        if job.skip_reason:
            continue
        try:
            r = clean(job.source, job.dest)
        except UnseenError as exc:
            failed += 1
            err.print(f"unseen clean: {job.source}: {exc}", markup=False)
            continue
        out.print(f"{job.source} -> {r.output}: {len(r.removed)} fields removed ({r.method})",
                  markup=False)
        for note in r.notes:
            out.print(f"  note: {note}", markup=False)
    return EXIT_FAILED if failed else EXIT_OK
