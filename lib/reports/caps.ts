/**
 * Plot caps: a reported figure is down-sampled before it is stored, as ClearML's reporter does,
 * so no single `metric.plot` event grows past what one sync push may carry (32 MiB). ClearML's
 * own limits are kept where it has them (line plots 800 000 x+y values in total, 2-D scatters
 * 100 000); the others are chosen to keep an event under about 4 MiB of JSON:
 *
 * | plot | cap (numbers in the figure's data) | how |
 * | --- | --- | --- |
 * | line plot | 800 000 (x + y, all series) | averages of consecutive points |
 * | 2-D scatter | 100 000 (x + y) | averages of consecutive points |
 * | 3-D scatter | 300 000 (x + y + z, all sets) | averages of consecutive points |
 * | histogram, vector | 500 000 bars (all traces) | sums of consecutive buckets |
 * | confusion matrix, matrix, surface | 500 000 cells | means of cell blocks |
 * | table | 200 000 cells | the first rows are kept |
 *
 * Down-sampled values are rounded to 7 significant digits (ClearML rounds too). Labels of a
 * merged run of points keep the first point's label.
 *
 * @module
 */
import type { PlotResult } from "./figure_options.ts";

/** The caps by plot kind, in numbers of the figure's data (see the module doc). */
export const PLOT_CAPS: Readonly<Record<string, number>> = {
  line: 800_000,
  scatter2d: 100_000,
  scatter3d: 300_000,
  histogram: 500_000,
  vector: 500_000,
  confusion_matrix: 500_000,
  matrix: 500_000,
  surface: 500_000,
  table: 200_000,
};

type Trace = Record<string, unknown>;

const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(7)) : v);

/** Reduces an array by `k`: each run of `k` items becomes its mean (or sum, or first item). */
function reduce(a: unknown[], k: number, how: "mean" | "sum" | "first"): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < a.length; i += k) {
    const run = a.slice(i, i + k);
    if (how === "first" || typeof run[0] !== "number") {
      out.push(run[0]);
      continue;
    }
    let s = 0;
    for (const x of run) s += x as number;
    out.push(round(how === "sum" ? s : s / run.length));
  }
  return out;
}

function pointTraces(p: PlotResult, cap: number, keys: string[], how: "mean" | "sum"): PlotResult {
  const traces = p.figure.data as Trace[];
  let total = 0;
  for (const t of traces) {
    for (const k of keys) total += (t[k] as unknown[] | undefined)?.length ?? 0;
  }
  if (total <= cap) return p;
  const factor = Math.ceil(total / cap);
  const data = traces.map((t) => {
    const out: Trace = { ...t };
    for (const k of keys) {
      if (Array.isArray(t[k])) out[k] = reduce(t[k] as unknown[], factor, how);
    }
    if (Array.isArray(t.text)) out.text = reduce(t.text, factor, "first");
    if (how === "sum" && Array.isArray(t.x)) out.x = reduce(t.x, factor, "first");
    return out;
  });
  return { ...p, figure: { ...p.figure, data } };
}

function cellTraces(p: PlotResult, cap: number): PlotResult {
  const traces = p.figure.data as Trace[];
  const data = traces.map((t) => {
    const z = t.z as number[][] | undefined;
    if (!Array.isArray(z) || !Array.isArray(z[0])) return t;
    const rows = z.length, cols = z[0].length;
    if (rows * cols <= cap) return t;
    const f = Math.ceil(Math.sqrt((rows * cols) / cap));
    const nz: number[][] = [];
    for (let r = 0; r < rows; r += f) {
      const row: number[] = [];
      for (let c = 0; c < cols; c += f) {
        let s = 0, n = 0;
        for (let i = r; i < Math.min(r + f, rows); i++) {
          for (let j = c; j < Math.min(c + f, cols); j++) s += z[i][j], n++;
        }
        row.push(round(s / n));
      }
      nz.push(row);
    }
    const out: Trace = { ...t, z: nz };
    if (Array.isArray(t.x)) out.x = reduce(t.x, f, "first");
    if (Array.isArray(t.y)) out.y = reduce(t.y, f, "first");
    return out;
  });
  return { ...p, figure: { ...p.figure, data } };
}

function tableTraces(p: PlotResult, cap: number): PlotResult {
  const data = (p.figure.data as Trace[]).map((t) => {
    const cells = t.cells as { values?: unknown[][] } | undefined;
    const cols = cells?.values;
    if (!Array.isArray(cols) || cols.length === 0) return t;
    const rows = Math.max(...cols.map((c) => (Array.isArray(c) ? c.length : 0)));
    if (rows * cols.length <= cap) return t;
    const keep = Math.max(1, Math.floor(cap / cols.length));
    return { ...t, cells: { ...cells, values: cols.map((c) => c.slice(0, keep)) } };
  });
  return { ...p, figure: { ...p.figure, data } };
}

/**
 * The figure down-sampled to its kind's cap (see the module doc); the same object when it is
 * already within it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { capPlot } from "./caps.ts";
 * const x = Array.from({ length: 200_000 }, (_, i) => i);
 * const p = capPlot({
 *   kind: "scatter2d",
 *   title: "t",
 *   series: "s",
 *   iteration: 0,
 *   figure: { data: [{ type: "scatter", x, y: x }], layout: {} },
 * });
 * const t = p.figure.data[0] as { x: number[] };
 * assert.equal(t.x.length, 50_000);
 * ```
 */
export function capPlot(p: PlotResult): PlotResult {
  const cap = PLOT_CAPS[p.kind];
  if (cap === undefined) return p;
  switch (p.kind) {
    case "line":
    case "scatter2d":
      return pointTraces(p, cap, ["x", "y"], "mean");
    case "scatter3d":
      return pointTraces(p, cap, ["x", "y", "z"], "mean");
    case "histogram":
    case "vector":
      return pointTraces(p, cap, ["y"], "sum");
    case "table":
      return tableTraces(p, cap);
    default:
      return cellTraces(p, cap);
  }
}
