// unseen review UI. Drawing and editing boxes only: every decision (what is
// detected, what is covered, how, and writing files) is made by the library
// behind the /api routes. The access token travels in a header, never a cookie.
"use strict";

const TOKEN = document.querySelector('meta[name="unseen-token"]').content;
const MODE_META = document.querySelector('meta[name="unseen-mode"]');
const MODE = MODE_META ? MODE_META.content : "review";

// Every text a person reads goes through t(): the English text, translated by
// the catalog the server puts in window.UNSEEN_I18N (English -> translation);
// English when it has no entry. "{name}" placeholders are filled from vars.
function t(text, vars) {
  const catalog = window.UNSEEN_I18N;
  let s = (catalog && Object.prototype.hasOwnProperty.call(catalog, text) && catalog[text]) || text;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m));
  return s;
}

// Words the library sends (kinds, methods, shapes, sound modes), in the page's language.
const WORDS = {
  face: () => t("face"), head: () => t("head"), body: () => t("body"), crowd: () => t("crowd"),
  plate: () => t("plate"), text: () => t("text"), fill: () => t("fill"), blur: () => t("blur"),
  pixelate: () => t("pixelate"), ellipse: () => t("ellipse"), box: () => t("box"),
  drop: () => t("drop"), keep: () => t("keep"), "mute-speech": () => t("mute voices"),
  disguise: () => t("disguise voices"), photo: () => t("photo"), video: () => t("video"),
  written: () => t("written"), unsafe: () => t("unsafe"), failed: () => t("failed"),
  fast: () => t("fast"), full: () => t("full"), off: () => t("off"),
};
function word(w) { return WORDS[w] ? WORDS[w]() : w; }
// A finished English message from the server (error, warning, reason) in the page's
// language (i18n.js); itself when i18n.js is not there.
const tm = window.tm || ((text) => text);
// Keep the token out of the address bar, history and any screenshot of it.
history.replaceState(null, "", "/" + location.hash);

const app = document.getElementById("app");
const where = document.getElementById("where");
const busy = document.getElementById("busy");
function pageTexts() {
  busy.textContent = t("working…");
  document.title = MODE === "app" ? t("unseen") : t("unseen: review");
}
pageTexts();
window.addEventListener("unseen-language", pageTexts);  // i18n.js: the language was switched
const SVGNS = "http://www.w3.org/2000/svg";
let blobs = [];           // object URLs of the current view, revoked on leaving it
let pending = 0;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function setBusy(delta) {
  pending += delta;
  busy.hidden = pending <= 0;
}

