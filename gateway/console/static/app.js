// The costroute console: reads /v1/costroute/console/* with the API key as a Bearer token.
import { groupedBars, legend, lineChart, PALETTE, stackedBars } from "./charts.js";

const API = "/v1/costroute/console";
const KEY = "costroute.console.key";
const $ = (id) => document.getElementById(id);
const state = { session: null, tenant: "", from: "", to: "", by: "model", generation: 0 };

// -- formatting: every figure says its unit ------------------------------------------------
export function usd(v) {
  if (v === null || v === undefined) return "n/a";
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 2 : abs >= 1 ? 4 : 6;
  return "$" + v.toLocaleString("en-US", { minimumFractionDigits: digits,
    maximumFractionDigits: digits });
}
// Axis ticks: as few digits as the tick needs ($0.005, $0.2, $1).
const usdTick = (v) => "$" + v.toLocaleString("en-US", { maximumSignificantDigits: 3 });
const count = (v) => Number(v).toLocaleString("en-US");
const plural = (n, word) => `${count(n)} ${word}${Number(n) === 1 ? "" : "s"}`;
const pct = (v) => (v === null || v === undefined ? "n/a" : (v * 100).toFixed(1) + "%");

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-") || k === "role") node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A headline number: its value in data-value (the API's, unrounded) for checks and tools.
function stat(id, label, value, format, note) {
  return h("div", { class: "stat" },
    h("span", { class: "label" }, label),
    h("span", { class: "value", "data-testid": id, "data-value": String(value) }, format(value)),
    note ? h("span", { class: "note" }, note) : null);
}

function figure(title, unitAndPeriod, chart, extra) {
  return h("figure", {}, h("figcaption", {}, h("strong", {}, title), " — ", unitAndPeriod),
    chart, extra || null);
}

function rangeText() {
  return `${state.from} to ${state.to} (UTC days)`;
}

