// The longtask dashboard: no build step, no dependencies. Signs in with the API token
// (the server answers with an HttpOnly cookie and a CSRF value for state changes),
// lists jobs, and follows one job over the same SSE stream the API offers.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { csrf: null, source: null, jobId: null, jobsTimer: null, activity: [], warnings: new Map() };
const ORDER = ["done", "cached", "running", "queued", "pending", "retrying", "dead", "canceled"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}
const basename = (p) => String(p || "").split("/").pop();
const clock = (t) => new Date(t * 1000).toLocaleTimeString();
const finished = (c) => c.done + c.cached + c.dead + c.canceled;

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf || "";
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(path, opts);
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (resp.status === 401) { show("signin"); throw new Error("signed out"); }
  if (!resp.ok) throw new Error((data && data.detail) || `${resp.status} ${resp.statusText}`);
  return data;
}

function show(view) {
  for (const v of ["signin", "jobs-view", "job-view"]) $(v).hidden = v !== view;
  $("signout").hidden = view === "signin";
  if (view !== "job-view") closeStream();
  if (view !== "jobs-view" && state.jobsTimer) { clearInterval(state.jobsTimer); state.jobsTimer = null; }
}

function closeStream() {
  if (state.source) { state.source.close(); state.source = null; }
  $("conn").textContent = ""; $("conn").classList.remove("live");
}

// ---- sign-in ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const r = await fetch("/api/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value.trim() }),
    });
    const data = await r.json();
    if (!r.ok) throw new Error(data.detail || "sign-in failed");
    state.csrf = data.csrf; $("token").value = "";
    route();
  } catch (e) { $("signin-error").textContent = e.message; }
}

async function signOut() {
  await fetch("/api/session", { method: "DELETE", credentials: "same-origin" });
  state.csrf = null; show("signin");
}

// ---- job list ---------------------------------------------------------------------

async function loadJobs() {
  const jobs = await api("GET", "/api/jobs?limit=50");
  const body = $("jobs-body");
  body.replaceChildren(...jobs.map((j) => {
    const total = j.tasks || 0, done = finished(j.counts);
    const pct = total ? (100 * done) / total : 100;
    const row = el("tr", { class: "link", "data-job": j.id },
      el("td", {}, j.id),
      el("td", {}, el("span", { class: `badge ${j.state}` }, j.state)),
      el("td", { class: "num" }, `${done}/${total}`),
      el("td", {}, el("div", { class: "bar small" }, el("div", { class: pct >= 100 ? "complete" : "", style: `width:${pct}%` }))),
      el("td", { class: "num" }, `${j.pages_done}/${j.pages_total}`),
      el("td", { class: "muted" }, new Date(j.created_at * 1000).toLocaleString()));
    row.addEventListener("click", () => { location.hash = `#/jobs/${j.id}`; });
    return row;
  }));
  $("jobs-empty").hidden = jobs.length > 0;
}

async function upload(event) {
  event.preventDefault();
  $("upload-error").textContent = "";
  const files = $("files").files;
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  form.append("priority", $("priority").value);
  $("upload-button").disabled = true;
  try {
    const r = await api("POST", "/api/jobs", form);
    $("files").value = "";
    location.hash = `#/jobs/${r.id}`;
  } catch (e) { $("upload-error").textContent = e.message; }
  finally { $("upload-button").disabled = false; }
}

// ---- one job ----------------------------------------------------------------------

function setBar(id, done, total) {
  const pct = total ? Math.min(100, (100 * done) / total) : 0;
  const bar = $(id);
  bar.style.width = `${pct}%`;
  bar.classList.toggle("complete", total > 0 && done >= total);
}