async function api(method, url, body) {
  setBusy(1);
  try {
    const opts = { method, headers: { "X-Unseen-Token": TOKEN } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    const text = await r.text();
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
    if (!r.ok) throw new Error(tm((data && data.error) || r.statusText));
    return data;
  } finally {
    setBusy(-1);
  }
}

async function imageURL(url) {
  setBusy(1);
  try {
    const r = await fetch(url, { headers: { "X-Unseen-Token": TOKEN }, cache: "no-store" });
    if (!r.ok) throw new Error(await r.text());
    const u = URL.createObjectURL(await r.blob());
    blobs.push(u);
    return u;
  } finally {
    setBusy(-1);
  }
}

function releaseBlobs() {
  for (const u of blobs) URL.revokeObjectURL(u);
  blobs = [];
}

function q(path) { return "path=" + encodeURIComponent(path); }

function backButton() {
  return el("button", { id: "back", onclick: () => { location.hash = ""; } },
    MODE === "app" ? t("← Back to the files") : t("← Gallery"));
}

function showError(e) {
  const box = document.getElementById("errors");
  const msg = e && e.message ? e.message : String(e);
  if (box) box.textContent = msg; else alert(msg);
}

// routing -------------------------------------------------------------------

let viewToken = 0;   // ignore late answers for a view the user has left
window.addEventListener("hashchange", route);
route();

function route() {
  releaseBlobs();
  viewToken += 1;
  const h = decodeURIComponent(location.hash.slice(1));
  if (h.startsWith("photo/")) photoView(h.slice(6), viewToken).catch(showError);
  else if (h.startsWith("video/")) videoView(h.slice(6), viewToken).catch(showError);
  else if (MODE === "app") jobView(viewToken).catch(showError);
  else galleryView(viewToken).catch(showError);
}

// gallery -------------------------------------------------------------------

const STATE_LABEL = { "not processed": () => t("not processed"), safe: () => t("safe"),
                      unsafe: () => t("unsafe"), failed: () => t("failed"),
                      written: () => t("written (not verified)") };

async function galleryView(vt) {
  where.textContent = "";
  const data = await api("GET", "/api/files");
  if (vt !== viewToken) return;
  where.textContent = data.folder + "  →  " + data.output;
  const grid = el("div", { class: "grid", id: "gallery" });
  const thumbs = [];
  for (const f of data.files) {
    const img = el("img", { alt: "" });
    const card = el("div", { class: "card", "data-path": f.path, "data-state": f.state,
                             onclick: () => { location.hash = f.kind + "/" + encodeURIComponent(f.path); } },
      el("div", { class: "thumb" }, img),
      el("div", { class: "info" },
        el("div", { class: "name" }, f.path),
        el("span", { class: "badge " + f.state.replace(" ", "-") }, STATE_LABEL[f.state] ? STATE_LABEL[f.state]() : f.state),
        f.reviewed ? el("span", { class: "badge reviewed" }, t("reviewed")) : null,
        el("span", { class: "hint" }, word(f.kind) + (f.faces !== null && f.faces !== undefined ? " · " + t("{n} face(s)", { n: f.faces }) : "")),
        f.error ? el("div", { class: "error" }, tm(f.error)) : null));
    grid.append(card);
    if (f.kind === "photo" || f.kind === "video") thumbs.push([img, f.path]);
  }
  app.replaceChildren(
    el("p", { class: "hint" }, t("{n} file(s). Click one to review it.", { n: data.files.length }) + " " +
       (data.verify === "off" ? t("Verification is OFF.") : t("Verification: {mode}.", { mode: word(data.verify) }))),
    el("div", { id: "errors", class: "error" }), grid);
  // Two at a time: the machine may be small.
  const queue = thumbs.slice();
  const worker = async () => {
    while (queue.length && vt === viewToken) {
      const [img, path] = queue.shift();
      try { img.src = await imageURL("/api/thumb?" + q(path)); } catch (e) { img.alt = t("no preview"); }
    }
  };
  await Promise.all([worker(), worker()]);
}

// photo review ----------------------------------------------------------------

function toolButtons(state, onChange) {
  const tools = [["select", t("Select / remove")], ["box", t("Add box")], ["ellipse", t("Add ellipse")]];
  return tools.map(([t, label]) => el("button", {
    "data-tool": t, "aria-pressed": String(state.tool === t),
    onclick: (ev) => {
      state.tool = t;
      for (const b of ev.target.parentNode.querySelectorAll("button[data-tool]"))
        b.setAttribute("aria-pressed", String(b.dataset.tool === t));
      onChange();
    } }, label));
}

// ``off``: option -> why it cannot be chosen here (shown disabled, the reason as its title).
function selectOf(name, label, options, value, onchange, off) {
  const why = off || {};
  return el("label", {}, label + " ",
    el("select", { "data-name": name, onchange },
      options.map((o) => el("option", { value: o, selected: o === value, disabled: !!why[o],
        title: why[o] ? tm(why[o]) : null }, why[o] ? t("{choice} (unavailable)", { choice: word(o) }) : word(o)))));
}

function svgPoint(svgEl, ev) {
  const p = svgEl.createSVGPoint();
  p.x = ev.clientX; p.y = ev.clientY;
  return p.matrixTransform(svgEl.getScreenCTM().inverse());
}

function shapeEl(box, shape) {
  const [x1, y1, x2, y2] = box;
  if (shape === "ellipse")
    return svg("ellipse", { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, rx: Math.max(1, (x2 - x1) / 2),
                            ry: Math.max(1, (y2 - y1) / 2), "vector-effect": "non-scaling-stroke" });
  return svg("rect", { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1),
                       "vector-effect": "non-scaling-stroke" });
}