// -- API -------------------------------------------------------------------------------------
async function api(path, params = {}) {
  const query = new URLSearchParams({ ...params });
  if (state.tenant) query.set("tenant", state.tenant);
  const response = await fetch(`${API}/${path}?${query}`, {
    headers: { authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` } });
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.error ? body.error.message : response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}
const ranged = (path, params = {}) => api(path, { from: state.from, to: state.to, ...params });

// -- pages -----------------------------------------------------------------------------------
async function overviewPage() {
  const o = await api("overview");
  const budgets = o.budgets.map((b) => budgetRow(b));
  const curve = o.month_curve;
  const labels = Array.from({ length: curve.days_in_month }, (_, i) => String(i + 1));
  const actual = labels.map((_, i) => (i < curve.cumulative_usd.length ? curve.cumulative_usd[i] : null));
  const series = [{ name: "spent (cumulative)", values: actual }];
  const monthly = o.budgets.find((b) => b.name.startsWith("month"));
  if (monthly) {
    series.push({ name: `pace for the ${usd(monthly.limit_usd)} monthly budget`, dash: "6 4",
      color: PALETTE[4], values: labels.map((_, i) => monthly.limit_usd * (i + 1) / labels.length) });
  }
  const today = curve.cumulative_usd.length;
  const last = today ? curve.cumulative_usd[today - 1] : 0;
  series.push({ name: `projected month-end ${usd(curve.projected_month_end_usd)}`, dash: "2 4",
    color: PALETTE[2], values: labels.map((_, i) => (i + 1 < today ? null
      : last + (curve.projected_month_end_usd - last) * ((i + 1 - today) / Math.max(1, labels.length - today)))) });
  return [
    h("h1", {}, "Overview"),
    h("div", { class: "stats" },
      stat("today-spend", "Spend today", o.today.cost_usd, usd, `USD, ${o.today.day} (UTC)`),
      stat("month-spend", "Spend this month", o.month.cost_usd, usd,
        `USD, ${o.month.from} to ${o.month.to} (UTC)`),
      stat("month-requests", "Billed calls this month", o.month.requests, count,
        "answered calls: each stage of a multi-call route counts"),
      stat("month-cache-hits", "Cache hits this month", o.month.cache_hits, count,
        `${pct(o.month.requests ? o.month.cache_hits / o.month.requests : null)} of calls`),
      stat("errors", "Errors", o.errors.total, count, `returned to clients, ${o.errors.period}`)),
    h("h2", {}, "Budgets"),
    budgets.length ? h("div", { class: "budgets" }, budgets)
      : h("p", { class: "muted" }, state.tenant === "*"
        ? "Budgets belong to tenants: pick one to see its budgets and pacing."
        : "This tenant has no budgets configured."),
    figure(monthly ? "Spend this month against the budget" : "Spend this month",
      "USD, cumulative by UTC day of this month",
      lineChart({ labels, series, format: usd, tick: usdTick, yLabel: "USD" }), legend(series)),
  ];
}

function budgetRow(b) {
  const share = b.limit_usd > 0 ? Math.min(1, b.spent_usd / b.limit_usd) : 0;
  const pace = b.pace_usd !== null && b.limit_usd > 0 ? Math.min(1, b.pace_usd / b.limit_usd) : null;
  const bar = h("div", { class: "bar" }, h("div", { class: "fill" }));
  bar.firstChild.style.width = `${share * 100}%`;
  if (pace !== null) {
    const marker = h("div", { class: "pace", title: `pace: ${usd(b.pace_usd)}` });
    marker.style.left = `${pace * 100}%`;
    bar.appendChild(marker);
  }
  const over = b.projected_usd !== null && b.projected_usd > b.limit_usd;
  return h("div", { class: "budget", "data-testid": `budget-${b.name}` },
    h("div", {}, h("strong", {}, `${b.name} budget`), ` (${b.window}, ${b.timezone})`),
    bar,
    h("div", { class: "muted" },
      `spent ${usd(b.spent_usd)} of ${usd(b.limit_usd)} USD (${pct(share)})`,
      b.reserved_usd ? `, ${usd(b.reserved_usd)} held` : "",
      b.pace_usd !== null ? ` · pace line ${usd(b.pace_usd)} at ${pct(b.elapsed_fraction)} of the period` : "",
      b.projected_usd !== null ? ` · projected ${usd(b.projected_usd)} at period end` : "",
      ` · resets ${b.resets_at}`),
    over ? h("div", { class: "warn" }, "On this pace the budget runs out before the period ends.") : null);
}

async function spendPage() {
  const s = await ranged("series", { by: state.by });
  const select = h("select", { id: "by" }, ["model", "route", "tier", "purpose", "language"]
    .map((d) => h("option", { value: d, selected: d === state.by }, d)));
  select.addEventListener("change", () => { state.by = select.value; render(); });
  const series = s.series.map((x) => ({ name: x.key, values: x.cost_usd }));
  return [
    h("h1", {}, "Spend over time"),
    h("label", { class: "control" }, "Break down by ", select),
    h("div", { class: "stats" },
      stat("spend-total", "Spend", s.totals.cost_usd, usd, `USD, ${rangeText()}`),
      stat("spend-requests", "Requests", s.totals.requests, count, rangeText()),
      stat("spend-tokens", "Tokens", s.totals.prompt_tokens + s.totals.completion_tokens, count,
        `prompt + completion, ${rangeText()}`)),
    figure(`Spend by ${s.by}`, `USD per UTC day, ${rangeText()}`,
      stackedBars({ labels: s.days.map((d) => d.slice(5)), series, format: usd, tick: usdTick, yLabel: "USD / day" }),
      legend(series)),
    table([s.by, "requests", "USD"], s.series.map((x) => [x.key,
      count(x.requests.reduce((a, b) => a + b, 0)), usd(x.total_usd)]), "spend-table"),
  ];
}

async function savingsPage() {
  const s = await ranged("savings");
  const routes = s.routes;
  // Headlines compare like with like: only routes with a pool have a strongest model.
  const pooled = routes.filter((r) => r.strongest_model);
  const sum = (k) => pooled.reduce((a, r) => a + (r[k] || 0), 0);
  const series = [
    { name: "actual", values: routes.map((r) => r.actual_usd) },
    { name: "on the strongest model in the pool", values: routes.map((r) => r.strongest_usd) },
    { name: "on the model the client named", values: routes.map((r) => (r.named_requests ? r.named_usd : null)) },
  ];
  return [
    h("h1", {}, "Savings"),
    h("div", { class: "stats" },
      stat("savings-actual", "Routed spend", sum("actual_usd"), usd,
        `USD, routes with a pool (${pooled.map((r) => r.route).join(", ") || "none"}), ${rangeText()}`),
      stat("savings-strongest", "On the strongest models", sum("strongest_usd"), usd,
        `USD, same traffic, ${rangeText()}`),
      stat("savings-saved", "Saved vs strongest", sum("strongest_usd") - sum("actual_usd"), usd,
        `USD, ${rangeText()}`)),
    routes.length ? figure("Actual and counterfactual cost of the same traffic",
      `USD per route, ${rangeText()}`,
      groupedBars({ categories: routes.map((r) => r.route), series, format: usd, tick: usdTick,
        xLabel: "USD" }),
      legend(series)) : h("p", { class: "muted" }, "No routed traffic in this range."),
    h("p", { class: "muted" }, s.method),
    ...routes.map((r) => h("section", { class: "route" },
      h("h2", {}, r.route),
      h("p", {}, `${plural(r.requests, "request")} over the range; `,
        r.strongest_model ? `strongest model in the pool: ${r.strongest_model} (${usd(r.strongest_usd)} USD vs ${usd(r.actual_usd)} actual). `
          : "no pool: requests named their model. ",
        r.named_requests ? `${count(r.named_requests)} named a model: ${usd(r.named_actual_usd)} USD actual vs ${usd(r.named_usd)} on the named models.` : ""),
      r.quality.length ? table(["model", "quality prior (config)", "observed score (labels in range)", "labels"],
        r.quality.map((q) => [q.model, q.prior === null ? "none" : q.prior.toFixed(3),
          q.observed === null ? "none" : q.observed.toFixed(3), count(q.labels)])) : null,
      r.note ? h("p", { class: "note-box", "data-testid": "quality-note" }, r.note) : null)),
  ];
}

async function routingPage() {
  const r = await ranged("routing");
  if (!r.routes.length) return [h("h1", {}, "Routing"), h("p", { class: "muted" }, "No traffic in this range.")];
  return [h("h1", {}, "Routing"), ...r.routes.map((route) => {
    const mix = route.decisions.map((d) => ({ name: d.key, values: d.requests }));
    const reasons = route.top_reasons;
    return h("section", { class: "route" },
      h("h2", {}, route.route),
      h("div", { class: "stats" },
        stat(`route-requests-${route.route}`, "Requests", route.requests, count, rangeText()),
        route.multi_stage ? stat(`escalation-${route.route}`, "Cascade escalation rate",
          route.escalation_rate, pct, `${route.escalated} of ${route.multi_stage} requests went past stage 1, ${rangeText()}`) : null),
      figure("Decision mix", `requests per UTC day by chosen model, ${rangeText()}`,
        stackedBars({ labels: route.days.map((d) => d.slice(5)), series: mix, format: count,
          integer: true, yLabel: "requests / day" }), legend(mix)),
      figure("Top reasons", `requests, ${rangeText()} (figures in reasons masked as #)`,
        groupedBars({ categories: reasons.map((x) => x.reason.slice(0, 28)),
          series: [{ name: "requests", values: reasons.map((x) => x.requests) }],
          format: count, integer: true, xLabel: "requests" }),
        h("ol", { class: "reasons" }, reasons.map((x) => h("li", {}, `${x.reason} — ${count(x.requests)}`)))));
  })];
}

