// The wall: loads the fleet once, then follows GET /v1/health/stream; no polling of the whole fleet.
import { api, ApiError } from "./api.js";
import { makeI18n } from "./i18n.js";
import { CityMap } from "./map.js";
import { Alarm } from "./sound.js";

const params = new URLSearchParams(location.search);
const preset = {
  area: params.get("area"),
  kiosk: params.get("kiosk") === "1",
  theme: params.get("theme") === "light" ? "light" : "dark",
  sound: params.get("sound") !== "0",
  lang: params.get("lang") === "en" ? "en" : "vi",
};
const CHANGED_MS = 120000;
const OFFLINE_ROWS = 40;
const $ = (id) => document.getElementById(id);

const state = {
  me: null, styles: {}, order: [], cameras: new Map(), incidents: new Map(), lastEventId: null,
  changedAt: new Map(), ready: false, pending: [], stream: null, staleSince: null, guard: false, asOf: null, dirty: false, freshIncident: false,
};
let i18n = makeI18n(preset.lang);
let map = null;
const alarm = new Alarm(preset.sound);

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const label = (status) => state.styles[status]?.label[i18n.lang] ?? status;
const glyph = (status) =>
  `<span class="glyph s-${status}" aria-hidden="true">${state.styles[status]?.glyph ?? "?"}</span>`;

// Colours from the status table, as a constructed stylesheet (the page's CSP forbids inline styles).
function adoptStatusColours(table) {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(table.map((s) => `.s-${s.status} { color: ${s.colour}; }`).join("\n"));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
const areaOf = (c) => (preset.area ? c.ward || c.district : c.district);

function applyLanguage() {
  document.documentElement.lang = i18n.lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = i18n.t(el.dataset.t);
  const other = i18n.lang === "vi" ? ["en", "English"] : ["vi", "Tiếng Việt"];
  $("lang").lang = other[0];
  $("lang").textContent = other[1];
  $("counts").setAttribute("aria-label", i18n.t("summary"));
}

// ---- rendering (coalesced: a burst of events costs one frame) ----

function schedule() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(() => { state.dirty = false; render(); });
}

function counts(cameras) {
  const n = Object.fromEntries(state.order.map((s) => [s, 0]));
  for (const c of cameras) n[c.status] = (n[c.status] ?? 0) + 1;
  const up = n.online + n.degraded;
  const denominator = up + n.offline;
  return { n, total: cameras.length, availability: denominator ? (100 * up) / denominator : null };
}

const pct = (v) => (v === null ? "—" : `${v.toFixed(1)} %`);

function renderCounts() {
  const { n, total, availability } = counts([...state.cameras.values()]);
  const items = [`<li><span class="k">${esc(i18n.t("total"))}</span> <b>${total}</b></li>`];
  for (const s of state.order) {
    items.push(`<li data-status="${s}">${glyph(s)}<span class="k">${esc(label(s))}</span> <b>${n[s]}</b></li>`);
  }
  items.push(`<li><span class="k">${esc(i18n.t("availability"))}</span> <b id="availability">${pct(availability)}</b></li>`);
  $("counts").innerHTML = items.join("");
  $("as-of").textContent = state.asOf ? i18n.stamp(state.asOf) : "—";
  if (state.asOf) $("as-of").dateTime = state.asOf.toISOString();
}

