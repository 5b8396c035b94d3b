// PulseHub console: a small client of the public HTTP API and WebSocket
// (docs/api). No framework and no build step; every value from the server is
// written with textContent, never as HTML.
"use strict";

const session = {
  get access() { return sessionStorage.getItem("ph.access"); },
  get refresh() { return sessionStorage.getItem("ph.refresh"); },
  save(t) { sessionStorage.setItem("ph.access", t.accessToken); sessionStorage.setItem("ph.refresh", t.refreshToken); },
  clear() { sessionStorage.removeItem("ph.access"); sessionStorage.removeItem("ph.refresh"); },
};

const $ = (sel) => document.querySelector(sel);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
const money = (v) => (typeof v === "number" ? v.toLocaleString(undefined, { style: "currency", currency: "USD" }) : "–");
const date = (v) => (v ? new Date(v).toLocaleDateString() : "–");

class APIError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
  }
}

// api calls the HTTP API, refreshing the access token once on 401.
async function api(method, path, body, retried) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.access) headers["Authorization"] = "Bearer " + session.access;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && !retried && session.refresh && !path.startsWith("/v1/auth/")) {
    if (await refreshTokens()) return api(method, path, body, true);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(data, res.status);
  return data;
}

async function refreshTokens() {
  try {
    session.save(await api("POST", "/v1/auth/refresh", { refreshToken: session.refresh }, true));
    return true;
  } catch {
    session.clear();
    show("login");
    return false;
  }
}

const views = ["login", "overview", "customers", "integrations", "copilot", "audit"];
function show(name) {
  for (const v of views) $(`#${v}-view`).hidden = v !== name;
  $("#nav").hidden = name === "login";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === "#" + name);
}

async function route() {
  if (!session.access) return show("login");
  const name = (location.hash || "#overview").slice(1);
  show(views.includes(name) && name !== "login" ? name : "overview");
  try {
    const me = await api("GET", "/v1/me");
    $("#who").textContent = `${me.email} · ${me.role}`;
    const loaders = { overview: loadOverview, customers: () => loadCustomers(true), integrations: loadIntegrations, copilot: connectChat, audit: loadAudit };
    await (loaders[name] || loadOverview)();
  } catch (e) {
    if (e.status !== 401) console.error(e);
  }
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    session.save(await api("POST", "/v1/auth/login", { workspace: f.get("workspace") || undefined, email: f.get("email"), password: f.get("password") }));
    location.hash = "#overview";
    route();
  } catch (e) {
    $("#login-error").textContent = e.message;
  }
});

$("#logout").addEventListener("click", async () => {
  try { await api("POST", "/v1/auth/logout", { refreshToken: session.refresh }); } catch { /* signing out anyway */ }
  session.clear();
  if (socket) socket.close();
  show("login");
});

async function loadOverview() {
  const to = new Date(), from = new Date(to.getTime() - 30 * 864e5);
  const cards = $("#overview-cards");
  cards.replaceChildren();
  try {
    const o = await api("GET", `/v1/analytics/overview?from=${from.toISOString()}&to=${to.toISOString()}`);
    renderOverview(o);
    $("#overview-note").textContent = "";
  } catch (e) {
    $("#overview-note").textContent = e.status === 404 ? "Analytics are not available in this deployment yet." : e.message;
  }
}

function renderOverview(o) {
  const cards = $("#overview-cards");
  cards.replaceChildren();
  const items = [["Revenue", money(o.revenue)], ["Orders", o.orders], ["Customers", o.customers],
    ["Attributed revenue", money(o.attributedRevenue)], ["Messages sent", o.messagesSent], ["ROI", o.roi == null ? "–" : `${o.roi.toFixed(1)}×`]];
  for (const [label, value] of items) {
    const c = el("div", null, "card");
    c.append(el("div", label, "label"), el("div", value ?? "–", "value"));
    cards.append(c);
  }
}