function renderProgress(snap) {
  const j = snap.job, c = j.counts, est = snap.estimate || {};
  $("job-title").textContent = `Job ${j.id}`;
  $("job-state").className = `badge ${j.state}`;
  $("job-state").textContent = j.state;
  $("job-meta").textContent = `${j.priority} priority · ${j.tasks} document${j.tasks === 1 ? "" : "s"} · ${(j.bytes / 1e6).toFixed(1)} MB`;
  const total = j.tasks, done = finished(c);
  setBar("docs-bar", done, total);
  $("docs-text").textContent = `${done} / ${total}`;
  const expected = Math.max(est.pages_expected || j.pages_total || 0, j.pages_done);
  setBar("pages-bar", j.pages_done, expected);
  $("pages-text").textContent = `${j.pages_done} / ${est.pages_exact === false ? "~" : ""}${expected}`;
  $("rate").textContent = est.rate ? est.rate.toFixed(1) : "–";
  $("eta").textContent = ["succeeded", "failed", "canceled"].includes(j.state) ? "done" : duration(est.eta);
  $("chunks").textContent = j.chunks;
  $("workers").textContent = snap.workers;
  const end = j.finished_at || snap.at;
  $("elapsed").textContent = j.started_at ? duration(end - j.started_at) : "–";
  $("counts").replaceChildren(...ORDER.filter((s) => c[s]).map((s) => el("span", { class: `chip ${s}` }, s, el("b", {}, c[s]))));
  const running = snap.running || [];
  $("running").replaceChildren(...running.map((r) => el("div", { class: "doc" },
    el("span", { class: "name", title: r.path }, basename(r.path), r.stalled ? el("span", { class: "stalled" }, "stalled") : ""),
    el("div", { class: "bar small" }, el("div", { style: `width:${r.pages_total ? (100 * r.pages_done) / r.pages_total : 0}%` })),
    el("span", { class: "num" }, `${r.pages_done}/${r.pages_total ?? "?"}`))));
  $("running-empty").hidden = running.length > 0;
  for (const w of snap.warnings || []) addWarning(w.id, w.path, w.warning);
  renderSkipped(j);
  const ended = ["succeeded", "failed", "canceled"].includes(j.state);
  $("cancel").disabled = ended;
  $("resume").disabled = !(j.state === "canceled" || (c.canceled && ended));
  $("retry").hidden = !c.dead;
}

// What the submit left out, as `longtask status JOB` words it (cli/output.skipped_line).
const SKIPPED_SHOWN = 5;
function renderSkipped(j) {
  const skipped = j.skipped || [];
  const line = (s) => (s.not_read ? `skipped ${s.reason}` : `skipped ${s.path}: ${s.reason}`);
  const more = skipped.length - SKIPPED_SHOWN;
  $("job-skipped").replaceChildren(...skipped.slice(0, SKIPPED_SHOWN).map((s) => el("li", {}, line(s))),
    ...(more > 0 ? [el("li", {}, `skipped ${more} more: GET /api/jobs/${j.id} lists them`)] : []));
}

function addActivity(d) {
  state.activity.unshift(d);
  state.activity = state.activity.slice(0, 40);
  $("activity").replaceChildren(...state.activity.map((a) => el("li", {},
    el("span", { class: "when" }, clock(a.at)),
    el("span", { class: `chip ${a.state}` }, a.state),
    el("span", { class: "name", title: a.path }, a.name || basename(a.path)),
    a.error_message ? el("span", { class: "muted" }, a.error_type || "") : "")));
}

function addWarning(task, path, text) {
  if (state.warnings.get(task) === text) return;
  state.warnings.set(task, text);
  $("warnings").replaceChildren(...[...state.warnings].reverse().slice(0, 20).map(([, t], i) => {
    const p = [...state.warnings.keys()].reverse()[i];
    return el("li", {}, el("span", { class: "name" }, `#${p}`), el("span", { class: "text" }, t));
  }));
  $("warnings-empty").hidden = state.warnings.size > 0;
}

async function loadDead(id) {
  const dead = await api("GET", `/api/jobs/${id}/dead`);
  $("dead-body").replaceChildren(...dead.map((t) => el("tr", {},
    el("td", {}, t.id), el("td", { title: t.path }, basename(t.path)),
    el("td", {}, el("span", { class: "chip dead" }, t.error_type || "?")),
    el("td", { class: "reason" }, t.error_message || ""), el("td", { class: "num" }, t.attempts))));
  $("dead-empty").hidden = dead.length > 0;
}

