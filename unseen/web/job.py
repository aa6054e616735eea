"""The app's page: routes and threads over `unseen.app.AppJob`.

The person adds files by path (or, under pywebview, with the native dialogs; in a
plain browser by dropping them into the page, which uploads a copy into the job's
private folder), chooses what to hide, processes the set in a background thread,
reviews each file with the review routes of `unseen.web.app`, and saves the safe
files to a folder. Everything else (the plan, progress, saving) is the library's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from unseen.app import UPLOAD_MAX_BYTES, AppError, AppJob, Choices
from unseen.batch import Job
from unseen.detect.available import features_of, unavailable
from unseen.i18n import N_, normalize
from unseen.report import FileResult
from unseen.settings import Settings
from unseen.web.app import review_app
from unseen.web.context import ReviewContext, json_body

UPLOAD_ROUTE = "/api/job/upload"
Dialogs = Callable[[str], list[str]]
"""``dialogs("files")`` -> chosen files, ``dialogs("folder")`` -> [a folder] (or [])."""


def create_job_app(
    job: AppJob,
    token: str | None = None,
    engines: Callable[[Settings], Any] | None = None,
    dialogs: Dialogs | None = None,
) -> FastAPI:
    """The app for ``job``. ``engines``: a loaded engine for some settings (tests
    share one); default, one `Anonymizer` per settings, loaded on first use.
    ``dialogs``: the native file dialogs, when a window provides them."""
    ctx = ReviewContext(job.folder, job.staged, job.settings, state=job.state,
                        chosen=job.jobs)
    if engines is not None:
        ctx.engine_factory = lambda: engines(ctx.settings)

    def recorded(j: Job, result: FileResult) -> None:
        job.record(j.name, result)

    ctx.on_record = recorded
    app = review_app(ctx, token, mode="app", uploads=frozenset({UPLOAD_ROUTE}),
                     upload_max=UPLOAD_MAX_BYTES)
    app.state.job = job
    videos = app.state.videos
    worker: list[threading.Thread] = []

    def doc(**extra: Any) -> dict[str, Any]:
        native = dialogs is not None and bool(getattr(dialogs, "available", True))
        # Choices whose models cannot run here: shown disabled, with the reason.
        return {**job.snapshot(), "dialogs": native, "unavailable": unavailable(), **extra}

    def fresh() -> None:
        """The job's state was deleted or its settings changed: reopen, forget caches."""
        ctx.reset(job.settings)
        videos.reset()

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/api/job")
    def state() -> dict[str, Any]:
        return doc()

    @app.post("/api/job/add")
    async def add(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise AppError(N_("paths must be a list of file or folder paths"))
        return doc(problems=job.add_paths(paths))

    @app.post("/api/job/dialog")
    async def dialog(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        kind = body.get("kind")
        if dialogs is None or not getattr(dialogs, "available", True):
            raise AppError(N_("no file dialog here: type or paste the path"))
        if kind not in ("files", "folder"):
            raise AppError(N_("a dialog is for files or a folder"))
        import anyio

        chosen = await anyio.to_thread.run_sync(dialogs, kind)
        if kind == "folder":
            return doc(folder=chosen[0] if chosen else None)
        return doc(problems=job.add_paths(chosen))

    @app.put(UPLOAD_ROUTE)
    async def upload(name: str, request: Request) -> dict[str, Any]:
        up = job.begin_upload(name)
        try:
            async for chunk in request.stream():
                up.write(chunk)
        except BaseException:
            up.abort()
            raise
        up.finish()
        return doc(problems=[])

    @app.delete("/api/job/file")
    def remove(name: str) -> dict[str, Any]:
        job.remove(name)
        ctx.store.delete(name)
        return doc()

    @app.put("/api/job/choices")
    async def choices(request: Request) -> dict[str, Any]:
        new = Choices.from_dict(await json_body(request))
        missing = unavailable(features_of(new.settings(job.settings)))
        if missing:
            raise AppError(next(iter(missing.values())))
        names = [f.name for f in job.files]
        if job.set_choices(new):
            # Reviews were made for the old choices (what was covered): start again.
            for n in names:
                ctx.store.delete(n)
            fresh()
        return doc()

    @app.post("/api/job/process")
    def process() -> dict[str, Any]:
        if job.running or (worker and worker[0].is_alive()):
            return doc()
        job.claim()  # at once: the page sees it running before the thread starts
        t = threading.Thread(target=job.run_claimed, daemon=True, name="unseen-app-process")
        worker[:] = [t]
        t.start()
        return doc()

    @app.post("/api/job/save")
    async def save(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        folder = body.get("folder")
        if not isinstance(folder, str):
            raise AppError(N_("give the folder to save into"))
        import anyio

        try:
            saved = await anyio.to_thread.run_sync(job.save, folder)
        finally:
            if job.saved is not None:
                fresh()
        return doc(saved=saved)

    @app.post("/api/job/discard")
    def discard() -> dict[str, Any]:
        job.discard()
        fresh()
        return doc()

    @app.post("/api/job/forget")
    def forget() -> dict[str, Any]:
        # This job and every job state unseen keeps (`unseen forget`).
        n = job.forget_everything()
        fresh()
        return doc(forgotten=n)

    @app.get("/api/job/report")
    def report(lang: str = "") -> HTMLResponse:
        # In the page's language (its switch); an unknown one is the server's.
        return HTMLResponse(job.report_html(normalize(lang)))

    return app
