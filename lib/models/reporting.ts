/**
 * Reports: the checks and conversions that turn a `report*` call's arguments into what the
 * store's report queue takes (a scalar point, or a `metric.plot` payload built by the figure
 * builders of `reports/figures.ts`). `BaseModel`'s eleven `report*` methods are thin calls into
 * this file; it knows nothing about a model's lifecycle.
 *
 * @module
 */
import type { EventPayloads } from "../events.ts";
import { InvalidArgumentError } from "../errors.ts";
import {
  confusionMatrixFigure,
  type ConfusionMatrixOptions,
  histogramFigure,
  type HistogramOptions,
  linePlotFigure,
  type LinePlotOptions,
  type PlotResult,
  scatter2dFigure,
  type Scatter2dOptions,
  scatter3dFigure,
  type Scatter3dOptions,
  surfaceFigure,
  type SurfaceOptions,
  tableFigure,
  type TableOptions,
  vectorFigure,
  type VectorOptions,
} from "../reports/figures.ts";
import { parseCsvTable } from "../reports/csv.ts";
import { capPlot } from "../reports/caps.ts";
import { SINGLE_VALUE_ITERATION } from "./read_back.ts";
import { needString } from "./util.ts";

/** One scalar point, checked, as the report queue takes it. */
export interface ScalarPoint {
  /** The title (metric). */
  title: string;
  /** The series (variant). */
  series: string;
  /** The value (a bigint is converted to a number). */
  value: number;
  /** The iteration. */
  iteration: number;
}

/** Options of `reportTable`: a table given inline, as a CSV file or as a CSV URL. */
export type TableReportOptions = Omit<TableOptions, "csvText"> & { csv?: string; url?: string };

/** A report title or series: a string without NUL (projection keys join names with NUL). */
function needName(field: string, v: unknown, allowEmpty = false): string {
  needString(field, v, allowEmpty);
  if ((v as string).includes("\0")) {
    throw new InvalidArgumentError(field, v, "must not contain a NUL character");
  }
  return v as string;
}

function needNumber(field: string, v: unknown): number {
  if (typeof v === "bigint") return Number(v);
  if (typeof v !== "number") throw new InvalidArgumentError(field, v, "must be a number");
  return v;
}

/**
 * Checks a report iteration: a safe integer, as the plot builders require. A larger integer
 * would be stored, but libSQL refuses to read it back as a JavaScript number, which would break
 * every later read of the model's scalars and summary.
 */
function needIteration(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError("iteration", v, "must be an integer (a safe integer)");
  }
  return v;
}

/**
 * The point of `reportScalar(title, series, value, iteration)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scalarPoint } from "./reporting.ts";
 * assert.deepEqual(scalarPoint("loss", "train", 0.5, 3), {
 *   title: "loss",
 *   series: "train",
 *   value: 0.5,
 *   iteration: 3,
 * });
 * assert.throws(() => scalarPoint("loss", "train", 0.5, 1.5), /iteration/);
 * ```
 */
export function scalarPoint(
  title: unknown,
  series: unknown,
  value: unknown,
  iteration: unknown,
): ScalarPoint {
  const v = scalarValue(title, series, value, iteration);
  return {
    title: title as string,
    series: series as string,
    value: v,
    iteration: iteration as number,
  };
}

/**
 * The last title and series that passed {@link needName}: a report loop names the same few
 * over and over, and a string equal to one already checked is valid (strings are values).
 */
let checkedTitle: string | undefined;
let checkedSeries: string | undefined;

/**
 * Checks the arguments of `reportScalar(title, series, value, iteration)` as
 * {@link scalarPoint} does and returns the value as a number, without making a point object
 * (the per-point hot path).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scalarValue } from "./reporting.ts";
 * assert.equal(scalarValue("loss", "train", 5n, 3), 5);
 * assert.throws(() => scalarValue("loss", "a\0b", 0.5, 3), /series/);
 * ```
 */
export function scalarValue(
  title: unknown,
  series: unknown,
  value: unknown,
  iteration: unknown,
): number {
  if (checkedTitle === undefined || title !== checkedTitle) {
    checkedTitle = needName("title", title);
  }
  if (checkedSeries === undefined || series !== checkedSeries) {
    checkedSeries = needName("series", series, true);
  }
  const v = typeof value === "number" ? value : needNumber("value", value);
  needIteration(iteration);
  return v;
}

