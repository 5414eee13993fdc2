// Stoa admin dashboard: a single-page app over PocketBase's Records API, /api/cluster/overview
// and the gateway's /api/gateway. Vanilla JS, hash routing, no build step.
"use strict";

const AUTH_KEY = "stoa.admin.auth";
const PER_PAGE = 20;
const main = document.getElementById("main");
let auth = loadAuth();       // {token, record} of the signed-in superuser, or null
let flash = null;            // {text, kind} shown once on the next page rendered
let current = null;          // the view on screen: {destroy?, update?}
let currentKey = "", renderedHash = "";
const lastList = {};         // collection -> the hash of the list last shown (for "back" links)

// ---------------------------------------------------------------- small helpers

/** Creates an element: h("a", {href, class, onclick}, child, ...). Text is never parsed as HTML. */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = true;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
const fmtDate = (s) => (s ? String(s).replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "");
const fmt = (v, digits = 1) => (v == null || Number.isNaN(v) ? "–" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : String(v));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

let toastTimer;
function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 3500);
}

/** Asks with the confirm dialog; resolves true when confirmed (Escape or Cancel: false). */
function confirmDialog(title, text, okLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  const opener = document.activeElement;
  dialog.showModal();
  $("#confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
  });
}

// ---------------------------------------------------------------- session and API

function loadAuth() {
  try {
    const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
    return saved && saved.token ? saved : null;
  } catch { return null; }
}
function saveAuth(value) {
  auth = value;
  if (value) localStorage.setItem(AUTH_KEY, JSON.stringify(value));
  else localStorage.removeItem(AUTH_KEY);
}
function tokenClaims(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch { return {}; }
}

class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data || {};
  }
}

/** Ends the session and sends the user to sign-in with `text`. */
function expire(text) {
  saveAuth(null);
  flash = { text, kind: "error" };
  if (location.hash.startsWith("#/login")) route();
  else location.hash = "#/login";
}

/** Calls the API (same origin). JSON in and out; a PocketBase error envelope becomes an ApiError.
 *  A 401 on an authenticated call ends the session. */
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (auth) {
    // PocketBase treats an expired token as no token (a guest sees nothing): catch it here.
    const { exp } = tokenClaims(auth.token);
    if (!exp || exp * 1000 <= Date.now()) {
      expire("Your session has expired. Please sign in again.");
      throw new ApiError(401, "Session expired.");
    }
    headers.Authorization = auth.token;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "Cannot reach the server (" + error.message + ").");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && auth && !path.includes("/auth-with-password")) {
      expire("Your session has expired or is no longer valid. Please sign in again.");
    }
    if (response.status === 429) throw new ApiError(429, data.message || "Too many requests: wait a moment and try again.", data.data);
    throw new ApiError(response.status, data.message || `Request failed (${response.status}).`, data.data);
  }
  return data;
}

/** Renews the token when less than half of its lifetime is left (at most once a minute); with
 *  `force` (at start) when older than 5 minutes, which also checks that the server still takes it. */
let lastRefresh = 0;
async function refreshIfStale(force) {
  if (!auth || Date.now() - lastRefresh < 60_000) return;
  const { iat, exp } = tokenClaims(auth.token);
  const now = Date.now() / 1000;
  if (!exp || exp <= now) return expire("Your session has expired. Please sign in again.");
  if (iat && (force ? now - iat < 300 : exp - now > (exp - iat) / 2)) return;   // fresh enough
  lastRefresh = Date.now();
  try {
    const answer = await api("POST", "/api/collections/_superusers/auth-refresh");
    saveAuth({ token: answer.token, record: answer.record || auth.record });
  } catch { /* a 401 already signed out; anything else: keep the current token */ }
}

// ---------------------------------------------------------------- routing

