"""Which features can run here: for each optional feature, whether the models and
runtimes it needs are installed, and if not why (a message to translate).

Every model ships with unseen or with one of its dependencies, so on a sound
installation every feature is available; a damaged one (a file deleted, a native
library that does not load) makes some unavailable. The command line refuses such
an option before any file is read; the app shows it disabled, with the reason.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Iterable

from unseen.i18n import N_
from unseen.settings import Settings

FEATURES = ("plates", "text", "cover body", "audio mute-speech", "audio disguise")
"""Each one as the command line spells it, less the leading ``--``."""

PRAAT_MISSING = N_("Praat (praat-parselmouth), which disguises voices, cannot be loaded: the "
                   "installation is damaged, reinstall unseen")


def _text() -> str | None:
    from unseen.detect import text

    return text.problem()


def _person() -> str | None:
    from unseen.detect import person

    return person.problem()


def _speech() -> str | None:
    from unseen.detect.speech import SpeechModelMissingError, model_path

    try:
        model_path()
    except SpeechModelMissingError as exc:
        return str(exc)
    return None


def _praat() -> str | None:
    try:
        importlib.import_module("parselmouth")
    except Exception:  # not installed, or a broken native library
        logging.getLogger("unseen").debug("parselmouth cannot be imported", exc_info=True)
        return PRAAT_MISSING
    return None


def _speaker() -> str | None:
    from unseen.detect import shipped

    return shipped.problem(shipped.SPEAKER)


NEEDS = {
    "plates": (_text,),
    "text": (_text,),
    "cover body": (_person,),
    # The judge of muted sound listens for speech left (the speech detector).
    "audio mute-speech": (_speech,),
    # Disguise finds speech, changes it with Praat, and its judge compares voices.
    "audio disguise": (_speech, _praat, _speaker),
}


@functools.cache
def problem(feature: str) -> str | None:
    """Why ``feature`` (one of `FEATURES`) cannot run here, or None when it can.
    Checked once per process: files are hashed, runtimes imported."""
    for check in NEEDS[feature]:
        why = check()
        if why is not None:
            return why
    return None


def unavailable(features: Iterable[str] = FEATURES) -> dict[str, str]:
    """``feature: why`` for each of ``features`` that cannot run here."""
    return {f: why for f in features if (why := problem(f)) is not None}


def features_of(settings: Settings) -> list[str]:
    """The features of `FEATURES` that ``settings`` ask for."""
    asked = {"plates": settings.plates, "text": settings.text,
             "cover body": settings.cover == "body",
             "audio mute-speech": settings.audio == "mute-speech",
             "audio disguise": settings.audio == "disguise"}
    return [f for f in FEATURES if asked[f]]
