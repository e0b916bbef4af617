/**
 * A self-contained HTML report of one model: its fields, labels, metadata, single values, one
 * chart per scalar title and every reported plot. plotly.js is inlined, so the page loads nothing
 * from anywhere (a Content-Security-Policy forbids it too) and works from `file://`.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import {
  bytes,
  cardGrid,
  chartClass,
  chips,
  figureCard,
  figureScripts,
  h,
  inlineScript,
  kvTable,
  listTable,
  modelBadges,
  none,
  page,
  pageHeader,
  section,
  when,
} from "./layout.ts";
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

/** The report loads nothing from anywhere: everything it needs is inline. */
const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'unsafe-inline'; img-src data: blob:; font-src 'none'; connect-src 'none'";

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

/** A number in full (`String` spells NaN and ±Infinity out). */
const numberText = (n: number): string => String(n);

function formatDate(v: unknown): string {
  const d = typeof v === "number" || typeof v === "string" ? new Date(v) : null;
  if (d && !Number.isNaN(d.getTime()) && (typeof v === "number" || /^\d{4}-/.test(String(v)))) {
    return when(d);
  }
  return h(v);
}

function fieldHtml(key: string, v: unknown): string {
  if (v === undefined || v === null || v === "") return none();
  if (Array.isArray(v)) return v.length ? chips(v) : none();
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (key === "size" && typeof v === "number") return h(bytes(v));
  if (key === "createdAt" || key === "lastUpdate") return formatDate(v);
  if (typeof v === "number") return h(numberText(v));
  if (typeof v === "object") return `<code>${h(JSON.stringify(v))}</code>`;
  if (key === "hash" || key === "id" || key === "url") return `<code>${h(v)}</code>`;
  return h(v);
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
    if (isObj(t) && t.type === "heatmap") showCounts(t);
    return t;
  });
  return { data, layout };
}

/** Most cells a heatmap writes its values into (more would not be readable). */
const MAX_LABELLED_CELLS = 625;

/**
 * A heatmap shows its counts: each cell's value written in it (small matrices), and a colour
 * bar over the real range of the values. ClearML's colour scale carries fixed ticks at 0.1 to
 * 1.0, which read as if the counts were fractions: they are dropped, and `zmin`/`zmax` set to
 * the smallest and largest finite value.
 */
function showCounts(t: Record<string, unknown>): void {
  const z = Array.isArray(t.z) ? t.z : [];
  let lo = Infinity, hi = -Infinity, cells = 0;
  for (const row of z) {
    for (const v of Array.isArray(row) ? row : [row]) {
      cells++;
      if (typeof v === "number" && Number.isFinite(v)) lo = Math.min(lo, v), hi = Math.max(hi, v);
    }
  }
  if (lo > hi) return;
  if (t.zmin === undefined && t.zmax === undefined && t.zauto === undefined) {
    t.zmin = lo;
    t.zmax = hi === lo ? lo + 1 : hi;
  }
  const bar = isObj(t.colorbar) ? t.colorbar : undefined;
  if (
    bar && Array.isArray(bar.tickvals) && bar.tickvals.every((v) => typeof v === "number" && v <= 1)
  ) {
    delete bar.tickvals;
    delete bar.tickmode;
    delete bar.tick0;
  }
  if (cells <= MAX_LABELLED_CELLS && t.texttemplate === undefined && t.text === undefined) {
    t.texttemplate = "%{z}";
    t.hovertemplate ??= "%{y} / %{x}: %{z}<extra></extra>";
  }
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
 * import assert from "node:assert/strict";
 * import { renderReportHtml } from "./html.ts";
 * const html = renderReportHtml(
 *   { model: { id: "m1", name: "resnet" }, labels: {}, metadata: {}, singleValues: {}, scalars: [], plots: [] },
 *   { plotlyJs: "window.Plotly = {};" },
 * );
 * assert.ok(html.startsWith("<!DOCTYPE html>"));
 * assert.ok(html.includes("<title>resnet · modelog report</title>"));
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
  const config = typeof m.configText === "string" && m.configText
    ? section("Configuration", `<pre>${h(m.configText)}</pre>`)
    : "";

  // Labels, metadata, single values
  const labelRows = Object.entries(s.labels ?? {})
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), h(numberText(v))]);
  const metaRows = Object.entries(s.metadata ?? {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, e]) => [h(k), `<code>${h(String(e?.value))}</code>`, h(String(e?.type))]);
  const singleRows = Object.entries(s.singleValues ?? {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => [h(k), h(numberText(v))]);

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
      ? `<p class="note">Downsampled (min/max per bucket, spikes kept): ${h(notes.join("; "))}</p>`
      : "";
    return figureCard({
      id,
      heading: g.title,
      meta: `${g.series.length} series`,
      cls: "scalar-card",
      note,
    });
  });

  // Plots
  const plotCards = (s.plots ?? []).map((p, i) => {
    const id = `plot-${i}`;
    figures.push({ id, ...toPlotly3(p.figure) });
    return figureCard({
      id,
      heading: p.series ? `${p.title} / ${p.series}` : p.title,
      meta: `${h(p.kind)} · iteration ${h(numberText(p.iteration))}`,
      cls: "plot-card",
      chartCls: chartClass(p.kind),
    });
  });

  const sub = [m.project, m.framework, m.id].filter((v) => typeof v === "string" && v)
    .map((v) => h(v)).join(" · ");
  const list = (head: string[], rows: string[][], numCol?: number) =>
    listTable(head, rows, numCol === undefined ? {} : { cls: { [numCol]: "num" } });
  return page({
    title: name,
    titleSuffix: "modelog report",
    metaCsp: REPORT_CSP,
    header: pageHeader(name, modelBadges(m), sub),
    body: [
      section("Model", kvTable(fieldRows)),
      config,
      section("Labels", list(["label", "id"], labelRows, 1)),
      section("Metadata", list(["key", "value", "type"], metaRows)),
      section("Single values", list(["name", "value"], singleRows, 1)),
      section("Scalars", cardGrid(scalarCards), { card: false }),
      section("Plots", cardGrid(plotCards), { card: false }),
    ].filter((x) => x).join("\n"),
    scripts: figureScripts(
      figures,
      `<script>${inlineScript(opts.plotlyJs)}</script>`,
      "{ staticPlot: false, displaylogo: false }",
      "modelog report",
    ),
  });
}
