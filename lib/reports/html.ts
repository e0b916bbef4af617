/**
 * A self-contained HTML report of one model: its fields, labels, metadata, single values, one
 * chart per scalar title and every reported plot. plotly.js is inlined, so the page loads nothing
 * from anywhere (a Content-Security-Policy forbids it too) and works from `file://`.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import { encodeData } from "../events.ts";
import { downsample, type PlotFigure, type PlotResult, scalarsFigure } from "./figures.ts";

/** Everything the report shows about one model. */
export interface ReportSnapshot {
  /**
   * The model's fields: id, name, project, framework, tags, systemTags, published, archived,
   * createdAt, lastUpdate, url, hash, size, iteration, comment, configText, task, parent. Other
   * keys are shown after these.
   */
  model: Record<string, unknown>;
  /** The label enumeration, label name to id. */
  labels: Record<string, number>;
  /** Metadata entries. */
  metadata: Record<string, { value: string; type: string }>;
  /** Single values by name. */
  singleValues: Record<string, number>;
  /** Scalars grouped by title, one chart each. */
  scalars: { title: string; series: { name: string; x: number[]; y: number[] }[] }[];
  /** The plots, in the order to show them. */
  plots: PlotResult[];
}

/** Options of {@link renderReportHtml}. */
export interface RenderReportOptions {
  /** The plotly.js bundle text, e.g. from `loadPlotlyJs()` in `deps.ts`. */
  plotlyJs: string;
  /** Scalar series longer than this are down-sampled (min/max per bucket); default 5000. */
  maxPointsPerSeries?: number;
}

const FIELD_ORDER = [
  "id",
  "name",
  "project",
  "framework",
  "tags",
  "systemTags",
  "published",
  "archived",
  "createdAt",
  "lastUpdate",
  "url",
  "hash",
  "size",
  "iteration",
  "task",
  "parent",
  "comment",
];

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return String(n);
}

function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) v /= 1024, u++;
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}

function formatDate(v: unknown): string {
  const d = typeof v === "number" || typeof v === "string" ? new Date(v) : null;
  if (d && !Number.isNaN(d.getTime()) && (typeof v === "number" || /^\d{4}-/.test(String(v)))) {
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }
  return String(v);
}

