// unseen app page (mode "app"): add photos and videos, choose what to hide,
// process them, review each one, save the safe files, read the report. The
// server decides everything (unseen/app.py); this draws it and sends clicks.
"use strict";

const STATE_TEXT = {
  waiting: () => t("waiting"), working: () => t("working…"), written: () => t("safe"),
  unsafe: () => t("unsafe: will not be saved"), failed: () => t("failed"),
  done: () => t("done in an earlier run"), skipped: () => t("skipped"),
};

function fileState(f) {
  if (f.state === "written" && !f.verdict) return t("written (not checked)");
  const s = STATE_TEXT[f.state];
  return s ? s() : f.state;
}

async function uploadFile(file) {
  setBusy(1);
  try {
    const r = await fetch("/api/job/upload?name=" + encodeURIComponent(file.name), {
      method: "PUT", body: file,
      headers: { "X-Unseen-Token": TOKEN, "Content-Type": "application/octet-stream" } });
    const text = await r.text();
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
    if (!r.ok) throw new Error(tm((data && data.error) || r.statusText));
    return data;
  } finally {
    setBusy(-1);
  }
}

async function jobView(vt) {
  where.textContent = "";
  let data = await api("GET", "/api/job");
  if (vt !== viewToken) return;
  const problems = el("div", { id: "problems", class: "error" });
  const paths = el("input", { type: "text", id: "paths", size: 60, autocomplete: "off",
    placeholder: t("Full path of a photo, a video or a folder"), "aria-label": t("Path") });
  const list = el("div", { id: "files" });
  const overall = el("progress", { id: "overall", max: 1, value: 0 });
  const overallLabel = el("span", { id: "overall-label", class: "hint" });
  const processBtn = el("button", { class: "primary", id: "process" }, t("Process all files"));
  const outdir = el("input", { type: "text", id: "outdir", size: 60, autocomplete: "off",
    placeholder: t("Full path of a new or empty folder"), "aria-label": t("Folder to save into") });
  const savedBox = el("div", { id: "saved" });
  const reportBox = el("div", { id: "report", class: "report" });
  const upload = el("input", { type: "file", id: "upload", multiple: true, hidden: true,
    accept: "image/*,video/*,.heic,.heif,.mkv,.h264,.h265,.hevc" });
  let polling = false;

  function showProblems(list2) {
    problems.replaceChildren(...(list2 || []).map((p) => el("div", {}, tm(p))));
  }

  function render() {
    const busyNow = data.running;
    const rows = data.files.map((f) => el("div", { class: "filerow", "data-name": f.name, "data-state": f.state },
      el("span", { class: "fname" }, f.name),
      el("span", { class: "hint" }, f.kind === "video" ? t("video") : t("photo")),
      el("progress", { class: "fprogress", max: 1, value: f.progress }),
      el("span", { class: "badge " + (f.state === "written" && f.verdict === "safe" ? "safe" : f.state) }, fileState(f)),
      f.faces !== null && f.faces !== undefined ? el("span", { class: "hint" }, t("{n} face(s) covered", { n: f.faces })) : null,
      el("button", { class: "review", disabled: busyNow, onclick: () => {
        location.hash = f.kind + "/" + encodeURIComponent(f.name); } }, t("Review")),
      el("button", { class: "remove", disabled: busyNow, title: t("Take this file out of the job"), onclick: () =>
        api("DELETE", "/api/job/file?name=" + encodeURIComponent(f.name)).then(update).catch(showError) }, t("Remove")),
      f.error ? el("div", { class: "error" }, tm(f.error)) : null,
      // What the report says about the file's safety (the sound kept, a stream
      // removed ...), as the terminal prints it.
      (f.warnings || []).map((w) => el("div", { class: "warning" }, "⚠ " + tm(w)))));
    list.replaceChildren(...(rows.length ? rows : [el("p", { class: "hint" }, t("No files yet."))]));
    overall.value = data.progress;
    overallLabel.dataset.total = data.files.length;
    const c = data.counts || {};
    const done = (c.written || 0) + (c.done || 0) + (c.unsafe || 0) + (c.failed || 0);
    overallLabel.dataset.done = done;
    overallLabel.textContent = data.files.length
      ? t("{done} of {n} files processed", { done, n: data.files.length }) +
        (c.unsafe ? " · " + t("{n} unsafe", { n: c.unsafe }) : "") +
        (c.failed ? " · " + t("{n} failed", { n: c.failed }) : "")
      : "";
    processBtn.disabled = busyNow || !data.files.length;
    processBtn.textContent = busyNow ? t("Processing…") : t("Process all files");
    for (const b of document.querySelectorAll("#job input[type=radio], #job input[type=checkbox]")) {
      b.disabled = busyNow || b.dataset.unavailable === "1";
    }
    if (data.error) showProblems([data.error]);
    if (data.saved) {
      const s = data.saved;
      savedBox.replaceChildren(el("div", { class: "panel safe", id: "savedinfo", "data-saved": s.files.length },
        el("div", {}, t("Saved {n} safe file(s) to {folder}", { n: s.files.length, folder: s.folder })),
        s.not_saved.length ? el("div", { class: "error" }, t("Not saved:")) : null,
        s.not_saved.map((x) => el("div", { class: "error" }, "• " + x.name + ": " + tm(x.why))),
        el("div", { class: "hint" }, t("The job is finished: unseen deleted its own copies. The report below stays until you close the app."))));
    } else {
      savedBox.replaceChildren();
    }
  }

  async function update(d) {
    data = d || await api("GET", "/api/job");
    if (vt !== viewToken) return;
    // What was asked for worked: an error of an earlier attempt no longer stands.
    const errors = document.getElementById("errors");
    if (errors) errors.textContent = "";
    if (data.problems) showProblems(data.problems);
    render();
    if (data.running && !polling) poll().catch(showError);
  }

  async function poll() {
    polling = true;
    try {
      while (vt === viewToken) {
        await new Promise((r) => setTimeout(r, 600));
        if (vt !== viewToken) break;
        data = await api("GET", "/api/job");
        render();
        if (!data.running) break;
      }
    } finally { polling = false; }
  }

  async function addPaths() {
    const p = paths.value.trim();
    if (!p) return;
    await update(await api("POST", "/api/job/add", { paths: [p] }));
    if (!(data.problems || []).length) paths.value = "";
  }

  async function uploadAll(files) {
    const errs = [];
    for (const f of files) {
      try { await uploadFile(f); } catch (e) { errs.push(e.message || String(e)); }
    }
    await update();
    showProblems(errs);
  }

  // A choice whose model cannot run here (a damaged installation) is shown
  // disabled, with the server's reason in the page's language.
  function why(feature) {
    const reason = (data.unavailable || {})[feature];
    return reason ? el("span", { class: "hint unavailable" }, " — " + tm(reason)) : null;
  }

  function choose(name, value, label) {
    const checked = data.choices[name] === value;
    const reason = why(name + " " + value);
    return el("label", { class: "choice" + (reason ? " off" : "") },
      el("input", { type: "radio", name, value, checked, disabled: !!reason,
        "data-unavailable": reason ? "1" : "0",
        onchange: () => setChoice({ [name]: value }) }), " ", label, reason);
  }

  function check(name, label) {
    const reason = why(name);
    return el("label", { class: "choice" + (reason ? " off" : "") },
      el("input", { type: "checkbox", name, checked: data.choices[name], disabled: !!reason,
        "data-unavailable": reason ? "1" : "0",
        onchange: (ev) => setChoice({ [name]: ev.target.checked }) }), " ", label, reason);
  }

  async function setChoice(change) {
    try {
      await update(await api("PUT", "/api/job/choices", Object.assign({}, data.choices, change)));
    } catch (e) { showError(e); }
  }

  const drop = el("div", { id: "drop", class: "drop" }, t("Or drop photos and videos here"));
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    uploadAll([...ev.dataTransfer.files]).catch(showError);
  });
  upload.addEventListener("change", () => { uploadAll([...upload.files]).catch(showError); upload.value = ""; });
  paths.addEventListener("keydown", (ev) => { if (ev.key === "Enter") addPaths().catch(showError); });
  processBtn.addEventListener("click", () => api("POST", "/api/job/process").then(update).catch(showError));

  const chooseBtn = el("button", { id: "choose", onclick: () => {
    if (data.dialogs) api("POST", "/api/job/dialog", { kind: "files" }).then(update).catch(showError);
    else upload.click();
  } }, t("Choose files…"));
  const pickDir = data.dialogs ? el("button", { id: "pickdir", onclick: async () => {
    try {
      const d = await api("POST", "/api/job/dialog", { kind: "folder" });
      if (d.folder) outdir.value = d.folder;
    } catch (e) { showError(e); }
  } }, t("Choose folder…")) : null;

  const saveBtn = el("button", { class: "primary", id: "save", onclick: async () => {
    try {
      await update(await api("POST", "/api/job/save", { folder: outdir.value.trim() }));
      await showReport();
    } catch (e) { showError(e); }
  } }, t("Save the safe files"));
  const discardBtn = el("button", { class: "danger", id: "discard", onclick: async () => {
    if (!confirm(t("Forget this job? unseen deletes its own copies; your originals stay as they are."))) return;
    try { await update(await api("POST", "/api/job/discard")); reportBox.replaceChildren(); } catch (e) { showError(e); }
  } }, t("Discard the job"));
  const forgetBtn = el("button", { class: "danger", id: "forget", onclick: async () => {
    if (!confirm(t("Remove every trace unseen keeps on this computer: this job, its copies and the state of every unfinished run? Saved files and your originals stay as they are."))) return;
    try {
      const d = await api("POST", "/api/job/forget");
      await update(d);
      reportBox.replaceChildren();
      forgotten.textContent = t("Removed {n} job state(s): unseen keeps nothing of your files now.", { n: d.forgotten });
    } catch (e) { showError(e); }
  } }, t("Forget everything"));
  const forgotten = el("p", { id: "forgotten", class: "hint" });

  async function showReport() {
    setBusy(1);
    let html;
    try {
      const lang = window.unseenLanguage ? window.unseenLanguage() : "";  // i18n.js
      const r = await fetch("/api/job/report?lang=" + encodeURIComponent(lang),
                            { headers: { "X-Unseen-Token": TOKEN }, cache: "no-store" });
      if (!r.ok) throw new Error(await r.text());
      html = await r.text();
    } finally { setBusy(-1); }
    if (vt !== viewToken) return;
    // Parsed, never run: the report holds no script, and the page's policy allows none.
    // Its own <style> stays out (the policy allows no inline style, even in a parsed
    // copy): the page's style.css has the same rules for .report.
    const parsed = new DOMParser().parseFromString(html.replace(/<style[^>]*>[\s\S]*?<\/style>/gi, ""), "text/html");
    const blob = new Blob([html], { type: "text/html" });
    const link = el("a", { id: "downloadreport", download: "unseen-report.html" }, t("Download the report"));
    link.href = URL.createObjectURL(blob);
    blobs.push(link.href);
    reportBox.replaceChildren(link, ...[...parsed.body.childNodes].map((n) => document.importNode(n, true)));
  }

  app.replaceChildren(el("div", { id: "job" },
    el("div", { id: "errors", class: "error" }),
    el("section", { class: "step" }, el("h2", {}, t("1. Add photos and videos")),
      el("div", { class: "toolbar" }, paths, el("button", { id: "add", onclick: () => addPaths().catch(showError) }, t("Add")),
        chooseBtn, upload),
      drop,
      el("p", { class: "hint" }, t("A path is read where it is. A dropped file is copied into unseen's private job folder, which is deleted when you save or discard the job.")),
      problems, list),
    el("section", { class: "step" }, el("h2", {}, t("2. What to hide")),
      el("fieldset", {}, el("legend", {}, t("People")),
        choose("cover", "face", t("Faces")),
        choose("cover", "head", t("Whole heads (hair and ears too)")),
        choose("cover", "body", t("Whole people (clothes and bags too)"))),
      el("fieldset", {}, el("legend", {}, t("Text")),
        check("plates", t("Licence plates")),
        check("text", t("All other text: name tags, signs, dates printed on the picture"))),
      el("fieldset", {}, el("legend", {}, t("Sound of videos")),
        choose("audio", "drop", t("Remove the sound (safest: voices identify people)")),
        choose("audio", "mute-speech", t("Keep the sound, mute the voices")),
        choose("audio", "disguise", t("Keep the words, disguise the voices (weaker)")),
        choose("audio", "keep", t("Keep the sound as it is (voices can identify people)")))),
    el("section", { class: "step" }, el("h2", {}, t("3. Process")),
      el("div", { class: "toolbar" }, processBtn, overall, overallLabel),
      el("p", { class: "hint" }, t("Then check each file with Review: click a cover to remove it, draw one where something was missed."))),
    el("section", { class: "step" }, el("h2", {}, t("4. Save")),
      el("div", { class: "toolbar" }, outdir, pickDir, saveBtn, discardBtn),
      el("p", { class: "hint" }, t("The folder will hold the safe files and nothing else.")),
      savedBox),
    el("section", { class: "step" }, el("h2", {}, t("Report")),
      el("button", { id: "showreport", onclick: () => showReport().catch(showError) }, t("Show the report")),
      reportBox),
    el("section", { class: "step" }, el("h2", {}, t("Traces")),
      el("p", { class: "hint" }, t("unseen keeps a job's state only while it is unfinished, and no file names in it. To remove all of it now (also what the command line keeps):")),
      forgetBtn, forgotten)));
  render();
  if (data.running) poll().catch(showError);
}
