/**
 * Pure, validated builders that turn the arguments of each `report_*` call into a plotly figure
 * `{ data, layout }`, with the shapes ClearML's SDK sends (see `clearml-semantics.md`, section 3),
 * and modelog's fixes:
 *
 * - `scatter2dFigure` defaults to mode `"lines"` (ClearML's model default `"line"` is not a plotly
 *   mode and is rejected here).
 * - NaN and ±Infinity stay numbers in the figure data; nothing becomes `"nan"`/`"inf"` strings.
 *   Storage keeps them with `encodeData` from `events.ts`.
 * - The heatmap/surface colour scale stop ClearML writes as `rgb(141, 314, 68)` (green 314 is out
 *   of range) is fixed to `rgb(141, 214, 68)`, the viridis-like colour it was meant to be.
 * - The 3-D scatter marker line colour ClearML formats as `rgba(217, 217, 217, 0.140000.2)` is
 *   written as the valid `rgba(217, 217, 217, 0.14)`.
 * - Titles stay plain strings, as ClearML writes them; the HTML report upgrades them for plotly 3.
 *
 * Everything else (trace and layout keys, `null` for absent labels, the heatmap `extraLayout`
 * merged into both trace and layout, the table's literal `"title.text"` key) follows ClearML.
 *
 * @module
 */
import { parseCsvTable } from "./csv.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { PlotKind } from "../events.ts";

export type { PlotKind } from "../events.ts";

/** Numeric data: a 1-D array (plain or typed) or a 2-D array of rows (plain or typed arrays). */
export type Numeric2D = ArrayLike<number>[] | ArrayLike<number>;

/** A plotly figure as stored in a `metric.plot` event. */
export interface PlotFigure {
  /** The traces. */
  data: unknown[];
  /** The layout. */
  layout: Record<string, unknown>;
}

/** What a builder returns: the `metric.plot` event payload. */
export interface PlotResult {
  /** The plot kind. */
  kind: PlotKind;
  /** The title (ClearML's metric). */
  title: string;
  /** The series (ClearML's variant); `""` for line plots and multi-series 3-D scatters. */
  series: string;
  /** The iteration (step). */
  iteration: number;
  /** The plotly figure. */
  figure: PlotFigure;
}

/** Options of `reportHistogram` (and, without `dataArgs`, `reportVector`). */
export interface HistogramOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant) of the plot. */
  series: string;
  /** The bar heights: one row per bar group (trace), one column per bucket. A 1-D array is one row. */
  values: Numeric2D;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** A legend label per row; with `xlabels`, a single label is used for every row. */
  labels?: string[];
  /** A label per bucket (column), shown on the x axis instead of 0..n-1. */
  xlabels?: string[];
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** How several rows are drawn: `"group"` (default), `"stack"` or `"relative"`. */
  mode?: "group" | "stack" | "relative";
  /** Extra plotly bar-trace attributes, shallow-merged into every trace (histogram only). */
  dataArgs?: Record<string, unknown>;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** Options of `reportVector`: a histogram without `dataArgs`. */
export type VectorOptions = Omit<HistogramOptions, "dataArgs">;

/** Options of `reportTable`. Exactly one of `tablePlot`, `csvText` or `url` must be given. */
export interface TableOptions {
  /** The title (metric) of the table. */
  title: string;
  /** The series (variant) of the table. */
  series: string;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /**
   * The table: a list of rows whose first row is the header, or a list of records whose keys
   * (in order of first appearance) form the header.
   */
  tablePlot?: unknown[][] | Record<string, unknown>[];
  /** CSV text with a header row; column 0 is the index column and is kept as the first column. */
  csvText?: string;
  /**
   * A URL of a CSV file. Builders are pure and never fetch: fetch it and pass `csvText` instead.
   * Given here, it is only counted in the "exactly one source" check and then refused.
   */
  url?: string;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** One line of a line plot. */
export interface LineSeries {
  /** The legend name of the line. */
  name: string;
  /** The points, as `[x, y]` pairs (N×2). */
  data: number[][] | ArrayLike<number>[];
  /** A hover label per point. */
  labels?: string[];
}

/** Options of `reportLinePlot`. */
export interface LinePlotOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The lines, one trace each. */
  series: LineSeries[];
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** The plotly scatter mode: `"lines"` (default), `"markers"`, `"lines+markers"`… */
  mode?: string;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** Draw the x axis from high to low. */
  reverseXaxis?: boolean;
  /** A comment shown under the title. */
  comment?: string;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** Options of `reportScatter2d`. */
export interface Scatter2dOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant), also the trace name. */
  series: string;
  /** The points, as `[x, y]` pairs (N×2). */
  scatter: Numeric2D;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** A hover label per point. */
  labels?: string[];
  /** The plotly scatter mode; defaults to `"lines"` (ClearML's `"line"` is not valid plotly). */
  mode?: string;
  /** A comment shown under the title. */
  comment?: string;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** Options of `reportScatter3d`. */