// Drawing a new region on an SVG overlay; calls done([x1, y1, x2, y2]).
function enableDrawing(svgEl, state, done) {
  let start = null, draft = null;
  svgEl.addEventListener("pointerdown", (ev) => {
    if (state.tool === "select" || ev.button !== 0) return;
    start = svgPoint(svgEl, ev);
    svgEl.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  svgEl.addEventListener("pointermove", (ev) => {
    if (!start) return;
    const p = svgPoint(svgEl, ev);
    if (draft) draft.remove();
    draft = shapeEl([Math.min(start.x, p.x), Math.min(start.y, p.y),
                     Math.max(start.x, p.x), Math.max(start.y, p.y)], state.tool);
    draft.setAttribute("class", "draft");
    svgEl.append(draft);
  });
  svgEl.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const p = svgPoint(svgEl, ev);
    const box = [Math.min(start.x, p.x), Math.min(start.y, p.y),
                 Math.max(start.x, p.x), Math.max(start.y, p.y)];
    start = null;
    if (draft) { draft.remove(); draft = null; }
    if (box[2] - box[0] >= 3 && box[3] - box[1] >= 3) done(box);
  });
}

function verdictPanel(exp) {
  if (!exp) return el("div", { id: "verdict", class: "panel hint" },
    t("Not exported yet. Export writes the safe file and runs the checks."));
  const v = exp.verdict;
  const state = exp.status === "failed" ? "failed" : (v ? (v.verdict === "safe" ? "safe" : "unsafe") : exp.status);
  const lines = [];
  lines.push(el("div", {}, el("strong", {}, t("Export:") + " "), word(exp.status),
    exp.output ? ` → ${exp.output}` : " " + t("(nothing delivered)")));
  if (v) {
    lines.push(el("div", {}, el("strong", {}, t("Verification:") + " "),
      v.verdict === "safe" ? t("SAFE") : t("UNSAFE"), ` (${word(v.mode)}; ${tm(v.comparison)})`));
    for (const r of v.reasons || []) lines.push(el("div", { class: "error" }, "• " + tm(r)));
    for (const r of v.repaired || []) lines.push(el("div", { class: "hint" }, t("repaired:") + " " + r));
  } else if (exp.status !== "failed") {
    lines.push(el("div", { class: "hint" }, t("Verification is off: nothing checked this output for faces.")));
  }
  if (exp.error) lines.push(el("div", { class: "error" }, tm(exp.error)));
  for (const w of exp.warnings || []) lines.push(el("div", { class: "hint" }, "⚠ " + tm(w)));
  return el("div", { id: "verdict", class: "panel " + state, "data-state": state }, lines);
}

