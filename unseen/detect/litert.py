"""TensorFlow Lite models (BlazeFace, MediaPipe's person detector) on
`ai-edge-litert`, created one way.

LiteRT's C++ runtime writes "INFO: Created TensorFlow Lite XNNPACK delegate
for CPU." straight to the process's stderr when tensors are allocated; that
line is not for the person running unseen, so stderr (the file descriptor,
not only Python's sys.stderr) is pointed at /dev/null for that moment.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import platform
import sys
import threading
from pathlib import Path
from typing import Any

from unseen.i18n import N_

_QUIET = threading.Lock()
MISSING = N_("the LiteRT runtime (ai-edge-litert) cannot be loaded: the installation is "
             "damaged, reinstall unseen")
NO_BUILD = N_("the LiteRT runtime (ai-edge-litert) that runs this model has no build for "
              "Intel Macs")


@functools.cache
def problem() -> str | None:
    """Why LiteRT cannot run here (a message to translate), or None."""
    try:
        importlib.import_module("ai_edge_litert.interpreter")
    except Exception:  # not installed, or a broken native library
        logging.getLogger("unseen").debug("ai-edge-litert cannot be imported", exc_info=True)
        if sys.platform == "darwin" and platform.machine() == "x86_64":
            return NO_BUILD  # pyproject.toml leaves it out there
        return MISSING
    return None


def interpreter(path: Path, threads: int = 0) -> Any:
    """An allocated LiteRT interpreter for the model at ``path`` (ImportError
    when ai-edge-litert is not installed)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads or None)
    with _QUIET:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                interp.allocate_tensors()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return interp
