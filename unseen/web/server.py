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
) -> ReviewServer:
    """The review app for ``folder`` on 127.0.0.1 behind a new random token
    (``engine_factory``: tests share one loaded engine)."""
    import uvicorn

    from unseen.web.app import create_app

    out = out or default_output(folder)
    token = secrets.token_urlsafe(32)
    app = create_app(folder, out, settings, token, engine_factory)
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
) -> None:
    """Run until interrupted."""
    out = out or default_output(folder)
    review = make_server(folder, out, settings, port)
    print(f"unseen: reviewing {folder.resolve()}; safe files go to {out.resolve()}")
    print(f"unseen: open {review.url}")
    print("unseen: only this computer can reach it; press Ctrl-C to stop", flush=True)
    if open_browser and can_open_browser():
        # A missing or broken browser never stops the server.
        with contextlib.suppress(Exception):
            webbrowser.open(review.url)
    review.run()


def run_serve(argv: list[str]) -> int:
    """``unseen serve [FOLDER] [-o OUT]``: the CLI verb."""
    import argparse

    from unseen.errors import UnseenError

    p = argparse.ArgumentParser(
        prog="unseen serve",
        description="Review a folder in your browser before publishing: see what will be "
        "covered, fix what the detector missed or got wrong, export safe files. Local only.",
    )
    p.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="FOLDER",
                   help="the photos and videos to review (default: this folder)")
    p.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help="where safe files go (default: FOLDER-unseen beside it)")
    p.add_argument("--verify", choices=("off", "fast", "full"), default=Settings.verify,
                   help="check every export like an attacker (default fast)")
    p.add_argument("--redact", choices=("fill", "blur", "pixelate"), default="fill",
                   help="starting redaction method (default fill)")
    p.add_argument("--shape", choices=("ellipse", "box"), default="ellipse")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    p.add_argument("--no-browser", action="store_true", help="only print the address")
    a = p.parse_args(argv)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("unseen: the review UI needs the web extra: pip install 'unseen[web]'",
              file=sys.stderr)
        return 1
    if not a.folder.is_dir():
        print(f"unseen: {a.folder}: not a folder", file=sys.stderr)
        return 1
    settings = Settings(redact=a.redact, shape=a.shape, verify=a.verify)
    try:
        serve(a.folder, a.output, settings, open_browser=not a.no_browser, port=a.port)
    except UnseenError as exc:
        print(f"unseen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