function fieldHtml(key: string, v: unknown): string {
  const none = `<span class="none">none</span>`;
  if (v === undefined || v === null || v === "") return none;
  if (Array.isArray(v)) {
    if (v.length === 0) return none;
    return v.map((t) => `<span class="chip">${escapeHtml(String(t))}</span>`).join(" ");
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (key === "size" && typeof v === "number") return escapeHtml(formatBytes(v));
  if ((key === "createdAt" || key === "lastUpdate") && v !== "") return escapeHtml(formatDate(v));
  if (typeof v === "number") return escapeHtml(numberText(v));
  if (typeof v === "object") return `<code>${escapeHtml(JSON.stringify(v))}</code>`;
  const s = String(v);
  if (key === "hash" || key === "id" || key === "url") return `<code>${escapeHtml(s)}</code>`;
  return escapeHtml(s);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * plotly.js 3 no longer accepts a plain string as a title; ClearML figures use them. Returns a copy
 * of the figure with string titles (layout, axes, 3-D scene axes, colour bars) as `{text}`, and
 * dotted layout keys such as the table's `"title.text"` expanded into nested objects.
 */
export function toPlotly3(figure: PlotFigure): PlotFigure {
  const fixTitle = (o: unknown) => {
    if (isObj(o) && typeof o.title === "string") o.title = { text: o.title };
    else if (isObj(o) && o.title === null) delete o.title;
  };
  const layout = structuredClone(figure.layout) as Record<string, unknown>;
  const dotted = Object.keys(layout).filter((k) => k.includes("."));
  fixTitle(layout);
  for (const [k, v] of Object.entries(layout)) {
    if (/^[xyz]axis\d*$/.test(k)) fixTitle(v);
    if (/^scene\d*$/.test(k) && isObj(v)) {
      for (const a of ["xaxis", "yaxis", "zaxis"]) fixTitle(v[a]);
    }
  }
  for (const k of dotted) {
    const value = layout[k];
    delete layout[k];
    const path = k.split(".");
    let cur: Record<string, unknown> = layout;
    for (const p of path.slice(0, -1)) {
      if (p === "__proto__" || p === "constructor" || p === "prototype") break;
      if (!isObj(cur[p])) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = value;
  }
  const data = (structuredClone(figure.data) as unknown[]).map((t) => {
    if (isObj(t) && isObj(t.colorbar)) fixTitle(t.colorbar);
    return t;
  });
  return { data, layout };
}

/** JSON for a `<script>` element: NaN/Infinity kept as `{"$nf": …}` markers, `<` escaped. */
function scriptJson(value: unknown): string {
  return encodeData(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Makes a script text safe to inline: it must not close the element or open a comment. */
function inlineScript(js: string): string {
  return js.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
}

/**
 * Page-script lines that read the figures from `<script id="modelog-figures">` into `figures`,
 * reviving the `{"$nf": …}` markers of NaN and ±Infinity. Shared with the web UI.
 */
export const READ_FIGURES: string = `  function revive(_k, v) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      var keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "$nf") {
        return v.$nf === "Infinity" ? Infinity : v.$nf === "-Infinity" ? -Infinity : NaN;
      }
    }
    return v;
  }
  var figures = JSON.parse(document.getElementById("modelog-figures").textContent, revive);
`;

/**
 * Page-script lines that draw every figure read by {@link READ_FIGURES} into the element of its
 * id with `config` (a JS object literal), then set `window.modelogReady` (true, or "error").
 * Shared with the web UI.
 */
export function drawFiguresScript(config: string, who: string): string {
  return `  var config = ${config};
  var jobs = figures.map(function (f) {
    try {
      return Plotly.newPlot(f.id, f.data, f.layout, config);
    } catch (e) {
      return Promise.reject(e);
    }
  });
  Promise.all(jobs).then(function () {
    window.modelogReady = true;
  }, function (e) {
    window.modelogReady = "error";
    console.error("${who}: a figure failed to render", e);
  });
`;
}

const PAGE_SCRIPT = `(function () {
  "use strict";
${READ_FIGURES}${
  drawFiguresScript("{ staticPlot: false, displaylogo: false }", "modelog report")
}})();`;

const CSS = `
:root { color-scheme: light; --fg: #1f2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9;
  --card: #fff; --accent: #3b5bdb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: var(--card); border-bottom: 1px solid var(--line); padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .sub { color: var(--muted); }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
section { margin-bottom: 32px; }
h2 { font-size: 16px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin: 0 0 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px;
  margin-bottom: 16px; }
table.kv, table.list { border-collapse: collapse; width: 100%; }
table.kv th, table.list th { text-align: left; font-weight: 600; color: var(--muted);
  white-space: nowrap; }
table.kv th { width: 180px; }
table.kv th, table.kv td, table.list th, table.list td { padding: 6px 10px;
  border-bottom: 1px solid var(--line); vertical-align: top; }
table.list td.num { font-variant-numeric: tabular-nums; }
tr:last-child > td, tr:last-child > th { border-bottom: none; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #edf0ff;
  color: var(--accent); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px;
  margin-left: 8px; vertical-align: middle; background: #e6f4ea; color: #1e7b34; }
.badge.archived { background: #f1f1f1; color: #555; }
.none { color: var(--muted); font-style: italic; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.grid .card { margin: 0; }
.plot-head { display: flex; justify-content: space-between; gap: 12px; margin-bottom: 8px; }
.plot-head h3 { margin: 0; font-size: 15px; }
.plot-head .meta { color: var(--muted); font-size: 12px; white-space: nowrap; }
.note { color: var(--muted); font-size: 12px; margin-top: 4px; }
.chart { width: 100%; height: 420px; }
.chart.tall { height: 560px; }
.empty { color: var(--muted); }
`;

function kvTable(rows: [string, string][]): string {
  return `<table class="kv">${
    rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join("")
  }</table>`;
}

function listTable(head: string[], rows: string[][], numCols: number[] = []): string {
  if (rows.length === 0) return `<p class="empty">None.</p>`;
  return `<table class="list"><thead><tr>${
    head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) =>
      `<tr>${
        r.map((c, i) => `<td${numCols.includes(i) ? ` class="num"` : ""}>${c}</td>`).join("")
      }</tr>`
    ).join("")
  }</tbody></table>`;
}

/**
 * Renders a model report as one self-contained HTML page.
 *
 * @param s the model snapshot
 * @param opts the plotly.js text and down-sampling limit
 * @returns the HTML text
 *
 * @example
 * ```ts
 * import { renderReportHtml } from "./html.ts";
 * const html = renderReportHtml(
 *   { model: { id: "m1", name: "resnet" }, labels: {}, metadata: {}, singleValues: {}, scalars: [], plots: [] },
 *   { plotlyJs: "window.Plotly = {};" },
 * );
 * console.log(html.startsWith("<!DOCTYPE html>")); // true
 * ```
 */
export function renderReportHtml(s: ReportSnapshot, opts: RenderReportOptions): string {
  if (!isObj(s) || !isObj(s.model)) {
    throw new InvalidArgumentError("snapshot", s, "must be a report snapshot with a model");
  }
  if (typeof opts?.plotlyJs !== "string" || opts.plotlyJs.length === 0) {
    throw new InvalidArgumentError("plotlyJs", opts?.plotlyJs, "must be the plotly.js text");
  }
  const maxPoints = opts.maxPointsPerSeries ?? 5000;
  if (!Number.isInteger(maxPoints) || maxPoints < 2) {
    throw new InvalidArgumentError("maxPointsPerSeries", maxPoints, "must be an integer >= 2");
  }
  const m = s.model;
  const name = typeof m.name === "string" && m.name ? m.name : String(m.id ?? "model");
  const figures: { id: string; data: unknown[]; layout: Record<string, unknown> }[] = [];

  // Model fields
  const keys = [...FIELD_ORDER, ...Object.keys(m).filter((k) => !FIELD_ORDER.includes(k))]
    .filter((k) => k !== "configText");
  const fieldRows: [string, string][] = keys
    .filter((k) => k in m || k === "id" || k === "name")
    .map((k) => [k, fieldHtml(k, m[k])]);
  const badges = (m.published ? `<span class="badge">published</span>` : "") +
    (m.archived ? `<span class="badge archived">archived</span>` : "");
  const config = typeof m.configText === "string" && m.configText
    ? `<section><h2>Configuration</h2><div class="card"><pre>${
      escapeHtml(m.configText)
    }</pre></div></section>`
    : "";

  // Labels, metadata, single values
  const labelRows = Object.entries(s.labels ?? {})
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => [escapeHtml(k), escapeHtml(numberText(v))]);
  const metaRows = Object.entries(s.metadata ?? {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, e]) => [
      escapeHtml(k),
      `<code>${escapeHtml(String(e?.value))}</code>`,
      escapeHtml(String(e?.type)),
    ]);
  const singleRows = Object.entries(s.singleValues ?? {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => [escapeHtml(k), escapeHtml(numberText(v))]);

  // Scalars: one chart per title
  const scalarCards = (s.scalars ?? []).map((g, i) => {
    const notes: string[] = [];
    const series = g.series.map((ser) => {
      if (ser.x.length <= maxPoints) return ser;
      notes.push(`${ser.name}: ${ser.x.length} points shown as ${maxPoints} at most`);
      const d = downsample(ser.x, ser.y, maxPoints);
      return { name: ser.name, x: d.x, y: d.y, downsampledFrom: ser.x.length };
    });
    const id = `scalar-${i}`;
    figures.push({ id, ...toPlotly3(scalarsFigure(g.title, series)) });
    const note = notes.length
      ? `<p class="note">Downsampled (min/max per bucket, spikes kept): ${
        escapeHtml(notes.join("; "))
      }</p>`
      : "";
    return `<div class="card"><div class="plot-head"><h3>${
      escapeHtml(g.title)
    }</h3><span class="meta">${g.series.length} series</span></div><div id="${id}" class="chart"></div>${note}</div>`;
  });

  // Plots
  const plotCards = (s.plots ?? []).map((p, i) => {
    const id = `plot-${i}`;
    figures.push({ id, ...toPlotly3(p.figure) });
    const heading = p.series ? `${p.title} / ${p.series}` : p.title;
    const cls = p.kind === "scatter3d" || p.kind === "surface" ? "chart tall" : "chart";
    return `<div class="card"><div class="plot-head"><h3>${
      escapeHtml(heading)
    }</h3><span class="meta">${escapeHtml(p.kind)} · iteration ${
      escapeHtml(numberText(p.iteration))
    }</span></div><div id="${id}" class="${cls}"></div></div>`;
  });

  const csp = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; " +
    "style-src 'unsafe-inline'; img-src data: blob:; font-src 'none'; connect-src 'none'";
  const sub = [m.project, m.framework, m.id].filter((v) => typeof v === "string" && v)
    .map((v) => escapeHtml(String(v))).join(" · ");

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(name)} · modelog report</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(name)}${badges}</h1><div class="sub">${sub}</div></header>
<main>
<section><h2>Model</h2><div class="card">${kvTable(fieldRows)}</div></section>
${config}
<section><h2>Labels</h2><div class="card">${
    listTable(["label", "id"], labelRows, [1])
  }</div></section>
<section><h2>Metadata</h2><div class="card">${
    listTable(["key", "value", "type"], metaRows)
  }</div></section>
<section><h2>Single values</h2><div class="card">${
    listTable(["name", "value"], singleRows, [1])
  }</div></section>
<section><h2>Scalars</h2>${
    scalarCards.length
      ? `<div class="grid">${scalarCards.join("\n")}</div>`
      : `<p class="empty">None.</p>`
  }</section>
<section><h2>Plots</h2>${
    plotCards.length ? plotCards.join("\n") : `<p class="empty">None.</p>`
  }</section>
</main>
<script>${inlineScript(opts.plotlyJs)}</script>
<script type="application/json" id="modelog-figures">${scriptJson(figures)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
