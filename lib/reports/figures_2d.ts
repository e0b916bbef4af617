/**
 * Figure builders for 2-D reports: histogram, vector, table, line plot and 2-D scatter.
 *
 * @module
 */
import { parseCsvTable } from "./csv.ts";
import { InvalidArgumentError } from "../errors.ts";
import type {
  HistogramOptions,
  LinePlotOptions,
  PlotResult,
  Scatter2dOptions,
  TableOptions,
  VectorOptions,
} from "./figure_options.ts";
import {
  checkCount,
  checkIteration,
  checkName,
  checkScatterMode,
  cloneValue,
  isPlainObject,
  type Obj,
  optBool,
  optObject,
  optString,
  optStrings,
  titleWithComment,
  toMatrix,
  toPoints,
  withExtra,
} from "./figure_input.ts";

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
 * import assert from "node:assert/strict";
 * import { histogramFigure } from "./figures.ts";
 * const p = histogramFigure({ title: "loss", series: "hist", values: [1, 2, 3] });
 * assert.deepEqual(p.figure.data, [{ name: "hist", y: [1, 2, 3], x: [0, 1, 2], type: "bar" }]);
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
 * import assert from "node:assert/strict";
 * import { vectorFigure } from "./figures.ts";
 * const p = vectorFigure({ title: "v", series: "s", values: [[1, 2], [3, 4]], labels: ["a", "b"] });
 * assert.deepEqual(p.figure.layout.barmode, "group");
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
 * import assert from "node:assert/strict";
 * import { tableFigure } from "./figures.ts";
 * const p = tableFigure({ title: "t", series: "s", tablePlot: [["a", "b"], [1, 2], [3, 4]] });
 * const trace = p.figure.data[0] as { cells: { values: unknown[][] } };
 * assert.deepEqual(trace.cells.values, [[1, 3], [2, 4]]);
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
    // ClearML's CSV tables (through pandas) carry each header cell as a one-element list.
    header = header.map((h) => [h]);
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
 * import assert from "node:assert/strict";
 * import { linePlotFigure } from "./figures.ts";
 * const p = linePlotFigure({ title: "pr", series: [{ name: "a", data: [[0, 1], [1, 0]] }] });
 * assert.equal(p.series, "");
 * assert.deepEqual(p.figure.data[0], { name: "a", x: [0, 1], y: [1, 0], mode: "lines", text: null, type: "scatter" });
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
 * import assert from "node:assert/strict";
 * import { scatter2dFigure } from "./figures.ts";
 * const p = scatter2dFigure({ title: "s", series: "a", scatter: [[0, 1], [1, NaN]] });
 * assert.deepEqual(p.figure.data[0], { name: "a", x: [0, 1], y: [1, NaN], mode: "lines", text: null, type: "scatter" });
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
