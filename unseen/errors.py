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
