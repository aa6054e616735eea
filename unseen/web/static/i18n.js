// unseen's languages in the page. The server puts every catalog in the page
// (<script type="application/json" id="unseen-i18n">, unseen.i18n.page_data);
// this picks one (the choice kept in localStorage, else the server's language)
// into window.UNSEEN_I18N, which t() reads, and adds the language switch.
// tm() translates a finished English message from the server (an error, a
// warning): the catalog entry it was made from, with its values put back.
"use strict";

(function () {
  const KEY = "unseen-lang";
  const HTML_LANG = { en: "en", zh_Hans: "zh-Hans", zh_Hant: "zh-Hant" };
  const node = document.getElementById("unseen-i18n");
  let data = { default: "en", languages: { en: "English" }, catalogs: {} };
  try { if (node) data = JSON.parse(node.textContent); } catch (e) { /* English */ }
  const known = (code) => code === "en" || Object.prototype.hasOwnProperty.call(data.catalogs, code);
  let stored = null;
  try { stored = window.localStorage.getItem(KEY); } catch (e) { stored = null; }
  let current = known(stored) ? stored : (known(data.default) ? data.default : "en");
  const patterns = {};
  const numeric = new Set(data.numeric || []);  // placeholders that hold numbers only

  function use(code) {
    current = code;
    window.UNSEEN_I18N = data.catalogs[code] || {};
    document.documentElement.lang = HTML_LANG[code] || code.replace("_", "-");
  }

  // English messages with {placeholders} as patterns, the most specific first
  // (the same rule as unseen.i18n.translate).
  function templates(code) {
    if (patterns[code]) return patterns[code];
    const out = [];
    for (const [english, translated] of Object.entries(data.catalogs[code] || {})) {
      const pieces = english.split(/\{(\w+)\}/);
      if (pieces.length === 1) continue;
      const literal = pieces.filter((_, i) => i % 2 === 0).join("");
      if ((literal.match(/[A-Za-z]/g) || []).length < 4) continue;
      const names = [];
      const source = pieces.map((p, i) => {
        if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(p);
        return numeric.has(p) ? "(-?\\d[\\d.,]*\\+?)" : "([\\s\\S]+?)";
      }).join("");
      out.push([literal.length, new RegExp("^" + source + "$"), names, translated]);
    }
    out.sort((a, b) => b[0] - a[0]);
    patterns[code] = out;
    return out;
  }

  function translateValue(value, depth) {
    if (value.split(/\s+/).length < 3) return value;
    const whole = translateMessage(value, depth);
    if (whole !== value || value.indexOf("; ") < 0) return whole;
    const parts = value.split("; ").map((v) => translateMessage(v, depth));
    return parts.join("; ") === value ? value : parts.join("；");
  }

  function translateMessage(text, depth) {
    if (!text || current === "en") return text;
    const catalog = window.UNSEEN_I18N || {};
    if (Object.prototype.hasOwnProperty.call(catalog, text) && catalog[text]) return catalog[text];
    for (const [, re, names, translated] of templates(current)) {
      const m = re.exec(text);
      if (!m) continue;
      const values = {};
      names.forEach((n, i) => { values[n] = (depth || 0) < 4 ? translateValue(m[i + 1], (depth || 0) + 1) : m[i + 1]; });
      return translated.replace(/\{(\w+)\}/g, (all, k) => (Object.prototype.hasOwnProperty.call(values, k) ? values[k] : all));
    }
    return text;
  }

  function addSwitch() {
    const header = document.querySelector("header");
    if (!header || document.getElementById("lang")) return;
    const select = document.createElement("select");
    select.id = "lang";
    select.setAttribute("aria-label", "Language / 语言 / 語言");
    select.style.marginLeft = "auto";
    for (const [code, name] of Object.entries(data.languages)) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = name;
      option.selected = code === current;
      select.append(option);
    }
    select.addEventListener("change", () => {
      try { window.localStorage.setItem(KEY, select.value); } catch (e) { /* kept for this page only */ }
      use(select.value);
      // The page draws itself again in the new language.
      window.dispatchEvent(new Event("unseen-language"));
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    header.append(select);
  }

  use(current);
  window.tm = (text) => translateMessage(text, 0);
  window.unseenLanguage = () => current;
  addSwitch();
})();