export interface Scatter3dOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant) for one point set, or one trace name per point set when `scatter` is a list of sets. */
  series: string | string[];
  /** The points as `[x, y, z]` triples (N×3), or a list of such point sets. */
  scatter: Numeric2D | Numeric2D[];
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** The z-axis title. */
  zaxis?: string;
  /** A hover label per point; for several sets, one list per set or one list shared by all. */
  labels?: string[] | string[][];
  /** The plotly scatter mode; defaults to `"markers"`. */
  mode?: string;
  /** Accepted for ClearML compatibility and ignored, as ClearML does. */
  fill?: boolean;
  /** A comment shown under the title. */
  comment?: string;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** Options of `reportConfusionMatrix` and `reportMatrix`. */
export interface ConfusionMatrixOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant) of the plot. */
  series: string;
  /** The heat-map values, one row per y label (2-D). */
  matrix: Numeric2D;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** A label per column. */
  xlabels?: string[];
  /** A label per row. */
  ylabels?: string[];
  /** Put row 0 at the top. */
  yaxisReversed?: boolean;
  /** A comment shown under the title. */
  comment?: string;
  /**
   * Extra plotly attributes, deep-merged into both the heatmap trace and the layout (as ClearML
   * does); when given, the custom colour scale is not added.
   */
  extraLayout?: Record<string, unknown>;
}

/** A camera eye position. */
export type Camera = [number, number, number] | { x: number; y: number; z: number };

/** Options of `reportSurface`. */
export interface SurfaceOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant) of the plot. */
  series: string;
  /** The surface heights, one row per y label (2-D). */
  matrix: Numeric2D;
  /** The iteration (step); defaults to 0. */
  iteration?: number;
  /** The x-axis title. */
  xaxis?: string;
  /** The y-axis title. */
  yaxis?: string;
  /** The z-axis title. */
  zaxis?: string;
  /** A tick label per column. */
  xlabels?: string[];
  /** A tick label per row. */
  ylabels?: string[];
  /** The camera eye position. */
  camera?: Camera;
  /** A comment shown under the title. */
  comment?: string;
  /** Extra plotly layout attributes, deep-merged into the layout. */
  extraLayout?: Record<string, unknown>;
}

/** One series of a scalar chart. */
export interface ScalarSeries {
  /** The series name. */
  name: string;
  /** The iterations. */
  x: number[];
  /** The values (NaN and ±Infinity allowed). */
  y: number[];
  /** When set, the number of points before down-sampling. */
  downsampledFrom?: number;
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

type Obj = Record<string, unknown>;

function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkName(field: string, v: unknown): string {
  if (typeof v === "string" && v.includes("\0")) {
    throw new InvalidArgumentError(field, v, "must not contain a NUL character");
  }
  if (typeof v !== "string" || (field === "title" ? v.trim() : v).length === 0) {
    throw new InvalidArgumentError(field, v, "must be a non-empty string");
  }
  return v;
}

function optString(field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new InvalidArgumentError(field, v, "must be a string");
  return v;
}

function optBool(field: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new InvalidArgumentError(field, v, "must be a boolean");
  return v;
}

function checkIteration(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError("iteration", v, "must be an integer");
  }
  return v;
}

function optObject(field: string, v: unknown): Obj | undefined {
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) throw new InvalidArgumentError(field, v, "must be a plain object");
  return v;
}

function optStrings(field: string, v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, v, "must be an array of strings");
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") {
      throw new InvalidArgumentError(field, v, `must be an array of strings (item ${i} is not)`);
    }
  }
  return [...v];
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function toNumbers(field: string, v: unknown, where: string): number[] {
  if (!isArrayLike(v)) {
    throw new InvalidArgumentError(field, v, `${where}must be an array of numbers`);
  }
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number") {
      throw new InvalidArgumentError(
        field,
        x,
        `${where}item ${i} is not a number (NaN and Infinity are allowed)`,
      );
    }
    out[i] = x;
  }
  return out;
}

