/**
 * The web UI: server-rendered pages over a store, mounted at `/` by the modelog server (and by
 * `cli.ts ui`, read-only over the local store).
 *
 * - `/` the models table, newest update first, with a filter form (project, name, tags in the
 *   ClearML grammar with `-tag`, published, archived, metadata `k=v`) and cursor paging.
 * - `/models/<id>` one model: fields, tags, metadata, labels, config, weights (with a download
 *   link when the blob is in the store), lineage, history, single values, one chart per scalar
 *   title (series down-sampled to at most 2,000 points) and every reported plot.
 * - `/static/plotly.min.js` plotly.js from the pinned npm package, cached in memory.
 *
 * Pages load nothing from anywhere but this server (a Content-Security-Policy enforces it).
 *
 * @module
 */
import type { PageHandler } from "./server.ts";
import type { Store } from "../store/store.ts";
import { Model, type QueryModelsOptions } from "../models/model.ts";
import { SINGLE_VALUE_ITERATION } from "../models/base.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { decodeData } from "../events.ts";
import { hlcWall } from "../clock.ts";
import { downsample, scalarsFigure } from "../reports/figures.ts";
import { drawFiguresScript, READ_FIGURES, toPlotly3 } from "../reports/html.ts";
import { loadPlotlyJs } from "../deps.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import { isTrue, parseModelQuery, splitMetadataList } from "../query_text.ts";
import { lineageOf, modelAuditTrail, modelName, taskSummary } from "../projections/read.ts";
import {
  bytes,
  chips,
  h,
  htmlResponse,
  kvTable,
  listTable,
  num,
  page,
  scriptJson,
  textOrNone,
  when,
} from "./ui_layout.ts";

/** Most points drawn per scalar series; longer series are down-sampled (min/max per bucket). */
export const MAX_POINTS_PER_SERIES = 2000;
/** Rows per page of the models table (default). */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page the table serves. */
export const MAX_PAGE_SIZE = 500;
/** History entries shown on a model page. */
export const HISTORY_LIMIT = 200;

const PLOTLY_PATH = "/static/plotly.min.js";
const PLOTLY_VERSION = "3.1.0";

let plotlyBytes:
  | Promise<{ raw: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }>
  | undefined;

/** plotly.min.js as bytes, plain and gzipped, loaded and compressed once per process. */
function plotly(): Promise<{ raw: Uint8Array<ArrayBuffer>; gzip: Uint8Array<ArrayBuffer> }> {
  plotlyBytes ??= (async () => {
    const raw = new TextEncoder().encode(await loadPlotlyJs());
    const gz = new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip"));
    const gzip = new Uint8Array(await new Response(gz).arrayBuffer());
    return { raw, gzip };
  })();
  plotlyBytes.catch(() => (plotlyBytes = undefined));
  return plotlyBytes;
}

async function servePlotly(req: Request): Promise<Response> {
  const etag = `"plotly.js-dist-min@${PLOTLY_VERSION}"`;
  const headers: Record<string, string> = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": "public, max-age=31536000, immutable",
    etag,
    vary: "accept-encoding",
    "x-content-type-options": "nosniff",
  };
  if (req.headers.get("if-none-match") === etag) {
    return new Response(null, { status: 304, headers });
  }
  const { raw, gzip } = await plotly();
  const useGzip = /\bgzip\b/.test(req.headers.get("accept-encoding") ?? "");
  const body = useGzip ? gzip : raw;
  if (useGzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.byteLength);
  return new Response(req.method === "HEAD" ? null : body, { headers });
}

/** The UI's page handler: `/`, `/models/<id>`, `/static/plotly.min.js`. */
export const uiPages: PageHandler = async (req, url, store) => {
  const path = url.pathname;
  const known = path === "/" || path === PLOTLY_PATH || path.startsWith("/models/");
  if (!known) return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("Method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  if (path === PLOTLY_PATH) return await servePlotly(req);
  if (path === "/") return await modelsPage(url, store);
  const m = /^\/models\/([^/]+)$/.exec(path);
  if (!m) return notFound(`No page ${path}`);
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return notFound(`No page ${path}`);
  }
  return await modelPage(id, store);
};

function notFound(message: string): Response {
  return htmlResponse(
    page({
      title: "Not found",
      body: `<div class="error">${h(message)}</div><p><a href="/">All models</a></p>`,
    }),
    404,
  );
}

// ---------------------------------------------------------------------------------------------
// The models table

/** The filter form's fields, as typed (kept to refill the form and build links). */
interface ListForm {
  project: string;
  name: string;
  tags: string;
  published: string;
  archived: string;
  metadata: string[];
  limit: string;
}

