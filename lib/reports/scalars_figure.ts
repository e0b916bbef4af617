/**
 * The scalar chart: down-sampling that keeps extremes, and one figure per scalar title.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { PlotFigure, ScalarSeries } from "./figure_options.ts";
import { checkName, isPlainObject, toNumbers } from "./figure_input.ts";

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
 * import assert from "node:assert/strict";
 * import { downsample } from "./figures.ts";
 * const x = Array.from({ length: 1000 }, (_, i) => i);
 * const y = x.map((i) => (i === 500 ? 100 : 0));
 * const d = downsample(x, y, 10);
 * assert.ok(d.x.length <= 10);
 * assert.ok(d.y.includes(100));
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
 * import assert from "node:assert/strict";
 * import { scalarsFigure } from "./figures.ts";
 * const f = scalarsFigure("loss", [{ name: "train", x: [0, 1], y: [0.9, 0.5] }]);
 * assert.deepEqual(f.data.length, 1);
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
