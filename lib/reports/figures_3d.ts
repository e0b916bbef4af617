/**
 * Figure builders for 3-D and matrix reports: 3-D scatter, confusion matrix / heatmap and surface.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type {
  ConfusionMatrixOptions,
  MatrixPlotOptions,
  PlotResult,
  Scatter3dOptions,
  SurfaceOptions,
} from "./figure_options.ts";
import {
  checkCount,
  checkIteration,
  checkName,
  checkScatterMode,
  deepMerge,
  isArrayLike,
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
 * import assert from "node:assert/strict";
 * import { scatter3dFigure } from "./figures.ts";
 * const p = scatter3dFigure({ title: "t", series: "s", scatter: [[0, 1, 2], [3, 4, 5]] });
 * assert.deepEqual((p.figure.data[0] as { z: number[] }).z, [2, 5]);
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

/** Checks the options every matrix-shaped plot shares; labels must match the matrix's shape. */
function matrixInput(o: MatrixPlotOptions) {
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
  const comment = optString("comment", o.comment);
  const extraLayout = optObject("extraLayout", o.extraLayout);
  return { title, series, iteration, z, xaxis, yaxis, xlabels, ylabels, comment, extraLayout };
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
 * import assert from "node:assert/strict";
 * import { confusionMatrixFigure } from "./figures.ts";
 * const p = confusionMatrixFigure({ title: "cm", series: "val", matrix: [[5, 1], [0, 7]] });
 * assert.deepEqual((p.figure.data[0] as { type: string }).type, "heatmap");
 * ```
 */
export function confusionMatrixFigure(
  o: ConfusionMatrixOptions,
  kind: "confusion_matrix" | "matrix" = "confusion_matrix",
): PlotResult {
  if (kind !== "confusion_matrix" && kind !== "matrix") {
    throw new InvalidArgumentError("kind", kind, `must be "confusion_matrix" or "matrix"`);
  }
  const { title, series, iteration, z, xaxis, yaxis, xlabels, ylabels, comment, extraLayout } =
    matrixInput(o);
  const reversed = optBool("yaxisReversed", o.yaxisReversed);
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
 * import assert from "node:assert/strict";
 * import { surfaceFigure } from "./figures.ts";
 * const p = surfaceFigure({ title: "loss", series: "grid", matrix: [[1, 2], [3, 4]], camera: [1, 1, 1] });
 * assert.deepEqual(p.figure.layout.title, "loss/grid");
 * ```
 */
export function surfaceFigure(o: SurfaceOptions): PlotResult {
  const { title, series, iteration, z, xaxis, yaxis, xlabels, ylabels, comment, extraLayout } =
    matrixInput(o);
  const zaxis = optString("zaxis", o.zaxis);
  const camera = checkCamera(o.camera);
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
