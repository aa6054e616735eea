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

from unseen.i18n import HTML_LANG, current_language, gettext_in, normalize, translate
from unseen.media.atomic import atomic_output
from unseen.report import FileResult, summarize

CANVAS_WIDTH = 360
COLOURS = {"region": "#bbbbbb", "detected": "#d00000", "reidentified": "#e07000",
           "note": "#777777"}


def html_path(report: Path) -> Path:
    """``run.json`` -> ``run.html`` (``run`` -> ``run.html``)."""
    return report.with_suffix(".html")


def write_html(
    path: Path, results: Sequence[FileResult], settings: dict[str, object], version: str,
    lang: str | None = None,
) -> None:
    """Save the run as one self-contained HTML page (atomically), in ``lang``
    (default: the current language)."""
    page = render_html(results, settings, version, lang)
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def render_html(
    results: Sequence[FileResult], settings: dict[str, object], version: str,
    lang: str | None = None,
) -> str:
    """The run as one self-contained HTML page (what `write_html` saves; the app shows it),
    in ``lang`` (default: the current language, `unseen.i18n`)."""
    code = (normalize(lang) if lang else None) or current_language()
    _ = gettext_in(code)
    s = summarize(results)
    e = html.escape
    parts = [
        f"<!doctype html><html lang='{HTML_LANG.get(code, 'en')}'><head><meta charset='utf-8'>",
        "<title>" + e(_("unseen report")) + f"</title><style>{_CSS}</style></head><body>",
        "<h1>" + e(_("unseen {version}: {n} file(s)").format(version=version,
                                                               n=s["files"])) + "</h1>",
        f"<p>{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} &middot; "
        + e(_("{written} safe and written, {unsafe} unsafe, {failed} failed, {faces} faces "
              "removed").format(written=s["written"], unsafe=s["unsafe"], failed=s["failed"],
                                faces=s["faces"]))
        + " &middot; " + e(_("verification: {mode}").format(
            mode=str(settings.get("verify", "off")))) + "</p>",
        "<p class='legend'>" + e(_("Drawings show boxes only, on a blank canvas:")) + " "
        "<span style='color:#999'>&#9632; " + e(_("redacted region")) + "</span> "
        "<span style='color:#d00000'>&#9633; " + e(_("face still detectable")) + "</span> "
        "<span style='color:#e07000'>&#9633; " + e(_("face still recognisable")) + "</span> "
        "<span style='color:#777'>&#9633; " + e(_("note")) + "</span></p>",
    ]
    for r in results:
        parts.append(_file_section(r, code))
    parts.append("<details><summary>" + e(_("settings")) + "</summary><pre>")
    parts.append(e("\n".join(f"{k} = {v}" for k, v in settings.items())))
    parts.append("</pre></details></body></html>\n")
    return "".join(parts)


def _file_section(r: FileResult, code: str) -> str:
    _ = gettext_in(code)
    e = html.escape
    v = r.verdict
    if r.status == "written" and (v is None or v.safe):
        badge = ("<b class='safe'>" + e(_("safe")) + "</b>" if v
                 else "<b>" + e(_("written (not verified)")) + "</b>")
    elif r.status == "unsafe":
        badge = "<b class='unsafe'>" + e(_("UNSAFE")) + "</b>"
    else:
        status = _("failed") if r.status == "failed" else r.status
        badge = f"<b>{e(status)}</b>"
    out = [f"<section><h2>{e(r.report_input)} {badge}</h2><p>"]
    out.append(e(_("{n} face region(s)").format(n=r.faces))
               + f" &middot; {r.width}&times;{r.height} &middot; "
               + e(_("{seconds} s").format(seconds=f"{r.seconds:.2f}")))
    if v is not None:
        out.append(" " + e(_("(verification {seconds} s)").format(
            seconds=f"{v.seconds.get('total', 0.0):.2f}")))
    out.append("<br>" + e(_("output: {name}").format(name=r.report_output or _("none")))
               + "</p>")
    if r.renamed:
        out.append("<p class='small'>" + e(_("renamed: {name}").format(name=r.renamed))
                   + "</p>")
    if r.error:
        out.append(f"<p class='unsafe'>{e(translate(r.error, code))}</p>")
    if v is not None:
        if v.reasons:
            out.append("<ul>" + "".join(f"<li>{e(translate(x, code))}</li>" for x in v.reasons)
                       + "</ul>")
        if v.repaired:
            out.append("<p>" + e(_("found and fixed before delivery:")) + "</p><ul>"
                       + "".join(f"<li>{e(translate(x, code))}</li>" for x in v.repaired) + "</ul>")
        out.append("<p class='small'>" + e(_("{comparison}; {n} note(s)").format(
            comparison=translate(v.comparison(), code), n=len(v.notes))) + "</p>")
        if v.notes:
            out.append("<ul class='small notes'>"
                       + "".join("<li>" + e(_("note: {note}").format(note=translate(x, code)))
                                 + "</li>" for x in v.notes) + "</ul>")
    for w in r.warnings:
        warning = _("warning: {warning}").format(warning=translate(w, code))
        out.append("<p class='small'>" + e(warning) + "</p>")
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