function readForm(p: URLSearchParams): ListForm {
  const get = (k: string) => (p.get(k) ?? "").trim();
  return {
    project: get("project"),
    name: get("name"),
    tags: get("tags"),
    published: get("published"),
    archived: get("archived"),
    metadata: p.getAll("metadata").map((s) => s.trim()).filter((s) => s.length > 0),
    limit: get("limit"),
  };
}

function pageSize(v: string): number {
  if (!v) return DEFAULT_PAGE_SIZE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError("limit", v, `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return n;
}

/** The form's filter through the shared filter language (the metadata box split into pairs). */
function toQuery(f: ListForm, after: string | null): QueryModelsOptions {
  const p = formParams({ ...f, metadata: f.metadata.flatMap(splitMetadataList), limit: "" });
  if (after) p.set("after", after);
  return parseModelQuery(p);
}

function formParams(f: ListForm): URLSearchParams {
  const p = new URLSearchParams();
  if (f.project) p.set("project", f.project);
  if (f.name) p.set("name", f.name);
  if (f.tags) p.set("tags", f.tags);
  if (f.published) p.set("published", f.published);
  if (f.archived) p.set("archived", f.archived);
  for (const m of f.metadata) p.append("metadata", m);
  if (f.limit) p.set("limit", f.limit);
  return p;
}

function filterForm(f: ListForm): string {
  const input = (name: keyof ListForm, label: string, placeholder: string) =>
    `<label>${h(label)}<input name="${name}" value="${
      h(name === "metadata" ? f.metadata.join(", ") : f[name])
    }" placeholder="${h(placeholder)}"></label>`;
  const select = (name: "published" | "archived", label: string, opts: [string, string][]) =>
    `<label>${h(label)}<select name="${name}">${
      opts.map(([v, t]) =>
        `<option value="${h(v)}"${(isTrue(f[name]) ? opts[1]![0] : "") === v ? " selected" : ""}>${
          h(t)
        }</option>`
      ).join("")
    }</select></label>`;
  return `<form class="filters" method="get" action="/" id="filters">
${input("project", "Project", "exact project")}
${input("name", "Name", "exact name")}
${input("tags", "Tags", "a, -b")}
${select("published", "Published", [["", "any"], ["yes", "published only"]])}
${select("archived", "Archived", [["", "hidden"], ["include", "included"]])}
${input("metadata", "Metadata", "key=value, k2=v2")}
${f.limit ? `<input type="hidden" name="limit" value="${h(f.limit)}">` : ""}
<button type="submit">Filter</button>
<a class="button plain" href="/">Clear</a>
</form>`;
}

async function modelsPage(url: URL, store: Store): Promise<Response> {
  const form = readForm(url.searchParams);
  const after = url.searchParams.get("after");
  let error = "";
  let models: Model[] = [];
  let more = false;
  try {
    const size = pageSize(form.limit);
    const q = toQuery(form, after);
    const found = await Model.queryModels({ ...q, maxResults: size + 1, store });
    more = found.length > size;
    models = found.slice(0, size);
  } catch (e) {
    if (!(e instanceof ModelogError)) throw e;
    error = e.message;
  }
  const rows = models.map((m) => [
    `<a href="/models/${encodeURIComponent(m.id)}" class="model-link">${
      h(m.name || "(unnamed)")
    }</a><div class="id">${h(m.id)}</div>`,
    textOrNone(m.project),
    textOrNone(m.framework),
    chips(m.tags),
    m.published ? `<span class="yes">yes</span>` : `<span class="muted">no</span>`,
    m.archived ? "yes" : `<span class="muted">no</span>`,
    when(m.lastUpdate),
  ]);
  const table = listTable(
    ["Name", "Project", "Framework", "Tags", "Published", "Archived", "Last update"],
    rows,
    { cls: { 6: "when" }, empty: "No models match.", id: "models" },
  );
  const base = formParams(form);
  let pager = "";
  if (after) pager += `<a class="button plain" href="/?${h(base.toString())}">First page</a>`;
  const last = models[models.length - 1];
  if (more && last) {
    const next = new URLSearchParams(base);
    next.set("after", `${last.cursor.lastUpdate},${last.cursor.id}`);
    pager += `<a class="button plain" id="next-page" href="/?${h(next.toString())}">Next page</a>`;
  }
  const filtered = [...base.keys()].some((k) => k !== "limit");
  const summary = `${models.length} model${models.length === 1 ? "" : "s"}${
    after ? " on this page" : more ? " on the first page" : ""
  }${filtered ? " matching the filter" : ""}, newest update first`;
  const body = `<section><div class="card">${filterForm(form)}</div>
${error ? `<div class="error" id="error">${h(error)}</div>` : ""}
<div class="card"><p class="muted" id="summary" style="margin-top:0">${h(summary)}</p>${table}
<div class="pager">${pager}</div></div></section>`;
  return htmlResponse(
    page({
      title: "Models",
      header: `<header class="page"><h1>Models</h1></header>`,
      body,
    }),
    error ? 400 : 200,
  );
}

