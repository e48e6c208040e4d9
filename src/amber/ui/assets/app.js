// Amber's dashboard (`amber ui`) and reports (`amber report`): vanilla JS and SVG, no library,
// nothing fetched but this dashboard's own /api. Every text from the store goes through
// textContent (never innerHTML): a crafted lock can name a package "<script>".
"use strict";

const REPORT = document.getElementById("amber-report");
const main = document.getElementById("main");

// -- helpers -------------------------------------------------------------------------------

// SVG's namespace, as the HTML parser gives it (no URL written here: pages hold none).
const SVG_NS = (() => { const d = document.createElement("div"); d.innerHTML = "<svg></svg>"; return d.firstChild.namespaceURI; })();

function el(tag, attrs, ...children) {
  const svg = ["svg", "g", "rect", "line", "path", "text", "title", "circle"].includes(tag);
  const node = svg
    ? document.createElementNS(SVG_NS, tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
function bytes(n) {  // as amber._units.human_bytes
  if (n === null || n === undefined) return "-";
  let v = Number(n);
  for (const u of UNITS) {
    if (Math.abs(v) < 1024 || u === "TiB") return u === "B" ? `${v.toFixed(0)} B` : `${v.toFixed(1)} ${u}`;
    v /= 1024;
  }
}
function when(t) {
  if (t === null || t === undefined) return "-";
  const d = new Date(t * 1000);
  const p = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
const short = (id) => (id || "").slice(0, 12);
async function api(path) {
  const r = await fetch("/api/" + path, { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function page(title, ...children) {
  main.replaceChildren(el("h1", { text: title }), ...children);
  document.title = `Amber: ${title}`;
}
function failure(err) {
  main.replaceChildren(el("p", { class: "bad", id: "error", text: String(err.message || err) }));
}
function envLink(id, label) { return el("a", { href: `#/env/${id}`, class: "mono", text: label || short(id) }); }

// A sortable, filterable table: columns [{key, label, num, value(row), cell(row)}].
function table(columns, rows, { id, filter, sortKey, desc = true } = {}) {
  let key = sortKey || null, down = desc, query = "";
  const body = el("tbody");
  const heads = columns.map((c) =>
    el("th", {
      class: `${c.num ? "num " : ""}sortable`, "data-key": c.key, text: c.label,
      onclick: () => { down = key === c.key ? !down : true; key = c.key; draw(); },
    }));
  const t = el("table", { id }, el("thead", {}, el("tr", {}, heads)), body);
  function draw() {
    const col = columns.find((c) => c.key === key);
    let shown = rows.filter((r) => !query || (filter ? filter(r) : JSON.stringify(r)).toLowerCase().includes(query));
    if (col) {
      const v = col.value || ((r) => r[col.key]);
      shown = shown.slice().sort((a, b) => {
        const x = v(a), y = v(b);
        const o = x === y ? 0 : x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : x < y ? -1 : 1;
        return down ? -o : o;
      });
    }
    heads.forEach((h) => h.classList.toggle("sorted", h.dataset.key === key));
    heads.forEach((h) => h.classList.toggle("asc", h.dataset.key === key && !down));
    body.replaceChildren(...shown.map((r) =>
      el("tr", { "data-id": r.full_id || r.run_id || r.name },
        columns.map((c) => {
          const v = c.value ? c.value(r) : r[c.key];
          return el("td", { class: c.num ? "num" : null, "data-field": c.key, "data-value": typeof v === "number" ? v : null },
            c.cell ? c.cell(r) : v === null || v === undefined ? "-" : String(v));
        }))));
  }
  draw();
  t.search = (text) => { query = text.toLowerCase(); draw(); };
  return t;
}

function searchBox(t, placeholder) {
  return el("input", { type: "search", placeholder, id: `${t.id}-filter`, oninput: (e) => t.search(e.target.value) });
}

// -- envs ------------------------------------------------------------------------------------

async function envsPage() {
  const [envs, du, tags, inuse] = await Promise.all([api("envs"), api("du"), api("tags"), api("inuse")]);
  const usage = Object.fromEntries(du.envs.map((e) => [e.full_id, e]));
  const tagsOf = {};
  for (const t of tags) (tagsOf[t.full_id] = tagsOf[t.full_id] || []).push(`${t.name}:${t.tag}`);
  const busy = new Set(inuse);
  const rows = envs.map((e) => ({
    ...e, tags: (tagsOf[e.full_id] || []).join(" "),
    apparent: usage[e.full_id] ? usage[e.full_id].apparent : null,
    unique: usage[e.full_id] ? usage[e.full_id].unique : null,
    in_use: busy.has(e.full_id), verify: null,
  }));
  const verifyCell = (r) => el("span", { class: "verify", "data-env": r.full_id },
    el("button", { text: "verify", onclick: (ev) => verifyOne(r.full_id, ev.target.parentNode) }));
  const t = table([
    { key: "full_id", label: "ID", cell: (r) => envLink(r.full_id) },
    { key: "name", label: "Name" },
    { key: "tags", label: "Tags", cell: (r) => (tagsOf[r.full_id] || []).map((x) => el("span", { class: "pill", text: x })) },
    { key: "apparent", label: "Size", num: true, cell: (r) => bytes(r.apparent) },
    { key: "unique", label: "Unique", num: true, cell: (r) => bytes(r.unique) },
    { key: "created", label: "Created", cell: (r) => when(r.created) },
    { key: "last_used", label: "Last used", cell: (r) => when(r.last_used) },
    { key: "in_use", label: "In use", value: (r) => (r.in_use ? 1 : 0), cell: (r) => (r.in_use ? "yes" : "") },
    { key: "verify", label: "Verify", cell: verifyCell },
  ], rows, { id: "envs", sortKey: "last_used", filter: (r) => `${r.full_id} ${r.name || ""} ${r.tags}` });
  page(`Envs (${rows.length})`,
    el("div", { class: "toolbar" }, searchBox(t, "filter by id, name or tag"),
      el("span", { class: "muted", text: `${bytes(du.total)} in all, every file counted once (amber du)` })),
    t);
}

async function verifyOne(id, cell) {
  cell.replaceChildren("checking…");
  try {
    const v = await api(`verify/${id}`);
    cell.replaceChildren(el("span", { class: v.ok ? "ok" : "bad", text: v.ok ? `ok (${v.checked} files)` :
      `${v.modified.length} modified, ${v.missing.length} missing, ${v.extra.length} extra` }));
  } catch (err) { cell.replaceChildren(el("span", { class: "bad", text: err.message })); }
}

// -- one env ---------------------------------------------------------------------------------

async function envPage(id) {
  const [env, pkgs, tree, audit, runs, tags] = await Promise.all([
    api(`env/${id}`), api(`packages/${id}`), api(`tree/${id}`), api(`audit/${id}`), api(`env-runs/${id}`), api("tags")]);
  renderEnv({
    full_id: env.full_id, req_id: env.req_id, path: env.path, name: env.name, size: env.size,
    created: env.created, last_used: env.last_used, platforms: Object.keys(env.platforms),
    activation: env.activation, packages: pkgs, tree, audit, runs,
    tags: tags.filter((t) => t.full_id === env.full_id).map((t) => `${t.name}:${t.tag}`),
  });
}

function renderEnv(d) {
  const name = d.tags && d.tags.length ? d.tags[0] : d.name || short(d.full_id);
  const facts = el("table", { id: "env-facts" },
    ...[["full_id", d.full_id], ["req_id", d.req_id], ["path", d.path || "(not hydrated here)"],
      ["platforms", (d.platforms || []).join(", ")], ["tags", (d.tags || []).join(", ") || "-"],
      ["size", d.size === undefined ? null : bytes(d.size)], ["created", d.created === undefined ? null : when(d.created)],
      ["last used", d.last_used === undefined ? null : when(d.last_used)]]
      .filter(([, v]) => v !== null)
      .map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { class: "mono", text: v }))));
  const ref = d.tags && d.tags.length ? d.tags[0] : short(d.full_id);
  const step = d.runs && d.runs.length ? d.runs[0].steps.find((s) => s.full_id === d.full_id) : null;
  const commands = [
    step ? `amber env get --run ${d.runs[0].run_id} --step ${step.step}` : null,
    `amber pack ${ref} -o ${ref.replace(/[:/]/g, "-")}.tar.gz`,
    `amber export ${ref} --format environment-yml -o environment.yml`,
    `amber export ${ref} --format cyclonedx -o sbom.json`,
  ].filter(Boolean);
  const rows = d.packages.packages;
  const t = table([
    { key: "kind", label: "Kind", cell: (r) => el("span", { class: `pill ${r.kind}`, text: r.kind }) },
    { key: "name", label: "Package" },
    { key: "version", label: "Version" },
    { key: "source", label: "Channel / index", cell: (r) => el("span", { class: "mono", text: r.source || "-" }) },
    { key: "license", label: "License", cell: (r) => r.license || el("span", { class: "muted", text: "unknown" }) },
    { key: "pulled_in_by", label: "Pulled in by", value: (r) => r.pulled_in_by.join(" "),
      cell: (r) => r.pulled_in_by.map((s) => el("span", { class: "pill", text: s })) },
  ], rows, { id: "packages", sortKey: "name", desc: false });
  const act = d.activation;
  const actRows = act ? [
    ...Object.entries(act.set).map(([k, v]) => ["set", `${k}=${v}`]),
    ...act.path_prepend.map((p) => ["PATH +", p]),
    ...act.scripts.map((s) => ["sources", s]),
  ] : [];
  const findings = d.audit.findings;
  main.replaceChildren(...[
    el("h1", { text: `Env ${name}` }),
    REPORT ? reportHead() : null,
    el("div", { class: "grid2" },
      el("div", { class: "card" }, facts),
      el("div", { class: "card" }, el("strong", { text: "Reproduce it" }),
        el("pre", { class: "cmd", id: "reproduce", text: commands.join("\n") }))),
    el("h2", { text: `Packages (${rows.length}, ${d.packages.platform})` }),
    el("div", { class: "toolbar" }, searchBox(t, "filter packages")), t,
    el("h2", { text: "Dependency graph" }),
    el("p", { class: "muted", text: "Requested packages on the left; click a package to see what it pulls in." }),
    el("div", { class: "scroll", id: "graph-box" }, graphSvg(d.tree)),
    el("div", { id: "detail", class: "muted" }),
    el("h2", { text: "Activation" }),
    actRows.length ? el("table", { id: "activation" }, actRows.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { class: "mono", text: v }))))
      : el("p", { class: "muted", id: "activation", text: act ? "Nothing to set." : "Not hydrated here: no activation recorded." }),
    el("h2", { text: `Audit (${findings.length} finding${findings.length === 1 ? "" : "s"})` }),
    el("p", { class: "muted", text: `Advisories: ${d.audit.osv}` }),
    findings.length ? el("table", { id: "findings" },
      el("tr", {}, ["Package", "Version", "Rule", "Severity", "Message"].map((h) => el("th", { text: h }))),
      findings.map((f) => el("tr", {}, el("td", { text: f.package }), el("td", { text: f.version }),
        el("td", { text: f.rule }), el("td", { class: f.severity === "error" ? "bad" : "", text: f.severity }),
        el("td", { text: f.message })))) : el("p", { id: "findings", class: "ok", text: "No findings." }),
    sbomSummary(d.audit),
    el("h2", { text: `Runs that used it (${(d.runs || []).length})` }),
    (d.runs || []).length ? el("table", { id: "env-runs" },
      d.runs.map((r) => el("tr", {},
        el("td", {}, REPORT ? el("span", { class: "mono", text: r.run_id }) : el("a", { href: `#/run/${r.run_id}`, class: "mono", text: r.run_id })),
        el("td", { text: when(r.started) }), el("td", { text: r.host }),
        el("td", { text: r.steps.filter((s) => s.full_id === d.full_id).map((s) => s.step).join(", ") }),
        el("td", { class: "mono", text: r.command }))))
      : el("p", { class: "muted", id: "env-runs", text: "No recorded run used it." })].filter(Boolean));
  document.title = `Amber: env ${name}`;
}