/** A 1-D array becomes one row; a 2-D array must be rectangular. */
function toMatrix(field: string, v: unknown, opts: { allow1d: boolean }): number[][] {
  if (!isArrayLike(v)) throw new InvalidArgumentError(field, v, "must be an array of numbers");
  if (v.length === 0) return opts.allow1d ? [[]] : [];
  const first = v[0];
  if (!isArrayLike(first)) {
    if (!opts.allow1d) {
      throw new InvalidArgumentError(field, v, "must be a 2-D array (an array of rows)");
    }
    return [toNumbers(field, v, "")];
  }
  const rows: number[][] = [];
  for (let r = 0; r < v.length; r++) {
    const row = toNumbers(field, v[r], `row ${r}: `);
    if (r > 0 && row.length !== rows[0].length) {
      throw new InvalidArgumentError(
        field,
        v[r],
        `rows must all have the same length: row ${r} has ${row.length}, row 0 has ${
          rows[0].length
        }`,
      );
    }
    rows.push(row);
  }
  return rows;
}

/** N points of a given width, as columns. */
function toPoints(field: string, v: unknown, width: number, where = ""): number[][] {
  if (!isArrayLike(v)) {
    throw new InvalidArgumentError(field, v, `${where}must be an array of points`);
  }
  const cols: number[][] = Array.from({ length: width }, () => new Array<number>(v.length));
  for (let i = 0; i < v.length; i++) {
    const p = toNumbers(field, v[i], `${where}point ${i}: `);
    if (p.length !== width) {
      throw new InvalidArgumentError(
        field,
        v[i],
        `${where}point ${i} has ${p.length} values, expected ${width} (an N×${width} array)`,
      );
    }
    for (let c = 0; c < width; c++) cols[c][i] = p[c];
  }
  return cols;
}

function checkCount(field: string, labels: string[] | null, n: number, what: string): void {
  if (labels !== null && labels.length !== n) {
    throw new InvalidArgumentError(
      field,
      labels,
      `has ${labels.length} labels but there are ${n} ${what}`,
    );
  }
}

const SCATTER_MODE_PARTS = new Set(["lines", "markers", "text"]);

function checkScatterMode(v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v === "string") {
    if (v === "none") return v;
    const parts = v.split("+");
    if (
      parts.every((p) => SCATTER_MODE_PARTS.has(p)) && new Set(parts).size === parts.length
    ) return v;
  }
  const hint = v === "line" ? ` (did you mean "lines"?)` : "";
  throw new InvalidArgumentError(
    "mode",
    v,
    `must be "lines", "markers", "text", a "+" combination of them, or "none"${hint}`,
  );
}

function titleWithComment(title: string, comment: string | null): string {
  return comment ? `${title}<br><sup>${comment}</sup>` : title;
}

// ---------------------------------------------------------------------------------------------
// Merging

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function cloneValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (isPlainObject(v)) return deepMerge({}, v);
  return v;
}

/**
 * Deep-merges `b` into a copy of `a`, as ClearML's `merge_dicts` does for `extra_layout`: plain
 * objects are merged recursively; arrays and other values from `b` replace those in `a`;
 * `undefined` values in `b` are skipped. Neither argument is changed.
 *
 * @param a the base object
 * @param b the object whose values win
 * @returns a new merged object
 *
 * @example
 * ```ts
 * import { deepMerge } from "./figures.ts";
 * const m = deepMerge({ xaxis: { title: "x", type: "linear" } }, { xaxis: { type: "log" } });
 * console.log(m); // { xaxis: { title: "x", type: "log" } }
 * ```
 */
export function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Obj = {};
  for (const [k, v] of Object.entries(a)) {
    if (!FORBIDDEN_KEYS.has(k)) out[k] = cloneValue(v);
  }
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined || FORBIDDEN_KEYS.has(k)) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : cloneValue(v);
  }
  return out;
}

function withExtra(layout: Obj, extra: Obj | undefined): Obj {
  return extra ? deepMerge(layout, extra) : layout;
}

// ---------------------------------------------------------------------------------------------
// Histogram and vector

const BAR_MODES = new Set(["group", "stack", "relative"]);

function barFigure(kind: "histogram" | "vector", o: HistogramOptions): PlotResult {
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const rows = toMatrix("values", o.values, { allow1d: true });
  let labels = optStrings("labels", o.labels);
  const xlabels = optStrings("xlabels", o.xlabels);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const mode = o.mode ?? "group";
  if (!BAR_MODES.has(mode)) {
    throw new InvalidArgumentError("mode", o.mode, `must be "group", "stack" or "relative"`);
  }
  const dataArgs = kind === "histogram" ? optObject("dataArgs", o.dataArgs) : undefined;
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const nRows = rows.length;
  const nCols = rows[0].length;
  const useSeries = labels !== null && labels.length > 0;
  if (xlabels === null) {
    if (labels !== null) checkCount("labels", labels, nRows, "rows in values");
    else labels = new Array<string>(nRows).fill(series);
  } else {
    checkCount("xlabels", xlabels, nCols, "columns in values");
    if (labels === null || labels.length === 0) labels = new Array<string>(nRows).fill(series);
    else if (labels.length === 1) labels = new Array<string>(nRows).fill(labels[0]);
    else checkCount("labels", labels, nRows, "rows in values (or give a single label)");
  }
  const x = xlabels ?? Array.from({ length: nCols }, (_, i) => i);
  const data = rows.map((y, i) => {
    const trace: Obj = { name: labels![i], y, x: [...x], type: "bar" };
    return dataArgs ? Object.assign(trace, cloneValue(dataArgs)) : trace;
  });
  const layout = withExtra({
    title: useSeries ? series : title,
    xaxis: { title: xaxis },
    yaxis: { title: yaxis },
    barmode: mode,
    bargap: 0.08,
    bargroupgap: 0,
  }, extraLayout);
  return { kind, title, series, iteration, figure: { data, layout } };
}