// ---------------------------------------------------------------------------------------------
// The model page

/** The page script: draws every figure of the page, then sets `window.modelogReady`. */
const FIGURES_SCRIPT = `(function () {
  "use strict";
${READ_FIGURES}  if (typeof Plotly === "undefined") {
    window.modelogReady = "error";
    console.error("modelog: plotly.js did not load");
    return;
  }
${drawFiguresScript("{ displaylogo: false, responsive: true }", "modelog")}})();`;

function short(s: string, n = 240): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** What a history event changed, as short escaped HTML. */
function changesHtml(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  const json = (v: unknown) => h(short(JSON.stringify(v) ?? ""));
  switch (type) {
    case "model.tags_changed": {
      const add = (d.add as string[] | undefined) ?? [];
      const rm = (d.remove as string[] | undefined) ?? [];
      return [...add.map((t) => `+${h(t)}`), ...rm.map((t) => `−${h(t)}`)].join(" ") ||
        `<span class="none">no change</span>`;
    }
    case "model.metadata_changed": {
      const set = (d.set as Record<string, { value: string; type: string }> | undefined) ?? {};
      const rm = (d.remove as string[] | undefined) ?? [];
      return [
        ...Object.entries(set).map(([k, e]) =>
          `<code>${h(k)}</code> = <code>${h(short(String(e?.value), 80))}</code>`
        ),
        ...rm.map((k) => `removed <code>${h(k)}</code>`),
      ].join(", ") || `<span class="none">no change</span>`;
    }
    case "model.updated":
      return Object.entries((d.fields as Record<string, unknown>) ?? {}).map(([k, v]) =>
        `${h(k)} = ${json(v)}`
      ).join(", ");
    case "model.weights_updated":
    case "model.created":
    case "model.removed":
      return Object.entries(d).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
        `${h(k)} = ${json(v)}`
      ).join(", ") || `<span class="none">—</span>`;
    default:
      return Object.keys(d).length ? json(d) : `<span class="none">—</span>`;
  }
}

function modelLink(id: string, name?: string | null): string {
  return `<a href="/models/${encodeURIComponent(id)}">${h(name || id)}</a>${
    name ? ` <span class="id">${h(id)}</span>` : ""
  }`;
}

async function lineage(store: Store, m: Model): Promise<string> {
  const taskHtml = async (id: string) => {
    if (!id) return `<span class="none">none</span>`;
    const t = await taskSummary(store, id);
    return t
      ? `${h(t.name)} <span class="muted">(${h(t.project)}${
        t.taskType ? `, ${h(t.taskType)}` : ""
      })</span> <span class="id">${h(t.id)}</span>`
      : `<code>${h(id)}</code> <span class="muted">(not in this store)</span>`;
  };
  let parent = `<span class="none">none</span>`;
  if (m.parent) {
    const p = await modelName(store, m.parent);
    parent = p
      ? modelLink(p.id, p.name)
      : `<code>${h(m.parent)}</code> <span class="muted">(not in this store)</span>`;
  }
  const users = await lineageOf(store, m.id);
  const rows: [string, string][] = [
    ["Created by task", await taskHtml(m.task)],
  ];
  if (m.originalTask && m.originalTask !== m.task) {
    rows.push(["Original task", await taskHtml(m.originalTask)]);
  }
  rows.push(["Parent model", parent]);
  rows.push([
    "Input of tasks",
    users.length
      ? users.map((u) =>
        `<div>${u.taskName ? h(u.taskName) : `<code>${h(u.taskId)}</code>`}${
          u.taskProject ? ` <span class="muted">(${h(u.taskProject)})</span>` : ""
        } as <code>${h(u.slot)}</code> <span class="id">${h(u.taskId)}</span></div>`
      ).join("")
      : `<span class="none">none</span>`,
  ]);
  return kvTable(rows);
}

