/* 村社联营账本 收银台: the cashier's till in the browser (issue 18). Plain JavaScript, no library.
 *
 * Keyboard and barcode scanner first: a scanner is a keyboard that types the code and Enter. Every sale is
 * on the device with its idempotency key before it is sent (the tendered body in localStorage at once, then
 * the IndexedDB outbox), so a dropped network, a reload or a closed tab loses nothing; the outbox goes up
 * in order through sales:batch with back-off.
 * The key is made when the sale starts (its first line), so every retry of that sale is the same key and
 * the server records it once. Money is integer fen here too; amounts go to the server as decimal strings.
 */
"use strict";

const $ = (id) => document.getElementById(id);
// The words this script shows, in the page's language: the server puts every till_js_* key of the Babel
// catalogues (ledger/locale) into the page as JSON; tr(key, fields) fills a word's {field}s.
const WORDS = JSON.parse(($("till-words") || {}).textContent || "{}");
function tr(key, fields) {
  const word = WORDS[key] || key;
  return fields ? word.replace(/\{(\w+)\}/g, (all, name) => (name in fields ? String(fields[name]) : all)) : word;
}
// Dates as the page's language writes them (the page's <html lang>: zh-CN or en), in Beijing time.
const LOCALE = document.documentElement.lang || "zh-CN";
const METHODS = [
  ["cash", tr("till_js_cash")], ["wechat", tr("till_js_wechat")], ["alipay", tr("till_js_alipay")],
  ["unionpay", tr("till_js_unionpay")], ["ecny", tr("till_js_ecny")], ["credit", tr("till_js_credit")],
];
const METHOD_NAMES = Object.fromEntries(METHODS);
const BATCH = 50;
const VIEWS = ["login", "open", "sell", "pay", "receipt", "refund", "cash", "close", "report", "queue"];

const state = {
  token: localStorage.getItem("till.token") || "",
  username: localStorage.getItem("till.user") || "",
  data: null,          // the store's catalogue, rates, customers and the open shift (cached in IndexedDB)
  byBarcode: new Map(),
  bySku: new Map(),
  cart: null,          // {key, lines: [{sku, qty}], started}
  selected: -1,
  suggestions: [],
  suggested: 0,
  qtyEdit: -1,         // the line whose quantity is being typed, or -1
  view: "login",
  online: navigator.onLine,
  pending: 0,
  rejected: 0,
  syncing: false,
  backoff: 0,
  syncTimer: null,
  authExpired: false,
  paying: false,
  sending: null,       // the key of the sale being sent on its own, outside the outbox's upload
  counted: 0,          // how many counts of the outbox were started: only the newest one is shown
  keys: { open: null, cash: null, close: null }, // a shift's writes: one key each until answered
  lastReceipt: null,
  refund: null,
  closeExpected: null,
};

// -- money and quantities (integers: fen and thousandths) --------------------------------------------------

function parseFen(text) {
  const t = String(text).trim();
  if (!/^\d{1,12}(\.\d{1,2})?$/.test(t)) return null;
  const [i, f = ""] = t.split(".");
  return Number(i) * 100 + Number((f + "00").slice(0, 2));
}
function fen(n) {
  const a = Math.abs(n);
  return (n < 0 ? "-" : "") + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0");
}
function parseMilli(text) {
  const t = String(text).trim();
  if (!/^\d{1,9}(\.\d{1,3})?$/.test(t)) return null;
  const [i, f = ""] = t.split(".");
  return Number(i) * 1000 + Number((f + "000").slice(0, 3));
}
function qtyText(m) {
  const i = Math.floor(m / 1000), f = m % 1000;
  return f ? `${i}.${String(f).padStart(3, "0").replace(/0+$/, "")}` : String(i);
}
function qtyProblem(text) {
  const t = String(text).trim();
  if (t === "") return tr("till_js_qty_missing");
  if (/^\d+\.\d{4,}$/.test(t)) return tr("till_js_qty_decimals");
  const m = parseMilli(t);
  if (m === null) return tr("till_js_qty_invalid", { qty: t });
  if (m === 0) return tr("till_js_qty_positive");
  return null;
}
/** A line's amount: quantity × unit price rounded half-up once (DESIGN §2), as the server computes it. */
function lineFen(milli, priceFen) {
  return Math.floor((milli * priceFen + 500) / 1000);
}
function priceOf(p) { return parseFen(p.price); }

/** The rate in force on a business day (YYYY-MM-DD, Beijing): the latest of the category from on or before it. */
function rateOn(category, day) {
  let found = null;
  for (const r of state.data.tax_rates) if (r.category === category && r.effective_from <= day) found = r.rate_bp;
  return found === null ? 100 : found;
}

/** The VAT inside a sale's gross, per rate: net = round(gross / (1 + rate)) half-up, as the server does. */
function saleTax(lines, soldAt) {
  const day = new Date(Date.parse(soldAt) + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const gross = new Map();
  for (const ln of lines) {
    const p = state.bySku.get(ln.sku.toUpperCase());
    const bp = rateOn(p ? p.tax_category : "goods", day);
    gross.set(bp, (gross.get(bp) || 0) + lineFen(parseMilli(ln.quantity), parseFen(ln.unit_price)));
  }
  let tax = 0;
  for (const [bp, g] of gross) tax += g - Math.floor((2 * g * 10000 + (10000 + bp)) / (2 * (10000 + bp)));
  return tax;
}

// -- IndexedDB: kv (the catalogue), outbox (the sales not yet acknowledged) ---------------------------------

let dbp = null;
function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open("cunshe-till", 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        d.createObjectStore("kv");
        d.createObjectStore("outbox", { keyPath: "key" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbp;
}
async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode);
    const s = t.objectStore(store);
    let out;
    const r = fn(s);
    if (r) r.onsuccess = () => { out = r.result; };
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}
const kvGet = (k) => tx("kv", "readonly", (s) => s.get(k));
const kvPut = (k, v) => tx("kv", "readwrite", (s) => s.put(v, k));
const outboxAll = async () => ((await tx("outbox", "readonly", (s) => s.getAll())) || []).sort((a, b) => a.seq - b.seq);
const outboxPut = (item) => tx("outbox", "readwrite", (s) => s.put(item));
const outboxDelete = (key) => tx("outbox", "readwrite", (s) => s.delete(key));

// -- the server --------------------------------------------------------------------------------------------

class NetError extends Error {}
class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.error = error || {};
  }
}