async function languagesPage() {
  const l = await ranged("languages");
  const rows = l.languages.filter((x) => x.language !== "*");
  const all = l.languages.find((x) => x.language === "*");
  const series = [
    { name: "paid", values: rows.map((x) => x.cost_usd) },
    { name: "English-equivalent tokens", values: rows.map((x) => x.english_equivalent_usd) },
  ];
  return [
    h("h1", {}, "Language premium"),
    h("div", { class: "stats" },
      stat("lang-paid", "Paid", all ? all.cost_usd : 0, usd, `USD, ${rangeText()}`),
      stat("lang-premium", "Language premium", all ? all.premium_usd : 0, usd,
        `USD above English-equivalent tokens, ${rangeText()}`)),
    rows.length ? figure("What each language cost against English-equivalent tokens",
      `USD, ${rangeText()}`, groupedBars({ categories: rows.map((x) => x.language), series,
        format: usd, tick: usdTick, xLabel: "USD" }), legend(series)) : h("p", { class: "muted" }, "No traffic in this range."),
    table(["language", "requests", "paid USD", "English-equivalent USD", "premium USD", "premium"],
      rows.map((x) => [x.language, count(x.requests), usd(x.cost_usd), usd(x.english_equivalent_usd),
        usd(x.premium_usd), `${x.premium.toFixed(3)}×`])),
    h("p", { class: "muted" }, "Each request's cost, prompt and answer (the answer is taken to be in the prompt's language), is divided by its own model tokenizer's premium for the prompt's language (pricing/premium.py). A very short prompt's language is a guess."),
  ];
}

function artifactsSection(a) {
  if (!a) return [h("p", { class: "muted" }, "Router artifact versions are the gateway's own: an admin key shows them.")];
  // What each learned route serves now: a promoted version, else the artifact its config names.
  const configured = a.configured || {};
  const routes = [...new Set([...Object.keys(configured), ...Object.keys(a.serving || {})])].sort();
  const servingTable = routes.length ? table(["route", "serves"], routes.map((r) => [r,
    a.serving && a.serving[r] ? `${a.serving[r]} (promoted)`
      : configured[r] ? `${configured[r]} (configured)` : "no artifact"]), "serving-table") : null;
  if (a.error) return [h("h2", {}, "Router artifacts"), servingTable, h("p", { class: "error" }, a.error)];
  if (!a.versions.length) return [h("h2", {}, "Router artifacts"), servingTable,
    h("p", { class: "muted" }, "No trained versions in the registry yet: `costroute train knn --from-records` makes one.")];
  const serves = (id) => Object.entries(a.serving).filter(([, v]) => v === id).map(([r]) => r);
  const withAiq = a.versions.filter((v) => typeof v.metrics.aiq === "number");
  return [
    h("h2", {}, "Router artifacts"),
    servingTable,
    withAiq.length ? figure("Held-out AIQ per version", "area under the quality-cost curve, on each version's held-out prompts",
      groupedBars({ categories: withAiq.map((v) => v.id), series: [{ name: "held-out AIQ", values: withAiq.map((v) => v.metrics.aiq) }],
        format: (x) => x.toFixed(3), xLabel: "AIQ" })) : null,
    table(["version", "created", "parent", "prompts", "labels", "held-out metrics", "serves"],
      a.versions.map((v) => [v.id, v.created_at || "?", v.parent || "-", v.prompts ?? "?", v.labels ?? "?",
        Object.entries(v.metrics).map(([k, x]) => `${k} ${Number(x).toPrecision(3)}`).join(", ") || "none",
        serves(v.id).join(", ") || "-"]), "artifacts-table"),
  ];
}

