"""The bundle's entry point (scripts/bundle.py): the `unseen` command."""

import multiprocessing

if __name__ == "__main__":
    # The batch engine's worker processes are spawned: in a frozen program the
    # child must know it is one.
    multiprocessing.freeze_support()
    from unseen.cli import entry

    entry()
