"""A readable HTML page for a run: verdicts, reasons, notes, timings, and an outline
drawing per photo (boxes on a blank canvas). Not one pixel of any image (no
thumbnails, no face crops, no embedded pictures) and no path: files are named
relative to their input and output folders.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path

from unseen.media.atomic import atomic_output
from unseen.report import FileResult, summarize

CANVAS_WIDTH = 360
COLOURS = {"region": "#bbbbbb", "detected": "#d00000", "reidentified": "#e07000",
           "note": "#777777"}


def html_path(report: Path) -> Path:
    """``run.json`` -> ``run.html`` (``run`` -> ``run.html``)."""
    return report.with_suffix(".html")


def write_html(
    path: Path, results: Sequence[FileResult], settings: dict[str, object], version: str
) -> None:
    """Save the run as one self-contained HTML page (atomically)."""
    page = render_html(results, settings, version)
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def render_html(
    results: Sequence[FileResult], settings: dict[str, object], version: str
) -> str:
    """The run as one self-contained HTML page (what `write_html` saves; the app shows it)."""
    s = summarize(results)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>unseen report</title><style>{_CSS}</style></head><body>",
        f"<h1>unseen {e(version)}: {s['files']} file(s)</h1>",
        f"<p>{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} &middot; "
        f"{s['written']} safe and written, {s['unsafe']} unsafe, {s['failed']} failed, "
        f"{s['faces']} faces removed &middot; verification: "
        f"{e(str(settings.get('verify', 'off')))}</p>",
        "<p class='legend'>Drawings show boxes only, on a blank canvas: "
        "<span style='color:#999'>&#9632; redacted region</span> "
        "<span style='color:#d00000'>&#9633; face still detectable</span> "
        "<span style='color:#e07000'>&#9633; face still recognisable</span> "
        "<span style='color:#777'>&#9633; note</span></p>",
    ]
    for r in results:
        parts.append(_file_section(r))
    parts.append("<details><summary>settings</summary><pre>")
    parts.append(e("\n".join(f"{k} = {v}" for k, v in settings.items())))
    parts.append("</pre></details></body></html>\n")
    return "".join(parts)


def _file_section(r: FileResult) -> str:
    e = html.escape
    v = r.verdict
    if r.status == "written" and (v is None or v.safe):
        badge = "<b class='safe'>safe</b>" if v else "<b>written (not verified)</b>"
    elif r.status == "unsafe":
        badge = "<b class='unsafe'>UNSAFE</b>"
    else:
        badge = f"<b>{e(r.status)}</b>"
    out = [f"<section><h2>{e(r.report_input)} {badge}</h2><p>"]
    out.append(f"{r.faces} face region(s) &middot; {r.width}&times;{r.height} &middot; "
               f"{r.seconds:.2f} s")
    if v is not None:
        out.append(f" (verification {v.seconds.get('total', 0.0):.2f} s)")
    out.append(f"<br>output: {e(r.report_output or 'none')}</p>")
    if r.renamed:
        out.append(f"<p class='small'>renamed: {e(r.renamed)}</p>")
    if r.error:
        out.append(f"<p class='unsafe'>{e(r.error)}</p>")
    if v is not None:
        if v.reasons:
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in v.reasons) + "</ul>")
        if v.repaired:
            out.append("<p>found and fixed before delivery:</p><ul>"
                       + "".join(f"<li>{e(x)}</li>" for x in v.repaired) + "</ul>")
        out.append(f"<p class='small'>{e(v.comparison())}; {len(v.notes)} note(s)</p>")
        if v.notes:
            out.append("<ul class='small notes'>"
                       + "".join(f"<li>note: {e(x)}</li>" for x in v.notes) + "</ul>")
    for w in r.warnings:
        out.append(f"<p class='small'>warning: {e(w)}</p>")
    if r.width and r.height and r.kind != "video":
        out.append(_drawing(r))
    out.append("</section>")
    return "".join(out)


def _drawing(r: FileResult) -> str:
    k = CANVAS_WIDTH / r.width
    w, h = CANVAS_WIDTH, max(1, round(r.height * k))
    shapes = [f"<rect width='{w}' height='{h}' fill='white' stroke='#444'/>"]
    for x1, y1, x2, y2 in r.detections.boxes.tolist():
        shapes.append(_rect(x1, y1, x2, y2, k, COLOURS["region"], filled=True))
    if r.verdict is not None:
        for f in r.verdict.findings:
            if f.box is None:
                continue
            colour = COLOURS["note"] if f.severity == "note" else COLOURS[f.kind]
            shapes.append(_rect(*f.box, k, colour, filled=False, dashed=f.severity == "note"))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
            f"viewBox='0 0 {w} {h}'>" + "".join(shapes) + "</svg>")


def _rect(x1: float, y1: float, x2: float, y2: float, k: float, colour: str,
          filled: bool, dashed: bool = False) -> str:
    fill = colour if filled else "none"
    dash = " stroke-dasharray='3,2'" if dashed else ""
    return (f"<rect x='{x1 * k:.1f}' y='{y1 * k:.1f}' width='{max(0.5, (x2 - x1) * k):.1f}' "
            f"height='{max(0.5, (y2 - y1) * k):.1f}' fill='{fill}' stroke='{colour}'{dash}/>")


_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "section{border-top:1px solid #ccc;padding:.5em 0}h2{font-size:1em}"
    ".safe{color:#080}.unsafe{color:#c00}.small,.legend{font-size:.85em;color:#555}"
)