async function api(method, path, body, key) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15000);
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: abort.signal, cache: "no-store" });
  } catch (e) {
    setOnline(false);
    throw new NetError(String(e));
  } finally {
    clearTimeout(timer);
  }
  setOnline(true);
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!r.ok) {
    const err = new ApiError(r.status, json && json.error ? json.error : { message: text.slice(0, 200) });
    if (r.status === 401 && state.token) expireLogin();
    throw err;
  }
  return json;
}

function setOnline(on) {
  state.online = on;
  const n = $("net");
  n.textContent = on ? tr("till_js_online") : tr("till_js_offline_pill");
  n.classList.toggle("offline", !on);
}

function expireLogin() {
  state.authExpired = true;
  showLogin(tr("till_js_login_expired"));
}

// -- the catalogue -----------------------------------------------------------------------------------------

function indexCatalogue() {
  state.byBarcode = new Map();
  state.bySku = new Map();
  for (const p of state.data.products) {
    if (p.barcode) state.byBarcode.set(p.barcode, p);
    state.bySku.set(p.sku.toUpperCase(), p);
  }
  $("store-name").textContent = state.data.store.name;
  const ch = $("pay-channel");
  ch.innerHTML = "";
  for (const [code, name] of Object.entries(state.data.channels)) ch.append(new Option(name, code));
  const cu = $("pay-customer");
  cu.innerHTML = "";
  cu.append(new Option(tr("till_js_no_customer"), ""));
  for (const c of state.data.customers) cu.append(new Option(tr("till_js_customer_limit", { name: c.name, limit: c.credit_limit }), String(c.id)));
}

async function refreshData() {
  if (!state.token) return false;
  const storeId = Number(localStorage.getItem("till.store"));
  try {
    const data = await api("GET", `/api/v1/pos/stores/${storeId}/till`);
    state.data = data;
    await kvPut("data", data);
    indexCatalogue();
    renderShift();
    return true;
  } catch (e) {
    if (!(e instanceof NetError)) console.warn(e);
    return false;
  }
}

async function saveShift(report) {
  state.data.open_shift = report;
  await kvPut("data", state.data);
  renderShift();
}

function renderShift() {
  const s = state.data && state.data.open_shift;
  $("shift-info").textContent = s ? tr("till_js_shift_of", { id: s.id, user: state.username }) : state.username;
}

// -- views -------------------------------------------------------------------------------------------------

function show(view) {
  state.view = view;
  for (const v of VIEWS) $(`${v}-view`).hidden = v !== view;
  $("logout").hidden = !state.token;
  const focus = { login: "login-user", open: "open-float", sell: "scan", refund: "refund-code", cash: "cash-amount", close: "close-cash", receipt: "btn-next", report: "btn-report-done", queue: "btn-sync" }[view];
  if (focus) $(focus).focus();
}

function showLogin(note) {
  $("login-note").hidden = !note;
  $("login-note").textContent = note || "";
  if (state.username) $("login-user").value = state.username;
  show("login");
  if (state.username) $("login-pass").focus();
}

function home() {
  if (!state.token || state.authExpired) return showLogin();
  if (!state.data) return showLogin();
  if (!state.data.open_shift) return show("open");
  show("sell");
  renderCart();
}

// -- the sale being rung up (kept in localStorage, so a reload keeps it and its key) ------------------------

function newKey() {
  const rnd = new Uint8Array(9);
  crypto.getRandomValues(rnd);
  const tail = Array.from(rnd, (b) => b.toString(16).padStart(2, "0")).join("");
  return `till-${state.data.store.id}-${Date.now().toString(36)}-${tail}`;
}
function saveCart() {
  if (state.cart && state.cart.lines.length) localStorage.setItem("till.cart", JSON.stringify(state.cart));
  else localStorage.removeItem("till.cart");
}
function cartTotal() {
  let t = 0;
  for (const ln of state.cart ? state.cart.lines : []) {
    const p = state.bySku.get(ln.sku.toUpperCase());
    if (p && ln.qty) t += lineFen(ln.qty, ln.price);
  }
  return t;
}

function say(text, bad) {
  const m = $("message");
  m.textContent = text || "";
  m.classList.toggle("bad", !!bad);
}

function addLine(p, qty) {
  if (!state.cart) state.cart = { key: newKey(), lines: [], started: new Date().toISOString() };
  const price = priceOf(p);
  const same = state.cart.lines.findIndex((l) => l.sku === p.sku && !p.weighed && l.price === price);
  if (same >= 0 && qty) {
    state.cart.lines[same].qty += qty;
    state.selected = same;
  } else {
    state.cart.lines.push({ sku: p.sku, qty: qty || 0, price });
    state.selected = state.cart.lines.length - 1;
  }
  saveCart();
  renderCart();
  if (!qty) {
    say(tr("till_js_enter_weight", { name: p.name, unit: p.unit }));
    startQtyEdit(state.selected);
  } else {
    say(`${p.name} ${qtyText(qty)}${p.unit}`);
  }
}

function renderCart() {
  const body = $("cart-body");
  body.innerHTML = "";
  const lines = state.cart ? state.cart.lines : [];
  lines.forEach((ln, i) => {
    const p = state.bySku.get(ln.sku.toUpperCase()) || { name: ln.sku, unit: "" };
    const rowEl = document.createElement("tr");
    rowEl.dataset.sku = ln.sku;
    if (i === state.selected) rowEl.className = "selected";
    const name = document.createElement("td");
    name.textContent = p.name;
    const q = document.createElement("td");
    q.className = "num qty";
    if (i === state.qtyEdit) {
      const input = document.createElement("input");
      input.id = "qty-input";
      input.inputMode = "decimal";
      input.autocomplete = "off";
      input.setAttribute("aria-label", tr("till_js_qty_of", { name: p.name, unit: p.unit }));
      input.value = ln.qty ? qtyText(ln.qty) : "";
      q.append(input);
    } else {
      q.textContent = ln.qty ? `${qtyText(ln.qty)}${p.unit}` : "—";
    }
    const pr = document.createElement("td");
    pr.className = "num";
    pr.textContent = fen(ln.price);
    const amt = document.createElement("td");
    amt.className = "num amount";
    amt.textContent = ln.qty ? fen(lineFen(ln.qty, ln.price)) : "";
    rowEl.append(name, q, pr, amt);
    body.append(rowEl);
  });
  $("cart-empty").hidden = lines.length > 0;
  $("total").textContent = fen(cartTotal());
  $("sale-key").textContent = state.cart ? tr("till_js_sale_key", { key: state.cart.key.slice(-8) }) : "";
  const qi = $("qty-input");
  if (qi) {
    qi.addEventListener("keydown", onQtyKey);
    qi.focus();
    qi.select();
  }
}