function renderAreas() {
  const groups = new Map();
  for (const c of state.cameras.values()) {
    const key = areaOf(c);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  const openByArea = new Map();
  for (const inc of state.incidents.values()) {
    const key = preset.area && inc.kind === "ward" ? inc.scope : inc.district;
    if (key) openByArea.set(key, (openByArea.get(key) ?? 0) + 1);
  }
  const now = Date.now();
  const rows = [...groups].map(([key, cams]) => ({ key, ...counts(cams) }))
    .sort((a, b) => b.n.offline - a.n.offline || b.n.degraded - a.n.degraded || a.key.localeCompare(b.key));
  $("areas").tBodies[0].innerHTML = rows.map((r) => {
    const changed = now - (state.changedAt.get(r.key) ?? 0) < CHANGED_MS;
    return `<tr data-area="${esc(r.key)}"${changed ? ' class="changed"' : ""}>` +
      `<th scope="row">${changed ? `<span class="mark" title="${esc(i18n.t("changed"))}">◆<span class="sr">${esc(i18n.t("changed"))}</span></span> ` : ""}${esc(r.key)}</th>` +
      `<td>${r.total}</td><td class="off">${r.n.offline}</td><td>${r.n.degraded}</td>` +
      `<td>${pct(r.availability)}</td><td>${openByArea.get(r.key) ?? 0}</td></tr>`;
  }).join("");
}

function renderOffline() {
  const offline = [...state.cameras.values()].filter((c) => c.status === "offline").sort((a, b) => b.since - a.since);
  $("off-n").textContent = `(${offline.length})`;
  if (!offline.length) { $("offline").innerHTML = `<li class="empty">${esc(i18n.t("none_offline"))}</li>`; return; }
  $("offline").innerHTML = offline.slice(0, OFFLINE_ROWS).map((c) =>
    `<li><button type="button" class="cam" data-id="${c.id}">${glyph("offline")}<span class="sr">${esc(label("offline"))}</span>` +
    `<b>${esc(c.code)}</b> <span class="where">${esc(areaOf(c))}</span> ` +
    `<span class="age" data-since="${c.since}"></span></button></li>`
  ).join("") + (offline.length > OFFLINE_ROWS ? `<li class="more">+${offline.length - OFFLINE_ROWS}</li>` : "");
  tick();
}

function canAck(inc) {
  const me = state.me;
  if (!me?.can_ack) return false;
  return me.districts === null || (inc.district !== null && me.districts.includes(inc.district));
}

function renderIncidents() {
  const open = [...state.incidents.values()].filter((i) => i.state === "open").sort((a, b) => b.id - a.id);
  if (!open.length) { $("incidents").innerHTML = `<li class="empty">${esc(i18n.t("no_incidents"))}</li>`; return; }
  $("incidents").innerHTML = open.map((inc) => {
    const acked = inc.acked_at !== null;
    const button = canAck(inc)
      ? `<button type="button" class="ack" data-incident="${inc.id}" data-action="${acked ? "unack" : "ack"}">${esc(i18n.t(acked ? "unack" : "ack"))}</button>`
      : "";
    return `<li class="incident${acked ? " acked" : ""}" data-incident-id="${inc.id}">` +
      `<span class="kind">${esc(i18n.cause(inc.kind))}</span> <b>${esc(inc.scope)}</b> · ${inc.camera_count} ${esc(i18n.t("cameras"))}` +
      `<div class="cause">${esc(inc.cause)}</div>` +
      `<div class="meta">${esc(i18n.t("since"))} ${esc(i18n.time(new Date(inc.opened_at)))}` +
      (acked ? ` · ${esc(i18n.t("acked_by"))} ${esc(inc.acked_by)}${inc.note ? ` — ${esc(inc.note)}` : ""}` : "") +
      `</div>${button}</li>`;
  }).join("");
}

function render() {
  renderCounts();
  renderAreas();
  renderOffline();
  renderIncidents();
  const unacked = [...state.incidents.values()].filter((i) => i.state === "open" && i.acked_at === null).length;
  alarm.check(unacked, state.freshIncident);
  state.freshIncident = false;
}

// Ages keep ticking between events, always from the absolute time (never a counter that drifts).
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".age[data-since]")) {
    const since = Number(el.dataset.since);
    el.textContent = `${i18n.t("since")} ${i18n.time(new Date(since))} (${i18n.age(now - since)})`;
  }
  if (state.staleSince) $("stale").textContent = `${i18n.t("stale_since")} ${i18n.stamp(state.staleSince)}`;
}

// ---- live ----

function setLive(live) {
  document.body.classList.toggle("is-stale", !live);
  $("live").dataset.live = live ? "1" : "0";
  $("live-text").textContent = live ? i18n.t("live") : `${i18n.t("stale_since")} ${i18n.time(state.staleSince ?? new Date())}`;
  $("stale").hidden = live;
  tick();
}

function applyEvent(ev) {
  // Before the snapshot has loaded, events wait: applied over it afterwards (the newer verdict wins).
  if (!state.ready) { state.pending.push(ev); return; }
  // Ids only grow: an id at or below the last applied one is a replay after a resume, never applied twice.
  if (state.lastEventId !== null && ev.id <= state.lastEventId) return;
  state.lastEventId = ev.id;
  const c = state.cameras.get(ev.camera_id);
  if (!c) { addCamera(ev.camera_id).catch(console.warn); return; }
  const at = Date.parse(ev.at);
  if (at < c.since) return; // the snapshot already holds a newer verdict
  c.status = ev.to;
  c.reason = ev.reason;
  c.since = at;
  c.incident_id = ev.incident_id;
  state.changedAt.set(areaOf(c), Date.now());
  state.asOf = new Date(Math.max(state.asOf?.getTime() ?? 0, Date.parse(ev.recorded_at)));
  map.paint(c, label);
  if (ev.incident_id !== null) incidentsChanged();
  schedule();
}

