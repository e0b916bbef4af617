/**
 * Pure, validated builders that turn the arguments of each `report_*` call into a plotly figure
 * `{ data, layout }`, with the shapes ClearML's SDK sends (see `clearml-semantics.md`, section 3),
 * and modelog's fixes:
 *
 * - `scatter2dFigure` defaults to mode `"lines"` (ClearML's model default `"line"` is not a plotly
 *   mode and is rejected here).
 * - NaN and ±Infinity stay numbers in the built figure and in storage (`encodeData` from
 *   `events.ts`); `getReportedPlots()` gives them back as ClearML's `"nan"`, `"inf"` and `"-inf"`
 *   strings, so a figure survives `JSON.stringify`.
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
export type { PlotKind } from "../events.ts";
export type {
  Camera,
  ConfusionMatrixOptions,
  HistogramOptions,
  LinePlotOptions,
  LineSeries,
  MatrixPlotOptions,
  Numeric2D,
  PlotFigure,
  PlotResult,
  ScalarSeries,
  Scatter2dOptions,
  Scatter3dOptions,
  SurfaceOptions,
  TableOptions,
  VectorOptions,
} from "./figure_options.ts";
export { deepMerge } from "./figure_input.ts";
export {
  histogramFigure,
  linePlotFigure,
  scatter2dFigure,
  tableFigure,
  vectorFigure,
} from "./figures_2d.ts";
export { confusionMatrixFigure, scatter3dFigure, surfaceFigure } from "./figures_3d.ts";
export { downsample, scalarsFigure } from "./scalars_figure.ts";
