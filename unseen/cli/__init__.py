"""The `unseen` command: one module per verb, printing only; the work is the library.

``unseen [OPTIONS] INPUT... -o OUT`` anonymizes (`unseen.cli.anonymize`); ``unseen``
alone opens the app (`unseen.cli.app`); the other verbs are in `SUBCOMMANDS`. Every
verb is a module with ``parser()`` and ``run(args)``; exit codes are
`unseen.cli.common.ExitCode`: 0 ok, 1 usage error, 2 some files failed, 3 some output
judged unsafe, 130 interrupted. No verb ever shows a traceback (``--debug`` prints
them to stderr).
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from unseen.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNSAFE,
    EXIT_USAGE,
    ExitCode,
    Parser,
    UsageError,
    choose_language,
    stderr,
)
from unseen.errors import UnseenError, one_line
from unseen.i18n import _, translate

__all__ = [
    "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_UNSAFE", "EXIT_USAGE", "SUBCOMMANDS",
    "ExitCode", "Parser", "UsageError", "entry", "main",
]

SUBCOMMANDS: dict[str, str] = {
    "inspect": "unseen.cli.inspect",
    "clean": "unseen.cli.clean",
    "check": "unseen.cli.check",
    "status": "unseen.cli.status",
    "forget": "unseen.cli.forget",
    "serve": "unseen.cli.serve",
    "app": "unseen.cli.app",
}
"""Verb -> its module (imported only when used: ``check`` loads the adversary's models)."""
LOG = logging.getLogger("unseen")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["app"]  # `unseen` alone opens the app
    # Pillow warns about damaged EXIF and similar on stderr; the per-file
    # result already says what matters, in one line.
    warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
    err = stderr()
    choose_language(args)
    try:
        if args and args[0] in SUBCOMMANDS:
            verb = importlib.import_module(SUBCOMMANDS[args[0]])
            a = verb.parser().parse_args(args[1:])
        else:
            if args in (["--version"], ["-V"]):
                from unseen import __version__

                print(f"unseen {__version__}")
                return ExitCode.OK
            from unseen.cli import anonymize as verb

            a = verb.parser(list(SUBCOMMANDS)).parse_args(args)
        if a.debug:
            from unseen.batch.engines import enable_debug_log

            enable_debug_log()
        return int(verb.run(a))
    except UsageError as exc:
        err.print(str(exc), markup=False)
        return ExitCode.USAGE
    except UnseenError as exc:
        err.print(f"unseen: {translate(str(exc))}", markup=False)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        err.print(_("unseen: interrupted; no partial output was left behind"), markup=False)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        # Nobody planned for this one: one line here, the traceback only with --debug.
        LOG.debug("unexpected error", exc_info=True)
        err.print(_("unseen: unexpected error ({what}); run again with --debug for "
                    "details").format(what=one_line(exc)), markup=False)
        return ExitCode.FAILED


def entry() -> NoReturn:
    sys.exit(main())