async function learningPage() {
  const l = await api("learning");
  if (!l.available) return [h("h1", {}, "Learning"), h("p", { class: "note-box", "data-testid": "learning-note" }, l.note),
    ...artifactsSection(l.artifacts)];
  const models = Object.entries(l.labels_by_model);
  const series = [{ name: "labels", values: models.map(([, n]) => n) }];
  return [
    h("h1", {}, "Learning"),
    h("div", { class: "stats" },
      stat("learning-requests", "Recorded requests", l.requests, count, "all time"),
      stat("learning-captured", "With prompt text", l.captured, count, "all time")),
    models.length ? figure("Labels per model", "labels, all time",
      groupedBars({ categories: models.map(([m]) => m), series, format: count, integer: true,
        xLabel: "labels" }))
      : h("p", { class: "muted" }, "No labels yet."),
    ...artifactsSection(l.artifacts),
  ];
}

function table(head, rows, id) {
  return h("table", id ? { "data-testid": id } : {},
    h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((x) => h("td", {}, x))))));
}

const PAGES = { overview: overviewPage, spend: spendPage, savings: savingsPage,
  routing: routingPage, languages: languagesPage, learning: learningPage };

// -- shell -----------------------------------------------------------------------------------
async function render() {
  const name = (location.hash || "#overview").slice(1);
  const page = PAGES[name] ? name : "overview";
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === page);
  }
  const target = $("page");
  // Only the latest render may draw: an older, slower answer (a quick tenant or range
  // switch) must not overwrite a newer one.
  const generation = ++state.generation;
  target.setAttribute("data-loading", "true");
  let content;
  try {
    content = (await PAGES[page]()).filter((x) => x);
  } catch (error) {
    if (generation !== state.generation) return;
    if (error.status === 401) return logout("Your API key was not accepted.");
    content = [h("p", { class: "error", role: "alert" }, error.message)];
  }
  if (generation !== state.generation) return;
  target.replaceChildren(...content);
  target.setAttribute("data-page", page);
  target.removeAttribute("data-loading");
}

function utcDay(offset = 0) {
  return new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
}

async function start() {
  try {
    state.session = await api("session");
  } catch (error) {
    return logout(error.status === 401 ? "Incorrect API key." : error.message);
  }
  $("login").hidden = true;
  $("nav").hidden = false;
  $("session").hidden = false;
  $("who").textContent = `${state.session.tenant}${state.session.admin ? " (admin)" : ""}`;
  const select = $("tenant");
  const names = state.session.admin ? [...state.session.tenants, "*"] : [state.session.tenant];
  select.replaceChildren(...names.map((n) => h("option", { value: n, selected: n === state.session.tenant },
    n === "*" ? "all tenants" : n)));
  select.disabled = !state.session.admin;
  state.tenant = state.session.tenant;
  await render();
}

function logout(message = "") {
  sessionStorage.removeItem(KEY);
  state.session = null;
  state.generation++;  // a render still in flight must not draw after logout
  $("nav").hidden = true;
  $("session").hidden = true;
  $("page").replaceChildren();
  $("page").removeAttribute("data-page");
  $("login").hidden = false;
  $("login-error").textContent = message;
}

function wire() {
  state.to = utcDay();
  state.from = utcDay(-29);
  $("from").value = state.from;
  $("to").value = state.to;
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("key").value.trim()) return logout("Enter an API key.");
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    start();
  });
  $("logout").addEventListener("click", () => logout());
  $("tenant").addEventListener("change", () => { state.tenant = $("tenant").value; render(); });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      if ($("from").value && $("to").value) {
        state.from = $("from").value;
        state.to = $("to").value;
        render();
      }
    });
  }
  window.addEventListener("hashchange", () => state.session && render());
  if (sessionStorage.getItem(KEY)) start(); else logout();
}

wire();