/** The point of `reportSingleValue(name, value)`: title "Summary", iteration -2^31 (ClearML). */
export function singleValuePoint(name: unknown, value: unknown): ScalarPoint {
  needName("name", name);
  const v = needNumber("value", value);
  return { title: "Summary", series: name as string, value: v, iteration: SINGLE_VALUE_ITERATION };
}

/** The `metric.plot` payload of a built figure, down-sampled to its kind's cap (`caps.ts`). */
export function plotPayload(result: PlotResult): EventPayloads["metric.plot"] {
  const p = capPlot(result);
  return {
    kind: p.kind,
    title: p.title,
    series: p.series,
    iteration: p.iteration,
    figure: p.figure,
  };
}

/**
 * The figure builders behind the plot reports, by `BaseModel` method name. A method checks
 * nothing itself: each builder checks its options and names the bad field.
 */
export const plotBuilders: {
  readonly reportHistogram: (o: HistogramOptions) => PlotResult;
  readonly reportVector: (o: VectorOptions) => PlotResult;
  readonly reportLinePlot: (o: LinePlotOptions) => PlotResult;
  readonly reportScatter2d: (o: Scatter2dOptions) => PlotResult;
  readonly reportScatter3d: (o: Scatter3dOptions) => PlotResult;
  readonly reportConfusionMatrix: (o: ConfusionMatrixOptions) => PlotResult;
  readonly reportMatrix: (o: Omit<ConfusionMatrixOptions, "comment">) => PlotResult;
  readonly reportSurface: (o: SurfaceOptions) => PlotResult;
} = {
  reportHistogram: histogramFigure,
  reportVector: vectorFigure,
  reportLinePlot: linePlotFigure,
  reportScatter2d: scatter2dFigure,
  reportScatter3d: scatter3dFigure,
  reportConfusionMatrix: (o) => confusionMatrixFigure(o, "confusion_matrix"),
  reportMatrix: (o) => confusionMatrixFigure(o, "matrix"),
  reportSurface: surfaceFigure,
};

/** Reads the CSV text of a `csv` file or `url`; undefined for an inline `tablePlot`. */
async function tableCsvText(
  csv: string | undefined,
  url: string | undefined,
): Promise<string | undefined> {
  if (csv !== undefined) {
    needString("csv", csv);
    try {
      return await Deno.readTextFile(csv);
    } catch (e) {
      throw new InvalidArgumentError("csv", csv, `cannot be read: ${(e as Error).message}`);
    }
  }
  if (url === undefined) return undefined;
  needString("url", url);
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) }).catch((e) => {
    throw new InvalidArgumentError("url", url, `cannot be fetched: ${e.message}`);
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new InvalidArgumentError("url", url, `answered HTTP ${res.status}`);
  }
  return await res.text();
}

/**
 * The figure of `reportTable`: `tablePlot` (rows with a header row, or an array of records),
 * `csv` (a file path) or `url` (a CSV over http(s)). Exactly one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableReport } from "./reporting.ts";
 * const p = await tableReport({ title: "t", series: "s", tablePlot: [["a", "b"], [1, 2]] });
 * assert.equal(p.kind, "table");
 * await assert.rejects(() => tableReport({ title: "t", series: "s" }), /exactly one/);
 * ```
 */
export async function tableReport(options: TableReportOptions): Promise<PlotResult> {
  const { csv, url, ...rest } = options;
  const given = [rest.tablePlot !== undefined, csv !== undefined, url !== undefined].filter(
    Boolean,
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      "tablePlot/csv/url",
      { tablePlot: rest.tablePlot !== undefined, csv, url },
      "give exactly one of tablePlot, csv or url",
    );
  }
  const csvText = await tableCsvText(csv, url);
  const source = csv !== undefined ? "csv" : "url";
  if (csvText !== undefined) parseCsvTable(csvText, source);
  try {
    return tableFigure({ ...rest, ...(csvText !== undefined ? { csvText } : {}) });
  } catch (e) {
    // The builder names its own csvText argument; name the one the caller gave.
    if (e instanceof InvalidArgumentError && e.field === "csvText") {
      throw new InvalidArgumentError(
        source,
        source === "csv" ? csv : url,
        `its CSV is not a table (${e.message})`,
      );
    }
    throw e;
  }
}
