"""`unseen serve`: run the review app on loopback, on a free port, behind a random token.

Only 127.0.0.1 is bound, so nothing is reachable from other machines; the
address printed (and opened, when a browser is available) carries the token.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unseen.i18n import _
from unseen.metadata.names import shown
from unseen.settings import Settings

HOST = "127.0.0.1"


def default_output(folder: Path) -> Path:
    """``photos`` -> ``photos-unseen`` beside it."""
    folder = folder.resolve()
    return folder.with_name(folder.name + "-unseen")


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: a free one chosen by the system)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def can_open_browser() -> bool:
    """A graphical browser is likely: never start a text browser in this terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@dataclass
class ReviewServer:
    """The app behind uvicorn on a loopback socket; ``url`` carries the token."""

    server: Any
    sock: socket.socket
    url: str

    def run(self) -> None:
        """Serve until ``server.should_exit`` is set (Ctrl-C in a terminal)."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()


def make_server(
    folder: Path,
    out: Path | None = None,
    settings: Settings | None = None,
    port: int = 0,
    engine_factory: Any = None,
    state: Path | None = None,
) -> ReviewServer:
    """The review app for ``folder`` on 127.0.0.1 behind a new random token
    (``engine_factory``: tests share one loaded engine)."""
    import uvicorn

    from unseen.web.app import create_app

    out = out or default_output(folder)
    token = secrets.token_urlsafe(32)
    app = create_app(folder, out, settings, token, engine_factory, state)
    sock = bind_loopback(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            server_header=False, date_header=False)
    return ReviewServer(uvicorn.Server(config), sock, url)


def serve(
    folder: Path,
    out: Path | None = None,
    settings: Settings | None = None,
    open_browser: bool = True,
    port: int = 0,
    state: Path | None = None,
) -> None:
    """Run until interrupted."""
    out = out or default_output(folder)
    review = make_server(folder, out, settings, port, state=state)
    print(_("unseen: reviewing {folder}; safe files go to {output}").format(
        folder=shown(os.path.realpath(folder)), output=shown(os.path.realpath(out))))
    print(_("unseen: open {url}").format(url=review.url))
    print(_("unseen: only this computer can reach it; press Ctrl-C to stop"), flush=True)
    if open_browser and can_open_browser():
        # A missing or broken browser never stops the server.
        with contextlib.suppress(Exception):
            webbrowser.open(review.url)
    review.run()


# the app ----------------------------------------------------------------------------


class NativeDialogs:
    """pywebview's file and folder dialogs for the page, once a window is open."""

    def __init__(self) -> None:
        self.window: Any = None

    @property
    def available(self) -> bool:
        return self.window is not None

    def __call__(self, kind: str) -> list[str]:
        import webview

        from unseen.app import AppError

        if self.window is None:
            raise AppError("no file dialog here: type or paste the path")
        if kind == "folder":
            chosen = self.window.create_file_dialog(webview.FileDialog.FOLDER)
        else:
            chosen = self.window.create_file_dialog(webview.FileDialog.OPEN, allow_multiple=True)
        return [str(p) for p in (chosen or ())]


def make_app_server(job: Any, port: int = 0, engines: Any = None,
                    dialogs: Any = None) -> ReviewServer:
    """The app (`unseen.web.job`) for ``job`` on 127.0.0.1 behind a new random token."""
    import uvicorn

    from unseen.web.job import create_job_app

    token = secrets.token_urlsafe(32)
    app = create_job_app(job, token, engines, dialogs)
    sock = bind_loopback(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            server_header=False, date_header=False)
    return ReviewServer(uvicorn.Server(config), sock, url)


def run_app(job: Any, show: str = "window", port: int = 0,
            say: Any = print) -> str:
    """Run the app until its window closes (``show="window"``, pywebview when it
    is installed and a display is there, else the browser), or until Ctrl-C
    (``browser``: the default browser opens it; ``none``: only the address is
    printed). Returns how it was shown: window, browser or none."""
    import threading

    dialogs = NativeDialogs()
    server = make_app_server(job, port, dialogs=dialogs)
    if show == "window" and can_open_browser():
        try:
            import webview
        except ImportError:
            webview = None
        if webview is not None:
            thread = threading.Thread(target=server.run, daemon=True, name="unseen-app-server")
            thread.start()
            try:
                dialogs.window = webview.create_window("unseen", server.url, width=1280,
                                                       height=900)
                webview.start(private_mode=True)
                return "window"
            except Exception as exc:  # no GUI toolkit: the browser instead
                dialogs.window = None
                say(_("unseen: no native window ({reason}); using the browser").format(
                    reason=type(exc).__name__))
                return _in_browser(server, thread, say, open_browser=True)
            finally:
                server.server.should_exit = True
                thread.join(10)
    say(_("unseen: open {url}").format(url=server.url))
    say(_("unseen: only this computer can reach it; press Ctrl-C to stop"))
    if show != "none" and can_open_browser():
        with contextlib.suppress(Exception):
            webbrowser.open(server.url)
    server.run()
    return "browser" if show != "none" else "none"


def _in_browser(server: ReviewServer, thread: Any, say: Any, open_browser: bool) -> str:
    say(_("unseen: open {url}").format(url=server.url))
    say(_("unseen: only this computer can reach it; press Ctrl-C to stop"))
    if open_browser:
        with contextlib.suppress(Exception):
            webbrowser.open(server.url)
    while thread.is_alive():
        thread.join(0.5)
    return "browser"
