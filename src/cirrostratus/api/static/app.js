// Cirrostratus dashboard: plain JS over the state API; no build step, no network beyond it.
"use strict";
const API = location.pathname.replace(/ui\/?.*$/, "");
const STATES = ["CLAIMED", "PROCESSING", "COMPLETED", "FAILED", "INVALID", "ABORTED"];
const $ = (sel, root = document) => root.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const badge = (s) => `<span class="badge" style="--c: var(--${esc(s)})">${esc(s)}</span>`;
const fmt = (n) => typeof n === "number" ? n.toLocaleString() : esc(n);
const when = (t) => t ? new Date(t).toLocaleString() : "";
const idPath = (pid) => pid.split("/").map(encodeURIComponent).join("/");

async function get(path, opts = {}) {
  const r = await fetch(API + path, opts);
  const text = await r.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* logs are JSON lines */ }
  if (!r.ok) throw new Error((body && body.error) || text || r.statusText);
  return body;
}

function toast(msg) {
  const t = $("#toast");
  t.textContent = msg; t.classList.add("show");
  clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.remove("show"), 3500);
}

// --- routing: #/ , #/items?..., #/item/<payload id> ---------------------------------------
let current = null;
function route() {
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  document.querySelectorAll("header nav a").forEach((a) => a.classList.remove("on"));
  if (path.startsWith("/item/")) {
    current = {name: "item", id: decodeURIComponent(path.slice(6))};
  } else if (path.startsWith("/items")) {
    current = {name: "items", params};
    $('[data-nav="items"]').classList.add("on");
  } else {
    current = {name: "home"};
    $('[data-nav="home"]').classList.add("on");
  }
  render();
}
async function render() {
  const view = $("#view");
  try {
    if (current.name === "home") await renderHome(view);
    else if (current.name === "items") await renderItems(view, current.params);
    else await renderItem(view, current.id);
  } catch (e) {
    view.innerHTML = `<div class="card errorbox">${esc(e.message)}</div>`;
  }
}

// --- overview ------------------------------------------------------------------------------
let chartInterval = "hourly";
async function renderHome(view) {
  // a deployment without an events table (Cirrus 0.9's went to Timestream) has no /stats
  const [ov, stats] = await Promise.all([get("overview"), get("stats").catch((e) => ({error: e.message}))]);
  if (!ov.workflows.length && !ov.queued) { view.innerHTML = emptyProject(); return; }
  const totals = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const w of ov.workflows) for (const s of STATES) totals[s] += Number(String(w.counts[s]).replace("+", "")) || 0;
  const tiles = [["QUEUED", ov.queued], ...STATES.map((s) => [s, totals[s]])].map(([s, n]) =>
    `<div class="tile" style="--c: var(--${s})" data-state="${s}"><div class="n">${fmt(n)}</div><div class="l">${s}</div></div>`).join("");
  const rows = ov.workflows.map((w) => {
    const base = `#/items?collections=${encodeURIComponent(w.collections)}&workflow=${encodeURIComponent(w.workflow)}`;
    const cells = STATES.map((s) => {
      const n = w.counts[s];
      return `<td class="num" data-state="${s}"><a class="${n ? "" : "zero"}" href="${base}&state=${s}">${fmt(n)}</a></td>`;
    }).join("");
    return `<tr data-workflow="${esc(w.workflow)}"><td><a href="${base}">${esc(w.workflow)}</a></td><td class="muted">${esc(w.collections)}</td>${cells}</tr>`;
  }).join("");
  view.innerHTML = `
    <h1>Overview</h1>
    <p class="sub">Every payload of this project by workflow and state. Counts update live.
      ${ov.dead_letters ? `<span class="err">${fmt(ov.dead_letters)} dead letters</span> (<code>cirro deadletters</code>).` : ""}</p>
    <div class="tiles">${tiles}</div>
    <div class="card"><h2>Workflows × states</h2>
      <table id="matrix"><thead><tr><th>workflow</th><th>collections</th>${STATES.map((s) => `<th class="num">${s.toLowerCase()}</th>`).join("")}</tr></thead>
      <tbody>${rows}</tbody></table></div>
    <div class="card"><div class="head"><h2>Transitions over time</h2>
      <div class="seg"><button data-int="hourly">hourly · 36 h</button><button data-int="daily">daily · 60 d</button></div></div>
      <div id="chart"></div></div>`;
  view.querySelectorAll(".seg button").forEach((b) => {
    b.classList.toggle("on", b.dataset.int === chartInterval);
    b.onclick = () => { chartInterval = b.dataset.int; render(); };
  });
  $("#chart").innerHTML = stats.error ? `<p class="muted" id="nostats">${esc(stats.error)}</p>` : chart(stats.state_transitions[chartInterval]);
}

