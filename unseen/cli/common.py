"""What every verb of the command line shares: the exit codes, the parser and the consoles.

Exit codes are defined here once; a usage error is one line and exit code 1 for every
verb (argparse's own exit code 2 means "files failed" here).
"""

from __future__ import annotations

import argparse
from enum import IntEnum
from typing import NoReturn

from rich.console import Console


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


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with 1 and one line; every verb has --debug."""

    def __init__(self, prog: str, description: str, **kwargs: object) -> None:
        super().__init__(prog=prog, description=description, **kwargs)  # type: ignore[arg-type]
        self.add_argument("--debug", action="store_true",
                          help="print the details (tracebacks) of unexpected errors to stderr")

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def stdout(quiet: bool = False) -> Console:
    return Console(highlight=False, soft_wrap=True, quiet=quiet)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)
