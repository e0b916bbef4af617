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
import type { Store } from "../store/store.ts";
import { Model, type QueryModelsOptions } from "../models/model.ts";
import { SINGLE_VALUE_ITERATION } from "../models/base.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { decodeData } from "../events.ts";
import { hlcWall } from "../clock.ts";
import { downsample, scalarsFigure } from "../reports/figures.ts";
import { toPlotly3 } from "../reports/html.ts";
import {
  bytes,
  cardGrid,
  chartClass,
  chips,
  figureCard,
  figureScripts,
  h,
  kvTable,
  listTable,
  modelBadges,
  none,
  num,
  page,
  type PageFigure,
  pageHeader,
  section,
  textOrNone,
  when,
} from "../reports/layout.ts";
import { type Context, Hono, loadPlotlyJs } from "../deps.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import type { AppEnv } from "./http.ts";
import { inputUsers, liveModelName, modelHistoryRows, taskSummary } from "./reads.ts";

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

/**
 * The CSP of every UI page: scripts and styles only from this origin (and inline), no requests
 * anywhere else.
 */
export const PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The HTML response of a UI page. */
function htmlResponse(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": PAGE_CSP,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}

/** The UI's paths; other methods than GET and HEAD get 405 on them. */
const UI_PATHS = ["/", PLOTLY_PATH, "/models/*"];

/**
 * The web UI's routes over a store: `/`, `/models/<id>`, `/static/plotly.min.js`. The server
 * mounts them (behind its page auth when it has tokens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uiRoutes } from "./ui.ts";
 * import { openStore } from "../store/store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await openStore({ home: dir });
 * const ui = uiRoutes(store);
 * const res = await ui.request("/");
 * assert.equal(res.status, 200);
 * assert.match(await res.text(), /No models match/);
 * assert.equal((await ui.request("/", { method: "POST" })).status, 405);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function uiRoutes(store: Store): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(PLOTLY_PATH, (c) => servePlotly(c.req.raw));
  app.get("/", (c) => modelsPage(new URL(c.req.url), store));
  app.get("/models/*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (!path.startsWith("/models/")) return await next(); // `/models` itself: no page
    return await modelPathPage(path, store);
  });
  for (const p of UI_PATHS) {
    app.all(p, async (c: Context, next) => {
      if (p.endsWith("*") && !new URL(c.req.url).pathname.startsWith("/models/")) {
        return await next();
      }
      return new Response("Method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    });
  }
  return app;
}

async function modelPathPage(path: string, store: Store): Promise<Response> {
  const m = /^\/models\/([^/]+)$/.exec(path);
  if (!m) return notFound(`No page ${path}`);
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return notFound(`No page ${path}`);
  }
  return await modelPage(id, store);
}

/** A function serving a page, or undefined for a path it does not serve. */
type PageHandler = (req: Request, url: URL, store: Store) => Promise<Response | undefined>;

const routesByStore = new WeakMap<Store, Hono<AppEnv>>();

/**
 * The web UI as one function over a store (for benchmarks and the `pages` option of
 * `startServer`, which takes only this value and means "serve the UI"): the response of
 * {@link uiRoutes}, or undefined for a path the UI does not serve.
 */
export const uiPages: PageHandler = async (req, _url, store) => {
  let app = routesByStore.get(store);
  if (!app) {
    app = uiRoutes(store);
    app.notFound(() => new Response(null, { status: 404, headers: { [UNROUTED]: "1" } }));
    routesByStore.set(store, app);
  }
  const res = await app.fetch(req);
  return res.headers.has(UNROUTED) ? undefined : res;
};
const UNROUTED = "x-modelog-unrouted";

function notFound(message: string): Response {
  return htmlResponse(
    page({
      title: "Not found",
      crumbs: [],
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

/** Splits `a=1, b=2` into pairs; a part without `=` belongs to the previous value. */
function metadataPairs(texts: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of texts) {
    const parts: string[] = [];
    for (const piece of text.split(/,|\n/)) {
      if (piece.includes("=") || parts.length === 0) parts.push(piece);
      else parts[parts.length - 1] += "," + piece;
    }
    for (const part of parts) {
      const s = part.trim();
      if (!s) continue;
      const i = s.indexOf("=");
      if (i <= 0) throw new InvalidArgumentError("metadata", s, "must be key=value");
      out[s.slice(0, i).trim()] = s.slice(i + 1).trim();
    }
  }
  return out;
}

function truthy(v: string): boolean {
  return ["1", "true", "yes", "on", "only", "include"].includes(v.toLowerCase());
}

function pageSize(v: string): number {
  if (!v) return DEFAULT_PAGE_SIZE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError("limit", v, `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return n;
}

function toQuery(f: ListForm, after: string | null): QueryModelsOptions {
  const q: QueryModelsOptions = {};
  if (f.project) q.projectName = f.project;
  if (f.name) q.modelName = f.name;
  const tags = f.tags.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
  if (tags.length) q.tags = tags;
  if (truthy(f.published)) q.onlyPublished = true;
  if (truthy(f.archived)) q.includeArchived = true;
  const md = metadataPairs(f.metadata);
  if (Object.keys(md).length) q.metadata = md;
  if (after) {
    const i = after.lastIndexOf(",");
    if (i <= 0 || i === after.length - 1) {
      throw new InvalidArgumentError("after", after, "must be <lastUpdate>,<id>");
    }
    q.after = { lastUpdate: after.slice(0, i), id: after.slice(i + 1) };
  }
  return q;
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
        `<option value="${h(v)}"${(truthy(f[name]) ? opts[1]![0] : "") === v ? " selected" : ""}>${
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
      crumbs: [],
      header: `<header class="page"><h1>Models</h1></header>`,
      body,
    }),
    error ? 400 : 200,
  );
}

// ---------------------------------------------------------------------------------------------
// The model page

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
        none("no change");
    }
    case "model.metadata_changed": {
      const set = (d.set as Record<string, { value: string; type: string }> | undefined) ?? {};
      const rm = (d.remove as string[] | undefined) ?? [];
      return [
        ...Object.entries(set).map(([k, e]) =>
          `<code>${h(k)}</code> = <code>${h(short(String(e?.value), 80))}</code>`
        ),
        ...rm.map((k) => `removed <code>${h(k)}</code>`),
      ].join(", ") || none("no change");
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
      ).join(", ") || none("—");
    default:
      return Object.keys(d).length ? json(d) : none("—");
  }
}

