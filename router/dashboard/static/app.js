// The operator page: listens to /events (server-sent events) and draws each state.
// Plain JavaScript, no libraries: the page works offline.
"use strict";

const COLORS = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"];
const STATE_COLORS = { idle: "#81c784", busy: "#1565c0", wrap_up: "#64b5f6", break: "#ffb74d", away: "#bdbdbd" };
const HISTORY = 240;
const history = [];  // [{now, waiting: {queue: n}}]
let updates = 0;

const $ = (id) => document.getElementById(id);
const fmtInt = (n) => (n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"));
const fmtPct = (x) => (x === null || x === undefined ? "-" : (100 * x).toFixed(1) + "%");
function fmtSec(s) {
  if (s === null || s === undefined) return "-";
  if (s < 60) return s.toFixed(1) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
  return (s / 3600).toFixed(1) + "h";
}
function slClass(sl, goal) {
  if (sl === null || sl === undefined) return "";
  if (sl >= goal) return "good";
  return sl >= goal - 0.15 ? "warn" : "bad";
}
function td(text, cls) {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function drawQueues(st) {
  const body = $("queues").querySelector("tbody");
  body.replaceChildren();
  for (const q of st.queues) {
    const w = q.windows || {};
    const win = (label) => w[label] || {};
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;
    tr.append(
      td(q.name), td(q.channel || "-"), td(fmtInt(q.waiting)), td(fmtSec(q.longest_wait_s)),
      td(fmtSec(q.expected_wait_s)),
    );
    for (const label of ["5m", "15m", "30m", "since_reset"]) {
      const sl = win(label).service_level;
      tr.append(td(fmtPct(sl), slClass(sl, st.sl_goal)));
    }
    const all = win("since_reset");
    tr.append(
      td(fmtSec(win("5m").asa_s)), td(fmtPct(win("5m").abandon_rate)), td(fmtInt(all.offered)),
      td(fmtInt(all.answered)), td(fmtInt(all.abandoned)), td(fmtInt(all.rejected)),
      td(`${fmtInt(q.moved_in)} / ${fmtInt(q.moved_out)}`),
    );
    body.append(tr);
  }
}

function drawAgents(st) {
  const states = $("states");
  states.replaceChildren();
  const counts = st.agents_by_state || {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0) || 1;
  const legend = $("state-legend");
  legend.replaceChildren();
  for (const [name, n] of Object.entries(counts)) {
    const part = document.createElement("div");
    part.style.width = (100 * n) / total + "%";
    part.style.background = STATE_COLORS[name] || "#999";
    part.title = `${name}: ${n}`;
    states.append(part);
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${STATE_COLORS[name] || "#999"}"></i>`;
    item.append(`${name} ${n}`);
    legend.append(item);
  }
  const body = $("agents").querySelector("tbody");
  body.replaceChildren();
  for (const a of st.agents) {
    const tr = document.createElement("tr");
    const held = Object.entries(a.load).map(([ch, n]) => `${ch} ${n}`);
    if (a.load_channel_unknown) held.push(`? ${a.load_channel_unknown}`);  // no known channel
    const load = held.join(", ") || "-";
    const occ = td("");
    occ.innerHTML = `<span class="bar"><i style="width:${Math.min(100, 100 * (a.occupancy || 0))}%"></i></span>`;
    occ.append(fmtPct(a.occupancy));
    tr.append(td(a.id), td(a.reason ? `${a.state} (${a.reason})` : a.state), td(load), occ, td(fmtInt(a.handled)));
    body.append(tr);
  }
}

function drawChart(st) {
  const point = { now: st.now, waiting: {} };
  for (const q of st.queues) point.waiting[q.name] = q.waiting;
  if (history.length && st.now < history[history.length - 1].now) history.length = 0;
  history.push(point);
  if (history.length > HISTORY) history.shift();
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 30;
  ctx.clearRect(0, 0, W, H);
  const names = st.queues.map((q) => q.name);
  let max = 1;
  for (const p of history) for (const n of names) max = Math.max(max, p.waiting[n] || 0);
  const t0 = history[0].now, t1 = Math.max(history[history.length - 1].now, t0 + 1);
  ctx.strokeStyle = "#e2e5ea";
  ctx.fillStyle = "#6b7380";
  ctx.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = H - pad - ((H - 2 * pad) * i) / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(W - 8, y); ctx.stroke();
    ctx.fillText(String(Math.round((max * i) / 4)), 2, y + 4);
  }
  names.forEach((n, i) => {
    ctx.strokeStyle = COLORS[i % COLORS.length];
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach((p, j) => {
      const x = pad + ((W - pad - 8) * (p.now - t0)) / (t1 - t0);
      const y = H - pad - ((H - 2 * pad) * (p.waiting[n] || 0)) / max;
      if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
  const legend = $("legend");
  legend.replaceChildren();
  names.forEach((n, i) => {
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${COLORS[i % COLORS.length]}"></i>`;
    item.append(n);
    legend.append(item);
  });
}

function draw(st) {
  updates += 1;
  $("updates").textContent = String(updates);
  $("mode").textContent = st.mode;
  $("title").textContent = st.title || "";
  $("clock").textContent = st.clock;
  $("status").textContent = st.error ? `failed: ${st.error}` : st.done ? "replay ended" : "live";
  $("progress-bar").style.width = st.progress === null || st.progress === undefined ? "0" : 100 * st.progress + "%";
  const t = st.totals;
  $("total-waiting").textContent = fmtInt(t.waiting);
  $("total-in-service").textContent = fmtInt(t.in_service);
  $("total-agents").textContent = fmtInt(t.agents_logged_in);
  $("total-assigned").textContent = fmtInt(t.assigned);
  $("total-abandoned").textContent = fmtInt(t.abandoned);
  $("total-refused").textContent = fmtInt(t.refused);
  $("total-decisions").textContent = fmtInt(t.decisions);
  $("surge").textContent = st.surge ? "ON" : "off";
  $("surge-tile").classList.toggle("on", !!st.surge);
  $("surge-changed").textContent = st.surge_changed ? `since ${st.surge_changed}` : "";
  $("version").textContent = String(st.version);
  const r = st.last_reconfigure;
  $("last-reconfigure").textContent = r
    ? `v${r.version} at ${r.clock}; ${r.handed_over} handed over, ${r.rejected} rejected`
    : "no reconfigure yet";
  $("sl-goal").textContent = fmtPct(st.sl_goal);
  drawQueues(st);
  drawAgents(st);
  drawChart(st);
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("state", (ev) => draw(JSON.parse(ev.data)));
  source.onerror = () => { $("status").textContent = "reconnecting"; };
}

$("config-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("config-result");
  const file = $("config-file").files[0];
  if (!file) { out.className = "result err"; out.textContent = "choose a file first"; return; }
  const form = new FormData();
  form.append("config", file, file.name);
  out.className = "result"; out.textContent = "checking...";
  try {
    const res = await fetch("/api/config", { method: "POST", body: form });
    const body = await res.json();
    if (body.ok) {
      out.className = "result ok";
      out.textContent = `applied: version ${body.version} (${body.summary})`;
      if (body.warnings && body.warnings.length) {
        out.textContent += "\nwarnings (applied all the same):\n" + body.warnings.join("\n");
      }
    } else {
      out.className = "result err";
      out.textContent = "not applied:\n" + body.problems.join("\n");
    }
  } catch (err) {
    out.className = "result err"; out.textContent = String(err);
  }
});

connect();
