"""``python -m unseen`` runs the command line."""

from unseen.cli import entry

entry()