function modelLink(id: string, name?: string | null): string {
  return `<a href="/models/${encodeURIComponent(id)}">${h(name || id)}</a>${
    name ? ` <span class="id">${h(id)}</span>` : ""
  }`;
}

async function lineage(store: Store, m: Model): Promise<string> {
  const taskRow = async (id: string) => id ? await taskSummary(store, id) : undefined;
  const taskHtml = async (id: string) => {
    if (!id) return none();
    const t = await taskRow(id);
    return t
      ? `${h(t.name)} <span class="muted">(${h(t.project)}${
        t.task_type ? `, ${h(t.task_type)}` : ""
      })</span> <span class="id">${h(t.id)}</span>`
      : `<code>${h(id)}</code> <span class="muted">(not in this store)</span>`;
  };
  let parent = none();
  if (m.parent) {
    const p = await liveModelName(store, m.parent);
    parent = p
      ? modelLink(p.id, p.name)
      : `<code>${h(m.parent)}</code> <span class="muted">(not in this store)</span>`;
  }
  const users = await inputUsers(store, m.id);
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
        `<div>${u.name ? h(u.name) : `<code>${h(u.task_id)}</code>`}${
          u.project ? ` <span class="muted">(${h(u.project)})</span>` : ""
        } as <code>${h(u.slot)}</code> <span class="id">${h(u.task_id)}</span></div>`
      ).join("")
      : none(),
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
  const figures: PageFigure[] = [];

  // Fields
  const fields: [string, string][] = [
    ["ID", `<code>${h(m.id)}</code>`],
    ["Name", textOrNone(m.name)],
    ["Project", textOrNone(m.project)],
    ["Framework", textOrNone(m.framework)],
    ["Comment", m.comment ? `<pre>${h(m.comment)}</pre>` : none()],
    ["Tags", m.tags.length ? chips(m.tags) : none()],
    [
      "System tags",
      m.systemTags.length ? chips(m.systemTags, "chip sys") : none(),
    ],
    ["Published", m.published ? `<span class="yes">yes</span>` : "no"],
    ["Archived", m.archived ? "yes" : "no"],
    ["Created", when(m.createdAt)],
    ["Last update", when(m.lastUpdate)],
    ["Iteration", m.iteration === undefined ? none() : num(m.iteration)],
  ];

  // Weights
  // A synced event may carry any hash text: only a real digest can name a stored blob.
  const hasBlob = isSha256Hex(m.hash) ? await store.blobs.has(m.hash) : false;
  const fileName = (m.url.split(/[/\\]/).pop() || m.hash || "weights").replace(/[?#].*$/, "");
  const weights: [string, string][] = [
    ["URL", m.url ? `<code>${h(m.url)}</code>` : none()],
    ["Size", m.size ? h(bytes(m.size)) : none("unknown")],
    ["SHA-256", m.hash ? `<code>${h(m.hash)}</code>` : none("unknown")],
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
    scalarCards.push(figureCard({
      id: fid,
      heading: title,
      meta: `${series.length} series${from ? " · downsampled" : ""}`,
      cls: "scalar-card",
    }));
  }
  const plots = await m.getReportedPlots();
  const plotCards = plots.map((p) => {
    const fid = `plot-${figures.length}`;
    const fig = toPlotly3(p.figure);
    fig.layout.autosize = true;
    delete fig.layout.width;
    figures.push({ id: fid, data: fig.data, layout: fig.layout });
    return figureCard({
      id: fid,
      heading: p.series ? `${p.title} / ${p.series}` : p.title,
      meta: `${h(p.kind)} · iteration ${num(p.iteration)}`,
      cls: "plot-card",
      chartCls: chartClass(p.kind),
    });
  });

  const hist = await modelHistoryRows(store, m.id, HISTORY_LIMIT);
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
${m.configText ? section("Configuration", `<pre>${h(m.configText)}</pre>`, { id: "config" }) : ""}
${
    section("Single values", listTable(["name", "value"], singleRows, { cls: { 1: "num" } }), {
      id: "single-values",
    })
  }
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
  }${cardGrid(scalarCards)}</section>
${section("Plots", cardGrid(plotCards), { id: "plots", card: false })}
${
    section(
      "History",
      listTable(["when", "who", "what", "changes"], histRows, { cls: { 0: "when" } }) +
        histNote + reportsNote,
      { id: "history" },
    )
  }`;
  const scripts = figures.length
    ? figureScripts(
      figures,
      `<script src="${PLOTLY_PATH}"></script>`,
      "{ displaylogo: false, responsive: true }",
      "modelog",
    )
    : `<script>window.modelogReady = true;</script>`;
  return htmlResponse(page({
    title: m.name || m.id,
    crumbs: [{
      text: m.project || "(no project)",
      href: `/?project=${encodeURIComponent(m.project)}`,
    }, {
      text: m.name || m.id,
    }],
    header: pageHeader(
      m.name || "(unnamed)",
      modelBadges(m),
      `${sub}${sub ? " · " : ""}<code>${h(m.id)}</code>`,
    ),
    body,
    scripts,
  }));
}