/**
 * Builds the figure of `reportHistogram`: a bar chart with one trace per row of `values`.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { histogramFigure } from "./figures.ts";
 * const p = histogramFigure({ title: "loss", series: "hist", values: [1, 2, 3] });
 * console.log(p.figure.data); // [{ name: "hist", y: [1, 2, 3], x: [0, 1, 2], type: "bar" }]
 * ```
 */
export function histogramFigure(o: HistogramOptions): PlotResult {
  return barFigure("histogram", o);
}

/**
 * Builds the figure of `reportVector`: the same grouped bar chart as a histogram (ClearML's
 * behaviour), without `dataArgs`.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { vectorFigure } from "./figures.ts";
 * const p = vectorFigure({ title: "v", series: "s", values: [[1, 2], [3, 4]], labels: ["a", "b"] });
 * console.log(p.figure.layout.barmode); // "group"
 * ```
 */
export function vectorFigure(o: VectorOptions): PlotResult {
  if ((o as HistogramOptions).dataArgs !== undefined) {
    throw new InvalidArgumentError(
      "dataArgs",
      (o as HistogramOptions).dataArgs,
      "is not an option of reportVector",
    );
  }
  return barFigure("vector", o);
}

// ---------------------------------------------------------------------------------------------
// Table

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function castCell(s: string): unknown {
  const t = s.trim();
  if (NUMBER_RE.test(t)) return Number(t);
  if (t === "NaN" || t === "nan") return NaN;
  if (t === "Infinity" || t === "inf" || t === "Inf") return Infinity;
  if (t === "-Infinity" || t === "-inf" || t === "-Inf") return -Infinity;
  return s;
}

function checkCell(field: string, v: unknown, where: string): unknown {
  if (v === null || v === undefined) return null;
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean") return v;
  if (v instanceof Date) return v.toISOString();
  if (t === "bigint") return Number(v);
  throw new InvalidArgumentError(field, v, `${where} must be a string, number, boolean or null`);
}

function rowsToColumns(
  field: string,
  rows: unknown[][],
): { header: unknown[]; cells: unknown[][] } {
  if (rows.length === 0) return { header: [], cells: [] };
  const header = rows[0].map((h, i) => checkCell(field, h, `header cell ${i}`));
  const cells: unknown[][] = header.map(() => []);
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || row.length !== header.length) {
      throw new InvalidArgumentError(
        field,
        row,
        `row ${r} must be an array of ${header.length} cells, like the header row`,
      );
    }
    row.forEach((v, c) => cells[c].push(checkCell(field, v, `row ${r} cell ${c}`)));
  }
  return { header, cells };
}

/**
 * Builds the figure of `reportTable`: a plotly `table` trace. Exactly one source is accepted:
 * `tablePlot` (rows with a header row, or records), or `csvText` (parsed with csv-parse; column 0
 * is ClearML's index column and stays the first column; numeric-looking cells become numbers).
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { tableFigure } from "./figures.ts";
 * const p = tableFigure({ title: "t", series: "s", tablePlot: [["a", "b"], [1, 2], [3, 4]] });
 * const trace = p.figure.data[0] as { cells: { values: unknown[][] } };
 * console.log(trace.cells.values); // [[1, 3], [2, 4]]
 * ```
 */
