"""What every review route needs: the folders, the engine (loaded on first use),
the job state (reviews and export records, outside the output folder), and the
small HTTP helpers shared by the photo and video routes."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request
from fastapi.responses import Response
from numpy.typing import NDArray
from PIL import Image

from unseen.batch import Job, plan_jobs
from unseen.batch.jobdb import JobDatabase, settings_key
from unseen.errors import UnseenError
from unseen.i18n import N_
from unseen.media import media_kind
from unseen.media.image import read_photo
from unseen.review import PhotoReview, ReviewError, ReviewStore
from unseen.settings import Settings

MAX_BODY_BYTES = 1 << 20
"""Edits are small JSON documents; nothing is uploaded."""
PREVIEW_QUALITY = 90


class NotFound(UnseenError):
    """A path that is not one of the folder's media files."""


@dataclass
class ReviewContext:
    """What every route needs: the folders, the engine (loaded on first use), the store."""

    folder: Path
    out: Path
    settings: Settings
    engine_factory: Any = None
    state: Path | None = None
    """The job state folder (default: the per-user one for ``out``); never ``out``."""
    chosen: Callable[[], dict[str, Job]] | None = None
    """The app: the files a person chose (name -> job) instead of a folder's files."""
    on_record: Callable[[Job, Any], None] | None = None
    """Called with every export's result after it is recorded (the app's report)."""
    _engine: Any = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    _hashes: dict[tuple[str, int, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = self.folder.resolve()
        self.out = self.out.resolve()
        if self.state is not None and self.state.resolve().is_relative_to(self.out):
            raise UnseenError(N_("the job state must not be inside the output folder"))
        # Reviews and export records live with the job state, outside the
        # output folder; content is keyed by the job's HMAC, never a plain hash.
        self.db = JobDatabase.for_output(self.out, self.state)
        self.store = ReviewStore(self.db.state, self.db.name_key)

    def reset(self, settings: Settings | None = None) -> None:
        """Open the job state afresh (the app saved or discarded its job, which deletes
        it); with new ``settings``, the engine is loaded again for them."""
        with self.lock:
            self.db.close()
            self.store.close()
            self._hashes.clear()
            if settings is not None and settings != self.settings:
                self.settings = settings
                self._engine = None
            self.db = JobDatabase.for_output(self.out, self.state)
            self.store = ReviewStore(self.db.state, self.db.name_key)

    @property
    def engine(self) -> Any:
        with self.lock:
            if self._engine is None:
                if self.engine_factory is not None:
                    self._engine = self.engine_factory()
                else:
                    from unseen.pipeline import Anonymizer

                    self._engine = Anonymizer(self.settings)
            return self._engine

    # paths ------------------------------------------------------------------
    def jobs(self) -> dict[str, Job]:
        """Media files under the folder (relative POSIX path -> job), inside it only;
        in the app, the files the person chose."""
        if self.chosen is not None:
            return self.chosen()
        out: dict[str, Job] = {}
        for job in plan_jobs([self.folder], self.out):
            if job.skip_reason:
                continue
            real = Path(os.path.realpath(job.source))
            # A symlink in the folder may point anywhere: only real files inside count.
            if not real.is_relative_to(self.folder) or not real.is_file():
                continue
            if not Path(os.path.realpath(job.dest)).is_relative_to(self.out):
                continue
            # Printable: the page sends it back (a name that is not UTF-8, escaped).
            out[job.display_name] = job
        return out

    def job(self, rel: str) -> Job:
        """The job for a path the browser sent; anything else is `NotFound`."""
        if not rel or "\x00" in rel:
            raise NotFound("no such file in the folder")
        job = self.jobs().get(rel)
        if job is None:
            raise NotFound("no such file in the folder")
        # Belt and braces: the listing is already confined to the folder.
        if self.chosen is None and not Path(os.path.realpath(job.source)).is_relative_to(
                self.folder):
            raise NotFound("no such file in the folder")
        return job

    def chash(self, path: Path) -> str:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in self._hashes:
            self._hashes[key] = self.db.content_key(path)
        return self._hashes[key]

    # photos -----------------------------------------------------------------
    def photo_review(self, rel: str, reset: bool = False) -> PhotoReview:
        job = self.job(rel)
        if media_kind(job.source) != "photo":
            raise NotFound("not a photo")
        chash = self.chash(job.source)
        with self.lock:
            doc = None if reset else self.store.load(rel, chash)
            if doc is not None:
                return PhotoReview.from_dict(doc)
            photo = read_photo(job.source, self.settings.max_image_megapixels)
            # What a CLI run would cover: faces plus heads, bodies, crowds, plates.
            dets = self.engine.cover(photo.pixels, self.engine.detect(photo.pixels))
            review = PhotoReview.from_detections(dets, photo.width, photo.height, self.settings)
            self.store.save(rel, chash, "photo", review.to_dict())
            return review

    def record(self, job: Job, result: Any) -> None:
        """An export's outcome in the job record (as a batch run records it)."""
        with self.lock:
            self.db.record(job.source, job.dest, self.chash(job.source),
                           settings_key(self.settings), result,
                           names=(job.display_name, job.name))
        if self.on_record is not None:
            self.on_record(job, result)

    def save_photo_review(self, rel: str, review: PhotoReview) -> None:
        job = self.job(rel)
        with self.lock:
            self.store.save(rel, self.chash(job.source), "photo", review.to_dict())


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ReviewError(N_("request too large"))
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ReviewError(N_("the request is not valid JSON")) from exc
    if not isinstance(body, dict):
        raise ReviewError(N_("the request must be a JSON object"))
    return body


def jpeg_response(pixels: NDArray[np.uint8], quality: int = PREVIEW_QUALITY) -> Response:
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=quality)
    return Response(buf.getvalue(), media_type="image/jpeg")