async function photoView(path, vt) {
  where.textContent = path;
  app.replaceChildren(el("p", {}, t("Finding faces…")));
  let doc = await api("GET", "/api/photo?" + q(path));
  if (vt !== viewToken) return;
  const state = { tool: "select" };
  const origURL = await imageURL("/api/photo/original?" + q(path));
  if (vt !== viewToken) return;
  const orig = el("img", { src: origURL, alt: t("original"), id: "original" });
  const result = el("img", { alt: t("result"), id: "result" });
  const overlay = svg("svg", { viewBox: `0 0 ${doc.width} ${doc.height}`, preserveAspectRatio: "none",
                               id: "overlay" });
  const count = el("span", { id: "count", class: "hint" });
  const verdictBox = el("div", {}, verdictPanel(doc.last_export));

  async function refreshPreview() {
    const u = await imageURL("/api/photo/preview?" + q(path));
    if (vt === viewToken) result.src = u;
  }

  async function save(change) {
    const removed = doc.regions.filter((r) => r.source === "detected" && r.removed).map((r) => r.id);
    const added = doc.regions.filter((r) => r.source === "added").map((r) => ({ box: r.box, shape: r.shape }));
    const body = Object.assign({ removed, added, method: doc.method, shape: doc.shape }, change(removed, added));
    doc = await api("PUT", "/api/photo?" + q(path), body);
    draw();
    await refreshPreview();
  }

  function draw() {
    overlay.replaceChildren();
    overlay.classList.toggle("drawing", state.tool !== "select");
    for (const r of doc.regions) {
      const kind = r.kind || "face";
      // Faces follow the chosen shape; heads, bodies, crowd bands, plates and text are areas.
      const area = ["body", "crowd", "plate", "text"].includes(kind);
      const shape = r.source === "added" ? r.shape : (area ? "box" : doc.shape);
      const e = shapeEl(r.cover || r.box, shape);
      e.setAttribute("class", "region " + r.source + " kind-" + kind + (r.removed ? " removed" : ""));
      e.setAttribute("data-id", r.id);
      e.setAttribute("data-kind", kind);
      const tip = svg("title", {});
      tip.textContent = r.source === "added" ? t("added by you: click to delete")
        : (r.removed ? t("{kind} removed: click to cover it again", { kind: word(kind) })
          : t("{kind} (score {score}): click to leave it uncovered", { kind: word(kind), score: r.score }));
      e.append(tip);
      e.addEventListener("click", (ev) => {
        if (state.tool !== "select") return;
        ev.stopPropagation();
        save((removed, added) => {
          if (r.source === "detected") {
            const s = new Set(removed);
            if (s.has(r.id)) s.delete(r.id); else s.add(r.id);
            return { removed: [...s] };
          }
          const i = Number(r.id.slice(1));
          return { added: added.filter((_, j) => j !== i) };
        }).catch(showError);
      });
      overlay.append(e);
    }
    const removedN = doc.regions.filter((r) => r.removed).length;
    count.textContent = t("{n} region(s) covered", { n: doc.faces }) + (removedN ? ", " + t("{n} left uncovered by you", { n: removedN }) : "");
  }

  enableDrawing(overlay, state, (box) => {
    save((removed, added) => ({ added: added.concat([{ box, shape: state.tool }]) })).catch(showError);
  });

  const exportBtn = el("button", { class: "primary", id: "export", onclick: async () => {
    exportBtn.disabled = true;
    try {
      const exp = await api("POST", "/api/photo/export?" + q(path));
      verdictBox.replaceChildren(verdictPanel(exp));
    } catch (e) { showError(e); } finally { exportBtn.disabled = false; }
  } }, t("Export safe file"));

  app.replaceChildren(
    el("div", { class: "toolbar" },
      backButton(),
      toolButtons(state, draw),
      selectOf("method", t("method"), ["fill", "blur", "pixelate"], doc.method,
        (ev) => save(() => ({ method: ev.target.value })).catch(showError)),
      selectOf("cover", t("cover"), ["ellipse", "box"], doc.shape,
        (ev) => save(() => ({ shape: ev.target.value })).catch(showError)),
      el("button", { class: "danger", onclick: async () => {
        if (!confirm(t("Forget your edits and detect faces again?"))) return;
        doc = await api("DELETE", "/api/photo?" + q(path));
        draw(); await refreshPreview();
      } }, t("Reset")),
      exportBtn, count),
    el("p", { class: "hint" },
      t("Red: detected and covered (click to leave uncovered, e.g. a false positive). Blue: added by you (click to delete). Choose Add box / Add ellipse and drag to cover something missed.")),
    el("div", { id: "errors", class: "error" }),
    el("div", { class: "panes" },
      el("div", { class: "pane" }, el("h3", {}, t("Original: regions to cover")),
        el("div", { class: "stage" }, orig, overlay)),
      el("div", { class: "pane" }, el("h3", {}, t("Result (what will be written)")),
        el("div", { class: "stage" }, result))),
    verdictBox);
  draw();
  await refreshPreview();
}

// video review ----------------------------------------------------------------