export function tableFigure(o: TableOptions): PlotResult {
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const given = (["tablePlot", "csvText", "url"] as const).filter((k) =>
    o[k] !== undefined && o[k] !== null
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      given.length === 0 ? "tablePlot" : given.join("/"),
      given.length === 0 ? undefined : given,
      "exactly one of tablePlot, csvText or url must be given",
    );
  }
  let header: unknown[];
  let cells: unknown[][];
  if (given[0] === "url") {
    throw new InvalidArgumentError(
      "url",
      o.url,
      "tables cannot be read from a URL here: fetch the CSV and pass its text as csvText",
    );
  } else if (given[0] === "csvText") {
    if (typeof o.csvText !== "string") {
      throw new InvalidArgumentError("csvText", o.csvText, "must be a string of CSV text");
    }
    const rows = parseCsvTable(o.csvText, "csvText");
    ({ header, cells } = rowsToColumns(
      "csvText",
      rows.map((r, i) => (i === 0 ? r : r.map(castCell))),
    ));
  } else {
    const t = o.tablePlot;
    if (!Array.isArray(t)) {
      throw new InvalidArgumentError("tablePlot", t, "must be an array of rows or of records");
    }
    if (t.length === 0 || Array.isArray(t[0])) {
      ({ header, cells } = rowsToColumns("tablePlot", t as unknown[][]));
    } else {
      const keys: string[] = [];
      const seen = new Set<string>();
      t.forEach((rec, r) => {
        if (!isPlainObject(rec)) {
          throw new InvalidArgumentError(
            "tablePlot",
            rec,
            `row ${r} must be a record like row 0 (or give rows as arrays)`,
          );
        }
        for (const k of Object.keys(rec)) if (!seen.has(k)) seen.add(k), keys.push(k);
      });
      header = keys;
      cells = keys.map((k) =>
        (t as Obj[]).map((rec, r) => checkCell("tablePlot", rec[k], `row ${r} key ${k}`))
      );
    }
  }
  const data = [{
    type: "table",
    header: {
      values: header,
      align: "left",
      line: { width: 0.5, color: "#d4d6e0" },
      fill: { color: "#fff" },
      font: { family: "Heebo, verdana, arial, sans-serif", size: 12, color: "#333" },
    },
    cells: {
      height: 30,
      values: cells,
      align: "left",
      line: { color: "white", width: 1 },
      font: { family: "Heebo, verdana, arial, sans-serif", size: 14, color: "#384161" },
    },
  }];
  const layout = withExtra({ "title.text": title, title: series }, extraLayout);
  return { kind: "table", title, series, iteration, figure: { data, layout } };
}

// ---------------------------------------------------------------------------------------------
// Line plot and 2-D scatter

function scatterLayout(title: string, xaxis: string | null, yaxis: string | null): Obj {
  const axis = (t: string | null) => ({
    title: t,
    showspikes: true,
    spikethickness: 1,
    spikesnap: "cursor",
    spikemode: "toaxis+across",
  });
  return { title, xaxis: axis(xaxis), yaxis: axis(yaxis), name: null };
}

/**
 * Builds the figure of `reportLinePlot`: one scatter trace per series, reported with variant `""`.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { linePlotFigure } from "./figures.ts";
 * const p = linePlotFigure({ title: "pr", series: [{ name: "a", data: [[0, 1], [1, 0]] }] });
 * console.log(p.series, p.figure.data[0]); // "" { name: "a", x: [0, 1], y: [1, 0], mode: "lines", text: null, type: "scatter" }
 * ```
 */
export function linePlotFigure(o: LinePlotOptions): PlotResult {
  const title = checkName("title", o.title);
  const iteration = checkIteration(o.iteration);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const mode = checkScatterMode(o.mode, "lines");
  const reverse = optBool("reverseXaxis", o.reverseXaxis);
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  if (!Array.isArray(o.series) || o.series.length === 0) {
    throw new InvalidArgumentError("series", o.series, "must be a non-empty array of {name, data}");
  }
  const data = o.series.map((s, i) => {
    if (!isPlainObject(s)) {
      throw new InvalidArgumentError(`series[${i}]`, s, "must be an object {name, data, labels?}");
    }
    if (typeof s.name !== "string") {
      throw new InvalidArgumentError(`series[${i}].name`, s.name, "must be a string");
    }
    const [x, y] = toPoints(`series[${i}].data`, s.data, 2);
    const labels = optStrings(`series[${i}].labels`, s.labels);
    checkCount(`series[${i}].labels`, labels, x.length, "points");
    return { name: s.name, x, y, mode, text: labels, type: "scatter" };
  });
  const layout = scatterLayout(titleWithComment(title, comment), xaxis, yaxis);
  if (reverse) (layout.xaxis as Obj).autorange = "reversed";
  return {
    kind: "line",
    title,
    series: "",
    iteration,
    figure: { data, layout: withExtra(layout, extraLayout) },
  };
}

/**
 * Builds the figure of `reportScatter2d`: one scatter trace named after the series. The default
 * mode is `"lines"`.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { scatter2dFigure } from "./figures.ts";
 * const p = scatter2dFigure({ title: "s", series: "a", scatter: [[0, 1], [1, NaN]] });
 * console.log(p.figure.data[0]); // { name: "a", x: [0, 1], y: [1, NaN], mode: "lines", text: null, type: "scatter" }
 * ```
 */