async function modelPage(id: string, store: Store): Promise<Response> {
  let m: Model;
  try {
    m = await Model.get(id, { store });
  } catch (e) {
    if (
      e instanceof ModelogError && (e.code === "MODEL_NOT_FOUND" || e.code === "INVALID_ARGUMENT")
    ) {
      return notFound(`No model ${JSON.stringify(id)} in this store.`);
    }
    throw e;
  }
  const figures: { id: string; data: unknown[]; layout: Record<string, unknown> }[] = [];

  // Fields
  const fields: [string, string][] = [
    ["ID", `<code>${h(m.id)}</code>`],
    ["Name", textOrNone(m.name)],
    ["Project", textOrNone(m.project)],
    ["Framework", textOrNone(m.framework)],
    ["Comment", m.comment ? `<pre>${h(m.comment)}</pre>` : `<span class="none">none</span>`],
    ["Tags", m.tags.length ? chips(m.tags) : `<span class="none">none</span>`],
    [
      "System tags",
      m.systemTags.length ? chips(m.systemTags, "chip sys") : `<span class="none">none</span>`,
    ],
    ["Published", m.published ? `<span class="yes">yes</span>` : "no"],
    ["Archived", m.archived ? "yes" : "no"],
    ["Created", when(m.createdAt)],
    ["Last update", when(m.lastUpdate)],
    ["Iteration", m.iteration === undefined ? `<span class="none">none</span>` : num(m.iteration)],
  ];

  // Weights
  // A synced event may carry any hash text: only a real digest can name a stored blob.
  const hasBlob = isSha256Hex(m.hash) ? await store.blobs.has(m.hash) : false;
  const fileName = (m.url.split(/[/\\]/).pop() || m.hash || "weights").replace(/[?#].*$/, "");
  const weights: [string, string][] = [
    ["URL", m.url ? `<code>${h(m.url)}</code>` : `<span class="none">none</span>`],
    ["Size", m.size ? h(bytes(m.size)) : `<span class="none">unknown</span>`],
    ["SHA-256", m.hash ? `<code>${h(m.hash)}</code>` : `<span class="none">unknown</span>`],
    [
      "Download",
      hasBlob
        ? `<a id="download" href="/v1/blobs/sha256/${h(m.hash)}" download="${h(fileName)}">${
          h(fileName)
        }</a>`
        : `<span class="none">${
          m.hash ? "the blob is not in this store" : "no stored blob"
        }</span>`,
    ],
  ];

  // Metadata and labels
  const metaRows = Object.values(m.getAllMetadata())
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((e) => [`<code>${h(e.key)}</code>`, `<code>${h(e.value)}</code>`, h(e.type)]);
  const labelRows = Object.entries(m.labels)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), num(v)]);

  // Reports: single values, scalar summary, scalars (down-sampled), plots
  const singles = await m.getReportedSingleValues();
  const summary = (await m.getScalarSummary())
    .filter((s) => s.maxIteration !== SINGLE_VALUE_ITERATION);
  const scalars = await m.getReportedScalars();
  const scalarCards: string[] = [];
  for (const [title, bySeries] of Object.entries(scalars)) {
    let from = 0;
    const series = Object.entries(bySeries).map(([name, p]) => {
      if (p.x.length <= MAX_POINTS_PER_SERIES) return { name, x: p.x, y: p.y };
      from = Math.max(from, p.x.length);
      const d = downsample(p.x, p.y, MAX_POINTS_PER_SERIES);
      return { name, x: d.x, y: d.y };
    });
    const fig = scalarsFigure(title, series);
    const text = from
      ? `${title} (downsampled: ≤ ${MAX_POINTS_PER_SERIES.toLocaleString("en-US")} of ${
        from.toLocaleString("en-US")
      } points)`
      : title;
    fig.layout.title = { text, font: { size: 14 }, x: 0.02, xanchor: "left" };
    fig.layout.margin = { l: 60, r: 20, t: 50, b: 50 };
    fig.layout.autosize = true;
    const fid = `scalar-${figures.length}`;
    figures.push({ id: fid, data: fig.data, layout: fig.layout });
    scalarCards.push(
      `<div class="card scalar-card"><div class="plot-head"><h3>${
        h(title)
      }</h3><span class="meta">${series.length} series${
        from ? " · downsampled" : ""
      }</span></div><div id="${fid}" class="chart"></div></div>`,
    );
  }
  const plots = await m.getReportedPlots();
  const plotCards = plots.map((p) => {
    const fid = `plot-${figures.length}`;
    const fig = toPlotly3(p.figure);
    fig.layout.autosize = true;
    delete fig.layout.width;
    figures.push({ id: fid, data: fig.data, layout: fig.layout });
    const heading = p.series ? `${p.title} / ${p.series}` : p.title;
    const cls = p.kind === "scatter3d" || p.kind === "surface" ? "chart tall" : "chart";
    return `<div class="card plot-card"><div class="plot-head"><h3>${
      h(heading)
    }</h3><span class="meta">${h(p.kind)} · iteration ${
      num(p.iteration)
    }</span></div><div id="${fid}" class="${cls}"></div></div>`;
  });

  const hist = await modelAuditTrail(store, m.id, HISTORY_LIMIT);
  const histRows = hist.rows.map((r) => {
    let data: unknown;
    try {
      data = decodeData(r.data);
    } catch {
      data = r.data;
    }
    return [
      when(new Date(hlcWall(r.at))),
      h(r.actor),
      `<code>${h(r.type.replace(/^model\./, ""))}</code>`,
      changesHtml(r.type, data),
    ];
  });
  const reportsNote = hist.scalarEvents || hist.plotEvents
    ? `<p class="muted">Not listed: ${hist.scalarEvents} scalar report batch${
      hist.scalarEvents === 1 ? "" : "es"
    } and ${hist.plotEvents} plot report${hist.plotEvents === 1 ? "" : "s"}.</p>`
    : "";
  const histNote = hist.rows.length === HISTORY_LIMIT
    ? `<p class="muted">The newest ${HISTORY_LIMIT} changes.</p>`
    : "";

  const summaryRows = summary.map((s) => [
    h(s.title),
    h(s.series),
    num(s.last),
    num(s.min),
    num(s.max),
    num(s.count),
    num(s.lastIteration),
  ]);
  const singleRows = Object.entries(singles).sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), num(v)]);

  const badges = (m.published ? `<span class="badge">published</span>` : "") +
    (m.archived ? `<span class="badge archived">archived</span>` : "");
  const sub = [m.project, m.framework].filter((x) => x).map((x) => h(x)).join(" · ");
  const body = `
<section id="fields"><h2>Model</h2><div class="two">
<div class="card">${kvTable(fields)}</div>
<div><div class="card"><h2>Weights</h2>${kvTable(weights)}</div>
<div class="card" id="lineage"><h2>Lineage</h2>${await lineage(store, m)}</div></div>
</div></section>
<section id="metadata"><div class="two">
<div class="card"><h2>Metadata</h2>${listTable(["key", "value", "type"], metaRows)}</div>
<div class="card"><h2>Labels</h2>${
    listTable(["label", "id"], labelRows, { cls: { 1: "num" } })
  }</div>
</div></section>
${
    m.configText
      ? `<section id="config"><h2>Configuration</h2><div class="card"><pre>${
        h(m.configText)
      }</pre></div></section>`
      : ""
  }
<section id="single-values"><h2>Single values</h2><div class="card">${
    listTable(["name", "value"], singleRows, { cls: { 1: "num" } })
  }</div></section>
<section id="scalars"><h2>Scalars</h2>${
    summaryRows.length
      ? `<div class="card">${
        listTable(
          ["title", "series", "last", "min", "max", "points", "last iteration"],
          summaryRows,
          {
            cls: { 2: "num", 3: "num", 4: "num", 5: "num", 6: "num" },
          },
        )
      }</div>`
      : ""
  }${
    scalarCards.length
      ? `<div class="grid">${scalarCards.join("\n")}</div>`
      : `<p class="empty">None.</p>`
  }</section>
<section id="plots"><h2>Plots</h2>${
    plotCards.length
      ? `<div class="grid">${plotCards.join("\n")}</div>`
      : `<p class="empty">None.</p>`
  }</section>
<section id="history"><h2>History</h2><div class="card">${
    listTable(["when", "who", "what", "changes"], histRows, { cls: { 0: "when" } })
  }${histNote}${reportsNote}</div></section>`;
  const scripts = figures.length
    ? `<script src="${PLOTLY_PATH}"></script>
<script type="application/json" id="modelog-figures">${scriptJson(figures)}</script>
<script>${FIGURES_SCRIPT}</script>`
    : `<script>window.modelogReady = true;</script>`;
  return htmlResponse(page({
    title: m.name || m.id,
    crumbs: [{
      text: m.project || "(no project)",
      href: `/?project=${encodeURIComponent(m.project)}`,
    }, {
      text: m.name || m.id,
    }],
    header: `<header class="page"><h1>${
      h(m.name || "(unnamed)")
    }${badges}</h1><div class="sub">${sub}${sub ? " · " : ""}<code>${
      h(m.id)
    }</code></div></header>`,
    body,
    scripts,
  }));
}
