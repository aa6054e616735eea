"""What every verb of the command line shares: the exit codes, the parser and the consoles.

Exit codes are defined here once; a usage error is one line and exit code 1 for every
verb (argparse's own exit code 2 means "files failed" here). Every verb has ``--lang``;
help and messages are in that language (`unseen.i18n`).
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from enum import IntEnum
from typing import NoReturn

from rich.console import Console

from unseen.i18n import LANGUAGES, N_, _, normalize, set_language, translate


class ExitCode(IntEnum):
    OK = 0
    """Every file written (or, for ``check``, judged safe)."""
    USAGE = 1
    """The command was wrong: bad option, missing input, a path that must not be used."""
    FAILED = 2
    """Some files failed (each named in one line); the others were still processed."""
    UNSAFE = 3
    """Some output was judged unsafe by verification."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C or SIGTERM; no partial output left."""


EXIT_OK = ExitCode.OK
EXIT_USAGE = ExitCode.USAGE
EXIT_FAILED = ExitCode.FAILED
EXIT_UNSAFE = ExitCode.UNSAFE
EXIT_INTERRUPTED = ExitCode.INTERRUPTED
SUMMARY_ROWS = 40


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit code 1."""


# argparse's own messages, as it words them (Python 3.11), so that `translate` finds
# them in the catalog: its usage errors reach the person through `Parser.error`.
ARGPARSE_MESSAGES = (
    N_("the following arguments are required: {arguments}"),
    N_("unrecognized arguments: {arguments}"),
    N_("argument {argument}: {problem}"),
    N_("invalid choice: {value} (choose from {choices})"),
    N_("invalid {kind} value: {value}"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("ignored explicit argument {value}"),
    N_("not allowed with argument {argument}"),
    N_("one of the arguments {arguments} is required"),
    N_("ambiguous option: {option} could match {matches}"),
)


def language(text: str) -> str:
    """``--lang``'s value: a shipped language code."""
    code = normalize(text)
    if code is None:
        raise argparse.ArgumentTypeError(
            _("unknown language {language} (known: {known})").format(
                language=repr(text), known=", ".join(LANGUAGES)))
    return code


def language_in(args: Sequence[str]) -> str | None:
    """The value of ``--lang`` among ``args`` (before ``--``), if any."""
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--lang="):
            found = arg.split("=", 1)[1]
    return found


def choose_language(args: Sequence[str]) -> str:
    """Set the language of messages before any parser is built: ``--lang``, else
    ``UNSEEN_LANG``, else the system locale (an unknown ``--lang`` is refused later
    by the parser, in the environment's language)."""
    wanted = language_in(args)
    if wanted is not None and normalize(wanted) is not None:
        return set_language(wanted)
    return set_language(None)


class HelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: object, groups: object,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups,  # type: ignore[arg-type]
                          _("usage: ") if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with 1 and one line; every verb has --debug
    and --lang; help and errors in the chosen language."""

    def __init__(self, prog: str, description: str, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(prog=prog, description=description, add_help=False,
                         **kwargs)  # type: ignore[arg-type]
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=_("show this help message and exit"))
        self.add_argument("--debug", action="store_true",
                          help=_("print the details (tracebacks) of unexpected errors to "
                                 "stderr"))
        self.add_argument("--lang", type=language, metavar="LANG",
                          help=_("language of messages and help: en, zh_Hans (简体中文) or "
                                 "zh_Hant (繁體中文); default: UNSEEN_LANG, else the "
                                 "system's"))

    def error(self, message: str) -> NoReturn:
        raise UsageError(_("{prog}: {message} (see {prog} --help)").format(
            prog=self.prog, message=translate(message)))


def sigterm_like_ctrl_c() -> None:
    """From now on SIGTERM (a desktop session closing, `kill`, a service manager) ends a
    server verb like Ctrl-C does: it stops, cleans up, exit code 0. (uvicorn catches
    both signals while it serves, shuts down, then raises the signal again: with the
    default handler a SIGTERM would kill the process at that point, exit code -15.)"""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stdout(quiet: bool = False) -> Console:
    return Console(highlight=False, soft_wrap=True, quiet=quiet)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)