function sbomSummary(audit) {
  const pkgs = audit.packages;
  const byLicense = {};
  for (const p of pkgs) byLicense[p.license] = (byLicense[p.license] || 0) + 1;
  const kinds = {};
  for (const p of pkgs) kinds[p.kind] = (kinds[p.kind] || 0) + 1;
  return el("div", { id: "sbom" },
    el("h2", { text: "SBOM summary" }),
    el("p", { text: `${pkgs.length} components (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")}), ` +
      `${pkgs.filter((p) => p.purl).length} with a package URL; ` +
      `\`amber export --format cyclonedx\` writes the full SBOM.` }),
    el("table", { id: "licenses" }, el("tr", {}, el("th", { text: "License" }), el("th", { class: "num", text: "Packages" })),
      Object.entries(byLicense).sort((a, b) => b[1] - a[1]).map(([l, n]) =>
        el("tr", {}, el("td", { text: l }), el("td", { class: "num", text: n })))));
}

function reportHead() {
  const r = JSON.parse(REPORT.textContent).report;
  return el("p", { class: "report-head" }, `Report of ${r.ref}, made by amber report on ${when(r.made)}. `,
    "This file loads nothing from the network.");
}

// The dependency graph: requested packages in the first column, each package one column
// right of the deepest package that needs it (first seen), edges as curves.
function graphSvg(tree) {
  const nodes = new Map(), edges = [], roots = [];
  function visit(b, parent) {
    const key = `${b.kind}:${b.name}`;
    if (!nodes.has(key)) nodes.set(key, { key, name: b.name, version: b.version, kind: b.kind, requested: null, depth: Infinity, deps: new Set() });
    const n = nodes.get(key);
    if (b.requested) n.requested = b.requested;
    if (parent) { if (!parent.deps.has(key)) { parent.deps.add(key); edges.push([parent.key, key]); } }
    else roots.push(key);
    for (const c of b.dependencies) visit(c, n);
  }
  for (const b of tree.dependencies) visit(b, null);
  // depths: breadth first from the requested packages
  const queue = roots.map((k) => [k, 0]);
  for (const k of roots) nodes.get(k).depth = 0;
  while (queue.length) {
    const [k, d] = queue.shift();
    for (const c of nodes.get(k).deps) {
      const n = nodes.get(c);
      if (n.depth > d + 1) { n.depth = d + 1; queue.push([c, d + 1]); }
    }
  }
  const columns = [];
  for (const n of nodes.values()) {
    const d = Number.isFinite(n.depth) ? n.depth : 0;
    (columns[d] = columns[d] || []).push(n);
  }
  const W = 190, H = 26, BW = 160, BH = 20;
  columns.forEach((col, x) => col.sort((a, b) => a.name.localeCompare(b.name)).forEach((n, y) => { n.x = 10 + x * W; n.y = 10 + y * H; }));
  const height = 20 + Math.max(1, ...columns.map((c) => (c || []).length)) * H;
  const svg = el("svg", { id: "graph", width: 20 + columns.length * W, height, "data-nodes": nodes.size, "data-edges": edges.length });
  const edgeEls = edges.map(([a, b]) => {
    const p = nodes.get(a), c = nodes.get(b);
    const x1 = p.x + BW, y1 = p.y + BH / 2, x2 = c.x, y2 = c.y + BH / 2, mx = (x1 + x2) / 2;
    return el("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "data-from": a, "data-to": b });
  });
  svg.appendChild(el("g", {}, edgeEls));
  const detail = () => document.getElementById("detail");
  for (const n of nodes.values()) {
    const label = `${n.name} ${n.version || ""}`.trim();
    const g = el("g", { class: `node ${n.kind}${n.requested ? " requested" : ""}`, "data-key": n.key, transform: `translate(${n.x},${n.y})`,
      onclick: () => {
        const reach = new Set([n.key]); const todo = [n.key];
        while (todo.length) for (const c of nodes.get(todo.pop()).deps) if (!reach.has(c)) { reach.add(c); todo.push(c); }
        svg.querySelectorAll(".node").forEach((x) => x.classList.toggle("hl", reach.has(x.dataset.key)));
        edgeEls.forEach((e) => e.classList.toggle("hl", reach.has(e.dataset.from) && reach.has(e.dataset.to)));
        detail().textContent = `${n.kind} ${label}${n.requested ? ` (requested: ${n.requested})` : ""}: ` +
          `needs ${n.deps.size} package${n.deps.size === 1 ? "" : "s"} directly, ${reach.size - 1} in all`;
      } },
      el("title", { text: label + (n.requested ? ` (requested: ${n.requested})` : "") }),
      el("rect", { width: BW, height: BH, rx: 4 }),
      el("text", { x: 6, y: 14, text: label.length > 26 ? label.slice(0, 25) + "…" : label }));
    svg.appendChild(g);
  }
  return svg;
}

// -- diff --------------------------------------------------------------------------------------

async function diffPage(params) {
  const envs = await api("envs");
  const pick = (id, chosen) => el("select", { id }, el("option", { value: "", text: "choose an env" }),
    envs.map((e) => el("option", { value: e.full_id, selected: e.full_id === chosen, text: `${short(e.full_id)} ${e.name || ""}` })));
  const a = pick("diff-a", params.get("a")), b = pick("diff-b", params.get("b"));
  const go = () => { if (a.value && b.value) location.hash = `#/diff?a=${a.value}&b=${b.value}`; };
  a.onchange = go; b.onchange = go;
  const out = el("div", { id: "diff-out" });
  page("Diff", el("div", { class: "toolbar" }, "from", a, "to", b), out);
  if (!params.get("a") || !params.get("b")) { out.append(el("p", { class: "muted", text: "Choose two envs." })); return; }
  const [changes, ta, tb] = await Promise.all([
    api(`diff?a=${encodeURIComponent(params.get("a"))}&b=${encodeURIComponent(params.get("b"))}`),
    api(`tree/${params.get("a")}`), api(`tree/${params.get("b")}`)]);
  const requested = new Set([...ta.dependencies, ...tb.dependencies].map((x) => `${x.kind}:${x.name}`));
  const part = (title, id, rows) => [el("h2", { text: `${title} (${rows.length})` }),
    rows.length ? el("table", { id }, el("tr", {}, ["Package", "Kind", "Platform", "Old", "New", "Change"].map((h) => el("th", { text: h }))),
      rows.map((c) => el("tr", { "data-action": c.action }, el("td", { text: c.name }), el("td", { text: c.kind }),
        el("td", { text: c.platform }), el("td", { class: "mono", text: c.old || "-" }), el("td", { class: "mono", text: c.new || "-" }),
        el("td", { class: c.action === "removed" ? "bad" : c.action === "added" ? "ok" : "", text: c.action }))))
      : el("p", { id, class: "muted", text: "No changes." })];
  out.append(
    el("p", { text: changes.length ? `${changes.length} change${changes.length === 1 ? "" : "s"} (amber diff --json)` : "No changes." }),
    ...part("Requested packages", "diff-requested", changes.filter((c) => requested.has(`${c.kind}:${c.name}`))),
    ...part("Transitive packages", "diff-transitive", changes.filter((c) => !requested.has(`${c.kind}:${c.name}`))));
}

// -- runs --------------------------------------------------------------------------------------

async function runsPage() {
  const runs = await api("runs");
  const t = table([
    { key: "run_id", label: "Run", cell: (r) => el("a", { href: `#/run/${r.run_id}`, class: "mono", text: r.run_id }) },
    { key: "started", label: "Started", cell: (r) => when(r.started) },
    { key: "host", label: "Host" },
    { key: "remote", label: "Where", cell: (r) => (r.remote ? "remote" : "local") },
    { key: "steps", label: "Step calls", num: true, value: (r) => r.steps.length },
    { key: "failed", label: "Failed", num: true, value: (r) => r.steps.filter((s) => s.status !== "ok").length },
    { key: "command", label: "Command", cell: (r) => el("span", { class: "mono", text: r.command }) },
  ], runs, { id: "runs", sortKey: "started" });
  page(`Runs (${runs.length})`, el("div", { class: "toolbar" }, searchBox(t, "filter runs")), t);
}

async function runPage(id) {
  const run = await api(`run/${id}`);
  const steps = run.steps;
  const failed = steps.filter((s) => s.status !== "ok");
  page(`Run ${run.run_id}`,
    el("p", {}, `${run.remote ? "From the remote store. " : ""}On ${run.host}, ${when(run.started)}: `,
      el("code", { text: run.command }), ` — ${steps.length} step call${steps.length === 1 ? "" : "s"}, ${failed.length} failed.`),
    el("div", { class: "scroll", id: "timeline-box" }, timelineSvg(steps)),
    el("div", { id: "detail", class: "muted", text: "Click a bar: its step, env, duration and status." }),
    el("h2", { text: `Failures (${failed.length})` }),
    failed.length ? el("table", { id: "failures" }, failed.map((s) => el("tr", {}, el("td", { text: s.step }),
      el("td", {}, envLink(s.full_id)), el("td", { class: "bad mono", text: s.status },
        s.traceback ? el("pre", { class: "traceback", text: s.traceback }) : null))))
      : el("p", { id: "failures", class: "ok", text: "None." }));
}

function timelineSvg(steps) {
  const LEFT = 190, WIDTH = 760, ROW = 16, RIGHT = 50;
  const t0 = Math.min(...steps.map((s) => s.started));
  const t1 = Math.max(...steps.map((s) => s.ended));
  const span = Math.max(t1 - t0, 1e-6);
  const svg = el("svg", { id: "timeline", width: LEFT + WIDTH + RIGHT, height: 24 + steps.length * ROW, "data-bars": steps.length });
  for (let i = 0; i <= 4; i++) {
    const x = LEFT + (WIDTH * i) / 4;
    svg.append(el("line", { x1: x, x2: x, y1: 0, y2: 24 + steps.length * ROW, stroke: "#eee" }),
      el("text", { x: x + 2, y: 11, text: `${((span * i) / 4).toFixed(span < 10 ? 2 : 0)}s` }));
  }
  steps.forEach((s, i) => {
    const y = 18 + i * ROW, dur = s.ended - s.started;
    const ok = s.status === "ok";
    svg.append(el("text", { x: 4, y: y + 10, text: s.step.length > 28 ? "…" + s.step.slice(-27) : s.step }),
      el("rect", { class: `bar ${ok ? "ok" : "failed"}`, x: LEFT + ((s.started - t0) / span) * WIDTH, y, height: ROW - 4,
        width: Math.max(2, (dur / span) * WIDTH), "data-step": s.step, "data-status": s.status,
        onclick: () => {
          const d = document.getElementById("detail");
          d.replaceChildren(`${s.step} in env `, envLink(s.full_id), `: started ${when(s.started)}, ${dur.toFixed(2)}s, `,
            el("span", { class: ok ? "ok" : "bad", text: s.status }),
            s.traceback ? el("pre", { class: "traceback", text: s.traceback }) : null);
        } }, el("title", { text: `${s.step}: ${dur.toFixed(2)}s, ${s.status}` })));
  });
  return svg;
}

// -- disk --------------------------------------------------------------------------------------

function squarify(items, x, y, w, h) {
  const out = [];
  let rest = items.filter((i) => i.area > 0).sort((a, b) => b.area - a.area);
  const worst = (row, s) => {
    const sum = row.reduce((a, r) => a + r.area, 0), max = Math.max(...row.map((r) => r.area)), min = Math.min(...row.map((r) => r.area));
    return Math.max((s * s * max) / (sum * sum), (sum * sum) / (s * s * min));
  };
  while (rest.length) {
    const s = Math.min(w, h);
    let row = [rest[0]], i = 1;
    while (i < rest.length && worst([...row, rest[i]], s) <= worst(row, s)) row.push(rest[i++]);
    rest = rest.slice(i);
    const sum = row.reduce((a, r) => a + r.area, 0);
    if (w >= h) {
      const cw = sum / h; let yy = y;
      for (const r of row) { const rh = r.area / cw; out.push({ ...r, x, y: yy, w: cw, h: rh }); yy += rh; }
      x += cw; w -= cw;
    } else {
      const rh = sum / w; let xx = x;
      for (const r of row) { const rw = r.area / rh; out.push({ ...r, x: xx, y, w: rw, h: rh }); xx += rw; }
      y += rh; h -= rh;
    }
  }
  return out;
}

async function diskPage() {
  const [du, gc] = await Promise.all([api("du"), api("gc")]);
  const shared = Math.max(0, du.total - du.caches_total - du.envs.reduce((a, e) => a + e.unique, 0));
  const items = [
    ...du.envs.map((e) => ({ kind: "env", label: e.name || short(e.full_id), id: e.full_id, value: e.unique })),
    ...Object.entries(du.caches).map(([k, v]) => ({ kind: "cache", label: `${k} cache`, id: k, value: v })),
    { kind: "shared", label: "shared by envs", id: "shared", value: shared },
  ];
  const W = 960, H = 420, total = items.reduce((a, i) => a + i.value, 0) || 1;
  const tiles = squarify(items.map((i) => ({ ...i, area: (i.value / total) * W * H })), 0, 0, W, H);
  const svg = el("svg", { id: "treemap", width: W, height: H, "data-total": du.total },
    tiles.map((t) => el("g", {},
      el("rect", { class: `tile ${t.kind}`, x: t.x, y: t.y, width: t.w, height: t.h, "data-id": t.id, "data-value": t.value },
        el("title", { text: `${t.label}: ${bytes(t.value)}` })),
      t.w > 70 && t.h > 28 ? el("text", { x: t.x + 4, y: t.y + 14, text: t.label }) : null,
      t.w > 70 && t.h > 28 ? el("text", { x: t.x + 4, y: t.y + 27, text: bytes(t.value) }) : null)));
  const freed = Object.fromEntries(gc.removed_envs.map((e) => [e.full_id, e.bytes_freed]));
  const kept = Object.fromEntries(gc.kept_envs.map((e) => [e.full_id, e.reason]));
  const t = table([
    { key: "full_id", label: "Env", cell: (r) => envLink(r.full_id) },
    { key: "name", label: "Name" },
    { key: "apparent", label: "Apparent", num: true, cell: (r) => bytes(r.apparent) },
    { key: "unique", label: "Unique", num: true, cell: (r) => bytes(r.unique) },
    { key: "gc", label: "amber gc would", value: (r) => (r.full_id in freed ? freed[r.full_id] : -1),
      cell: (r) => (r.full_id in freed ? `free ${bytes(freed[r.full_id])}` : `keep it (${kept[r.full_id] || "-"})`) },
  ], du.envs, { id: "disk-envs", sortKey: "unique" });
  page("Disk",
    el("p", {}, `${bytes(du.total)} in all, each inode counted once: envs' unique bytes, the caches (`,
      Object.entries(du.caches).map(([k, v]) => `${k} ${bytes(v)}`).join(", "), `) and what envs share with each other.`),
    svg,
    el("h2", { text: "Per env, and what `amber gc --dry-run` would free" }),
    el("p", { id: "gc-total" }, `amber gc (default: unused for 30 days, untagged) would free ${bytes(gc.bytes_freed)}: `,
      `${bytes(gc.env_bytes)} of envs, ${bytes(gc.cache_bytes)} of cache entries.`),
    t);
}

// -- remote ------------------------------------------------------------------------------------

async function remotePage() {
  const info = await api("info");
  if (!info.remote) { page("Remote", el("p", { class: "muted", id: "no-remote", text: "No remote store configured: set AMBER_REMOTE or pass `amber ui --remote URL`." })); return; }
  const [tags, envs, runs] = await Promise.all([api("remote"), api("envs"), api("runs")]);
  const local = new Set(envs.map((e) => e.full_id));
  const rows = tags.map((t) => ({ ...t, ref: `${t.name}:${t.tag}`, local: local.has(t.full_id) }));
  const t = table([
    { key: "ref", label: "Tag" },
    { key: "full_id", label: "Env", cell: (r) => (r.local ? envLink(r.full_id) : el("span", { class: "mono", text: short(r.full_id) })) },
    { key: "host", label: "Set by (host)" },
    { key: "pushed_at", label: "When", cell: (r) => when(r.pushed_at) },
    { key: "local", label: "Here", value: (r) => (r.local ? 1 : 0), cell: (r) => (r.local ? "local" : el("span", { class: "muted", text: `not local: amber pull ${r.ref}` })) },
  ], rows, { id: "remote-tags", sortKey: "pushed_at" });
  const remoteRuns = runs.filter((r) => r.remote);
  page("Remote", el("p", { class: "mono", text: info.remote }),
    el("div", { class: "toolbar" }, searchBox(t, "filter tags")), t,
    el("h2", { text: `Runs only the remote store has (${remoteRuns.length})` }),
    el("ul", { id: "remote-runs" }, remoteRuns.map((r) => el("li", {}, el("a", { href: `#/run/${r.run_id}`, class: "mono", text: r.run_id }),
      ` ${r.host}, ${when(r.started)}`))));
}

// -- routing -----------------------------------------------------------------------------------

async function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "envs";
  const [path, query] = hash.split("?");
  const [name, arg] = path.split("/");
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === (name === "env" ? "envs" : name === "run" ? "runs" : name)));
  try {
    if (name === "env" && arg) await envPage(arg);
    else if (name === "diff") await diffPage(new URLSearchParams(query || ""));
    else if (name === "runs") await runsPage();
    else if (name === "run" && arg) await runPage(arg);
    else if (name === "disk") await diskPage();
    else if (name === "remote") await remotePage();
    else await envsPage();
  } catch (err) { failure(err); }
  performance.mark("amber-ready");  // the page is drawn with its data (bench/bench_ui.py)
  document.body.dataset.ready = hash;
}

if (REPORT) {
  document.body.classList.add("report");
  renderEnv(JSON.parse(REPORT.textContent));
  document.body.dataset.ready = "report";
} else {
  api("info").then((info) => { document.getElementById("where").textContent = info.home + (info.remote ? ` · ${info.remote}` : ""); }).catch(() => {});
  window.addEventListener("hashchange", route);
  route();
}
