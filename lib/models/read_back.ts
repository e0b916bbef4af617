/**
 * Reading a model back from the store: its snapshot (row, tags, metadata), its history, and
 * the scalars, single values, summaries and plots reported on it. `BaseModel`'s read methods
 * are thin calls into this file.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { ModelRow } from "../projections/project.ts";
import {
  eventsById,
  loadModelView,
  modelEvents,
  plotEventIds,
  type ReportSelector,
  scalarChunkRefs,
  scalarSeriesOf,
  scopeGoneServers,
} from "../projections/read.ts";
import { decodeNumber, type MetadataEntry } from "../events.ts";
import { hlcWall } from "../clock.ts";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.ts";
import type { PlotResult } from "../reports/figures.ts";

/** The iteration ClearML uses for single values. */
export const SINGLE_VALUE_ITERATION: number = -(2 ** 31);

/** A model's data as loaded from the projections. */
export interface ModelSnapshot {
  /** The `models` projection row. */
  row: ModelRow;
  /** Present user tags, sorted. */
  tags: string[];
  /** Present metadata entries. */
  metadata: Record<string, MetadataEntry>;
}

/** One entry of a model's history (its events, newest first). */
export interface HistoryEntry {
  /** The event id. */
  id: string;
  /** The event type, e.g. `model.tags_changed`. */
  type: string;
  /** When, from the event's hybrid logical clock. */
  at: Date;
  /** The raw HLC timestamp. */
  hlc: string;
  /** Who made the change. */
  actor: string;
  /** The device that made it. */
  origin: string;
  /** What changed (the event payload; scalar points are summarised). */
  changes: Record<string, unknown>;
}

/** Scalars read back: title -> series -> points sorted by iteration. */
export type ReportedScalars = Record<string, Record<string, { x: number[]; y: number[] }>>;

/** A per-series summary of reported scalars, kept as a projection. */
export interface ScalarSummary {
  /** The title (metric). */
  title: string;
  /** The series (variant). */
  series: string;
  /** The last reported value. */
  last: number;
  /** The iteration of the last reported value. */
  lastIteration: number;
  /** Smallest finite value ever reported (NaN and ±Infinity skipped; overwritten points still count), null when none. */
  min: number | null;
  /** Largest finite value ever reported (as `min`), null when none. */
  max: number | null;
  /** Points reported, re-reports of an iteration included (the log keeps them all). */
  count: number;
  /** Largest iteration reported. */
  maxIteration: number;
}

/** A reported plot read back. */
export interface ReportedPlot extends PlotResult {
  /** When it was reported. */
  reportedAt: Date;
}

export type { ReportSelector } from "../projections/read.ts";

/** Points per title, then series, then iteration (the last report of an iteration wins). */
export type ScalarPoints = Map<string, Map<string, Map<number, number>>>;

/** Reads a model's snapshot from the projections (undefined when absent or removed). */
export async function loadSnapshot(store: Store, id: string): Promise<ModelSnapshot | undefined> {
  return await loadModelView(store, id);
}

export { scopeGoneServers };

/**
 * The error for a model id that loads nothing: when a server said the model left this
 * device's scope (see `sync/worker.ts`), it says so and names the server.
 */
export async function modelNotFound(
  store: Store,
  id: string,
  shown: string = id,
): Promise<ModelNotFoundError> {
  return notFoundFor(shown, await scopeGoneServers(store, id));
}

