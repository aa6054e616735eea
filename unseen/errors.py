"""The one family of errors a user can cause.

Every message is a sentence a person understands; the CLI prints it on one
line next to the file name and moves on to the next file.
"""

from __future__ import annotations


class UnseenError(Exception):
    """Base of every error that the user (or their input) can cause."""


class UnsupportedFormatError(UnseenError):
    """The file is of a kind unseen does not handle (yet)."""


class CorruptMediaError(UnseenError):
    """The file could not be decoded: truncated, damaged or not media at all."""


class TooLargeError(UnseenError):
    """The file declares a size that would need unreasonable memory."""


class OutputError(UnseenError):
    """The output could not be written where asked (or would overwrite an input)."""


class IncompleteRedactionError(UnseenError):
    """Part of the file could not be anonymized, so nothing was written."""


class ReviewError(UnseenError):
    """A review edit that cannot be applied (bad box, unknown region, bad choice)."""


def one_line(exc: BaseException) -> str:
    """An exception nobody planned for, in one line: its type and the first line
    of its message (the traceback goes to the debug log only, with ``--debug``)."""
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return type(exc).__name__ + (f": {detail}" if detail else "")


def not_processed(exc: BaseException) -> str:
    """Why a file failed on an exception nobody planned for (one line)."""
    from unseen.i18n import N_

    return N_("could not be processed (unexpected error, {what}); run with --debug for "
              "details").format(what=one_line(exc))