const routes = [
  [/^#\/login$/, viewLogin, true],
  [/^#\/collections\/(quotes|users)$/, viewList],
  [/^#\/records\/(quotes|users)\/([A-Za-z0-9_-]+)$/, viewRecord],
  [/^#\/cluster$/, viewCluster],
];

function route() {
  const [path, query = ""] = (location.hash || "").split("?");
  const params = new URLSearchParams(query);
  let match = null, view = null, isPublic = false;
  for (const [pattern, fn, pub] of routes) {
    match = path.match(pattern);
    if (match) { view = fn; isPublic = !!pub; break; }
  }
  if (!view) { location.replace(auth ? "#/collections/quotes" : "#/login"); return; }
  if (!isPublic && !auth) { location.replace("#/login"); return; }
  if (view === viewLogin && auth) { location.replace("#/collections/quotes"); return; }
  const key = path;
  if (current && location.hash === renderedHash && !flash) return;   // already on screen
  renderedHash = location.hash;
  if (current && key === currentKey && current.update) { current.update(params); return; }
  if (current && current.destroy) current.destroy();
  currentKey = key;
  showChrome();
  main.replaceChildren();
  if (flash) {
    main.append(h("p", { class: "banner" + (flash.kind === "info" ? " info" : ""), id: "flash", role: "alert" }, flash.text));
    flash = null;
  }
  current = view(main, match.slice(1), params) || {};
  const heading = $("h1", main);
  if (heading && view !== viewLogin) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
  refreshIfStale(false);
}

function showChrome() {
  $("#topbar").hidden = !auth;
  $("#whoami").textContent = auth ? (auth.record && auth.record.email) || "" : "";
  const section = location.hash.match(/^#\/(?:collections|records)\/(quotes|users)/);
  for (const [id, on] of [["nav-quotes", section && section[1] === "quotes"], ["nav-users", section && section[1] === "users"],
    ["nav-cluster", location.hash.startsWith("#/cluster")]]) {
    const link = document.getElementById(id);
    if (on) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  document.title = (auth ? { quotes: "Quotes", users: "Users" }[section && section[1]] || (location.hash.startsWith("#/cluster") ? "Cluster" : "Stoa") : "Sign in") + " · Stoa admin";
}

// ---------------------------------------------------------------- sign in

function viewLogin(root) {
  const message = h("p", { id: "login-message", class: "banner", role: "alert" });
  const fields = {};
  const field = (name, label, type, autocomplete) => {
    fields[name] = h("input", { id: "login-" + name, name, type, autocomplete, required: true, "aria-describedby": "login-" + name + "-error" });
    return h("div", { class: "field" }, h("label", { for: "login-" + name }, label), fields[name],
      h("p", { class: "field-error", id: "login-" + name + "-error" }));
  };
  const submit = h("button", { type: "submit", id: "sign-in" }, "Sign in");
  const form = h("form", { id: "login-form", class: "card", novalidate: true, onsubmit: signIn },
    h("h1", {}, "Stoa admin"),
    h("p", { class: "hint" }, "Sign in with a superuser account."),
    message, field("email", "Email", "email", "username"), field("password", "Password", "password", "current-password"), submit);
  // A flash (expired session) goes inside the card, where the eye is.
  const banner = $("#flash", root);
  if (banner) { message.textContent = banner.textContent; message.className = banner.className; banner.remove(); }
  root.append(form);
  fields.email.focus();

  async function signIn(event) {
    event.preventDefault();
    message.textContent = "";
    message.className = "banner";
    for (const name of ["email", "password"]) {
      fields[name].removeAttribute("aria-invalid");
      $("#login-" + name + "-error").textContent = "";
    }
    const identity = fields.email.value.trim(), password = fields.password.value;
    let bad = false;
    if (!identity) bad = fieldError("email", "Enter your email.");
    if (!password) bad = fieldError("password", "Enter your password.");
    if (bad) return;
    submit.disabled = true;
    try {
      const answer = await api("POST", "/api/collections/_superusers/auth-with-password", { identity, password });
      saveAuth({ token: answer.token, record: answer.record });
      lastRefresh = Date.now();
      location.hash = "#/collections/quotes";
    } catch (error) {
      submit.disabled = false;
      message.textContent = error.status === 400 ? "Wrong email or password, or not a superuser account." : error.message;
      const data = error.data || {};
      if (data.identity) fieldError("email", data.identity.message);
      if (data.password) fieldError("password", data.password.message);
    }
  }
  function fieldError(name, text) {
    fields[name].setAttribute("aria-invalid", "true");
    $("#login-" + name + "-error").textContent = text;
    return true;
  }
}

function signOut() {
  saveAuth(null);
  flash = { text: "You have signed out.", kind: "info" };
  location.hash = "#/login";
}

// ---------------------------------------------------------------- collections

const tagList = (tags) => (Array.isArray(tags) ? tags : []).map((t) => h("span", { class: "tag" }, t));
const yesNo = (v) => (v ? "yes" : "no");

const COLLECTIONS = {
  quotes: {
    title: "Quotes", singular: "quote",
    columns: [
      { label: "Content", sort: "content", class: "content", cell: (r) => h("a", { href: `#/records/quotes/${r.id}`, class: "record-link" }, short(r.content || r.id, 140)) },
      { label: "Author", sort: "author", cell: (r) => r.author },
      { label: "Source", sort: "source", cell: (r) => r.source },
      { label: "Tags", class: "tags", cell: (r) => tagList(r.tags) },
      { label: "Owner", sort: "userId", class: "mono", cell: (r) => h("a", { href: `#/records/users/${r.userId}` }, r.userId) },
      { label: "Updated", sort: "updated", class: "nowrap", cell: (r) => fmtDate(r.updated) },
    ],
    fields: [
      { name: "content", label: "Content", type: "textarea", required: true },
      { name: "author", label: "Author", half: true },
      { name: "source", label: "Source", half: true },
      { name: "notes", label: "Notes", type: "textarea" },
      { name: "tags", label: "Tags", type: "tags", hint: "Type a tag and press Enter or comma; Backspace removes the last one." },
      { name: "userId", label: "Owner (user id)", required: true, fixed: true, mono: true, hint: "The id of the user who owns the quote; it cannot be changed after creation." },
    ],
  },
  users: {
    title: "Users", singular: "user",
    columns: [
      { label: "Email", sort: "email", cell: (r) => h("a", { href: `#/records/users/${r.id}`, class: "record-link" }, r.email || r.id) },
      { label: "Name", sort: "name", cell: (r) => r.name },
      { label: "Verified", sort: "verified", cell: (r) => yesNo(r.verified) },
      { label: "Email visible", sort: "emailVisibility", cell: (r) => yesNo(r.emailVisibility) },
      { label: "Created", sort: "created", class: "nowrap", cell: (r) => fmtDate(r.created) },
      { label: "Quotes", cell: (r) => h("a", { href: "#/collections/quotes?" + new URLSearchParams({ filter: `userId = "${r.id}"` }), "data-testid": "user-quotes", "aria-label": `Quotes of ${r.email || r.id}` }, "quotes") },
    ],
    fields: [
      { name: "email", label: "Email", type: "email", required: true },
      { name: "name", label: "Name" },
      { name: "emailVisibility", label: "Email visible to other users", type: "checkbox" },
      { name: "verified", label: "Verified", type: "checkbox" },
      { name: "password", label: "Password", type: "password", secret: true, half: true, hint: "At least 8 characters.", editHint: "Leave empty to keep the current password." },
      { name: "passwordConfirm", label: "Confirm password", type: "password", secret: true, half: true },
    ],
  },
};

function viewList(root, [collection], params) {
  const spec = COLLECTIONS[collection];
  const state = { filter: "", sort: "-created", page: 1 };
  let loadSeq = 0;
  const filterInput = h("input", { id: "filter", name: "filter", type: "search", autocomplete: "off", spellcheck: "false",
    placeholder: collection === "quotes" ? 'author ~ "Seneca" && tags ~ "stoic"' : 'email ~ "example.com" && verified = true',
    "aria-describedby": "filter-help filter-error" });
  const filterError = h("p", { id: "filter-error", class: "field-error", role: "alert" });
  const listError = h("p", { id: "list-error", class: "banner", role: "alert" });
  const thead = h("thead");
  const tbody = h("tbody");
  const pageInfo = h("span", { id: "page-info", "aria-live": "polite" });
  const total = h("span", { id: "total-count" });
  const prev = h("button", { type: "button", id: "prev-page", class: "secondary", onclick: () => go({ page: state.page - 1 }) }, "‹ Previous");
  const next = h("button", { type: "button", id: "next-page", class: "secondary", onclick: () => go({ page: state.page + 1 }) }, "Next ›");
  const section = h("section", { "data-testid": "records", "data-collection": collection, "data-state": "loading" },
    h("div", { class: "page-head" },
      h("h1", {}, spec.title),
      h("a", { class: "button", id: "new-record", href: newRecordHref() }, `New ${spec.singular}`)),
    h("form", { id: "search-form", role: "search", onsubmit: (e) => { e.preventDefault(); go({ filter: filterInput.value.trim(), page: 1 }); } },
      h("label", { for: "filter" }, "Filter"), filterInput,
      h("button", { type: "submit", id: "apply-filter" }, "Search"),
      h("button", { type: "button", id: "clear-filter", class: "secondary", onclick: () => { filterInput.value = ""; go({ filter: "", page: 1 }); } }, "Clear")),
    h("p", { id: "filter-help", class: "hint" }, "PocketBase filter syntax: = != > >= < <= ~ (contains) !~, && and ||, parentheses; e.g. ",
      h("code", {}, collection === "quotes" ? 'author ~ "Seneca" && tags ~ "stoic"' : 'verified = false && created > "2025-01-01"')),
    filterError, listError,
    h("div", { class: "table-wrap" }, h("table", { id: "records-table" }, h("caption", { class: "sr-only" }, spec.title), thead, tbody)),
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, pageInfo, next, total));
  root.append(section);

  function newRecordHref() {
    const owner = state && state.filter.match(/^userId\s*=\s*"([a-z0-9]+)"$/);
    return `#/records/${collection}/new` + (owner && collection === "quotes" ? "?userId=" + owner[1] : "");
  }

  function read(p) {
    state.filter = p.get("filter") || "";
    state.sort = p.get("sort") || "-created";
    state.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
    filterInput.value = state.filter;
  }
  /** Changes the list state: the hash follows (replaced, not pushed), then the table reloads. */
  function go(change) {
    Object.assign(state, change);
    const p = new URLSearchParams();
    if (state.filter) p.set("filter", state.filter);
    if (state.sort !== "-created") p.set("sort", state.sort);
    if (state.page > 1) p.set("page", state.page);
    const hash = `#/collections/${collection}` + (p.toString() ? "?" + p : "");
    history.replaceState(null, "", hash);
    lastList[collection] = hash;
    load();
  }

  function header() {
    thead.replaceChildren(h("tr", {}, spec.columns.map((col) => {
      if (!col.sort) return h("th", { scope: "col" }, col.label);
      const dir = state.sort === col.sort ? "ascending" : state.sort === "-" + col.sort ? "descending" : null;
      return h("th", { scope: "col", "aria-sort": dir || "none" },
        h("button", { type: "button", class: "link sort", "data-sort": col.sort,
          "aria-label": `Sort by ${col.label}` + (dir ? ` (now ${dir})` : ""),
          onclick: () => go({ sort: state.sort === col.sort ? "-" + col.sort : col.sort, page: 1 }) },
          col.label, dir ? h("span", { "aria-hidden": "true", class: "arrow" }, dir === "ascending" ? " ▲" : " ▼") : null));
    })));
  }

  async function load() {
    const seq = ++loadSeq;
    const focusedSort = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.sort : null;
    header();
    if (focusedSort) { const b = $(`button[data-sort="${focusedSort}"]`, thead); if (b) b.focus(); }
    $("#new-record", section).setAttribute("href", newRecordHref());
    section.dataset.state = "loading";
    const query = new URLSearchParams({ page: state.page, perPage: PER_PAGE, sort: state.sort });
    if (state.filter) query.set("filter", state.filter);
    try {
      const list = await api("GET", `/api/collections/${collection}/records?${query}`);
      if (seq !== loadSeq) return;
      filterError.textContent = listError.textContent = "";
      filterInput.removeAttribute("aria-invalid");
      if (list.totalPages > 0 && state.page > list.totalPages) return go({ page: list.totalPages });
      tbody.replaceChildren(...(list.items.length ? list.items.map((r) => h("tr", { "data-id": r.id },
        spec.columns.map((col) => h("td", { class: col.class }, col.cell(r))))) :
        [h("tr", {}, h("td", { colspan: spec.columns.length, class: "empty" }, state.filter ? "No records match this filter." : "No records yet."))]));
      const pages = Math.max(1, list.totalPages || 0);
      pageInfo.textContent = `Page ${list.page} of ${pages}`;
      total.textContent = plural(list.totalItems, spec.singular) + (state.filter ? " match" : " in total");
      prev.disabled = list.page <= 1;
      next.disabled = list.page >= pages;
      section.dataset.state = "ready";
    } catch (error) {
      if (seq !== loadSeq || error.status === 401) return;
      section.dataset.state = "error";
      if (error.status === 400) {
        filterError.textContent = error.message;
        filterInput.setAttribute("aria-invalid", "true");
      } else listError.textContent = error.message;
      tbody.replaceChildren();
      pageInfo.textContent = total.textContent = "";
      prev.disabled = next.disabled = true;
    }
  }

  read(params);
  lastList[collection] = location.hash;
  load();
  return { update(p) { read(p); lastList[collection] = location.hash; load(); } };
}

// ---------------------------------------------------------------- one record

/** The tags editor: chips with a remove button, an input that adds on Enter or comma. */
function tagsEditor(id, initial, describedBy) {
  let tags = [...(initial || [])];
  const list = h("ul", { "aria-label": "Tags" });
  const input = h("input", { id, type: "text", autocomplete: "off", "aria-describedby": describedBy, placeholder: "add a tag" });
  const box = h("div", { class: "chips", "data-testid": "tags-editor", onclick: (e) => { if (e.target === box) input.focus(); } }, list, input);
  function draw() {
    list.replaceChildren(...tags.map((tag, i) => h("li", {}, h("span", { class: "tag", "data-tag": tag }, tag,
      h("button", { type: "button", "aria-label": `Remove tag ${tag}`, onclick: () => { tags.splice(i, 1); draw(); input.focus(); } }, "×")))));
  }
  function commit() {
    const parts = input.value.split(",").map((s) => s.trim()).filter(Boolean);
    for (const part of parts) if (!tags.includes(part)) tags.push(part);
    input.value = "";
    draw();
    return parts.length > 0;
  }
  input.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === ",") && input.value.trim()) { e.preventDefault(); commit(); }
    else if (e.key === ",") e.preventDefault();
    else if (e.key === "Backspace" && !input.value && tags.length) { e.preventDefault(); tags.pop(); draw(); }
  });
  input.addEventListener("blur", commit);
  draw();
  return { el: box, value: () => { commit(); return [...tags]; }, set: (t) => { tags = [...(t || [])]; draw(); } };
}

function viewRecord(root, [collection, id], params) {
  const spec = COLLECTIONS[collection];
  const isNew = id === "new";
  const back = lastList[collection] || `#/collections/${collection}`;
  let alive = true;
  let record = null;
  const controls = {};
  const status = h("p", { id: "form-status", role: "status" });
  const heading = h("h1", {}, isNew ? `New ${spec.singular}` : `${spec.title.slice(0, -1)} `, isNew ? null : h("span", { class: "mono" }, id));
  const meta = h("p", { class: "meta", id: "record-meta" });
  const formError = h("p", { class: "banner", id: "form-error", role: "alert" });
  const form = h("form", { id: "record-form", novalidate: true, "data-collection": collection, onsubmit: save });
  const onKey = (e) => {
    if (e.key === "Escape" && !$("#confirm-dialog").open && !e.defaultPrevented) location.hash = back;
  };
  document.addEventListener("keydown", onKey);
  root.append(h("p", {}, h("a", { href: back, id: "back-link" }, `‹ Back to ${spec.title.toLowerCase()}`)), heading, meta, formError, form);

  for (const f of spec.fields) {
    const fid = "field-" + f.name, hint = isNew ? f.hint : f.editHint || f.hint;
    const describedBy = `${fid}-error` + (hint ? ` ${fid}-hint` : "");
    let control, el;
    if (f.type === "tags") { control = tagsEditor(fid, [], describedBy); el = control.el; }
    else if (f.type === "textarea") el = control = h("textarea", { id: fid, name: f.name, rows: f.name === "content" ? 3 : 2, "aria-describedby": describedBy, required: f.required });
    else if (f.type === "checkbox") el = control = h("input", { id: fid, name: f.name, type: "checkbox", "aria-describedby": describedBy });
    else el = control = h("input", { id: fid, name: f.name, type: f.type || "text", "aria-describedby": describedBy, required: f.required && (isNew || !f.fixed),
      readonly: f.fixed && !isNew, class: f.mono ? "mono" : null, autocomplete: f.secret ? "new-password" : f.type === "email" ? "off" : null });
    if (f.type === "textarea") el.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } });
    controls[f.name] = control;
    const label = h("label", { for: fid }, f.label, f.required && (isNew || !f.fixed) ? h("span", { "aria-hidden": "true" }, " *") : null,
      f.fixed && !isNew ? h("span", { class: "hint" }, " (read-only)") : null);
    form.append(h("div", { class: "field" + (f.type === "checkbox" ? " check" : "") + (f.half ? " half" : ""), "data-field": f.name },
      f.type === "checkbox" ? h("label", { for: fid }, el, f.label) : [label, el],
      hint ? h("p", { class: "hint", id: fid + "-hint" }, hint) : null,
      h("p", { class: "field-error", id: fid + "-error" })));
  }
  const saveButton = h("button", { type: "submit", id: "save" }, isNew ? "Create" : "Save");
  form.append(h("div", { class: "actions" }, saveButton,
    isNew ? null : h("button", { type: "button", id: "delete", class: "danger", onclick: remove }, "Delete"),
    h("a", { href: back, class: "button secondary", id: "cancel" }, "Cancel"), status));

  function fill(r) {
    record = r;
    for (const f of spec.fields) {
      const c = controls[f.name];
      if (f.type === "tags") c.set(r[f.name]);
      else if (f.type === "checkbox") c.checked = !!r[f.name];
      else if (!f.secret) c.value = r[f.name] == null ? "" : String(r[f.name]);
      else c.value = "";
    }
    meta.textContent = isNew ? "" : `id ${r.id} · created ${fmtDate(r.created)} · updated ${fmtDate(r.updated)}`;
  }
  function valueOf(f) {
    const c = controls[f.name];
    return f.type === "tags" ? c.value() : f.type === "checkbox" ? c.checked : c.value;
  }
  function clearErrors() {
    formError.textContent = status.textContent = "";
    status.className = "";
    for (const f of spec.fields) {
      $(`#field-${f.name}-error`).textContent = "";
      (f.type === "tags" ? $("#field-" + f.name) : controls[f.name]).removeAttribute("aria-invalid");
    }
  }
  function showErrors(error) {
    formError.textContent = error.message;
    let first = null;
    for (const [name, detail] of Object.entries(error.data || {})) {
      const slot = $(`#field-${name}-error`);
      if (!slot) { formError.textContent += ` ${name}: ${detail.message}`; continue; }
      slot.textContent = detail.message || detail.code;
      const input = $("#field-" + name);
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
    if (first) { formError.textContent += " Check the fields marked below."; first.focus(); }
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const body = {};
    for (const f of spec.fields) {
      if (f.fixed && !isNew) continue;
      const value = valueOf(f);
      if (f.secret) { if (value) body[f.name] = value; continue; }
      const before = isNew ? (f.type === "tags" ? [] : f.type === "checkbox" ? false : "") : record[f.name] ?? (f.type === "tags" ? [] : "");
      if (JSON.stringify(value) !== JSON.stringify(before)) body[f.name] = value;
    }
    // Required fields, checked here too so the message sits by the field before any request.
    const missing = spec.fields.filter((f) => f.required && (isNew || !f.fixed) && !String(valueOf(f)).trim());
    if (isNew && collection === "users") for (const name of ["password", "passwordConfirm"]) if (!valueOf({ name })) missing.push({ name });
    if (missing.length) {
      return showErrors(new ApiError(400, "Some fields need a value.",
        Object.fromEntries(missing.map((f) => [f.name, { code: "validation_required", message: "Cannot be blank." }]))));
    }
    if (!isNew && !Object.keys(body).length) { status.textContent = "No changes to save."; return; }
    saveButton.disabled = true;
    try {
      const saved = isNew ? await api("POST", `/api/collections/${collection}/records`, body)
        : await api("PATCH", `/api/collections/${collection}/records/${id}`, body);
      if (!alive) return;
      if (isNew) {
        flash = { text: `${spec.title.slice(0, -1)} created.`, kind: "info" };
        location.hash = `#/records/${collection}/${saved.id}`;
        return;
      }
      fill(saved);
      status.textContent = "Saved.";
      status.className = "ok";
      toast("Saved");
    } catch (error) {
      if (alive && error.status !== 401) showErrors(error);
    } finally { saveButton.disabled = false; }
  }

  async function remove() {
    const what = collection === "quotes" ? `the quote “${short(record.content || id, 60)}”` : `the user ${record.email || id}`;
    if (!(await confirmDialog(`Delete this ${spec.singular}?`, `This deletes ${what} on every node. It cannot be undone.`, "Delete"))) return;
    clearErrors();
    try {
      await api("DELETE", `/api/collections/${collection}/records/${id}`);
      toast(`${spec.title.slice(0, -1)} deleted`);
      location.hash = back;
    } catch (error) {
      if (alive && error.status !== 401) showErrors(error);
    }
  }

  if (isNew) {
    fill({ userId: params.get("userId") || "" });
    (controls[spec.fields[0].name]).focus();
    form.dataset.state = "ready";
  } else {
    form.dataset.state = "loading";
    saveButton.disabled = true;
    api("GET", `/api/collections/${collection}/records/${encodeURIComponent(id)}`).then((r) => {
      if (!alive) return;
      fill(r);
      saveButton.disabled = false;
      form.dataset.state = "ready";
    }).catch((error) => {
      if (!alive || error.status === 401) return;
      form.dataset.state = "error";
      formError.textContent = error.status === 404 ? `There is no ${spec.singular} with id ${id} (it may have been deleted).` : error.message;
      form.hidden = true;
    });
  }
  return { destroy() { alive = false; document.removeEventListener("keydown", onKey); } };
}