async function videoView(path, vt) {
  where.textContent = path;
  app.replaceChildren(el("p", {}, t("Loading…")));
  let doc = await api("GET", "/api/video?" + q(path));
  if (vt !== viewToken) return;
  if (doc.status !== "ready") {
    if (doc.status === "new" || doc.status === "failed") {
      await api("POST", "/api/video/analyze?" + q(path));
    }
    // Pass 1 runs on the server; poll until it is done.
    while (vt === viewToken) {
      doc = await api("GET", "/api/video?" + q(path));
      if (doc.status === "ready") break;
      if (doc.status === "failed") { app.replaceChildren(el("p", { class: "error" }, tm(doc.error))); return; }
      const p = doc.progress || { frame: 0, total: 0 };
      app.replaceChildren(el("p", {}, p.total ? t("Finding and tracking faces: frame {frame} of {total}…", { frame: p.frame, total: p.total })
        : t("Finding and tracking faces: frame {frame}…", { frame: p.frame })));
      await new Promise((r) => setTimeout(r, 700));
    }
    if (vt !== viewToken) return;
  }
  const state = { tool: "select", frame: 0, selected: null, flagged: [], weakOpen: false };
  const frameImg = el("img", { alt: t("frame"), id: "frame" });
  const resultImg = el("img", { alt: t("result"), id: "vresult" });
  const overlay = svg("svg", { viewBox: `0 0 ${doc.width} ${doc.height}`, preserveAspectRatio: "none", id: "voverlay" });
  const slider = el("input", { type: "range", min: 0, max: Math.max(0, doc.frames - 1), value: 0, id: "scrub" });
  const label = el("span", { class: "hint", id: "framelabel" });
  const timeline = el("div", { class: "timeline", id: "timeline" });
  const exportBox = el("div", { id: "vexport" });
  const prevFlag = el("button", { id: "prevflag", title: t("previous frame the adversary flagged"),
                                  onclick: () => jumpFlag(-1) }, t("◀ flagged"));
  const nextFlag = el("button", { id: "nextflag", title: t("next frame the adversary flagged"),
                                  onclick: () => jumpFlag(1) }, t("flagged ▶"));
  let loadSeq = 0;

  // The adversary's findings of the last export, by frame: marks and jumps.
  function showExport(exp) {
    state.flagged = (exp && exp.flagged) || [];
    exportBox.replaceChildren(exp ? verdictPanel(exp) : el("div", { id: "verdict", class: "panel hint" },
      t("Not exported yet. Export writes the safe video and runs the checks.")));
    if (exp && state.flagged.length) {
      exportBox.firstChild.append(el("div", { class: "hint", id: "flaginfo" },
        t("The adversary flagged {n} frame(s): {frames}. Use ◀ flagged / flagged ▶ to go through them.",
          { n: state.flagged.length, frames: state.flagged.join(", ") })));
    }
    prevFlag.disabled = nextFlag.disabled = !state.flagged.length;
  }

  function frameLabel() {
    return t("frame {n} / {total}", { n: state.frame + 1, total: doc.frames }) +
      (doc.fps ? " · " + t("{s} s", { s: (state.frame / doc.fps).toFixed(2) }) : "") +
      (state.flagged.includes(state.frame) ? " · " + t("flagged by the adversary") : "");
  }

  function jumpFlag(dir) {
    const f = dir > 0 ? state.flagged.find((x) => x > state.frame)
      : [...state.flagged].reverse().find((x) => x < state.frame);
    if (f !== undefined) showFrame(f).catch(showError);
  }

  async function showFrame(i) {
    state.frame = Math.max(0, Math.min(doc.frames - 1, i));
    slider.value = state.frame;
    label.textContent = frameLabel();
    label.dataset.frame = state.frame;
    const seq = ++loadSeq;
    const regions = await api("GET", `/api/video/regions?${q(path)}&index=${state.frame}`);
    if (seq !== loadSeq || vt !== viewToken) return;
    drawRegions(regions);
    drawTimeline();
    const [a, b] = await Promise.all([
      imageURL(`/api/video/frame?${q(path)}&index=${state.frame}`),
      imageURL(`/api/video/frame?${q(path)}&index=${state.frame}&redacted=1`)]);
    if (seq !== loadSeq || vt !== viewToken) return;
    for (const u of blobs.splice(0, Math.max(0, blobs.length - 2))) URL.revokeObjectURL(u);
    frameImg.src = a; resultImg.src = b;
  }

  function drawRegions(regions) {
    overlay.replaceChildren();
    overlay.classList.toggle("drawing", state.tool !== "select");
    for (const r of regions) {
      // Drawn where and how the export covers it.
      const e = shapeEl(r.cover || r.box, doc.shape);
      e.setAttribute("class", "region " + (r.source === "added" ? "added" : "detected"));
      e.setAttribute("data-track", r.track);
      const tip = svg("title", {});
      tip.textContent = r.source === "added" ? t("your track {id}: click to select it", { id: r.track })
        : t("person {id}: click to leave this person uncovered in the whole video", { id: r.person });
      e.append(tip);
      e.addEventListener("click", (ev) => {
        if (state.tool !== "select") return;
        ev.stopPropagation();
        if (r.source === "added") { state.selected = r.track; drawTimeline(); return; }
        // The whole person: every piece of the track this region belongs to.
        const who = (doc.people || []).find((p) => p.id === r.person);
        const ids = who ? who.tracks : [r.track];
        saveEdits({ deleted: doc.deleted.concat(ids.filter((id) => !doc.deleted.includes(id))) }).catch(showError);
      });
      overlay.append(e);
    }
  }

  function drawTimeline() {
    timeline.replaceChildren();
    const n = Math.max(1, doc.frames);
    const pct = (f) => (100 * f / n) + "%";
    const row = (labelText, cls, segs, buttons, onclick) => {
      const bar = el("div", { class: "bar" });
      for (const [a, b, c] of segs) {
        const s = el("div", { class: "seg " + (c || "") });
        s.style.left = pct(a); s.style.width = pct(Math.max(1, b - a + 1));
        bar.append(s);
      }
      const cur = el("div", { class: "cursor" }); cur.style.left = pct(state.frame);
      bar.append(cur);
      bar.addEventListener("click", onclick);
      return el("div", { class: "trackrow " + cls }, el("span", { class: "label" }, labelText), bar,
        el("span", { class: "actions" }, buttons));
    };
    if (state.flagged.length) {
      timeline.append(row(t("adversary"), "flags", state.flagged.map((f) => [f, f, "flag"]), null,
        (ev) => {
          const r = ev.currentTarget.getBoundingClientRect();
          const f = Math.floor((ev.clientX - r.left) / r.width * n);
          const near = state.flagged.reduce((a, b) => Math.abs(b - f) < Math.abs(a - f) ? b : a);
          showFrame(near).catch(showError);
        }));
    }
    // People: pass 1's track pieces joined (the server's doing), each kept or
    // deleted whole; weak detections (dark, small or blurred faces, false alarms)
    // folded away below the people found clearly.
    const people = doc.people || doc.tracks.map((tr) => Object.assign({ tracks: [tr.id], clear: true }, tr));
    const personRow = (p) => {
      const deleted = p.tracks.every((id) => doc.deleted.includes(id));
      const segs = p.segments.map(([a, b, low]) => [a, b, low ? "low" : ""]);
      const label = t("person {id}", { id: p.id }) +
        (p.tracks.length > 1 ? " " + t("({n} pieces)", { n: p.tracks.length }) : "") +
        (deleted ? " " + t("(deleted)") : "");
      const r = row(label, deleted ? "deleted" : "", segs,
        el("button", { "data-track": p.id, "data-person": p.id, onclick: () => saveEdits({
          deleted: deleted ? doc.deleted.filter((x) => !p.tracks.includes(x))
            : doc.deleted.concat(p.tracks.filter((x) => !doc.deleted.includes(x))) }).catch(showError) },
          deleted ? t("Restore") : t("Delete")),
        () => showFrame(p.first));
      r.dataset.person = p.id;
      r.dataset.clear = p.clear ? "1" : "0";
      return r;
    };
    const clear = people.filter((p) => p.clear);
    const weak = people.filter((p) => !p.clear);
    timeline.append(el("div", { id: "peoplecount", class: "hint", "data-clear": clear.length,
                                "data-weak": weak.length, "data-pieces": doc.tracks.length },
      t("{n} people found clearly", { n: clear.length }) +
      (weak.length ? "; " + t("{n} weak detections also covered (dark, small or blurred faces, or false alarms)", { n: weak.length }) : "")));
    for (const p of clear) timeline.append(personRow(p));
    if (weak.length) {
      const box = el("details", { id: "weak", open: state.weakOpen ? true : null },
        el("summary", {}, t("Weak detections ({n})", { n: weak.length })), weak.map(personRow));
      box.addEventListener("toggle", () => { state.weakOpen = box.open; });
      timeline.append(box);
    }
    doc.added.forEach((a, i) => {
      const ks = a.keyframes.map((k) => k[0]);
      const segs = [[Math.min(...ks), Math.max(...ks), "added"]];
      const sel = state.selected === a.id;
      timeline.append(row(t("yours {id}", { id: a.id }) + (sel ? " ◀" : ""), "", segs,
        el("button", { onclick: () => saveEdits({ added: doc.added.filter((_, j) => j !== i) }).catch(showError) }, t("Delete")),
        () => { state.selected = a.id; showFrame(Math.min(...ks)); }));
    });
  }

  async function saveEdits(change) {
    const body = Object.assign({ deleted: doc.deleted, added: doc.added, method: doc.method,
                                 shape: doc.shape, audio: doc.audio }, change);
    doc = await api("PUT", "/api/video?" + q(path), body);
    await showFrame(state.frame);
  }

  enableDrawing(overlay, state, (box) => {
    const kf = [state.frame, ...box];
    let added = doc.added.map((a) => ({ id: a.id, shape: a.shape, keyframes: a.keyframes }));
    const target = added.find((a) => a.id === state.selected);
    if (target) {
      target.keyframes = target.keyframes.filter((k) => k[0] !== state.frame).concat([kf]);
    } else {
      added = added.concat([{ shape: state.tool, keyframes: [kf] }]);
    }
    saveEdits({ added }).then(() => {
      if (!target && doc.added.length) state.selected = doc.added[doc.added.length - 1].id;
      drawTimeline();
    }).catch(showError);
  });

  slider.addEventListener("input", () => showFrame(Number(slider.value)).catch(showError));
  // Export runs on the server; poll until it has written and checked the video.
  async function followExport() {
    exportBtn.disabled = true;
    try {
      while (vt === viewToken) {
        const d = await api("GET", "/api/video?" + q(path));
        const e = d.export;
        if (e && e.status !== "running") {
          showExport(e);
          drawTimeline();
          label.textContent = frameLabel();
          break;
        }
        const p = (e && e.progress) || { frame: 0, total: 0 };
        exportBox.replaceChildren(el("div", { class: "panel hint", id: "progress" },
          e && e.stage === "verify" ? t("Checking the written video like an attacker…")
            : (p.total ? t("Writing: frame {frame} of {total}…", { frame: p.frame, total: p.total })
              : t("Writing: frame {frame}…", { frame: p.frame }))));
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally { exportBtn.disabled = false; }
  }

  const exportBtn = el("button", { class: "primary", id: "vexportbtn", onclick: async () => {
    try {
      await api("POST", "/api/video/export?" + q(path));
      await followExport();
    } catch (e) { showError(e); }
  } }, t("Export safe video"));

  app.replaceChildren(
    el("div", { class: "toolbar" },
      backButton(),
      toolButtons(state, () => { drawTimeline(); overlay.classList.toggle("drawing", state.tool !== "select"); }),
      el("button", { onclick: () => { state.selected = null; drawTimeline(); } }, t("New track")),
      el("button", { onclick: () => showFrame(state.frame - 1) }, t("◀ frame")),
      el("button", { onclick: () => showFrame(state.frame + 1) }, t("frame ▶")),
      prevFlag, nextFlag,
      selectOf("method", t("method"), ["fill", "blur", "pixelate"], doc.method,
        (ev) => saveEdits({ method: ev.target.value }).catch(showError)),
      selectOf("cover", t("cover"), ["ellipse", "box"], doc.shape,
        (ev) => saveEdits({ shape: ev.target.value }).catch(showError)),
      selectOf("sound", t("sound"), ["drop", "keep", "mute-speech", "disguise"], doc.audio,
        (ev) => saveEdits({ audio: ev.target.value }).catch(showError), doc.unavailable),
      exportBtn, label),
    el("p", { class: "hint" },
      t("Red: a tracked face (click it, or Delete in the timeline, to leave that person uncovered). Add box / Add ellipse: drag on the frame to cover something; keep the same track selected and draw on other frames to set keyframes: the box is carried along between them (with cover: ellipse, a drawn box is covered by the ellipse around it). After an export, the frames the adversary flags are marked on the timeline.")),
    el("div", { id: "errors", class: "error" }),
    el("div", { class: "panes" },
      el("div", { class: "pane" }, el("h3", {}, t("Original frame: regions to cover")),
        el("div", { class: "stage" }, frameImg, overlay)),
      el("div", { class: "pane" }, el("h3", {}, t("Result")), el("div", { class: "stage" }, resultImg))),
    slider, timeline, exportBox);
  const running = doc.export && doc.export.status === "running";
  showExport(running ? null : doc.export);
  await showFrame(0);
  if (running) followExport().catch(showError);  // e.g. the page was reloaded meanwhile
}
