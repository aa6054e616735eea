"""A readable HTML page for a run: verdicts, reasons, notes, timings, and an outline
drawing per photo (boxes on a blank canvas). Not one pixel of any image (no
thumbnails, no face crops, no embedded pictures) and no path: files are named
relative to their input and output folders. Every word in the language asked, the
settings too. Styled by classes only (no ``style`` attribute), so that the app's
page, whose policy allows no inline style, shows it as the saved file does.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path

from unseen.i18n import HTML_LANG, N_, current_language, gettext_in, normalize, translate
from unseen.media.atomic import atomic_output
from unseen.report import FileResult, summarize

CANVAS_WIDTH = 360
COLOURS = {"region": "#bbbbbb", "detected": "#d00000", "reidentified": "#e07000",
           "note": "#777777"}
SETTING_LABELS = {
    "redact": N_("redaction method"),
    "mask_scale": N_("growth of each face region"),
    "shape": N_("region shape"),
    "threshold": N_("detection threshold"),
    "detectors": N_("face detectors"),
    "max_pass_megapixels": N_("pixels of one detection pass (megapixels)"),
    "tile_size": N_("tile size of large passes (pixels)"),
    "cover": N_("what is covered of each person"),
    "crowd": N_("bands through crowds"),
    "plates": N_("licence plates covered"),
    "text": N_("all other text covered"),
    "fill_color": N_("fill colour (red, green, blue)"),
    "jpeg_quality": N_("JPEG quality"),
    "max_image_megapixels": N_("largest photo accepted (megapixels)"),
    "threads": N_("threads per worker (0: every core)"),
    "precision": N_("arithmetic of the face detectors"),
    "verify": N_("verification"),
    "allow_unsafe": N_("outputs judged unsafe kept"),
    "audio": N_("sound of videos"),
    "keep_audio": N_("sound kept untouched"),
    "crf": N_("H.264 quality (lower is better)"),
    "preset": N_("H.264 speed preset"),
    "partial_output": N_("damaged videos written up to the damage"),
    "video_fps": N_("frame rate of raw video streams"),
    "video_keyframe_interval": N_("frames between two full searches"),
    "video_deep_seconds": N_("seconds between two deep searches"),
    "video_detect_stride": N_("frames between two quick searches"),
    "video_cheap_megapixels": N_("pixels of the quick search (megapixels)"),
    "video_key_megapixels": N_("pixels of the full search (megapixels)"),
    "track_pad_frames": N_("frames covered before and after each face"),
    "video_verify_every": N_("frames between two checks while writing"),
}
"""Each setting as the report names it (its key stays in the JSON report)."""
SETTING_WORDS = {
    "fill": N_("fill"), "blur": N_("blur"), "pixelate": N_("pixelate"),
    "ellipse": N_("ellipse"), "box": N_("box"), "face": N_("face"), "head": N_("head"),
    "body": N_("body"), "drop": N_("drop"), "keep": N_("keep"),
    "mute-speech": N_("mute voices"), "disguise": N_("disguise voices"), "fast": N_("fast"),
    "full": N_("full"), "off": N_("off"), "True": N_("yes"), "False": N_("no"),
    "None": N_("automatic"),
}
"""The words settings take, as the report shows them."""


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
            mode=setting_value(settings.get("verify", "off"), code))) + "</p>",
        "<p class='legend'>" + e(_("Drawings show boxes only, on a blank canvas:")) + " "
        "<span class='c-region'>&#9632; " + e(_("redacted region")) + "</span> "
        "<span class='c-detected'>&#9633; " + e(_("face still detectable")) + "</span> "
        "<span class='c-reidentified'>&#9633; " + e(_("face still recognisable"))
        + "</span> <span class='c-note'>&#9633; " + e(_("note")) + "</span></p>",
    ]
    for r in results:
        parts.append(_file_section(r, code))
    parts.append("<details><summary>" + e(_("settings")) + "</summary><pre>")
    parts.append(e("\n".join(f"{_(SETTING_LABELS[k]) if k in SETTING_LABELS else k} = "
                             f"{setting_value(v, code)}" for k, v in settings.items())))
    parts.append("</pre></details></body></html>\n")
    return "".join(parts)


def setting_value(value: object, code: str) -> str:
    """A setting's value in words of ``code``: a list item by item."""
    _ = gettext_in(code)
    if isinstance(value, (list, tuple)):
        return ", ".join(setting_value(v, code) for v in value)
    text = str(value)
    return _(SETTING_WORDS[text]) if text in SETTING_WORDS else text


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
        status = {"failed": _("failed"), "skipped": _("skipped"),
                  "done": _("done in an earlier run")}.get(r.status, r.status)
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
        renamed = _("renamed: {name}").format(name=translate(r.renamed, code))
        out.append("<p class='small'>" + e(renamed) + "</p>")
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
    ".c-region{color:#999}.c-detected{color:#d00000}.c-reidentified{color:#e07000}"
    ".c-note{color:#777}"
)
"""The saved page's style; the app's page has the same rules (``.report`` in
``unseen/web/static/style.css``)."""