// ---------------------------------------------------------------- cluster and gateway

const WINDOW_MS = 5 * 60 * 1000;
const SAMPLE_MS = 2000;
const MEMBERS_MS = 5000;
const gatewaySeries = { samples: [], previous: null, absent: false };   // kept while the app is open

function viewCluster(root) {
  let alive = true;
  const summary = h("p", { id: "cluster-summary" }, "Loading…");
  const membersError = h("p", { class: "banner", id: "cluster-error", role: "alert" });
  const membersBody = h("tbody");
  const gatewayBody = h("div", { id: "gateway-body" }, h("p", {}, "Loading…"));
  const charts = {
    rps: chart("chart-rps", "Requests per second", (v) => fmt(v, 1)),
    p99: chart("chart-p99", "p99 latency (ms)", (v) => fmt(v, 1)),
    rejected: chart("chart-rejections", "Rejections per second", (v) => fmt(v, 2)),
  };
  const chartBox = h("div", { class: "charts", id: "gateway-charts" }, charts.rps.el, charts.p99.el, charts.rejected.el);
  root.append(h("section", { "data-testid": "cluster" },
    h("h1", {}, "Cluster"),
    summary, membersError,
    h("div", { class: "table-wrap" }, h("table", { id: "members-table" },
      h("caption", { class: "sr-only" }, "Members"),
      h("thead", {}, h("tr", {}, ["Member", "State", "Incarnation", "HTTP", "Lag", "Local sequence", "Version vector", "Digest"]
        .map((t) => h("th", { scope: "col", class: ["Incarnation", "Lag", "Local sequence"].includes(t) ? "num" : null }, t)))),
      membersBody))),
  h("section", { id: "gateway-section", "aria-labelledby": "gateway-heading" },
    h("h2", { id: "gateway-heading" }, "Gateway"),
    h("p", { class: "hint", id: "gateway-hint" }, "Sampled every 2 s while this page is open; the charts show up to the last 5 minutes."),
    chartBox, gatewayBody));

  async function loadMembers() {
    try {
      const o = await api("GET", "/api/cluster/overview");
      if (!alive) return;
      membersError.textContent = "";
      const reference = (o.members.find((m) => m.name === o.node) || {}).digest;
      // A gateway is a gossip member too (it announces "gateway;<url>"); it holds no data.
      const role = (m) => m.role || (String(m.http || "").startsWith("gateway;") ? "gateway" : "node");
      const nodes = o.members.filter((m) => role(m) === "node").length;
      summary.replaceChildren("Answered by ", h("b", {}, o.node), ` · ${plural(nodes, "node")} · digests `,
        o.digestsAgree == null ? h("span", {}, "not all known") : h("span", { class: o.digestsAgree ? "equal" : "differs", id: "digests-agree" }, o.digestsAgree ? "all equal" : "differ"));
      membersBody.replaceChildren(...o.members.map((m) => role(m) === "gateway" ? h("tr", { "data-member": m.name, "data-status": m.status, "data-role": "gateway" },
        h("td", {}, h("b", {}, m.name), h("span", { class: "hint" }, " (gateway)")),
        h("td", {}, h("span", { class: "state " + m.status }, m.status)),
        h("td", { class: "num" }, fmt(m.incarnation)),
        h("td", { class: "mono" }, String(m.http).replace(/^gateway;/, "")),
        h("td", { colspan: 4, class: "gateway-figures" }, gatewayFigures(m))) : h("tr", { "data-member": m.name, "data-status": m.status, "data-role": "node" },
        h("td", {}, h("b", {}, m.name), m.name === o.node ? h("span", { class: "hint" }, " (this node)") : null),
        h("td", {}, h("span", { class: "state " + m.status }, m.status), m.reachable === false ? h("div", { class: "hint error", title: m.error || "" }, "unreachable") : null),
        h("td", { class: "num" }, fmt(m.incarnation)),
        h("td", { class: "mono" }, m.http || "–"),
        h("td", { class: "num" }, fmt(m.lag)),
        h("td", { class: "num" }, fmt(m.localSequence)),
        h("td", { class: "mono" }, vectorText(m.versionVector)),
        h("td", { class: "mono nowrap" }, m.digest ? [h("span", { title: m.digest }, m.digest.slice(0, 10)), " ",
          h("span", { class: m.digest === reference ? "equal" : "differs" }, m.digest === reference ? "equal" : "differs")] : "–"))));
    } catch (error) {
      if (alive && error.status !== 401) membersError.textContent = "Cannot load the cluster overview: " + error.message;
    }
  }

  /** A gateway's own figures as the overview gathered them (it holds no data). */
  function gatewayFigures(m) {
    const g = m.gateway;
    if (!g) return h("span", { class: "hint error", title: m.error || "" }, m.status === "dead" ? "holds no data · dead" : "holds no data · figures unavailable" + (m.error ? ": " + m.error : ""));
    const parts = [`routes ${g.nodesRouted}/${g.nodesKnown} nodes`, `${fmt(g.requests)} requests (${fmt(g.requestsPerSecond, 1)}/s)`];
    if (g.admitted != null) parts.push(`admitted ${fmt(g.admitted)}, rejected ${fmt(g.rejected)}`);
    if (g.cacheHitRatio != null) parts.push(`cache hits ${fmt(100 * g.cacheHitRatio, 0)} % (${fmt(g.cacheEntries)} cached)`);
    parts.push(`up ${fmt(g.uptimeSeconds, 0)} s`);
    return h("span", { "data-gateway-figures": m.name }, parts.join(" · "));
  }

  async function loadGateway() {
    let g;
    try {
      const response = await fetch("/api/gateway", { cache: "no-store", headers: { Authorization: auth ? auth.token : "", Accept: "application/json" } });
      if (response.status === 404) return noGateway();
      if (response.status === 401) return expire("Your session has expired or is no longer valid. Please sign in again.");
      g = await response.json();
      if (!response.ok) throw new Error(g.message || `status ${response.status}`);
    } catch (error) {
      if (alive) gatewayBody.replaceChildren(h("p", { class: "banner", id: "gateway-error" }, "Cannot load the gateway status: " + error.message));
      return;
    }
    if (!alive) return;
    sample(g);
    const now = Date.now();
    const series = (key) => gatewaySeries.samples.map((s) => [s.t, s[key]]);
    charts.rps.draw(series("rps"), now);
    charts.p99.draw(series("p99"), now);
    charts.rejected.draw(series("rejected"), now);
    gatewayBody.replaceChildren(
      h("p", { id: "gateway-meta", class: "hint" }, `${g.name ? "This page came through " + g.name + " · " : ""}Up ${fmt(g.uptimeSeconds, 0)} s · gossip ${g.gossip || "–"}`),
      h("h3", {}, "Nodes"),
      table("gateway-nodes", ["Node", "State", "In flight", "Requests", "Req/s", "p50 ms", "p99 ms", "Errors", "URL"], g.nodes.map((n) => [
        h("b", {}, n.name), h("span", { class: "state " + n.state }, n.state + (n.ejected ? " (ejected)" : "")), n.inFlight, n.requests,
        fmt(n.requestsPerSecond), fmt(n.p50Millis, 2), fmt(n.p99Millis, 2), n.errors ?? n.passiveFailures, h("span", { class: "mono" }, n.url)])),
      h("h3", {}, "Rate limits"),
      ...(g.rateLimit ? [
        table("gateway-limits", ["Policy", "Scope", "Traffic", "Rate/s", "Burst", "Admitted", "Rejected", "Admitted/s", "Rejected/s"], g.rateLimit.policies.map((p) => [
          h("b", {}, p.name), p.scope, p.traffic, fmt(p.rate, 2), p.burst, p.admitted, p.rejected, fmt(p.admittedPerSecond), fmt(p.rejectedPerSecond)])),
        h("p", { class: "hint" }, `${plural(g.rateLimit.keys, "key")} tracked (at most ${g.rateLimit.maxKeys}) · ${g.rateLimit.admitted} admitted, ${g.rateLimit.rejected} rejected in total`,
          g.rateLimit.topLimitedKeys.length ? " · most limited: " + g.rateLimit.topLimitedKeys.map((k) => `${k.key} (${k.policy}, ${k.rejected})`).join(", ") : ""),
      ] : [h("p", { id: "rate-limit-off" }, "Rate limiting is off.")]),
      h("h3", {}, "Cache"),
      g.cache ? table("gateway-cache", ["Hit ratio", "Hits", "Misses", "Stale hits", "Bypasses", "Entries", "Size", "Evictions", "Invalidations"], [[
        fmt(g.cache.hitRatio * 100, 1) + " %", g.cache.hits, g.cache.misses, g.cache.staleHits, g.cache.bypasses, g.cache.entries,
        `${bytes(g.cache.bytes)} of ${bytes(g.cache.byteBudget)}`, g.cache.evictions, g.cache.invalidations]]) : h("p", { id: "cache-off" }, "Caching is off."));
  }

  function noGateway() {   // asked once per visit of the app: a node answers 404
    gatewaySeries.absent = true;
    chartBox.hidden = $("#gateway-hint", root).hidden = true;
    gatewayBody.replaceChildren(h("p", { id: "no-gateway", class: "banner info" }, "No gateway in front of this node: this page was reached on the node directly."));
  }
  if (gatewaySeries.absent) noGateway();
  // Two loops, each waiting for its answer before the next: the gateway sampled every 2 s; the
  // overview (every node reads all its records for the digest) every 5 s.
  const timers = {};
  const loop = (name, fn, every) => {
    const run = async () => { await fn(); if (alive) timers[name] = setTimeout(run, every); };
    run();
  };
  loop("members", loadMembers, MEMBERS_MS);
  loop("gateway", () => (gatewaySeries.absent ? null : loadGateway()), SAMPLE_MS);
  return { destroy() { alive = false; Object.values(timers).forEach(clearTimeout); } };
}

