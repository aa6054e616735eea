"""The review app: routes, and the guards every request passes.

Every request needs the access token (header ``X-Unseen-Token``; the first page
load may carry it in the query string) and a loopback Host header; only media
files found under the chosen folder are ever read. Nothing is cached on disk:
pictures are encoded in memory and sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import html
import logging
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from numpy.typing import NDArray
from PIL import Image, ImageOps

from unseen.errors import UnseenError, one_line
from unseen.i18n import N_, page_data
from unseen.media import media_kind
from unseen.media.image import read_photo
from unseen.review import (
    PhotoReview,
    ReviewError,
    export_photo,
    export_summary,
    redact_reviewed,
)
from unseen.settings import Settings
from unseen.web.context import MAX_BODY_BYTES, NotFound, ReviewContext, jpeg_response, json_body
from unseen.web.video import VideoReviews

TOKEN_HEADER = "X-Unseen-Token"
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost"})
THUMB_SIDE = 320
_STATIC = "unseen.web.static"


def create_app(
    folder: Path,
    out: Path,
    settings: Settings | None = None,
    token: str | None = None,
    engine_factory: Any = None,
    state: Path | None = None,
) -> FastAPI:
    """The review app for ``folder``, writing to ``out`` (job state in ``state``,
    default the per-user state folder). ``app.state.token`` is the token."""
    from unseen.batch.plan import check_output_folder

    if not folder.is_dir():
        raise UnseenError(N_("{folder}: not a folder").format(folder=folder))
    check_output_folder([folder], out)  # by identity: not the folder, nor holding it
    ctx = ReviewContext(folder, out, settings or Settings(), engine_factory, state)
    return review_app(ctx, token)


def review_app(ctx: ReviewContext, token: str | None = None, mode: str = "review",
               uploads: frozenset[str] = frozenset(),
               upload_max: int = MAX_BODY_BYTES) -> FastAPI:
    """The page and the review routes over ``ctx`` behind the guards. ``mode``:
    ``review`` (a folder's gallery) or ``app`` (the app's job page, whose routes
    `unseen.web.job` adds); ``uploads``: routes whose bodies may be up to
    ``upload_max`` bytes (files dropped into the page)."""
    token = token or secrets.token_urlsafe(32)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token = token
    app.state.ctx = ctx
    videos = VideoReviews(ctx)
    app.state.videos = videos

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        cap = upload_max if request.url.path in uploads else MAX_BODY_BYTES
        refusal = _refuse(request, token, cap)
        if refusal is not None:
            return _secure(refusal)
        try:
            return _secure(await call_next(request))
        except Exception as exc:  # one line for the page, never a traceback in the terminal
            logging.getLogger("unseen").debug("unexpected error", exc_info=True)
            message = N_("unexpected error ({what})").format(what=one_line(exc))
            return _secure(JSONResponse({"error": message}, status_code=500))

    @app.exception_handler(UnseenError)
    async def user_error(request: Request, exc: UnseenError) -> JSONResponse:
        code = 404 if isinstance(exc, NotFound) else 400
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.get("/")
    def index(request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        page = _static_text("index.html")
        page = page.replace("{{TOKEN}}", html.escape(token, quote=True))
        page = page.replace("{{NONCE}}", nonce)
        page = page.replace("{{MODE}}", mode)
        page = page.replace("{{STYLE}}", _static_text("style.css"))
        page = page.replace("{{SCRIPT}}", _static_text("i18n.js") + _static_text("app.js")
                            + _static_text("job.js"))
        # Every catalog, so the page switches language by itself (unseen.i18n).
        page = page.replace("{{I18N}}", page_data())
        resp = HTMLResponse(page)
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )
        return resp

    @app.get("/api/files")
    def files() -> dict[str, Any]:
        jobs = ctx.jobs()
        reviews = ctx.store.reviewed(jobs)
        items = []
        for rel, job in jobs.items():
            kind = media_kind(job.source)
            with ctx.lock:
                known = ctx.db.file_state(job.source)
            row = None if known is None else (known.state, known.faces, known.verdict,
                                              known.error)
            state, faces, error = _state(row)
            review = reviews.get(rel)
            if review is not None and kind == "photo":
                faces = sum(1 for r in review["regions"]
                            if not r.get("removed") and r.get("kind", "face") == "face")
            items.append({"path": rel, "kind": kind, "state": state, "faces": faces,
                          "reviewed": bool(review and review.get("edited")), "error": error})
        return {"folder": str(ctx.folder), "output": str(ctx.out), "files": items,
                "verify": ctx.settings.verify}

    @app.get("/api/thumb")
    def thumb(path: str) -> Response:
        job = ctx.job(path)
        kind = media_kind(job.source)
        if kind == "video":
            return jpeg_response(videos.thumbnail(path), 80)
        if kind != "photo":
            raise NotFound("no preview for this kind of file")
        return jpeg_response(_thumbnail(job.source, ctx.settings.max_image_megapixels), 80)

    @app.get("/api/photo")
    def photo(path: str) -> dict[str, Any]:
        return _photo_doc(ctx, path, ctx.photo_review(path))

    @app.put("/api/photo")
    async def edit_photo(path: str, request: Request) -> dict[str, Any]:
        body = await json_body(request)
        review = ctx.photo_review(path)
        removed = body.get("removed", [])
        added = body.get("added", [])
        if not isinstance(removed, list) or not isinstance(added, list):
            raise ReviewError(N_("removed and added must be lists"))
        if not all(isinstance(a, dict) for a in added):
            raise ReviewError(N_("each added region must be an object"))
        review = review.edit([str(r) for r in removed], added, body.get("method"),
                             body.get("shape"))
        ctx.save_photo_review(path, review)
        return _photo_doc(ctx, path, review)

    @app.delete("/api/photo")
    def reset_photo(path: str) -> dict[str, Any]:
        return _photo_doc(ctx, path, ctx.photo_review(path, reset=True))

    @app.get("/api/photo/original")
    def original(path: str) -> Response:
        job = ctx.job(path)
        if media_kind(job.source) != "photo":
            raise NotFound("not a photo")
        return jpeg_response(read_photo(job.source, ctx.settings.max_image_megapixels).pixels)

    @app.get("/api/photo/preview")
    def preview(path: str) -> Response:
        review = ctx.photo_review(path)
        job = ctx.job(path)
        photo = read_photo(job.source, ctx.settings.max_image_megapixels)
        return jpeg_response(redact_reviewed(photo, review, ctx.settings).pixels)

    @app.post("/api/photo/export")
    def export(path: str) -> dict[str, Any]:
        review = ctx.photo_review(path)
        job = ctx.job(path)
        with ctx.lock:
            engine = ctx.engine
            result = export_photo(engine, job.source, job.dest, review,
                                  verify=ctx.settings.verify != "off")
            ctx.record(job, result)
            summary = export_summary(result, ctx.out)
            ctx.save_photo_review(path, PhotoReview.from_dict(
                {**review.to_dict(), "last_export": summary}))
        return summary

    videos.add_routes(app)
    return app


# guards ----------------------------------------------------------------------


def _refuse(request: Request, token: str, max_body: int = MAX_BODY_BYTES) -> Response | None:
    host = request.headers.get("host", "")
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    if hostname.lower() not in ALLOWED_HOSTS:
        return Response("wrong host: open the address unseen printed", status_code=403,
                        media_type="text/plain")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        o_host = origin.split("://", 1)[-1].rsplit(":", 1)[0]
        if o_host.lower() not in ALLOWED_HOSTS:
            return Response("cross-origin request refused", status_code=403,
                            media_type="text/plain")
    given = request.headers.get(TOKEN_HEADER)
    if given is None and request.url.path == "/" and request.method == "GET":
        given = request.query_params.get("token")
    if given is None or not secrets.compare_digest(given.encode(), token.encode()):
        return Response("a valid access token is needed: open the address unseen printed",
                        status_code=401, media_type="text/plain")
    if request.method in ("POST", "PUT", "PATCH"):
        length = request.headers.get("content-length")
        if length is None and request.headers.get("transfer-encoding"):
            return Response("length required", status_code=411, media_type="text/plain")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return Response("request too large", status_code=413, media_type="text/plain")
    return None


def _secure(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if "Content-Security-Policy" not in resp.headers:
        resp.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return resp


# helpers -----------------------------------------------------------------------


def _static_text(name: str) -> str:
    return resources.files(_STATIC).joinpath(name).read_text(encoding="utf-8")


def _state(row: tuple[str, int | None, str | None, str | None] | None
           ) -> tuple[str, int | None, str | None]:
    """The gallery's state from the job database row: not processed, safe, unsafe, failed."""
    if row is None:
        return "not processed", None, None
    state, faces, verdict, error = row
    if state == "written":
        return (verdict or "written"), faces, error
    return state, faces, error


def _thumbnail(path: Path, max_megapixels: float) -> NDArray[np.uint8]:
    """A small upright picture, decoded at reduced size where the format allows."""
    try:
        with Image.open(path) as im:
            if im.size[0] * im.size[1] > max_megapixels * 1e6:
                raise UnseenError(N_("too large to preview"))
            im.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))
            up = ImageOps.exif_transpose(im) or im
            rgb = up.convert("RGB")
            rgb.thumbnail((THUMB_SIDE, THUMB_SIDE))
            return np.asarray(rgb, np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnseenError(N_("cannot preview: {reason}").format(reason=exc)) from exc


def _photo_doc(ctx: ReviewContext, rel: str, review: PhotoReview) -> dict[str, Any]:
    d = review.to_dict()
    d["path"] = rel
    for r, region in zip(d["regions"], review.regions, strict=True):
        if r["source"] == "detected":
            # Where the cover goes: grown like the pipeline grows it.
            r["cover"] = [round(v, 2) for v in review.cover_box(region)]
    d["faces"] = sum(1 for r in review.active if r.kind == "face")
    return d