async function openJob(id) {
  show("job-view");
  state.jobId = id; state.activity = []; state.warnings = new Map();
  $("activity").replaceChildren(); $("warnings").replaceChildren(); $("warnings-empty").hidden = false;
  $("job-error").textContent = "";
  try {
    renderProgress(await api("GET", `/api/jobs/${id}`));
    await loadDead(id);
  } catch (e) { $("job-error").textContent = e.message; return; }
  const source = new EventSource(`/api/jobs/${id}/events`);
  state.source = source;
  source.onopen = () => { $("conn").textContent = "live"; $("conn").classList.add("live"); };
  source.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").classList.remove("live"); };
  source.addEventListener("progress", (e) => renderProgress(JSON.parse(e.data)));
  source.addEventListener("document", (e) => {
    const d = JSON.parse(e.data);
    addActivity(d);
    if (d.state === "dead" || d.previous === "dead") loadDead(id).catch(() => {});
  });
  source.addEventListener("warning", (e) => { const w = JSON.parse(e.data); addWarning(w.task, w.path, w.warning); });
  source.addEventListener("end", (e) => {
    const end = JSON.parse(e.data);
    source.close(); state.source = null;
    $("conn").textContent = `ended: ${end.state} (exit ${end.exit_code})`; $("conn").classList.remove("live");
    api("GET", `/api/jobs/${id}`).then(renderProgress).catch(() => {});
    loadDead(id).catch(() => {});
  });
}

async function act(path, button, body) {
  button.disabled = true; $("job-error").textContent = "";
  try {
    await api("POST", path, body);
    if (!state.source && state.jobId) openJob(state.jobId); // follow it again after a resume
  } catch (e) { $("job-error").textContent = e.message; }
}

// ---- routing ------------------------------------------------------------------------

async function route() {
  if (!state.csrf) {
    const s = await fetch("/api/session", { credentials: "same-origin" }).then((r) => r.json());
    if (!s.signed_in) { show("signin"); return; }
    state.csrf = s.csrf;
  }
  const m = location.hash.match(/^#\/jobs\/(\d+)$/);
  if (m) { openJob(Number(m[1])); return; }
  show("jobs-view");
  loadJobs().catch(() => {});
  state.jobsTimer = setInterval(() => loadJobs().catch(() => {}), 3000);
}

// ---- search -------------------------------------------------------------------------

// The snippet with the query's words marked, from the spans the server sends (the
// same ones `longtask search` marks: whole words and their stems, never stop words);
// nothing here looks for words. Built from text nodes and <mark> elements (never
// innerHTML: the text is the documents', and the CSP is strict). The spans count code
// points, as Python does, so the text is sliced as an array of code points.
function marked(text, spans) {
  const frag = document.createDocumentFragment();
  const chars = Array.from(text);
  let last = 0;
  for (const [start, end] of spans || []) {
    if (start < last || end > chars.length) continue;
    if (start > last) frag.append(chars.slice(last, start).join(""));
    frag.append(el("mark", {}, chars.slice(start, end).join("")));
    last = end;
  }
  frag.append(chars.slice(last).join(""));
  return frag;
}

async function search(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  const list = $("search-results");
  $("search-error").textContent = "";
  list.replaceChildren();
  $("search-empty").hidden = true;
  if (!q) return;
  try {
    const params = new URLSearchParams({ q, k: "10", mode: $("search-mode").value });
    const rows = await api("GET", `/api/search?${params}`);
    for (const r of rows) {
      const pages = r.location || (r.page_start === r.page_end ? `p${r.page_start}` : `p${r.page_start}–${r.page_end}`);
      const meta = [pages, r.section, r.ocr ? "OCR" : null, `score ${r.score.toFixed(3)}`].filter(Boolean).join(" · ");
      list.append(el("li", { class: "hit" },
        el("div", { class: "hit-head" }, el("strong", { class: "hit-doc", title: r.path }, basename(r.path)), " ",
          el("span", { class: "muted hit-meta" }, meta)),
        el("p", { class: "snippet" }, marked(r.snippet, r.highlights))));
    }
    $("search-empty").hidden = rows.length > 0;
  } catch (e) {
    $("search-error").textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", search);
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("upload-form").addEventListener("submit", upload);
  $("cancel").addEventListener("click", () => act(`/api/jobs/${state.jobId}/cancel`, $("cancel"), { grace: 10 }));
  $("resume").addEventListener("click", () => act(`/api/jobs/${state.jobId}/resume`, $("resume")));
  $("retry").addEventListener("click", () => act("/api/retry-failed", $("retry"), { job: state.jobId }));
  window.addEventListener("hashchange", route);
  route();
});