function startQtyEdit(i) {
  if (!state.cart || i < 0 || i >= state.cart.lines.length) return;
  state.qtyEdit = i;
  state.selected = i;
  renderCart();
}

function onQtyKey(ev) {
  const i = state.qtyEdit;
  if (ev.key === "Enter") {
    ev.preventDefault();
    const problem = qtyProblem(ev.target.value);
    if (problem) { say(problem, true); ev.target.select(); return; }
    state.cart.lines[i].qty = parseMilli(ev.target.value);
    state.qtyEdit = -1;
    saveCart();
    renderCart();
    say("");
    $("scan").focus();
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    state.qtyEdit = -1;
    if (!state.cart.lines[i].qty) removeLine(i);
    renderCart();
    $("scan").focus();
  }
}

/** After the catalogue changed: the cart at today's prices; the names of products no longer sold. */
function repriceCart() {
  const gone = [];
  if (!state.cart) return gone;
  state.cart.lines = state.cart.lines.filter((l) => {
    const p = state.bySku.get(l.sku.toUpperCase());
    if (!p) gone.push(l.sku);
    else l.price = priceOf(p);
    return !!p;
  });
  state.cart.payments = null;
  renderCart();
  return gone;
}

function removeLine(i) {
  if (!state.cart || i < 0) return;
  state.cart.lines.splice(i, 1);
  if (!state.cart.lines.length) {
    voidSale();
    return;
  }
  state.selected = Math.min(i, state.cart.lines.length - 1);
  saveCart();
  renderCart();
}

function voidSale() {
  state.cart = null;
  state.selected = -1;
  state.qtyEdit = -1;
  saveCart();
  renderCart();
}

// -- what the scanner (or the keyboard) typed ---------------------------------------------------------------

function ean13Valid(code) {
  if (!/^\d{13}$/.test(code)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(code[i]) * (i % 2 ? 3 : 1);
  return (10 - (sum % 10)) % 10 === Number(code[12]);
}

/** EAN-13 scale label, prefix 2: 2 F IIIII VVVVV C. The product's barcode is the first 7 digits (2FIIIII);
 *  F 0–4: VVVVV is the price in fen; F 5–9: VVVVV is the weight in grams. */
function scaleItem(code) {
  if (!/^2\d{12}$/.test(code)) return null;
  const p = state.byBarcode.get(code.slice(0, 7));
  if (!p) return null;
  if (!ean13Valid(code)) return { error: tr("till_js_bad_check_digit", { code }) };
  const value = Number(code.slice(7, 12));
  let milli;
  if (Number(code[1]) <= 4) {
    const price = priceOf(p);
    milli = Math.round((value * 1000) / price);
  } else {
    const perUnit = { kg: 1, "公斤": 1, "千克": 1, "斤": 2, g: 1000, "克": 1000, "两": 20 }[p.unit] || 1;
    milli = value * perUnit;
  }
  if (milli <= 0) return { error: tr("till_js_zero_weight", { code }) };
  return { product: p, qty: milli };
}

function isReceiptCode(text) {
  return /^till-\d+-[0-9a-z]+-[0-9a-f]+$/.test(text) || /^\S+-\d{8}-\d{4,}$/.test(text);
}

function search(text) {
  const t = text.trim().toLowerCase();
  if (!t || /^\d+$/.test(t)) return [];
  const out = [];
  for (const p of state.data.products) {
    const rank = p.initials.startsWith(t) ? 0 : p.name.toLowerCase().includes(t) ? 1 : p.initials.includes(t) ? 2 : p.sku.toLowerCase().startsWith(t) ? 3 : -1;
    if (rank >= 0) out.push([rank, p]);
  }
  out.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name, "zh"));
  return out.slice(0, 8).map((x) => x[1]);
}

function renderSuggestions() {
  const ul = $("suggestions");
  ul.innerHTML = "";
  ul.hidden = !state.suggestions.length;
  state.suggestions.forEach((p, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === state.suggested));
    const a = document.createElement("span");
    a.textContent = `${p.name}（${p.initials}）`;
    const b = document.createElement("span");
    b.textContent = `${p.price}/${p.unit}`;
    li.append(a, b);
    ul.append(li);
  });
}

function onScan(raw) {
  let text = raw.trim();
  if (!text) {
    if (state.cart && state.cart.lines.length) openPay();
    return;
  }
  let qty = null;
  const m = /^(\d{1,9}(?:\.\d+)?)\*(.+)$/.exec(text);
  if (m) {
    const problem = qtyProblem(m[1]);
    if (problem) { say(problem, true); return; }
    qty = parseMilli(m[1]);
    text = m[2].trim();
  }
  const clear = () => { $("scan").value = ""; state.suggestions = []; renderSuggestions(); };
  let p = state.byBarcode.get(text);
  if (p) { clear(); return addLine(p, qty || (p.weighed ? 0 : 1000)); }
  const scale = scaleItem(text);
  if (scale) {
    if (scale.error) { say(scale.error, true); $("scan").select(); return; }
    clear();
    return addLine(scale.product, scale.qty);
  }
  if (isReceiptCode(text)) { clear(); return openRefund(text); }
  p = state.bySku.get(text.toUpperCase());
  if (!p && state.suggestions.length) p = state.suggestions[state.suggested];
  if (p) { clear(); return addLine(p, qty || (p.weighed ? 0 : 1000)); }
  say(/^\d+$/.test(text) ? tr("till_js_unknown_barcode", { code: text }) : tr("till_js_not_found", { text }), true);
  $("scan").select();
}

// -- paying ------------------------------------------------------------------------------------------------

function openPay() {
  if (!state.cart || !state.cart.lines.length) return;
  const missing = state.cart.lines.findIndex((l) => !l.qty);
  if (missing >= 0) { say(tr("till_js_qty_pending"), true); return startQtyEdit(missing); }
  const tenders = $("tenders");
  tenders.innerHTML = "";
  for (const [code, name] of METHODS) {
    const row = document.createElement("div");
    row.className = "tender";
    const label = document.createElement("label");
    label.htmlFor = `pay-${code}`;
    label.textContent = name;
    const input = document.createElement("input");
    input.id = `pay-${code}`;
    input.dataset.method = code;
    input.inputMode = "decimal";
    input.autocomplete = "off";
    input.value = (state.cart.payments && state.cart.payments[code]) || "";
    input.addEventListener("input", renderPay);
    input.addEventListener("keydown", onTenderKey);
    row.append(label, input);
    tenders.append(row);
  }
  $("pay-channel").value = state.cart.channel || "counter";
  $("pay-customer").value = state.cart.customer_id ? String(state.cart.customer_id) : "";
  $("pay-error").textContent = "";
  show("pay");
  renderPay();
  $("pay-cash").focus();
}