let customerCursor = "";
async function loadCustomers(reset) {
  const f = new FormData($("#customer-search"));
  if (reset) { customerCursor = ""; $("#customer-rows").replaceChildren(); $("#customer-detail").hidden = true; }
  const params = new URLSearchParams();
  for (const k of ["q", "segment"]) if (f.get(k)) params.set(k, f.get(k));
  if (customerCursor) params.set("cursor", customerCursor);
  try {
    const page = await api("GET", "/v1/customers?" + params);
    for (const c of page.items) {
      const tr = el("tr");
      tr.append(el("td", [c.firstName, c.lastName].filter(Boolean).join(" ") || "–"), el("td", c.email || "–"),
        el("td", c.ordersCount ?? 0), el("td", money(c.totalSpent)), el("td", date(c.lastOrderAt)), el("td", (c.segments || []).join(", ")));
      tr.addEventListener("click", () => loadCustomer(c.id));
      $("#customer-rows").append(tr);
    }
    customerCursor = page.nextCursor || "";
    $("#customers-more").hidden = !customerCursor;
  } catch (e) {
    const tr = el("tr");
    const td = el("td", e.message, "error");
    td.colSpan = 6;
    tr.append(td);
    $("#customer-rows").append(tr);
  }
}
$("#customer-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadCustomers(true); });
$("#customers-more").addEventListener("click", () => loadCustomers(false));

async function loadCustomer(id) {
  const panel = $("#customer-detail");
  panel.hidden = false;
  panel.replaceChildren(el("p", "Loading…", "muted"));
  try {
    const c = await api("GET", `/v1/customers/${encodeURIComponent(id)}`);
    panel.replaceChildren(el("h3", [c.firstName, c.lastName].filter(Boolean).join(" ") || c.id));
    panel.scrollIntoView({ behavior: "smooth", block: "start" });
    const dl = el("dl");
    for (const [k, v] of [["Email", c.email], ["Phone", c.phone], ["Orders", c.ordersCount], ["Total spent", money(c.totalSpent)], ["Last order", date(c.lastOrderAt)]]) {
      dl.append(el("dt", k), el("dd", v ?? "–"));
    }
    panel.append(dl);
    if ((c.consent || []).length) {
      panel.append(el("h4", "Consent"));
      const ul = el("ul");
      for (const k of c.consent) ul.append(el("li", `${k.channel}: ${k.state.replace("_", " ")}${k.updatedAt ? " since " + date(k.updatedAt) : ""}`));
      panel.append(ul);
    }
    const timeline = c.timeline || [];
    if (timeline.length) {
      panel.append(el("h4", "Timeline"));
      const ul = el("ul");
      for (const t of timeline.slice(0, 50)) {
        const li = el("li", `${date(t.at)} · ${summarize(t)}`);
        const merged = t.kind === "merge" && !t.data?.undone && t.data?.mergedId;
        if (merged) {
          // A wrong merge (two people behind one identifier) is undone here.
          const undo = el("button", "Undo merge", "link");
          undo.type = "button";
          undo.addEventListener("click", async () => {
            undo.disabled = true;
            try {
              await api("POST", `/v1/customers/${encodeURIComponent(c.id)}/merges/${encodeURIComponent(merged)}/undo`);
              loadCustomer(c.id);
            } catch (e) {
              li.append(el("span", " " + e.message, "error"));
              undo.disabled = false;
            }
          });
          li.append(" ", undo);
        }
        ul.append(li);
      }
      panel.append(ul);
    }
  } catch (e) {
    panel.replaceChildren(el("p", e.message, "error"));
  }
}

// summarize says in a few words what a timeline entry ({kind, at, data}) was.
function summarize(t) {
  const d = t.data || {};
  const cents = (v) => money((v || 0) / 100);
  const lines = (d.lines || []).map((l) => l.title).filter(Boolean).join(", ");
  switch (t.kind) {
    case "order":
      return `order ${d.name || d.orderId || ""} · ${cents(d.countedCents ?? d.totalCents)} · ${d.financialStatus || ""}${lines ? " · " + lines : ""}`;
    case "checkout":
      return `checkout ${d.abandonedAt ? "abandoned" : "started"} · ${cents(d.totalCents)}${lines ? " · " + lines : ""}`;
    case "event":
      return `${d.channel || "web"} ${String(d.type || "event").replaceAll("_", " ")}${d.properties && d.properties.title ? " · " + d.properties.title : ""}`;
    case "consent":
      return `${d.channel} consent ${String(d.state || "").replace("_", " ")} (${d.source || "unknown source"})`;
    case "message":
      return `${d.channel || "message"} ${d.status || ""}`;
    case "merge":
      return `merged customer ${d.mergedId || ""} into this one${d.undone ? " (undone)" : ""}`;
    default:
      return t.kind;
  }
}

const integrationNames = ["shopify", "meta", "gtm", "sendgrid", "twilio", "fcm", "whatsapp"];
async function loadIntegrations() {
  const list = $("#integration-list");
  list.replaceChildren();
  for (const name of integrationNames) {
    const box = el("div", null, "integration");
    box.append(el("h3", name));
    try {
      const s = await api("GET", `/v1/integrations/${name}`);
      const dl = el("dl");
      for (const [k, v] of Object.entries(s.config || {})) dl.append(el("dt", k), el("dd", v));
      for (const [k, v] of Object.entries(s.secrets || {})) dl.append(el("dt", k), el("dd", v && v.set ? `set (…${v.last4 || ""})` : "not set"));
      box.append(dl);
    } catch (e) {
      box.append(el("p", e.status === 404 ? "Not connected." : e.message, e.status === 404 ? "muted" : "error"));
    }
    list.append(box);
  }
}

async function loadAudit() {
  const rows = $("#audit-rows");
  rows.replaceChildren();
  try {
    const page = await api("GET", "/v1/audit");
    for (const a of page.items || []) {
      const tr = el("tr");
      tr.append(el("td", new Date(a.at).toLocaleString()), el("td", a.action), el("td", a.actorEmail || a.actorId || "system"), el("td", a.detail || ""));
      rows.append(tr);
    }
  } catch (e) {
    const tr = el("tr");
    const td = el("td", e.message, "error");
    td.colSpan = 4;
    tr.append(td);
    rows.append(tr);
  }
}

// The copilot and the live dashboard share one WebSocket (docs/api/websocket.md).
let socket = null;
let conversationId = null;
const pending = new Map(); // messageId → element receiving deltas

function connectChat() {
  if (socket && socket.readyState <= 1) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(session.access)}`);
  $("#ws-status").textContent = "connecting…";
  socket.onopen = () => {
    $("#ws-status").textContent = "connected";
    socket.send(JSON.stringify({ action: "dashboard.subscribe", requestId: "dashboard" }));
  };
  socket.onclose = (ev) => { $("#ws-status").textContent = `disconnected (${ev.code})`; };
  socket.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    onFrame(m);
  };
}

function onFrame(m) {
  const log = $("#chat-log");
  switch (m.type) {
    case "chat.delta": {
      conversationId = m.conversationId;
      let node = pending.get(m.messageId);
      if (!node) { node = el("div", "", "msg"); pending.set(m.messageId, node); log.append(node); }
      node.textContent += m.delta;
      break;
    }
    case "chat.done": {
      conversationId = m.conversationId;
      let node = pending.get(m.messageId);
      if (!node) { node = el("div", "", "msg"); log.append(node); }
      node.textContent = m.text;
      pending.delete(m.messageId);
      break;
    }
    case "chat.error":
    case "error":
      if (m.requestId === "dashboard") break; // no live dashboard in this deployment: the overview still loads over HTTP
      log.append(el("div", /unknown action "chat\.send"/.test(m.error || "") ? "The copilot is not available in this deployment yet." : m.error, "msg error"));
      break;
    case "dashboard.update":
      renderOverview(m);
      break;
  }
  log.scrollTop = log.scrollHeight;
}

$("#chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.text;
  const text = input.value.trim();
  if (!text || !socket || socket.readyState !== 1) return;
  const row = el("div", null, "msg user");
  row.append(el("span", text));
  $("#chat-log").append(row);
  socket.send(JSON.stringify({ action: "chat.send", conversationId: conversationId || undefined, text }));
  input.value = "";
});

window.addEventListener("hashchange", route);
route();