// Transitions of an incident's cameras open, grow or close it: the open list is read again, once per burst.
let incidentsTimer = null;
function incidentsChanged() {
  if (incidentsTimer) return;
  incidentsTimer = setTimeout(async () => {
    incidentsTimer = null;
    const known = new Set(state.incidents.keys());
    await loadIncidents().catch(() => {});
    state.freshIncident ||= [...state.incidents.keys()].some((id) => !known.has(id));
  }, 500);
}

// A camera registered after the page loaded: its first transition brings it in, read once from the API.
async function addCamera(id) {
  if (state.cameras.has(id)) return;
  const h = await api.get(`/v1/health/cameras/${id}?transitions=0`);
  const c = { id: h.id, code: h.code, name: h.name, district: h.district, ward: h.ward, lon: h.longitude, lat: h.latitude,
    status: h.status, reason: h.reason, since: Date.parse(h.since), incident_id: h.incident_id };
  state.cameras.set(id, c);
  state.changedAt.set(areaOf(c), Date.now());
  map.add(c, label);
  schedule();
}

async function loadIncidents() {
  const page = await api.get("/v1/health/incidents?state=open&limit=200");
  state.incidents = new Map(page.items.map((i) => [i.id, i]));
  schedule();
}

function connect() {
  const q = new URLSearchParams();
  if (preset.area) q.append("district", preset.area);
  // A new EventSource resumes with since=; the browser's own reconnects send Last-Event-ID.
  if (state.lastEventId !== null) q.set("since", String(state.lastEventId));
  const es = new EventSource(`/v1/health/stream${q.size ? `?${q}` : ""}`);
  state.stream = es;
  es.addEventListener("open", () => {
    const wasStale = state.staleSince !== null;
    state.staleSince = null;
    setLive(true);
    if (wasStale) loadIncidents().catch(() => {});
  });
  // The stream's position: the browser's own reconnects resume from it (Last-Event-ID) even before any
  // transition arrived, and a new EventSource after a refusal resumes with since=.
  es.addEventListener("connected", (e) => {
    const after = JSON.parse(e.data).last_event_id;
    if (state.lastEventId === null || after > state.lastEventId) state.lastEventId = after;
  });
  es.addEventListener("status", (e) => applyEvent(JSON.parse(e.data)));
  es.addEventListener("incident", (e) => {
    const inc = JSON.parse(e.data);
    state.incidents.set(inc.id, inc);
    schedule();
  });
  es.addEventListener("error", () => {
    if (!state.staleSince) state.staleSince = new Date();
    setLive(false);
    if (es.readyState === EventSource.CLOSED) setTimeout(() => { if (state.stream === es) connect(); }, 2000);
  });
}

async function refreshSummary() {
  try {
    const s = await api.get(`/v1/health/summary`);
    state.guard = s.stale;
    $("guard").hidden = !s.stale;
    $("guard").textContent = i18n.t("guard");
    if (s.as_of && !state.asOf) state.asOf = new Date(s.as_of);
  } catch (e) { if (e instanceof ApiError && e.status === 401) location.reload(); }
}

// ---- detail ----

function strip(transitions, now) {
  const from = now - 86400000;
  const points = transitions.map((t) => ({ at: Date.parse(t.at), from: t.from, to: t.to })).sort((a, b) => a.at - b.at);
  const segments = [];
  let current = points.filter((p) => p.at <= from).pop()?.to ?? points.find((p) => p.at > from)?.from ?? "unknown";
  let start = from;
  for (const p of points.filter((p) => p.at > from)) { segments.push([start, p.at, current]); start = p.at; current = p.to; }
  segments.push([start, now, current]);
  const x = (t) => ((t - from) / 86400000) * 600;
  return `<svg class="strip" viewBox="0 0 600 24" role="img" aria-label="${esc(i18n.t("transitions"))}: ` +
    segments.map(([a, , s]) => `${i18n.time(new Date(a))} ${label(s)}`).join(", ") + `">` +
    segments.map(([a, b, s]) => `<rect x="${x(a).toFixed(1)}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="24" fill="${state.styles[s]?.colour}"/>`).join("") +
    `</svg>`;
}

async function openDetail(id) {
  const [h, d] = await Promise.all([
    api.get(`/v1/health/cameras/${id}?transitions=200`),
    api.get(`/v1/health/cameras/${id}/device`),
  ]);
  const hb = h.last_heartbeat;
  const rows = [
    [i18n.t("reason"), h.reason],
    [i18n.t("since"), i18n.stamp(new Date(h.since))],
    [i18n.t("last_heartbeat"), hb ? `${i18n.stamp(new Date(hb.received_at))} · fps ${hb.fps ?? "—"} · ${hb.bitrate_kbps ?? "—"} kbps · loss ${hb.packet_loss_pct ?? "—"} % · ${hb.temperature_c ?? "—"} °C` : "—"],
    ["vendor / model", `${d.vendor ?? "—"} ${d.model ?? ""}`],
    ["IP", d.ip ?? "—"],
    ["stream", d.stream_url ? `${d.stream_url}${d.stream_credentials ? ` (${i18n.t("credentials")})` : ""}` : "—"],
    ["gateway", d.gateway_code ?? "—"],
    [i18n.t("area"), `${h.district}${h.ward ? ` / ${h.ward}` : ""}`],
  ];
  $("detail-h").innerHTML = `${glyph(h.status)} ${esc(h.code)} — ${esc(label(h.status))}`;
  $("detail-body").innerHTML = `<p>${esc(h.name)}</p><dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>` +
    `<h3>${esc(i18n.t("transitions"))}</h3>${strip(h.recent_transitions, Date.now())}`;
  $("detail").showModal();
}