function tendered() {
  const out = [];
  for (const [code] of METHODS) {
    const v = $(`pay-${code}`).value.trim();
    if (!v) continue;
    const f = parseFen(v);
    out.push({ method: code, fen: f, text: v });
  }
  return out;
}

function renderPay() {
  $("pay-error").textContent = "";
  const total = cartTotal();
  $("pay-total").textContent = fen(total);
  const ts = tendered();
  const paid = ts.reduce((s, t) => s + (t.fen || 0), 0);
  $("pay-paid").textContent = fen(paid);
  $("pay-left").textContent = fen(Math.max(total - paid, 0));
  $("pay-change").textContent = fen(Math.max(paid - total, 0));
}

function onTenderKey(ev) {
  if (ev.key === "Enter" && !ev.target.value.trim()) {
    ev.preventDefault();
    const total = cartTotal();
    const paid = tendered().reduce((s, t) => s + (t.fen || 0), 0);
    if (paid < total) { ev.target.value = fen(total - paid); renderPay(); return; }
    confirmPay();
  }
}

function payProblem(total, ts, customerId) {
  for (const t of ts) {
    if (t.fen === null) return tr("till_js_tender_invalid", { method: METHOD_NAMES[t.method], amount: t.text });
    if (t.fen === 0) return tr("till_js_tender_positive", { method: METHOD_NAMES[t.method] });
  }
  if (!ts.length) return tr("till_js_tender_missing");
  const paid = ts.reduce((s, t) => s + t.fen, 0);
  const cash = ts.filter((t) => t.method === "cash").reduce((s, t) => s + t.fen, 0);
  if (paid < total) return tr("till_js_short_by", { amount: fen(total - paid) });
  if (paid - cash > total) return tr("till_js_noncash_over");
  if (ts.some((t) => t.method === "credit") && !customerId) return tr("till_js_credit_needs_customer");
  return null;
}

async function confirmPay() {
  if (state.paying || !state.cart) return; // a second Enter while the first is on its way
  state.paying = true;
  try {
    await tender();
  } finally {
    state.paying = false;
  }
}

async function tender() {
  const total = cartTotal();
  const ts = tendered();
  const customerId = Number($("pay-customer").value) || null;
  const problem = payProblem(total, ts, customerId);
  if (problem) { $("pay-error").textContent = problem; return; }
  const cart = state.cart;
  const body = {
    idempotency_key: cart.key,
    store_id: state.data.store.id,
    shift_id: state.data.open_shift.id,
    sold_at: cart.sold_at || new Date().toISOString(),
    channel: $("pay-channel").value,
    customer_id: customerId,
    lines: cart.lines.map((l) => ({ sku: l.sku, quantity: qtyText(l.qty), unit_price: fen(l.price) })),
    payments: ts.map((t) => ({ method: t.method, amount: fen(t.fen) })),
  };
  // Once tendered, the body is fixed: a retry after a reload sends these very bytes under the same key.
  cart.sold_at = body.sold_at;
  cart.body = body;
  saveCart();
  const item = { key: cart.key, seq: Date.now() * 1000 + Math.floor(Math.random() * 1000), body, state: "pending", store_name: state.data.store.name, cashier: state.username, total: fen(total), change: fen(ts.reduce((s, t) => s + t.fen, 0) - total) };
  // The body under its key is already safe in localStorage (the cart, above): if the tab dies from here
  // on, the next load puts it back in the outbox. So the outbox's write and the request run side by side,
  // and a sale goes straight up only when nothing waits ahead of it (the outbox goes up in order).
  const ahead = state.pending;
  const queued = outboxPut(item);
  let sale = null;
  if (!ahead && state.online && !state.authExpired) {
    state.sending = item.key; // the outbox's upload leaves this one to the request below
    try {
      sale = await api("POST", "/api/v1/pos/sales", body, cart.key);
    } catch (e) {
      // A 4xx other than the login's and a reused key's: refused as it stands, nothing written (a credit
      // limit, a closed shift, a changed price): back to the tender screen with the reason, same key.
      if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.error.code !== "idempotency_conflict") {
        await queued;
        await outboxDelete(item.key);
        await countOutbox(); // an upload's count taken while it was in the outbox showed it as waiting
        cart.body = null;
        const stale = /unit_price$/.test(e.error.field || "") || e.error.code === "unknown_product";
        if (stale && (await refreshData())) {
          const gone = repriceCart();
          saveCart();
          if (!state.cart || !state.cart.lines.length) { home(); say(tr("till_js_delisted", { names: gone.join("、") }), true); return; }
          openPay();
          $("pay-error").textContent = gone.length ? tr("till_js_price_changed_removed", { names: gone.join("、") }) : tr("till_js_price_changed");
          return;
        }
        saveCart();
        $("pay-error").textContent = tr("till_js_not_paid", { reason: reasonText(e.error) });
        return;
      }
      // The network (or the login) failed: the sale is in the outbox and goes up later.
    } finally {
      state.sending = null;
    }
  }
  state.cart = null;
  state.selected = -1;
  saveCart();
  say("");
  showReceipt(sale, item); // the receipt first; the outbox's bookkeeping after (a retry is a duplicate)
  // The next sale may be tendered while this one's bookkeeping finishes; it counts this one as ahead of it,
  // so it waits in the outbox behind it instead of going up first.
  if (!sale) state.pending += 1;
  state.paying = false;
  await queued;
  if (sale) await outboxDelete(item.key);
  await countOutbox();
  if (!sale) scheduleSync(0);
}

// -- receipts ----------------------------------------------------------------------------------------------

