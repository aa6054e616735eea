"""`unseen app` (and `unseen` with no arguments): the app in a window or the browser.
Parsing only; the job is `unseen.app`, the page and the window `unseen.web`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from unseen.cli.common import ExitCode, Parser, UsageError, sigterm_like_ctrl_c
from unseen.i18n import _
from unseen.settings import Settings


def parser() -> Parser:
    p = Parser(
        prog="unseen app",
        description=_("Open unseen's app: add photos and videos, choose what to hide, check "
                      "each file, save the safe copies to a folder. It runs on this computer "
                      "only."),
    )
    p.add_argument("--no-browser", action="store_true",
                   help=_("open no window and no browser; only print the address"))
    p.add_argument("--browser", action="store_true",
                   help=_("open the default browser even when a native window is possible"))
    p.add_argument("--verify", choices=("off", "fast", "full"), default=Settings.verify,
                   help=_("check every file like an attacker (default fast)"))
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help=_("files processed in parallel (default: number of cores)"))
    p.add_argument("--port", type=int, default=0,
                   help=_("port on 127.0.0.1 (default: any free)"))
    p.add_argument("--install-launcher", action="store_true",
                   help=_("add unseen to this computer's applications menu (Linux "
                          "desktops), then exit"))
    return p


def run(a: argparse.Namespace) -> int:
    if a.install_launcher:
        return install_launcher()
    if not 0 <= a.port <= 65535:
        raise UsageError("unseen app: " + _("--port must be between 0 and 65535"))
    if a.jobs < 1:
        raise UsageError("unseen app: " + _("--jobs must be 1 or more"))
    from unseen.app import AppJob
    from unseen.web.server import run_app

    job = AppJob(base=Settings(verify=a.verify), workers=a.jobs)
    # SIGTERM (a desktop session closing, `kill`) ends the app like Ctrl-C: the server
    # stops, the job's uploaded copies are removed, exit code 0.
    sigterm_like_ctrl_c()
    show = "none" if a.no_browser else ("browser" if a.browser else "window")
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the server stops
            run_app(job, show, a.port, say=lambda line: print(line, flush=True))
    finally:
        job.close()
    return ExitCode.OK


def install_launcher() -> int:
    """The desktop entry into ``$XDG_DATA_HOME/applications`` (default
    ``~/.local/share/applications``), its Exec the full path of this unseen."""
    if sys.platform in ("win32", "darwin"):
        raise UsageError("unseen app: " + _("--install-launcher works on Linux desktops only"))
    from unseen.launcher import install_launcher as write

    data_home = os.environ.get("XDG_DATA_HOME", "").strip()
    # The spec: a relative XDG_DATA_HOME is invalid and is ignored.
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    try:
        path = write(base / "applications")
    except OSError as exc:
        raise UsageError("unseen app: " + _("cannot write the launcher: {reason}").format(
            reason=exc.strerror or exc)) from exc
    print(_("unseen: added to the applications menu: {path}").format(path=path), flush=True)
    return ExitCode.OK