function emptyProject() {
  return `<div class="card empty"><h1>No payloads yet</h1>
    <p class="sub">This project has not run anything. Submit a first payload and watch it here.</p>
    <ol>
      <li>Write a payload: <code>cirro create payload</code> is not needed — any Cirrus process payload works,
        e.g. a FeatureCollection with <code>"process": {"workflow": "&lt;name&gt;"}</code>.</li>
      <li>Queue it: <code>cirro submit payload.json</code>, or
        <code>curl -X POST -H "Authorization: Bearer $CIRRO_API_TOKEN" --data @payload.json ${esc(location.origin + API)}payloads</code></li>
      <li>Run it: keep <code>cirro serve --port 8000</code> running, or <code>cirro run payload.json</code>.</li>
    </ol></div>`;
}

function chart(bins) {
  const W = 1140, H = 220, L = 44, B = 26, T = 10;
  const totals = bins.map((b) => b.states.reduce((a, s) => a + s.count, 0));
  const max = Math.max(1, ...totals);
  const bw = (W - L) / bins.length;
  let bars = "";
  bins.forEach((b, i) => {
    let y = H - B;
    for (const s of b.states) {
      if (!s.count) continue;
      const h = (s.count / max) * (H - B - T);
      y -= h;
      bars += `<rect x="${(L + i * bw + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="var(--${s.state})"><title>${esc(b.period)} ${s.state}: ${s.count} (${s.unique_count} payloads)</title></rect>`;
    }
  });
  let axis = "";
  for (let k = 0; k <= 4; k++) {
    const v = +((max * k) / 4).toFixed(max < 4 ? 1 : 0), y = H - B - (k / 4) * (H - B - T);
    axis += `<line x1="${L}" x2="${W}" y1="${y}" y2="${y}" stroke="#eef0f5"/><text x="${L - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#8a90a0">${v}</text>`;
  }
  const every = Math.ceil(bins.length / 12);
  bins.forEach((b, i) => {
    if (i % every) return;
    const label = b.interval === "day" ? b.period.slice(5) : b.period.slice(11, 16);
    axis += `<text x="${L + i * bw + bw / 2}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#8a90a0">${label}</text>`;
  });
  const legend = STATES.map((s) => `<span><i style="background: var(--${s})"></i>${s.toLowerCase()}</span>`).join("");
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="transitions">${axis}${bars}</svg><div class="legend">${legend}</div>`;
}

// --- item list -----------------------------------------------------------------------------
const pages = [];  // nextkeys of the pages before this one
async function renderItems(view, params) {
  const ov = await get("overview");
  const pairs = ov.workflows;
  const p = (k) => params.get(k) || "";
  let cw = pairs.find((w) => w.workflow === p("workflow") && (!p("collections") || w.collections === p("collections")));
  if (!cw && pairs.length) cw = pairs[0];
  const opts = pairs.map((w) => `<option value="${esc(w.collections)}|${esc(w.workflow)}" ${w === cw ? "selected" : ""}>${esc(w.workflow)} · ${esc(w.collections)}</option>`).join("");
  view.innerHTML = `<h1>Payloads</h1><p class="sub">Newest first. Filter, then open one to see its timeline, error and logs.</p>
    <div class="card"><form class="filters" id="filters">
      <label>workflow<select name="cw">${opts}</select></label>
      <label>state<select name="state"><option value="">any</option>${STATES.map((s) => `<option ${s === p("state") ? "selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>since<input name="since" placeholder="e.g. 8h, 2d" value="${esc(p("since"))}"></label>
      <label>error starts with<input name="error" placeholder="e.g. TimedOutError" value="${esc(p("error"))}"></label>
      <button class="primary" type="submit">Apply</button></form></div>
    <div class="card" id="list">${cw ? "loading…" : "nothing to list yet"}</div>`;
  $("#filters").onsubmit = (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const [c, w] = String(f.get("cw") || "|").split("|");
    const q = new URLSearchParams({collections: c, workflow: w});
    for (const k of ["state", "since", "error"]) if (f.get(k)) q.set(k, f.get(k));
    pages.length = 0;
    location.hash = "#/items?" + q.toString();
  };
  if (cw) await loadPage(cw, params, params.get("nextkey"));
}

async function loadPage(cw, params, nextkey) {
  const q = new URLSearchParams({limit: "25"});
  if (params.get("state")) q.set("state", params.get("state"));
  if (params.get("since")) q.set("since", params.get("since"));
  if (params.get("error")) q.set("error_prefix", params.get("error"));
  if (nextkey) q.set("nextkey", nextkey);
  const page = await get(`${idPath(cw.collections)}/workflow-${encodeURIComponent(cw.workflow)}/items?${q}`);
  const rows = page.items.map((r) => `<tr data-id="${esc(r.payload_id)}">
      <td class="id"><a href="#/item/${encodeURIComponent(r.payload_id)}">${esc(r.items)}</a></td>
      <td>${badge(r.state)}</td><td class="muted">${when(r.updated)}</td>
      <td class="err">${esc((r.last_error || "").slice(0, 140))}</td></tr>`).join("");
  $("#list").innerHTML = `<table><thead><tr><th>items</th><th>state</th><th>updated</th><th>last error</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="4" class="muted">nothing matches</td></tr>`}</tbody></table>
    <div class="pager"><button id="prev" ${pages.length ? "" : "disabled"}>← Newer</button>
      <span class="muted">page ${pages.length + 1}</span>
      <button id="next" ${page.nextkey ? "" : "disabled"}>Older →</button></div>`;
  $("#next").onclick = () => { pages.push(nextkey || ""); loadPage(cw, params, page.nextkey); };
  $("#prev").onclick = () => { loadPage(cw, params, pages.pop() || null); };
}

// --- one payload ---------------------------------------------------------------------------
async function renderItem(view, pid) {
  const base = idPath(pid);
  const [rec, hist, execs] = await Promise.all([get(base), get(base + "/history"), get(base + "/executions")]);
  const [logs, input, output] = await Promise.all([
    get(base + "/logs").catch((e) => e.message), get(base + "/input").catch(() => null), get(base + "/output").catch(() => null)]);
  const logText = (typeof logs === "string" ? logs : JSON.stringify(logs)).trim().split("\n").filter(Boolean).map((l) => {
    try { const r = JSON.parse(l); return `${r.time} ${r.function || ""} [${r.stream || ""}] ${String(r.message || "").trimEnd()}`; } catch (e) { return l; }
  }).join("\n");
  const items = (output && output.features) || [];
  const error = rec.last_error ? `<div class="errorbox"><strong class="err">${esc(rec.last_error)}</strong>
      ${hist.traceback ? `<pre class="trace" id="traceback">${esc(hist.traceback)}</pre>` : ""}</div>` : "";
  view.innerHTML = `
    <div class="head"><div><h1 class="id">${esc(rec.items)}</h1>
      <p class="sub id"><span class="mono">${esc(rec.payload_id)}</span></p></div>
      <div>${badge(rec.state)} <button id="rerun" class="danger">Rerun</button></div></div>
    ${error}
    <div class="grid2">
      <div class="card"><h2>Record</h2><dl class="kv">
        <dt>workflow</dt><dd><a href="#/items?collections=${encodeURIComponent(rec.collections)}&workflow=${encodeURIComponent(rec.workflow)}">${esc(rec.workflow)}</a></dd>
        <dt>collections</dt><dd>${esc(rec.collections)}</dd>
        <dt>created</dt><dd>${when(rec.created)}</dd><dt>updated</dt><dd>${when(rec.updated)}</dd>
        <dt>executions</dt><dd>${execs.length}</dd>
        <dt>outputs</dt><dd>${rec.outputs.map((o) => `<div class="mono id">${esc(o)}</div>`).join("") || "—"}</dd></dl></div>
      <div class="card"><h2>Timeline</h2><div id="timeline">${timeline(hist, execs)}</div></div>
    </div>
    ${items.length ? `<div class="card"><h2>Output items</h2><div class="grid2"><div class="thumbs">${items.map(thumb).join("")}</div><div>${footprints(items)}</div></div></div>` : ""}
    <div class="card"><h2>Executions</h2><table><thead><tr><th>execution</th><th>status</th><th>start</th><th>end</th><th>states</th></tr></thead><tbody>
      ${execs.map((e) => `<tr><td class="mono">${esc(e.id)}</td><td>${esc(e.status)}</td><td class="muted">${when(e.start)}</td><td class="muted">${when(e.end)}</td>
        <td>${e.states.map((s) => `<span class="${s.error ? "err" : ""}">${esc(s.state)}${s.seconds != null ? ` ${(s.seconds * 1000).toFixed(0)} ms` : ""}${s.error ? ` (${esc(s.error)})` : ""}</span>`).join(" → ")}</td></tr>`).join("")}
    </tbody></table></div>
    <div class="card"><details ${rec.state === "FAILED" ? "open" : ""}><summary>Logs</summary><pre id="logs">${esc(logText) || "(no task output recorded)"}</pre></details></div>
    <div class="grid2">
      <div class="card"><details><summary>Input payload</summary><pre>${esc(JSON.stringify(input, null, 2))}</pre></details></div>
      <div class="card"><details><summary>Output payload</summary><pre>${output ? esc(JSON.stringify(output, null, 2)) : "(none yet)"}</pre></details></div>
    </div>`;
  $("#rerun").onclick = () => rerun(pid);
}

function timeline(hist, execs) {
  const rows = [];
  for (const s of hist.spans) if (s.state) rows.push({label: s.state, start: Date.parse(s.start) / 1000, end: s.end ? Date.parse(s.end) / 1000 : null, color: `var(--${s.state})`, title: `${s.state}${s.error ? ": " + s.error : ""}`});
  execs.forEach((e, n) => {
    for (const s of e.states) rows.push({label: `  ${n + 1}· ${s.state}`, start: s.entered, end: s.seconds != null ? s.entered + s.seconds : null, color: s.error ? "var(--FAILED)" : "#94a3b8", title: `${s.type} ${s.state}${s.error ? " — " + s.error : ""}`});
  });
  if (!rows.length) return `<p class="muted">no history yet</p>`;
  const t0 = Math.min(...rows.map((r) => r.start));
  const t1 = Math.max(...rows.map((r) => r.end ?? r.start), t0 + 0.001);
  const W = 560, L = 150, RH = 20;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 10);
  const bars = rows.map((r, i) => {
    const y = 6 + i * RH, x0 = x(r.start), x1 = Math.max(x0 + 3, x(r.end ?? t1));
    return `<text x="${L - 8}" y="${y + 13}" text-anchor="end" font-size="11.5" fill="#4b5563">${esc(r.label)}</text>
      <rect class="span" x="${x0.toFixed(1)}" y="${y + 3}" width="${(x1 - x0).toFixed(1)}" height="${RH - 7}" rx="3" fill="${r.color}"><title>${esc(r.title)}</title></rect>`;
  }).join("");
  const total = t1 - t0;
  return `<svg viewBox="0 0 ${W} ${rows.length * RH + 26}" width="100%">${bars}
    <text x="${W - 10}" y="${rows.length * RH + 20}" text-anchor="end" font-size="11" fill="#8a90a0">${total < 1 ? (total * 1000).toFixed(0) + " ms" : total.toFixed(2) + " s"}</text></svg>`;
}

function thumb(item) {
  const a = item.assets || {};
  const t = a.thumbnail || Object.values(a).find((x) => (x.roles || []).includes("thumbnail"));
  const href = t && t.href ? assetHref(item, t.href) : null;
  return `<div class="thumb">${href ? `<img src="${esc(href)}" alt="">` : `<div style="height:110px;display:grid;place-items:center" class="muted">no thumbnail</div>`}
    <div class="cap">${esc(item.id)}<br><span class="muted">${esc(item.collection || "")}</span></div></div>`;
}

// http(s) and data: thumbnails load as they are; file:// ones, absolute paths, and paths
// relative to the item's file:// self link go through the API's read-only /asset route
function assetHref(item, href) {
  if (/^(https?:|data:)/.test(href)) return href;
  let local = href;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith("/")) {
    const self = (item.links || []).find((l) => l.rel === "self");
    if (self && /^file:/.test(self.href)) { try { local = new URL(href, self.href).href; } catch (e) { /* keep it */ } }
  } else if (!/^file:/.test(href)) return null;  // s3:// and the like: no thumbnail here
  return API + "asset?href=" + encodeURIComponent(local);
}

function footprints(items) {
  const polys = [];
  for (const it of items) {
    const g = it.geometry;
    if (!g) continue;
    const rings = g.type === "Polygon" ? [g.coordinates[0]] : g.type === "MultiPolygon" ? g.coordinates.map((p) => p[0]) : [];
    for (const r of rings) polys.push({id: it.id, ring: r});
  }
  if (!polys.length) return `<p class="muted">no footprints (items without geometry)</p>`;
  const xs = polys.flatMap((p) => p.ring.map((c) => c[0])), ys = polys.flatMap((p) => p.ring.map((c) => c[1]));
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = Math.max(x1 - x0, y1 - y0, 0.5) * 0.25;
  x0 -= pad; x1 += pad; y0 -= pad; y1 += pad;
  const W = 520, H = 300, sx = W / (x1 - x0), sy = H / (y1 - y0), s = Math.min(sx, sy);
  const ox = (W - (x1 - x0) * s) / 2, oy = (H - (y1 - y0) * s) / 2;
  const px = (c) => `${(ox + (c[0] - x0) * s).toFixed(1)},${(H - oy - (c[1] - y0) * s).toFixed(1)}`;
  let grid = "";
  const rough = Math.max(x1 - x0, y1 - y0) / 5, mag = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= rough);
  for (let gx = Math.ceil(x0 / step) * step; gx <= x1; gx += step) grid += `<line x1="${px([gx, y0]).split(",")[0]}" x2="${px([gx, y0]).split(",")[0]}" y1="0" y2="${H}" stroke="#e5e9f2"/><text x="${px([gx, y0]).split(",")[0]}" y="${H - 4}" font-size="10" fill="#9aa1b1">${+gx.toFixed(4)}°</text>`;
  for (let gy = Math.ceil(y0 / step) * step; gy <= y1; gy += step) grid += `<line y1="${px([x0, gy]).split(",")[1]}" y2="${px([x0, gy]).split(",")[1]}" x1="0" x2="${W}" stroke="#e5e9f2"/><text x="4" y="${px([x0, gy]).split(",")[1] - 3}" font-size="10" fill="#9aa1b1">${+gy.toFixed(4)}°</text>`;
  const shapes = polys.map((p) => `<polygon points="${p.ring.map(px).join(" ")}" fill="rgba(59,130,246,.18)" stroke="#2563eb" stroke-width="1.5"><title>${esc(p.id)}</title></polygon>`).join("");
  return `<svg id="footprints" viewBox="0 0 ${W} ${H}" width="100%" style="background:#f8fafc;border-radius:8px">${grid}${shapes}</svg>`;
}

async function rerun(pid) {
  const token = $("#token").value.trim();
  if (!token) { toast("Enter the write token (top right) to rerun."); $("#token").focus(); return; }
  try {
    const r = await get("rerun", {method: "POST", headers: {"Authorization": `Bearer ${token}`, "Content-Type": "application/json"}, body: JSON.stringify({payload_ids: [pid]})});
    toast(r.queued && r.queued.length ? "Queued to run again." : `Not queued: ${(r.skipped[0] || {}).reason || "nothing to rerun"}`);
  } catch (e) { toast(`Rerun refused: ${e.message}`); }
}

// --- live updates --------------------------------------------------------------------------
let pending = null, trailing = null;
function onTransition(ev) {
  const data = JSON.parse(ev.data);
  if (current.name === "item" && data.payload_id !== current.id) return;
  clearTimeout(pending); clearTimeout(trailing);
  pending = setTimeout(render, 300);  // a burst of transitions: one refresh
  trailing = setTimeout(render, 2500);  // and one after the server's 2 s overview cache
}
function connect() {
  const live = $("#live");
  const es = new EventSource(API + "events");
  es.addEventListener("transition", onTransition);
  es.onopen = () => { live.classList.add("on"); live.classList.remove("off"); };
  es.onerror = () => { live.classList.remove("on"); live.classList.add("off"); };
}

const tokenInput = $("#token");
tokenInput.value = localStorage.getItem("cirro-token") || "";
tokenInput.onchange = () => localStorage.setItem("cirro-token", tokenInput.value.trim());
window.addEventListener("hashchange", route);
route();
connect();