const CODE128 = [212222, 222122, 222221, 121223, 121322, 131222, 122213, 122312, 132212, 221213, 221312, 231212, 112232, 122132, 122231, 113222, 123122, 123221, 223211, 221132, 221231, 213212, 223112, 312131, 311222, 321122, 321221, 312212, 322112, 322211, 212123, 212321, 232121, 111323, 131123, 131321, 112313, 132113, 132311, 211313, 231113, 231311, 112133, 112331, 132131, 113123, 113321, 133121, 313121, 211331, 231131, 213113, 213311, 213131, 311123, 311321, 331121, 312113, 312311, 332111, 314111, 221411, 431111, 111224, 111422, 121124, 121421, 141122, 141221, 112214, 112412, 122114, 122411, 142112, 142211, 241211, 221114, 413111, 241112, 134111, 111242, 121142, 121241, 114212, 124112, 124211, 411212, 421112, 421211, 212141, 214121, 412121, 111143, 111341, 131141, 114113, 114311, 411113, 411311, 113141, 114131, 311141, 411131, 211412, 211214, 211232, 2331112];

/** CODE128 (code set B) as an SVG: the receipt's number, scanned back at the till for a refund. */
function barcodeSvg(text) {
  const codes = [104];
  for (const ch of text) codes.push(ch.charCodeAt(0) - 32);
  let sum = 104;
  codes.slice(1).forEach((c, i) => { sum += c * (i + 1); });
  codes.push(sum % 103, 106);
  let x = 10;
  let rects = "";
  for (const c of codes) {
    const widths = String(CODE128[c]);
    for (let i = 0; i < widths.length; i++) {
      const w = Number(widths[i]);
      if (i % 2 === 0) rects += `<rect x="${x}" y="0" width="${w}" height="40"/>`;
      x += w;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${x + 10} 40" preserveAspectRatio="none" role="img" aria-label="${text}">${rects}</svg>`;
}

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** The receipt as HTML: the server's (sale) or, for a sale still in the outbox, the till's own copy. */
function receiptHtml(sale, item) {
  const row = (a, b) => `<div class="r"><span>${esc(a)}</span><span>${esc(b)}</span></div>`;
  let h = "";
  if (sale) {
    const r = sale.receipt;
    h += `<div class="c"><b>${esc(r.title)}</b></div><div class="c">${esc(sale.kind === "refund" ? tr("till_js_r_refund") : tr("till_js_r_sale"))}</div>`;
    h += row(tr("till_js_r_no"), r.receipt_no) + row(tr("till_js_r_time"), r.time) + row(tr("till_js_r_cashier"), r.cashier);
    if (r.customer) h += row(tr("till_js_r_customer"), r.customer);
    h += "<hr>";
    for (const ln of sale.lines) h += `<div>${esc(ln.name)}</div>` + row(`  ${ln.quantity}${ln.unit} × ${ln.unit_price}`, ln.amount);
    h += "<hr>" + row(tr("till_js_r_total", { count: r.item_count }), r.total) + row(tr("till_js_r_tax"), sale.tax);
    for (const p of sale.payments) h += row(METHOD_NAMES[p.method], p.amount);
    h += row(tr("till_js_r_change"), r.change) + "<hr>" + `<div class="c">${esc(tr("till_js_r_thanks"))}</div>` + barcodeSvg(r.receipt_no);
  } else {
    const b = item.body;
    const offline = tr("till_js_r_offline");
    h += `<div class="c"><b>${esc(item.store_name)}</b></div><div class="c">${esc(offline)}</div>`;
    h += row(tr("till_js_r_key"), b.idempotency_key.slice(-12)) + row(tr("till_js_r_time"), new Date(b.sold_at).toLocaleString(LOCALE, { hour12: false, timeZone: "Asia/Shanghai" })) + row(tr("till_js_r_cashier"), item.cashier);
    h += "<hr>";
    for (const ln of b.lines) {
      const p = state.bySku.get(ln.sku.toUpperCase()) || { name: ln.sku, unit: "" };
      h += `<div>${esc(p.name)}</div>` + row(`  ${ln.quantity}${p.unit} × ${ln.unit_price}`, fen(lineFen(parseMilli(ln.quantity), parseFen(ln.unit_price))));
    }
    h += "<hr>" + row(tr("till_js_r_total", { count: b.lines.length }), item.total) + row(tr("till_js_r_tax"), fen(saleTax(b.lines, b.sold_at)));
    for (const p of b.payments) h += row(METHOD_NAMES[p.method], p.amount);
    const thanks = tr("till_js_r_thanks");
    h += row(tr("till_js_r_change"), item.change) + "<hr>" + `<div class="c">${esc(thanks)}</div>` + barcodeSvg(b.idempotency_key);
  }
  return h;
}

function showReceipt(sale, item) {
  state.lastReceipt = { sale, item };
  $("receipt").innerHTML = receiptHtml(sale, item);
  $("receipt-change").textContent = sale ? sale.change : item.change;
  $("receipt-status").textContent = sale ? tr("till_js_booked", { no: sale.receipt.receipt_no }) : tr("till_js_saved_offline");
  const link = $("btn-escpos");
  link.hidden = !sale;
  if (sale) link.href = `/api/v1/pos/sales/${sale.id}/receipt.escpos`;
  show("receipt");
}

function printReceipt(html) {
  $("print-area").innerHTML = `<div class="receipt">${html}</div>`;
  window.print();
}

async function downloadEscpos(ev) {
  ev.preventDefault();
  const sale = state.lastReceipt && state.lastReceipt.sale;
  if (!sale) return;
  const r = await fetch(`/api/v1/pos/sales/${sale.id}/receipt.escpos`, { headers: { Authorization: "Bearer " + state.token } });
  const blob = await r.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${sale.receipt.receipt_no}.bin`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// -- the outbox going up -----------------------------------------------------------------------------------

async function countOutbox() {
  // Counts overlap (the upload's, a sale's); IndexedDB reads in the order they were asked, so the count
  // asked last saw the newest outbox, and an older one finishing after it must not put back its figure.
  const mine = ++state.counted;
  const all = await outboxAll();
  if (mine !== state.counted) return all;
  state.pending = all.filter((x) => x.state === "pending").length;
  state.rejected = all.filter((x) => x.state === "rejected").length;
  $("queue-count").textContent = String(state.pending);
  $("rejected-count").textContent = String(state.rejected);
  $("rejected").hidden = !state.rejected;
  if (state.view === "queue") renderQueue(all);
  return all;
}

function scheduleSync(delay) {
  clearTimeout(state.syncTimer);
  state.syncTimer = setTimeout(sync, delay);
}

async function sync() {
  if (state.syncing || !state.token || state.authExpired) return;
  state.syncing = true;
  try {
    for (;;) {
      const pending = (await outboxAll()).filter((x) => x.state === "pending" && x.key !== state.sending);
      if (!pending.length) { state.backoff = 0; break; }
      const batch = pending.slice(0, BATCH);
      let res;
      try {
        res = await api("POST", "/api/v1/pos/sales:batch", { sales: batch.map((x) => x.body) });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) break; // the login is asked for; the queue waits
        state.backoff = Math.min(state.backoff ? state.backoff * 2 : 1000, 30000);
        scheduleSync(state.backoff);
        break;
      }
      state.backoff = 0;
      for (const r of res.results) {
        const item = batch[r.index];
        if (r.status === "rejected") {
          item.state = "rejected";
          item.error = r.error;
          await outboxPut(item);
        } else {
          await outboxDelete(item.key);
          if (state.lastReceipt && state.lastReceipt.item && state.lastReceipt.item.key === item.key && state.view === "receipt") showReceipt(r.sale, item);
        }
      }
      await countOutbox();
    }
  } finally {
    state.syncing = false;
    await countOutbox();
  }
}

/** Why the server refused a sale, in the cashier's words first, the server's exact message after. */
function reasonText(error) {
  const e = error || {};
  const field = e.field || "";
  const hint = /unit_price$/.test(field) ? tr("till_js_why_price")
    : e.code === "unknown_product" ? tr("till_js_why_product")
    : e.code === "shift_closed" ? tr("till_js_why_shift")
    : e.code === "credit_limit_exceeded" ? tr("till_js_why_limit")
    : e.code === "insufficient_payment" ? tr("till_js_why_short")
    : e.code === "not_found" ? tr("till_js_why_not_found")
    : tr("till_js_why_refused");
  return `${hint}：${e.message || ""}${field ? `（${field}）` : ""}`;
}

let queueShown = "";
function renderQueue(all) {
  // Redrawn only when it changed: a redraw under the cashier's focus would swallow the key press.
  const sig = all.map((x) => x.key + x.state).join();
  if (sig === queueShown && state.view === "queue" && $("queue-list").childElementCount === all.length) return;
  queueShown = sig;
  const ul = $("queue-list");
  ul.innerHTML = "";
  for (const x of all) {
    const li = document.createElement("li");
    li.className = x.state;
    const when = new Date(x.body.sold_at).toLocaleString(LOCALE, { hour12: false, timeZone: "Asia/Shanghai" });
    li.textContent = x.state === "rejected"
      ? tr("till_js_q_refused", { when, total: x.total, reason: reasonText(x.error) })
      : tr("till_js_q_pending", { when, total: x.total });
    if (x.state === "rejected") {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = tr("till_js_q_dismiss");
      b.addEventListener("click", async () => {
        // The cashier has seen why; the sale stays on record in the till's log of rejections.
        const seen = (await kvGet("rejected-seen")) || [];
        seen.push({ ...x, seen_at: new Date().toISOString() });
        await kvPut("rejected-seen", seen);
        await outboxDelete(x.key);
        await countOutbox();
      });
      li.append(" ", b);
    }
    ul.append(li);
  }
  $("queue-note").textContent = all.length ? tr("till_js_q_counts", { pending: state.pending, rejected: state.rejected }) : tr("till_js_q_empty");
}

async function openQueue() {
  queueShown = "";
  $("queue-list").innerHTML = ""; // never a stale list under the cashier's keys while it loads
  show("queue");
  renderQueue(await countOutbox());
}

// -- refunds -----------------------------------------------------------------------------------------------

async function openRefund(code) {
  state.refund = null;
  $("refund-sale").innerHTML = "";
  $("refund-form").hidden = true;
  $("refund-error").textContent = "";
  $("refund-code").value = code || "";
  show("refund");
  if (code) await findRefund(code);
}

async function findRefund(code) {
  $("refund-error").textContent = "";
  let sale;
  try {
    sale = await api("GET", `/api/v1/pos/stores/${state.data.store.id}/receipts/${encodeURIComponent(code.trim())}`);
  } catch (e) {
    $("refund-error").textContent = e instanceof NetError ? tr("till_js_refund_online") : e.message;
    return;
  }
  state.refund = { sale, key: newKey() };
  $("refund-sale").textContent = tr("till_js_refund_sale", { no: sale.receipt.receipt_no, time: sale.receipt.time, total: sale.total });
  const body = $("refund-lines").tBodies[0];
  body.innerHTML = "";
  sale.lines.forEach((ln, i) => {
    const left = sale.refundable[i];
    const rowEl = document.createElement("tr");
    rowEl.innerHTML = `<td>${esc(ln.name)}</td><td class="num">${esc(ln.quantity)}${esc(ln.unit)}</td><td class="num">${esc(left.remaining)}</td><td class="num"></td>`;
    const input = document.createElement("input");
    input.dataset.line = String(ln.line_no);
    input.dataset.remaining = left.remaining;
    input.inputMode = "decimal";
    input.setAttribute("aria-label", tr("till_js_refund_of", { name: ln.name }));
    input.disabled = parseMilli(left.remaining) === 0;
    rowEl.lastChild.append(input);
    body.append(rowEl);
  });
  $("refund-form").hidden = false;
  const first = body.querySelector("input:not([disabled])");
  if (first) first.focus();
  else $("refund-error").textContent = tr("till_js_refunded_all");
}

async function confirmRefund() {
  const r = state.refund;
  if (!r) return;
  const lines = [];
  for (const input of $("refund-lines").querySelectorAll("input")) {
    const v = input.value.trim();
    if (!v) continue;
    const problem = qtyProblem(v);
    if (problem) { $("refund-error").textContent = problem; input.focus(); return; }
    const q = parseMilli(v);
    if (q > parseMilli(input.dataset.remaining)) {
      $("refund-error").textContent = tr("till_js_refund_max", { max: input.dataset.remaining });
      input.focus();
      return;
    }
    lines.push({ line_no: Number(input.dataset.line), quantity: qtyText(q) });
  }
  if (!lines.length) { $("refund-error").textContent = tr("till_js_refund_qty"); return; }
  try {
    const sale = await api("POST", `/api/v1/pos/sales/${r.sale.id}/refunds`, { idempotency_key: r.key, shift_id: state.data.open_shift.id, lines, reason: $("refund-reason").value.trim() }, r.key);
    state.refund = null;
    showReceipt(sale, null);
  } catch (e) {
    $("refund-error").textContent = e instanceof NetError ? tr("till_js_refund_retry") : e.message;
  }
}

// -- the shift ---------------------------------------------------------------------------------------------

async function openShift(ev) {
  ev.preventDefault();
  const f = parseFen($("open-float").value);
  if (f === null) { $("open-error").textContent = tr("till_js_float_invalid"); return; }
  try {
    state.keys.open = state.keys.open || newKey();
    const report = await api("POST", "/api/v1/pos/shifts", { store_id: state.data.store.id, float: fen(f) }, state.keys.open);
    state.keys.open = null;
    await saveShift(report);
    $("open-float").value = "";
    $("open-error").textContent = "";
    home();
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && (await refreshData()) && state.data.open_shift) {
      return home(); // the shift was opened already (an answer lost on the way): carry on in it
    }
    $("open-error").textContent = e instanceof NetError ? tr("till_js_open_online") : e.message;
  }
}

async function cashMove(ev) {
  ev.preventDefault();
  const f = parseFen($("cash-amount").value);
  if (!f) { $("cash-error").textContent = tr("till_js_cash_invalid"); return; }
  const reason = $("cash-reason").value.trim();
  if (!reason) { $("cash-error").textContent = tr("till_js_cash_reason"); $("cash-reason").focus(); return; }
  try {
    // One key per pay-in or payout, kept until it is answered: Enter again after a lost answer records it once.
    state.keys.cash = state.keys.cash || newKey();
    await api("POST", `/api/v1/pos/shifts/${state.data.open_shift.id}/cash-moves`, { kind: $("cash-kind").value, amount: fen(f), reason }, state.keys.cash);
    state.keys.cash = null;
    $("cash-amount").value = "";
    $("cash-reason").value = "";
    $("cash-error").textContent = "";
    say($("cash-kind").value === "pay_in" ? tr("till_js_paid_in", { amount: fen(f) }) : tr("till_js_paid_out", { amount: fen(f) }));
    home();
  } catch (e) {
    $("cash-error").textContent = e instanceof NetError ? tr("till_js_cash_retry") : e.message;
  }
}

async function openClose() {
  show("close");
  $("close-error").textContent = "";
  $("close-confirm").disabled = true;
  $("close-expected").textContent = "—";
  $("close-wait").textContent = tr("till_js_close_uploading");
  await sync();
  const all = await countOutbox();
  if (all.some((x) => x.state === "pending")) {
    const why = state.online ? tr("till_js_server_down") : tr("till_js_no_network");
    $("close-wait").textContent = tr("till_js_close_pending", { count: state.pending, why });
    scheduleSync(2000);
    return;
  }
  if (all.some((x) => x.state === "rejected")) {
    $("close-wait").textContent = tr("till_js_close_refused", { count: state.rejected });
    return;
  }
  try {
    const report = await api("GET", `/api/v1/pos/shifts/${state.data.open_shift.id}`);
    state.closeExpected = parseFen(report.cash.expected);
    $("close-expected").textContent = report.cash.expected;
    $("close-wait").textContent = tr("till_js_close_summary", { sales: report.sales, refunds: report.refunds });
    $("close-confirm").disabled = false;
    renderClose();
  } catch (e) {
    $("close-wait").textContent = e instanceof NetError ? tr("till_js_close_online") : e.message;
  }
}

function renderClose() {
  const c = parseFen($("close-cash").value);
  $("close-counted").textContent = c === null ? "—" : fen(c);
  $("close-over").textContent = c === null || state.closeExpected === null ? "—" : fen(c - state.closeExpected);
}

async function closeShift(ev) {
  ev.preventDefault();
  if ($("close-confirm").disabled) return;
  const c = parseFen($("close-cash").value);
  if (c === null) { $("close-error").textContent = tr("till_js_counted_invalid"); return; }
  try {
    state.keys.close = state.keys.close || newKey();
    const report = await api("POST", `/api/v1/pos/shifts/${state.data.open_shift.id}/close`, { counted_cash: fen(c) }, state.keys.close);
    state.keys.close = null;
    await saveShift(null);
    $("close-cash").value = "";
    showReport(report);
  } catch (e) {
    $("close-error").textContent = e instanceof NetError ? tr("till_js_close_failed") : e.message;
  }
}

function showReport(r) {
  const row = (a, b) => `<div class="r"><span>${esc(a)}</span><span>${esc(b)}</span></div>`;
  const title = tr("till_js_rep_title", { id: r.id });
  let h = `<div class="c"><b>${esc(state.data.store.name)}</b></div><div class="c">${esc(title)}</div>`;
  h += row(tr("till_js_rep_day"), r.business_date) + row(tr("till_js_rep_sales"), tr("till_js_rep_count", { count: r.sales })) + row(tr("till_js_rep_refunds"), tr("till_js_rep_count", { count: r.refunds })) + row(tr("till_js_rep_takings"), r.takings) + row(tr("till_js_r_tax"), r.tax) + "<hr>";
  for (const [m, v] of Object.entries(r.by_method)) h += row(METHOD_NAMES[m] || m, v);
  h += "<hr>" + row(tr("till_js_rep_float"), r.cash.float) + row(tr("till_js_rep_pay_ins"), r.cash.pay_ins) + row(tr("till_js_rep_payouts"), r.cash.payouts);
  h += row(tr("till_js_rep_expected"), r.cash.expected) + row(tr("till_js_rep_counted"), r.cash.counted) + row(tr("till_js_rep_over_short"), r.cash.over_short);
  h += "<hr>" + row(tr("till_js_rep_voucher"), r.voucher_no || "—");
  $("report").innerHTML = `<div class="receipt" id="report-receipt">${h}</div>`;
  show("report");
}

// -- login -------------------------------------------------------------------------------------------------

async function logIn(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const username = $("login-user").value.trim();
  let res;
  try {
    const r = await fetch("/till/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password: $("login-pass").value }) });
    res = await r.json();
    if (!r.ok) { $("login-error").textContent = (res.error && res.error.message) || tr("till_js_login_failed"); return; }
  } catch (e) {
    $("login-error").textContent = tr("till_js_login_online");
    return;
  }
  $("login-pass").value = "";
  state.token = res.token;
  state.username = res.username;
  state.authExpired = false;
  localStorage.setItem("till.token", res.token);
  localStorage.setItem("till.user", res.username);
  localStorage.setItem("till.store", String(res.store_id));
  await refreshData();
  home();
  sync();
}

async function logOut() {
  const pending = (await outboxAll()).length;
  if (pending && !window.confirm(tr("till_js_logout_confirm", { count: pending }))) return;
  try { await api("POST", "/till/logout"); } catch (e) { /* offline: the token is forgotten here anyway */ }
  state.token = "";
  localStorage.removeItem("till.token");
  showLogin();
}

// -- keys --------------------------------------------------------------------------------------------------

function onKey(ev) {
  const k = ev.key;
  if (state.view === "sell") {
    const inScan = document.activeElement === $("scan");
    if (k === "F2") { ev.preventDefault(); startQtyEdit(state.selected); }
    else if (k === "F3") { ev.preventDefault(); voidSale(); say(tr("till_js_cleared")); $("scan").focus(); }
    else if (k === "F4") { ev.preventDefault(); openPay(); }
    else if (k === "F7") { ev.preventDefault(); openRefund(""); }
    else if (k === "F8") { ev.preventDefault(); show("cash"); }
    else if (k === "F9") { ev.preventDefault(); openClose(); }
    else if (k === "F10") { ev.preventDefault(); openQueue(); }
    else if (inScan && (k === "ArrowDown" || k === "ArrowUp")) {
      ev.preventDefault();
      const d = k === "ArrowDown" ? 1 : -1;
      if (state.suggestions.length) {
        state.suggested = (state.suggested + d + state.suggestions.length) % state.suggestions.length;
        renderSuggestions();
      } else if (state.cart && state.cart.lines.length) {
        state.selected = Math.max(0, Math.min(state.cart.lines.length - 1, state.selected + d));
        renderCart();
      }
    } else if (inScan && k === "Delete" && !$("scan").value) { ev.preventDefault(); removeLine(state.selected); }
    else if (k === "Escape" && inScan) { $("scan").value = ""; state.suggestions = []; renderSuggestions(); say(""); }
  } else if (state.view === "receipt") {
    if (k === "Enter") { ev.preventDefault(); home(); }
    else if (k === "p" || k === "P") { ev.preventDefault(); printReceipt($("receipt").innerHTML); }
  } else if (state.view === "report") {
    if (k === "Enter") { ev.preventDefault(); home(); }
    else if (k === "p" || k === "P") { ev.preventDefault(); printReceipt($("report-receipt").innerHTML); }
  } else if (["pay", "refund", "cash", "close", "queue"].includes(state.view) && k === "Escape") {
    ev.preventDefault();
    home();
  }
}

// -- start -------------------------------------------------------------------------------------------------

async function boot() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/till/sw.js", { scope: "/till/" }).catch(() => {});
  setOnline(navigator.onLine);
  $("login-form").addEventListener("submit", logIn);
  $("open-form").addEventListener("submit", openShift);
  $("scan-form").addEventListener("submit", (ev) => { ev.preventDefault(); onScan($("scan").value); });
  $("scan").addEventListener("input", () => { state.suggestions = search($("scan").value); state.suggested = 0; renderSuggestions(); });
  $("pay-form").addEventListener("submit", (ev) => { ev.preventDefault(); confirmPay(); });
  $("pay-customer").addEventListener("change", () => {
    const c = state.data.customers.find((x) => String(x.id) === $("pay-customer").value);
    if (c) $("pay-channel").value = c.channel;
    $("pay-error").textContent = "";
    state.cart.customer_id = c ? c.id : null;
    state.cart.channel = $("pay-channel").value;
    saveCart();
  });
  $("pay-channel").addEventListener("change", () => { state.cart.channel = $("pay-channel").value; saveCart(); });
  $("refund-find").addEventListener("submit", (ev) => { ev.preventDefault(); findRefund($("refund-code").value); });
  $("refund-form").addEventListener("submit", (ev) => { ev.preventDefault(); confirmRefund(); });
  $("cash-form").addEventListener("submit", cashMove);
  $("close-form").addEventListener("submit", closeShift);
  $("close-cash").addEventListener("input", renderClose);
  $("btn-pay").addEventListener("click", openPay);
  $("btn-qty").addEventListener("click", () => startQtyEdit(state.selected));
  $("btn-del").addEventListener("click", () => removeLine(state.selected));
  $("btn-void").addEventListener("click", voidSale);
  $("btn-refund").addEventListener("click", () => openRefund(""));
  $("btn-cash").addEventListener("click", () => show("cash"));
  $("btn-close").addEventListener("click", openClose);
  $("btn-last").addEventListener("click", openQueue);
  $("btn-queue-last").addEventListener("click", () => state.lastReceipt && showReceipt(state.lastReceipt.sale, state.lastReceipt.item));
  $("btn-print").addEventListener("click", () => printReceipt($("receipt").innerHTML));
  $("btn-escpos").addEventListener("click", downloadEscpos);
  $("btn-next").addEventListener("click", home);
  $("btn-report-print").addEventListener("click", () => printReceipt($("report-receipt").innerHTML));
  $("btn-report-done").addEventListener("click", home);
  $("queue").addEventListener("click", openQueue);
  $("rejected").addEventListener("click", openQueue);
  $("btn-sync").addEventListener("click", () => { state.backoff = 0; sync(); });
  $("btn-queue-back").addEventListener("click", home);
  $("logout").addEventListener("click", logOut);
  document.addEventListener("keydown", onKey);
  window.addEventListener("online", async () => { setOnline(true); await refreshData(); state.backoff = 0; sync(); });
  window.addEventListener("offline", () => setOnline(false));

  state.data = (await kvGet("data")) || null;
  if (state.data) indexCatalogue();
  const saved = localStorage.getItem("till.cart");
  if (saved) { try { state.cart = JSON.parse(saved); } catch (e) { state.cart = null; } }
  await countOutbox();
  if (state.token) await refreshData();
  renderShift();
  if (state.cart && state.cart.body) {
    // Tendered before the reload: that body, under its key, goes (back) into the outbox. If it had
    // reached the server already, the same key makes the upload a duplicate, never a second sale.
    const known = (await outboxAll()).some((x) => x.key === state.cart.key);
    if (!known) {
      const b = state.cart.body;
      await outboxPut({ key: b.idempotency_key, seq: Date.parse(b.sold_at) * 1000, body: b, state: "pending", store_name: state.data.store.name, cashier: state.username, total: fen(cartTotal()), change: "" });
    }
    state.cart = null;
    saveCart();
    await countOutbox();
  }
  home();
  sync();
  // Prices change during the day: the catalogue is fetched again every five minutes between sales.
  setInterval(() => { if (!state.cart && state.online) refreshData(); }, 5 * 60 * 1000);
  document.body.dataset.ready = "1";
}

boot();