function vectorText(vector) {
  if (!vector) return "–";
  return Object.entries(vector).sort(([a], [b]) => a.localeCompare(b))
    .map(([origin, e]) => `${origin}:${e.contiguous}` + (e.above && e.above.length ? `(+${e.above.length})` : "")).join(" ");
}

function table(id, head, rows) {
  const numeric = (c) => typeof c === "number" || (typeof c === "string" && /^[\d.,–\s%]+$/.test(c));
  return h("div", { class: "table-wrap" }, h("table", { id },
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", { class: numeric(c) ? "num" : null }, c)))))));
}

/** Turns the gateway's counters into one sample of rates (deltas over the gateway's own clock). */
function sample(g) {
  const requests = g.nodes.reduce((sum, n) => sum + (n.requests || 0), 0);
  const rejected = g.rateLimit ? g.rateLimit.rejected : 0;
  const p99s = g.nodes.map((n) => n.p99Millis).filter((v) => v != null);
  const counters = { uptime: g.uptimeSeconds, requests, rejected };
  const prev = gatewaySeries.previous;
  const now = Date.now();
  gatewaySeries.previous = counters;
  const s = gatewaySeries.samples;
  while (s.length && s[0].t < now - WINDOW_MS) s.shift();
  if (!prev || counters.uptime <= prev.uptime || requests < prev.requests) return;   // first sample, or the gateway restarted
  const seconds = counters.uptime - prev.uptime;
  s.push({ t: now, rps: (requests - prev.requests) / seconds, rejected: Math.max(0, rejected - prev.rejected) / seconds,
    p99: p99s.length ? Math.max(...p99s) : null });
}

/** A small line chart (inline SVG) over the last 5 minutes at most; gaps longer than 3 samples are not joined. */
function chart(id, title, format) {
  const W = 300, H = 80;
  const value = h("b", { class: "now" }, "–");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title + ": no data yet");
  const top = h("span", {}, ""), span_ = h("span", {}, "−5 min"), el = h("figure", { class: "chart", id, "data-points": "0" },
    h("figcaption", {}, h("span", {}, title), value), svg, h("div", { class: "scale", "aria-hidden": "true" }, span_, top, h("span", {}, "now")));
  function draw(points, now) {
    const known = points.filter(([, v]) => v != null);
    const max = niceMax(Math.max(0, ...known.map(([, v]) => v)));
    // The time axis grows with the history held, from 30 s up to the 5 minutes kept.
    const span = Math.min(WINDOW_MS, Math.max(30_000, points.length ? now - points[0][0] + SAMPLE_MS : 0));
    span_.textContent = span >= 60_000 ? `−${Math.round(span / 60_000)} min` : `−${Math.round(span / 1000)} s`;
    const x = (t) => (((t - (now - span)) / span) * W).toFixed(1);
    const y = (v) => (H - 2 - (v / max) * (H - 6)).toFixed(1);
    let line = "", area = "", last = null, start = null;
    for (const [t, v] of points) {
      if (v == null) { last = null; continue; }
      const joined = last != null && t - last < SAMPLE_MS * 3;
      if (!joined) { if (start != null) area += `L${x(last)},${H}L${start},${H}Z`; start = x(t); }
      line += `${joined ? "L" : "M"}${x(t)},${y(v)}`;
      area += `${joined ? "L" : `M${x(t)},${H}L`}${x(t)},${y(v)}`;
      last = t;
    }
    if (start != null) area += `L${x(last)},${H}L${start},${H}Z`;
    const latest = known.length ? known[known.length - 1][1] : null;
    const dot = known.length ? `<path class="line" d="M${x(known[known.length - 1][0])},${y(latest)}h-1.5" stroke-width="4"/>` : "";
    svg.innerHTML = `<line x1="0" y1="${H - 1}" x2="${W}" y2="${H - 1}"/><line x1="0" y1="4" x2="${W}" y2="4" stroke-dasharray="3 3"/>` +
      `<path class="area" d="${area}"/><path class="line" d="${line}"/>${dot}`;
    value.textContent = format(latest);
    top.textContent = "max " + format(max);
    el.dataset.points = String(known.length);
    svg.setAttribute("aria-label", `${title}: now ${format(latest)}, scale up to ${format(max)}, ${known.length} samples`);
  }
  return { el, draw };
}
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
}

// ---------------------------------------------------------------- start

$("#sign-out").addEventListener("click", signOut);
$("#skip-link").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
window.addEventListener("hashchange", route);
window.addEventListener("storage", (e) => {   // signed out (or in) in another tab
  if (e.key === AUTH_KEY) { auth = loadAuth(); if (!auth) { flash = { text: "You signed out in another tab.", kind: "info" }; route(); } }
});
refreshIfStale(true);
route();