export function scatter2dFigure(o: Scatter2dOptions): PlotResult {
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const mode = checkScatterMode(o.mode, "lines");
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const [x, y] = toPoints("scatter", o.scatter, 2);
  const labels = optStrings("labels", o.labels);
  checkCount("labels", labels, x.length, "points in scatter");
  const data = [{ name: series, x, y, mode, text: labels, type: "scatter" }];
  const layout = withExtra(
    scatterLayout(titleWithComment(title, comment), xaxis, yaxis),
    extraLayout,
  );
  return { kind: "scatter2d", title, series, iteration, figure: { data, layout } };
}

// ---------------------------------------------------------------------------------------------
// 3-D scatter

function isPointSetList(v: unknown): boolean {
  // A list of point sets is an array whose items are arrays of points (arrays of arrays).
  if (!Array.isArray(v) || v.length === 0) return false;
  const first = v[0];
  return isArrayLike(first) && first.length > 0 && isArrayLike(first[0]);
}

/**
 * Builds the figure of `reportScatter3d`. One point set gives one trace named `null` and the
 * variant `series`; a list of point sets needs one name per set in `series` and reports the
 * variant `""` (ClearML's `null`). `fill` is accepted and ignored, as in ClearML.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { scatter3dFigure } from "./figures.ts";
 * const p = scatter3dFigure({ title: "t", series: "s", scatter: [[0, 1, 2], [3, 4, 5]] });
 * console.log((p.figure.data[0] as { z: number[] }).z); // [2, 5]
 * ```
 */
export function scatter3dFigure(o: Scatter3dOptions): PlotResult {
  const title = checkName("title", o.title);
  const iteration = checkIteration(o.iteration);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const zaxis = optString("zaxis", o.zaxis);
  const mode = checkScatterMode(o.mode, "markers");
  optBool("fill", o.fill);
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const multi = isPointSetList(o.scatter);
  let sets: unknown[];
  let names: (string | null)[];
  let variant: string;
  if (multi) {
    sets = o.scatter as unknown[];
    if (!Array.isArray(o.series)) {
      throw new InvalidArgumentError(
        "series",
        o.series,
        "must be an array of names, one per point set, when scatter is a list of point sets",
      );
    }
    const ns = optStrings("series", o.series)!;
    checkCount("series", ns, sets.length, "point sets in scatter");
    names = ns;
    variant = "";
  } else {
    sets = [o.scatter];
    variant = checkName("series", o.series);
    names = [null];
  }
  const rawLabels = o.labels;
  let perSet: (string[] | null)[];
  if (rawLabels === undefined || rawLabels === null) perSet = sets.map(() => null);
  else if (!Array.isArray(rawLabels)) {
    throw new InvalidArgumentError("labels", rawLabels, "must be an array of strings");
  } else if (multi && rawLabels.length > 0 && Array.isArray(rawLabels[0])) {
    if (rawLabels.length !== sets.length) {
      throw new InvalidArgumentError(
        "labels",
        rawLabels,
        `has ${rawLabels.length} label lists but there are ${sets.length} point sets`,
      );
    }
    perSet = rawLabels.map((l) => optStrings("labels", l));
  } else {
    const l = optStrings("labels", rawLabels);
    perSet = sets.map(() => l);
  }
  const data = sets.map((set, i) => {
    const where = multi ? `point set ${i}: ` : "";
    const [x, y, z] = toPoints("scatter", set, 3, where);
    checkCount("labels", perSet[i], x.length, `points in ${multi ? `point set ${i}` : "scatter"}`);
    return {
      name: names[i],
      x,
      y,
      z,
      text: perSet[i] ? [...perSet[i]!] : null,
      type: "scatter3d",
      mode,
      marker: {
        size: 5,
        line: { color: "rgba(217, 217, 217, 0.14)", width: 0.8 },
        opacity: 0.8,
      },
    };
  });
  const layout = withExtra({
    showlegend: true,
    title: titleWithComment(title, comment),
    scene: { xaxis: { title: xaxis }, yaxis: { title: yaxis }, zaxis: { title: zaxis } },
    name: null,
  }, extraLayout);
  return { kind: "scatter3d", title, series: variant, iteration, figure: { data, layout } };
}

// ---------------------------------------------------------------------------------------------
// Heatmap and surface

/** ClearML's custom colour scale, with the out-of-range stop fixed (see the module doc). */
function colorScale(): { colorscale: [number, string][]; colorbar: Obj } {
  return {
    colorscale: [
      [0, "rgb(71, 17, 100)"],
      [0.1, "rgb(53, 92, 140)"],
      [0.2, "rgb(37, 139, 141)"],
      [0.6, "rgb(66, 189, 112)"],
      [0.9, "rgb(141, 214, 68)"],
      [1.0, "rgb(221, 226, 24)"],
    ],
    colorbar: { tick0: 0, tickmode: "array", tickvals: [0.1, 0.2, 0.6, 0.9, 1.0] },
  };
}