/** {@link modelNotFound} with the servers that said the model left the scope. */
export function notFoundFor(shown: string, servers: readonly string[]): ModelNotFoundError {
  if (servers.length === 0) return new ModelNotFoundError(shown);
  return new ModelNotFoundError(
    shown,
    `Model ${JSON.stringify(shown)} left this device's scope on server ${
      servers.join(", ")
    }: it was moved to a project this device's token may not read (it shows again when an ` +
      `event of it arrives by pull, e.g. after it moves back)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Read-back

/** Checks a report filter `{ title?, series?, iteration? }`. */
export function checkSelector(f: unknown): ReportSelector {
  if (f === null || typeof f !== "object") {
    throw new InvalidArgumentError(
      "filter",
      f,
      "must be an object { title?, series?, iteration? }",
    );
  }
  const s = f as ReportSelector;
  if (s.title !== undefined && typeof s.title !== "string") {
    throw new InvalidArgumentError("title", s.title, "must be a string");
  }
  if (s.series !== undefined && typeof s.series !== "string") {
    throw new InvalidArgumentError("series", s.series, "must be a string");
  }
  if (s.iteration !== undefined && !Number.isSafeInteger(s.iteration)) {
    throw new InvalidArgumentError("iteration", s.iteration, "must be an integer");
  }
  return s;
}

/** Checks a history limit: a positive integer. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError("limit", limit, "must be a positive integer");
  }
  return limit;
}

/** A model's events, newest first, as history entries (scalar points and plots summarised). */
export async function modelHistory(
  store: Store,
  modelId: string,
  limit: number,
): Promise<HistoryEntry[]> {
  checkLimit(limit);
  await store.flush();
  const events = await modelEvents(store, modelId, limit);
  return events.map((e) => {
    let changes: Record<string, unknown> = { ...e.data };
    if (e.type === "metric.scalars") {
      const d = e.data;
      changes = { title: d.title, series: d.series, points: d.iters.length };
    } else if (e.type === "metric.plot") {
      const d = e.data;
      changes = { kind: d.kind, title: d.title, series: d.series, iteration: d.iteration };
    }
    return {
      id: e.id,
      type: e.type,
      at: new Date(hlcWall(e.at)),
      hlc: e.at,
      actor: e.actor,
      origin: e.origin,
      changes,
    };
  });
}

/** Every scalar point of a model matching `filter`, flushed first; single values included. */
export async function readScalarPoints(
  store: Store,
  modelId: string,
  filter: { title?: string; series?: string },
): Promise<ScalarPoints> {
  await store.flush();
  const chunks = await scalarChunkRefs(store, modelId, checkSelector(filter));
  const out: ScalarPoints = new Map();
  for (let i = 0; i < chunks.length; i += 200) {
    const part = chunks.slice(i, i + 200);
    const events = await eventsById(store, part.map((c) => c.eventId));
    for (const c of part) {
      const e = events.get(c.eventId);
      if (e?.type !== "metric.scalars") continue;
      const d = e.data;
      let t = out.get(d.title);
      if (!t) out.set(d.title, t = new Map());
      let s = t.get(d.series);
      if (!s) t.set(d.series, s = new Map());
      const n = d.iters.length;
      for (let j = 0; j < n; j++) {
        const v = d.values[j]!;
        s.set(d.iters[j]!, typeof v === "number" ? v : decodeNumber(v));
      }
    }
  }
  return out;
}

/** The scalars of a model as `{ title: { series: { x, y } } }`, single values left out. */
export async function reportedScalars(
  store: Store,
  modelId: string,
  filter: { title?: string; series?: string },
): Promise<ReportedScalars> {
  const raw = await readScalarPoints(store, modelId, filter);
  const out: ReportedScalars = {};
  for (const [title, byS] of raw) {
    for (const [series, pts] of byS) {
      pts.delete(SINGLE_VALUE_ITERATION);
      if (pts.size === 0) continue;
      const x = [...pts.keys()];
      let sorted = true;
      for (let i = 1; i < x.length; i++) {
        if (x[i]! < x[i - 1]!) {
          sorted = false;
          break;
        }
      }
      if (!sorted) x.sort((a, b) => a - b);
      const y = new Array<number>(x.length);
      for (let i = 0; i < x.length; i++) y[i] = pts.get(x[i]!)!;
      (out[title] ??= {})[series] = { x, y };
    }
  }
  return out;
}

/** The single values of a model: `{ name: value }` (the last report wins). */
export async function reportedSingleValues(
  store: Store,
  modelId: string,
): Promise<Record<string, number>> {
  const raw = await readScalarPoints(store, modelId, { title: "Summary" });
  const out: Record<string, number> = {};
  for (const [series, pts] of raw.get("Summary") ?? []) {
    if (pts.has(SINGLE_VALUE_ITERATION)) out[series] = pts.get(SINGLE_VALUE_ITERATION)!;
  }
  return out;
}

/** The per-series scalar summary of a model, read from its projection. */
export async function scalarSummary(store: Store, modelId: string): Promise<ScalarSummary[]> {
  await store.flush();
  const rows = await scalarSeriesOf(store, modelId);
  return rows.map((r) => ({
    title: r.title,
    series: r.series,
    last: decodeNumber(JSON.parse(r.last)),
    lastIteration: r.last_iter,
    min: r.min,
    max: r.max,
    count: r.count,
    maxIteration: r.max_iter,
  }));
}

/** The plots of a model matching `filter` (the last report per iteration). */
export async function reportedPlots(
  store: Store,
  modelId: string,
  filter: ReportSelector,
): Promise<ReportedPlot[]> {
  await store.flush();
  const ids = await plotEventIds(store, modelId, checkSelector(filter));
  const events = await eventsById(store, ids);
  const out: ReportedPlot[] = [];
  for (const id of ids) {
    const e = events.get(id);
    if (e?.type !== "metric.plot") continue;
    const figure = jsonSafe(e.data.figure, e.data.kind === "table") as typeof e.data.figure;
    out.push({ ...e.data, figure, reportedAt: new Date(hlcWall(e.at)) });
  }
  return out;
}

/**
 * A figure with NaN and ±Infinity written as `"nan"`, `"inf"` and `"-inf"`, as ClearML stores
 * them in plots, so `JSON.stringify` keeps them (it would write `null`). Plotly reads such a
 * string as a missing value. Table cells use pandas' spelling, as ClearML's tables do: `"NaN"`,
 * `"Inf"`, `"-Inf"`.
 */
export function jsonSafe(v: unknown, table = false): unknown {
  if (typeof v === "number") {
    if (Number.isFinite(v)) return v;
    const s = Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
    return table ? s.replace("nan", "NaN").replace("inf", "Inf") : s;
  }
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = typeof x === "number" && Number.isFinite(x) ? x : jsonSafe(x, table);
      if (y !== x) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x, table);
    return out;
  }
  return v;
}
