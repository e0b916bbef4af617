/**
 * The scalar folds' tables: `metric_chunks` (one insert-only row per `metric.scalars` event,
 * the points stay in the event) and `scalar_series` (per model, title and series: count,
 * finite min and max, the newest point by HLC and the largest iteration). Counts and extremes
 * commute, and the newest point is ordered by HLC, so any order gives the same summary.
 *
 * @module
 */
import { decodeNumber, type EventPayloads } from "../../events.ts";
import { type Fold, key, pick, splitStream } from "../fold.ts";

/** Per-series summary of scalars. */
export interface SeriesRow {
  /** The model id. */
  model_id: string;
  /** The plot title. */
  title: string;
  /** The series. */
  series: string;
  /** Points reported. */
  count: number;
  /** Smallest finite value (null: none yet). */
  min: number | null;
  /** Largest finite value (null: none yet). */
  max: number | null;
  /** The newest point's value as JSON. */
  last: string;
  /** The newest point's iteration. */
  last_iter: number;
  /** HLC of the newest point's chunk. */
  last_at: string;
  /** Largest iteration reported. */
  max_iter: number;
}

/** A chunk of scalar points (the points live in the event). */
export interface ChunkRow {
  /** The `metric.scalars` event. */
  event_id: string;
  /** The model id. */
  model_id: string;
  /** The plot title. */
  title: string;
  /** The series. */
  series: string;
  /** Points in the chunk. */
  n: number;
  /** Smallest iteration in the chunk. */
  min_iter: number;
  /** Largest iteration in the chunk. */
  max_iter: number;
  /** HLC of the chunk. */
  at: string;
}

/** The state of the scalars fold. */
export interface ScalarsState {
  /** Summaries by model id, title and series. */
  readonly series: Map<string, SeriesRow>;
  /** Keys of the summaries changed. */
  readonly dirty: Set<string>;
  /** Chunk rows not written yet (insert-only). */
  chunks: ChunkRow[];
}

/**
 * The iteration range and the finite min/max of a chunk's points. Its own function: folded
 * inline, the long loop ran on-stack-replaced code that left `apply` on every chunk (a
 * deoptimization per event, and the loop interpreted again for the next one).
 */
function chunkStats(
  iters: readonly number[],
  values: EventPayloads["metric.scalars"]["values"],
): { minIter: number; maxIter: number; min: number; max: number; anyFinite: boolean } {
  let minIter = Infinity, maxIter = -Infinity, min = Infinity, max = -Infinity;
  let anyFinite = false;
  for (let i = 0; i < iters.length; i++) {
    const it = iters[i]!;
    if (it < minIter) minIter = it;
    if (it > maxIter) maxIter = it;
    const v = values[i]!;
    // min/max cover finite values only: libSQL refuses to bind NaN or ±Infinity, and one
    // such value would otherwise fail the whole report batch.
    const x = typeof v === "number" ? v : decodeNumber(v);
    if (Number.isFinite(x)) {
      anyFinite = true;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return { minIter, maxIter, min, max, anyFinite };
}

/** The `metric_chunks` and `scalar_series` fold. */
export const scalarsFold: Fold<ScalarsState> = {
  name: "scalars",
  init: () => ({ series: new Map(), dirty: new Set(), chunks: [] }),
  preload(events) {
    const models = new Set<string>();
    const keys = new Set<string>();
    for (const e of events) {
      if (e.type !== "metric.scalars") continue;
      const id = splitStream(e.stream)[1];
      models.add(id);
      keys.add(key(id, e.data.title, e.data.series));
    }
    if (models.size === 0) return [];
    // A model has few series: load them by model (the primary key's prefix) and keep those
    // this batch touches.
    return [{
      table: "scalar_series",
      columns: ["model_id"],
      keys: [...models].map((m) => [m]),
      keep: (r) => keys.has(key(String(r.model_id), String(r.title), String(r.series))),
    }];
  },
  load(s, _table, rows) {
    for (const r of rows as readonly SeriesRow[]) {
      s.series.set(key(r.model_id, r.title, r.series), { ...r });
    }
  },
  apply(s, e) {
    if (e.type !== "metric.scalars") return;
    const modelId = splitStream(e.stream)[1];
    const d = e.data;
    const n = d.iters.length;
    const { minIter, maxIter, min, max, anyFinite } = chunkStats(d.iters, d.values);
    s.chunks.push({
      event_id: e.id,
      model_id: modelId,
      title: d.title,
      series: d.series,
      n,
      min_iter: minIter,
      max_iter: maxIter,
      at: e.at,
    });
    const k = key(modelId, d.title, d.series);
    const cur = s.series.get(k);
    const last = d.values[n - 1]!;
    const lastIter = d.iters[n - 1]!;
    if (!cur) {
      s.series.set(k, {
        model_id: modelId,
        title: d.title,
        series: d.series,
        count: n,
        min: anyFinite ? min : null,
        max: anyFinite ? max : null,
        last: JSON.stringify(last),
        last_iter: lastIter,
        last_at: e.at,
        max_iter: maxIter,
      });
    } else {
      cur.count += n;
      if (anyFinite) {
        cur.min = cur.min === null ? min : Math.min(cur.min, min);
        cur.max = cur.max === null ? max : Math.max(cur.max, max);
      }
      if (e.at > cur.last_at) {
        cur.last = JSON.stringify(last);
        cur.last_iter = lastIter;
        cur.last_at = e.at;
      }
      if (maxIter > cur.max_iter) cur.max_iter = maxIter;
    }
    s.dirty.add(k);
  },
  outputs: [
    {
      table: "scalar_series",
      columns: [
        "model_id",
        "title",
        "series",
        "count",
        "min",
        "max",
        "last",
        "last_iter",
        "last_at",
        "max_iter",
      ],
      rows: (s, all) => pick(s.series, s.dirty, all),
    },
    {
      table: "metric_chunks",
      columns: ["event_id", "model_id", "title", "series", "n", "min_iter", "max_iter", "at"],
      rows: (s) => s.chunks,
      written(s) {
        s.chunks = [];
      },
    },
  ],
};