// ---- start ----

async function start() {
  const table = await api.get("/v1/health/statuses");
  state.styles = Object.fromEntries(table.map((s) => [s.status, s]));
  state.order = table.map((s) => s.status);
  adoptStatusColours(table);
  $("legend").innerHTML = table.map((s) => `<li>${glyph(s.status)}${esc(label(s.status))}</li>`).join("");
  map = new CityMap($("map"), state.styles, (id) => openDetail(id).catch(console.warn));
  // Subscribe first, then read the fleet: events of the gap are applied over the snapshot (newer wins).
  connect();
  const q = preset.area ? `?district=${encodeURIComponent(preset.area)}` : "";
  const [fleet] = await Promise.all([api.get(`/v1/health/map.geojson${q}`), loadIncidents(), refreshSummary()]);
  for (const f of fleet.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const known = state.cameras.get(p.id);
    const since = Date.parse(p.since);
    if (known && known.since >= since) continue;
    state.cameras.set(p.id, { id: p.id, code: p.code, name: p.name, district: p.district, ward: p.ward, lon, lat, status: p.status, reason: p.reason, since, incident_id: p.incident_id });
  }
  map.draw([...state.cameras.values()], label);
  state.ready = true;
  for (const ev of state.pending.splice(0)) applyEvent(ev);
  render();
  document.body.dataset.ready = "1";
  setInterval(tick, 1000);
  setInterval(refreshSummary, 30000);
  setInterval(() => { schedule(); }, 15000); // "changed in the last 2 minutes" marks expire
}

function wire() {
  document.body.dataset.theme = preset.theme;
  document.body.classList.toggle("kiosk", preset.kiosk);
  applyLanguage();
  $("sound").textContent = i18n.t(alarm.on ? "sound_on" : "sound_off");
  $("sound").addEventListener("click", () => {
    const on = alarm.toggle();
    $("sound").setAttribute("aria-pressed", String(on));
    $("sound").textContent = i18n.t(on ? "sound_on" : "sound_off");
    if (on) render();
  });
  $("lang").addEventListener("click", () => {
    i18n = makeI18n(i18n.lang === "vi" ? "en" : "vi");
    applyLanguage();
    $("sound").textContent = i18n.t(alarm.on ? "sound_on" : "sound_off");
    $("legend").innerHTML = state.order.map((s) => `<li>${glyph(s)}${esc(label(s))}</li>`).join("");
    for (const c of state.cameras.values()) map?.paint(c, label);
    setLive(state.staleSince === null);
    render();
  });
  $("theme").addEventListener("click", () => {
    document.body.dataset.theme = document.body.dataset.theme === "dark" ? "light" : "dark";
  });
  $("signout").addEventListener("click", async () => { await api.signOut().catch(() => {}); location.reload(); });
  $("incidents").addEventListener("click", async (e) => {
    const b = e.target.closest("button.ack");
    if (!b) return;
    b.disabled = true;
    try {
      const inc = await api.post(`/v1/health/incidents/${b.dataset.incident}/${b.dataset.action}`);
      state.incidents.set(inc.id, inc);
      schedule();
    } catch (err) {
      b.disabled = false;
      b.title = `${i18n.t("ack_failed")}: ${err.message}`;
    }
  });
  $("offline").addEventListener("click", (e) => {
    const id = e.target.closest("[data-id]")?.dataset.id;
    if (id) openDetail(id).catch(console.warn);
  });
  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("api-key");
    try {
      state.me = await api.signIn(input.value);
      input.value = ""; // the key leaves the page: only the cookie remains
      show();
    } catch {
      $("signin-error").textContent = i18n.t("signin_failed");
    }
  });
}

function show() {
  $("signin").hidden = true;
  $("wall").hidden = false;
  start().catch((e) => { console.warn(e); });
}

wire();
api.session().then((me) => {
  if (me) { state.me = me; show(); } else { $("signin").hidden = false; $("api-key").focus(); }
}, () => { $("signin").hidden = false; });