function checkMatrix(v: unknown): number[][] {
  const m = toMatrix("matrix", v, { allow1d: false });
  if (m.length === 0 || m[0].length === 0) {
    throw new InvalidArgumentError("matrix", v, "must have at least one row and one column");
  }
  return m;
}

/**
 * Builds the figure of `reportConfusionMatrix` (and, with `kind` `"matrix"`, `reportMatrix`): a
 * heatmap. Without `extraLayout` the custom colour scale is added; with it, `extraLayout` is
 * merged into both the trace and the layout, as ClearML does.
 *
 * @param o the report options
 * @param kind `"confusion_matrix"` (default) or `"matrix"`
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { confusionMatrixFigure } from "./figures.ts";
 * const p = confusionMatrixFigure({ title: "cm", series: "val", matrix: [[5, 1], [0, 7]] });
 * console.log((p.figure.data[0] as { type: string }).type); // "heatmap"
 * ```
 */
export function confusionMatrixFigure(
  o: ConfusionMatrixOptions,
  kind: "confusion_matrix" | "matrix" = "confusion_matrix",
): PlotResult {
  if (kind !== "confusion_matrix" && kind !== "matrix") {
    throw new InvalidArgumentError("kind", kind, `must be "confusion_matrix" or "matrix"`);
  }
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const z = checkMatrix(o.matrix);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const xlabels = optStrings("xlabels", o.xlabels);
  const ylabels = optStrings("ylabels", o.ylabels);
  checkCount("xlabels", xlabels, z[0].length, "columns in matrix");
  checkCount("ylabels", ylabels, z.length, "rows in matrix");
  const reversed = optBool("yaxisReversed", o.yaxisReversed);
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  let trace: Obj = { x: xlabels, y: ylabels, z, type: "heatmap" };
  let layout: Obj = {
    showlegend: true,
    title: titleWithComment(title, comment),
    xaxis: { title: xaxis },
    yaxis: reversed ? { title: yaxis, autorange: "reversed" } : { title: yaxis },
    name: series,
  };
  if (extraLayout) {
    trace = deepMerge(trace, extraLayout);
    layout = deepMerge(layout, extraLayout);
  } else {
    Object.assign(trace, colorScale());
  }
  return { kind, title, series, iteration, figure: { data: [trace], layout } };
}

function checkCamera(v: unknown): Obj | null {
  if (v === undefined || v === null) return null;
  let xyz: unknown[];
  if (Array.isArray(v)) xyz = v;
  else if (isPlainObject(v)) xyz = [v.x, v.y, v.z];
  else xyz = [];
  if (xyz.length !== 3 || !xyz.every((n) => typeof n === "number" && Number.isFinite(n))) {
    throw new InvalidArgumentError("camera", v, "must be [x, y, z] or {x, y, z} finite numbers");
  }
  return { eye: { x: xyz[0], y: xyz[1], z: xyz[2] } };
}

/**
 * Builds the figure of `reportSurface`: a 3-D surface with the custom colour scale, titled
 * `"<title>/<series>"` as ClearML does.
 *
 * @param o the report options
 * @returns the plot payload
 *
 * @example
 * ```ts
 * import { surfaceFigure } from "./figures.ts";
 * const p = surfaceFigure({ title: "loss", series: "grid", matrix: [[1, 2], [3, 4]], camera: [1, 1, 1] });
 * console.log(p.figure.layout.title); // "loss/grid"
 * ```
 */
export function surfaceFigure(o: SurfaceOptions): PlotResult {
  const title = checkName("title", o.title);
  const series = checkName("series", o.series);
  const iteration = checkIteration(o.iteration);
  const z = checkMatrix(o.matrix);
  const xaxis = optString("xaxis", o.xaxis);
  const yaxis = optString("yaxis", o.yaxis);
  const zaxis = optString("zaxis", o.zaxis);
  const xlabels = optStrings("xlabels", o.xlabels);
  const ylabels = optStrings("ylabels", o.ylabels);
  checkCount("xlabels", xlabels, z[0].length, "columns in matrix");
  checkCount("ylabels", ylabels, z.length, "rows in matrix");
  const camera = checkCamera(o.camera);
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  const ticks = (l: string[] | null) => (l && l.length ? l.map((_, i) => i) : null);
  const scene: Obj = {
    xaxis: {
      title: xaxis,
      showgrid: false,
      nticks: 10,
      ticktext: xlabels,
      tickvals: ticks(xlabels),
    },
    yaxis: {
      title: yaxis,
      showgrid: false,
      nticks: 10,
      ticktext: ylabels,
      tickvals: ticks(ylabels),
    },
    zaxis: { title: zaxis, nticks: 5 },
  };
  if (camera) scene.camera = camera;
  const trace = {
    z,
    type: "surface",
    contours: { y: { show: false, highlightcolor: "#fff4ff", project: { y: true } } },
    showscale: false,
    ...colorScale(),
  };
  const layout = withExtra({
    scene,
    showlegend: false,
    title: titleWithComment(`${title}/${series}`, comment),
    name: series,
  }, extraLayout);
  return { kind: "surface", title, series, iteration, figure: { data: [trace], layout } };
}

