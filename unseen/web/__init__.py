"""The local review UI: a thin FastAPI shell over the library API.

`unseen.web.app.create_app` builds the app for one input folder and one output
folder; `unseen.web.server.serve` runs it on loopback behind a random token.
"""

from __future__ import annotations
