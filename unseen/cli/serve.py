"""`unseen serve [FOLDER] [-o OUT]`: the local review app.
Parsing only; the server is `unseen.web.server`.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from unseen.cli.common import ExitCode, Parser, UsageError, sigterm_like_ctrl_c, stderr
from unseen.i18n import _
from unseen.settings import Settings


def parser() -> Parser:
    p = Parser(
        prog="unseen serve",
        description=_("Review a folder in your browser before publishing: see what will be "
                      "covered, fix what the detector missed or got wrong, export safe files. "
                      "Local only."),
    )
    p.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="FOLDER",
                   help=_("the photos and videos to review (default: this folder)"))
    p.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help=_("where safe files go (default: FOLDER-unseen beside it)"))
    p.add_argument("--verify", choices=("off", "fast", "full"), default=Settings.verify,
                   help=_("check every export like an attacker (default fast)"))
    p.add_argument("--redact", choices=("fill", "blur", "pixelate"), default="fill",
                   help=_("starting redaction method (default fill)"))
    p.add_argument("--shape", choices=("ellipse", "box"), default="ellipse",
                   help=_("region shape (default ellipse)"))
    p.add_argument("--state", type=Path, metavar="DIR",
                   help=_("keep reviews and export records in DIR instead of the per-user "
                          "state folder; never inside the output folder"))
    p.add_argument("--port", type=int, default=0,
                   help=_("port on 127.0.0.1 (default: any free)"))
    p.add_argument("--no-browser", action="store_true", help=_("only print the address"))
    return p


def run(a: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        stderr().print(_("unseen: the review UI needs fastapi and uvicorn, which unseen "
                         "installs: reinstall it (pip install unseen)"), markup=False)
        return ExitCode.USAGE
    if not a.folder.is_dir():
        raise UsageError("unseen serve: " + _("{folder}: not a folder").format(folder=a.folder))
    if not 0 <= a.port <= 65535:
        raise UsageError("unseen serve: " + _("--port must be between 0 and 65535"))
    from unseen.web.server import serve

    settings = Settings(redact=a.redact, shape=a.shape, verify=a.verify)
    sigterm_like_ctrl_c()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the server stops
        serve(a.folder, a.output, settings, open_browser=not a.no_browser, port=a.port,
              state=a.state)
    return ExitCode.OK