// ---------------------------------------------------------------------------------------------
// Scalars

/**
 * Down-samples a series to at most `maxPoints` points, keeping the first and the last point and,
 * for each bucket in between, its minimum and maximum (so spikes survive). NaN values are skipped
 * in the comparison unless a whole bucket is NaN, which keeps one NaN point.
 *
 * @param x the x values (iterations)
 * @param y the y values, as long as `x`
 * @param maxPoints the most points to return (at least 2)
 * @returns the kept points, in their original order
 *
 * @example
 * ```ts
 * import { downsample } from "./figures.ts";
 * const x = Array.from({ length: 1000 }, (_, i) => i);
 * const y = x.map((i) => (i === 500 ? 100 : 0));
 * const d = downsample(x, y, 10);
 * console.log(d.x.length <= 10, d.y.includes(100)); // true true
 * ```
 */
export function downsample(
  x: number[],
  y: number[],
  maxPoints: number,
): { x: number[]; y: number[] } {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) {
    throw new InvalidArgumentError("maxPoints", maxPoints, "must be an integer of at least 2");
  }
  if (x.length !== y.length) {
    throw new InvalidArgumentError("y", y.length, `must be as long as x (${x.length})`);
  }
  const n = x.length;
  if (n <= maxPoints) return { x: [...x], y: [...y] };
  const buckets = Math.floor((maxPoints - 2) / 2);
  const keep: number[] = [0];
  const m = n - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * m) / buckets);
    const end = 1 + Math.floor(((b + 1) * m) / buckets);
    let lo = -1, hi = -1;
    for (let i = start; i < end; i++) {
      const v = y[i];
      if (Number.isNaN(v)) continue;
      if (lo < 0 || v < y[lo]) lo = i;
      if (hi < 0 || v > y[hi]) hi = i;
    }
    if (lo < 0) {
      if (end > start) keep.push(start); // an all-NaN bucket: keep one NaN to show the gap
    } else if (lo === hi) keep.push(lo);
    else keep.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  keep.push(n - 1);
  return { x: keep.map((i) => x[i]), y: keep.map((i) => y[i]) };
}

/**
 * Builds the chart of one scalar title: one line per series, iterations on the x axis. When a
 * series was down-sampled (`downsampledFrom`), the chart title says so.
 *
 * @param title the scalar title (metric)
 * @param series the series to draw
 * @returns a plotly figure
 *
 * @example
 * ```ts
 * import { scalarsFigure } from "./figures.ts";
 * const f = scalarsFigure("loss", [{ name: "train", x: [0, 1], y: [0.9, 0.5] }]);
 * console.log(f.data.length); // 1
 * ```
 */
export function scalarsFigure(title: string, series: ScalarSeries[]): PlotFigure {
  checkName("title", title);
  if (!Array.isArray(series)) {
    throw new InvalidArgumentError("series", series, "must be an array of {name, x, y}");
  }
  let from = 0;
  const data = series.map((s, i) => {
    if (!isPlainObject(s) || typeof s.name !== "string") {
      throw new InvalidArgumentError(`series[${i}]`, s, "must be {name: string, x, y}");
    }
    const x = toNumbers(`series[${i}].x`, s.x, "");
    const y = toNumbers(`series[${i}].y`, s.y, "");
    if (x.length !== y.length) {
      throw new InvalidArgumentError(
        `series[${i}].y`,
        y.length,
        `must be as long as x (${x.length})`,
      );
    }
    if (s.downsampledFrom !== undefined) from = Math.max(from, s.downsampledFrom);
    return { type: "scatter", mode: "lines", name: s.name, x, y };
  });
  const text = from > 0 ? `${title} (downsampled from ${from} points)` : title;
  return {
    data,
    layout: {
      title: { text },
      xaxis: { title: { text: "iteration" } },
      yaxis: { title: { text: title } },
      showlegend: true,
      hovermode: "x unified",
    },
  };
}
