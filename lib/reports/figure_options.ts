/**
 * The options of every `report_*` figure builder, and the figure shapes they return.
 *
 * @module
 */
import type { PlotKind } from "../events.ts";

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

/** The options every matrix-shaped plot (heatmap, surface) shares. */
export interface MatrixPlotOptions {
  /** The title (metric) of the plot. */
  title: string;
  /** The series (variant) of the plot. */
  series: string;
  /** The values, one row per y label (2-D). */
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
  /** A comment shown under the title. */
  comment?: string;
  /** Extra plotly attributes, deep-merged into the figure. */
  extraLayout?: Record<string, unknown>;
}

/** Options of `reportConfusionMatrix` and `reportMatrix`. */
export interface ConfusionMatrixOptions extends MatrixPlotOptions {
  /** Put row 0 at the top. */
  yaxisReversed?: boolean;
  /**
   * Extra plotly attributes, deep-merged into both the heatmap trace and the layout (as ClearML
   * does); when given, the custom colour scale is not added.
   */
  extraLayout?: Record<string, unknown>;
}

/** A camera eye position. */
export type Camera = [number, number, number] | { x: number; y: number; z: number };

/** Options of `reportSurface`. */
export interface SurfaceOptions extends MatrixPlotOptions {
  /** The z-axis title. */
  zaxis?: string;
  /** The camera eye position. */
  camera?: Camera;
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
