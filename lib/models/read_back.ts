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
  eventDataById,
  eventsById,
  loadModelView,
  modelEvents,
  plotEventIds,
  type ReportSelector,
  scalarChunkRefs,
  scalarSeriesOf,
  scopeGoneServers,
} from "../projections/read.ts";
import { decodeData, decodeNumber, type EncodedNumber, type MetadataEntry } from "../events.ts";
import { hlcWall } from "../clock.ts";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.ts";
import type { PlotResult } from "../reports/figures.ts";
import {
  concat,
  PayloadLoader,
  put,
  seriesGroups,
  seriesRuns,
  SINGLE_VALUE_ITERATION,
} from "./scalar_sweep.ts";

export { SINGLE_VALUE_ITERATION };

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
    const texts = await eventDataById(store, part.map((c) => c.eventId));
    for (const c of part) {
      const text = texts.get(c.eventId);
      if (text === undefined) continue;
      const d = decodeData<{ iters: number[]; values: EncodedNumber[] }>(text);
      let t = out.get(c.title);
      if (!t) out.set(c.title, t = new Map());
      let s = t.get(c.series);
      if (!s) t.set(c.series, s = new Map());
      const n = d.iters.length;
      for (let j = 0; j < n; j++) {
        const v = d.values[j]!;
        s.set(d.iters[j]!, typeof v === "number" ? v : decodeNumber(v));
      }
    }
  }
  return out;
}

/** Points a batch of `getReportedScalars` loads at once (the whole series is kept anyway). */
const READ_ALL_BATCH = 100_000;

/** The scalars of a model as `{ title: { series: { x, y } } }`, single values left out. */
export async function reportedScalars(
  store: Store,
  modelId: string,
  filter: { title?: string; series?: string },
): Promise<ReportedScalars> {
  await store.flush();
  const refs = await scalarChunkRefs(store, modelId, checkSelector(filter));
  const out: ReportedScalars = {};
  const groups = seriesGroups(refs);
  const loader = new PayloadLoader(store, groups, READ_ALL_BATCH);
  for (const group of groups) {
    const { title, series } = group;
    const xs: number[][] = [];
    const ys: number[][] = [];
    for await (const runs of seriesRuns(group, loader)) {
      for (const r of runs) {
        xs.push(r.x);
        ys.push(r.y);
      }
    }
    if (xs.length === 0) continue;
    const t = Object.hasOwn(out, title) ? out[title]! : put(out, title, {});
    put(t, series, { x: concat(xs), y: concat(ys) });
  }
  return out;
}

/** One page of a series' scalars, as {@link BaseModel.iterateReportedScalars} yields them. */
export interface ScalarPage {
  /** The title (metric). */
  title: string;
  /** The series (variant). */
  series: string;
  /** Iterations, strictly increasing (within the page and across a series' pages). */
  x: number[];
  /** The value at each iteration (the last report of an iteration wins). */
  y: number[];
}

/** What {@link BaseModel.iterateReportedScalars} reads, and in pages of how many points. */
export interface ScalarPageOptions {
  /** Only this title. */
  title?: string;
  /** Only this series. */
  series?: string;
  /** Points per page (a series' last page may hold fewer); default 10,000. */
  pageSize?: number;
}

/** Points per page unless told. */
export const DEFAULT_PAGE_SIZE = 10_000;

/** Checks the options of {@link scalarPages}. */
export function checkPageOptions(o: unknown): Required<Pick<ScalarPageOptions, "pageSize">> & {
  title?: string;
  series?: string;
} {
  const { pageSize = DEFAULT_PAGE_SIZE, ...rest } = checkSelector(o) as ScalarPageOptions;
  if (typeof pageSize !== "number" || !Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new InvalidArgumentError("pageSize", pageSize, "must be a positive integer");
  }
  if ((rest as ReportSelector).iteration !== undefined) {
    throw new InvalidArgumentError(
      "iteration",
      (rest as ReportSelector).iteration,
      "is not a scalar filter",
    );
  }
  return { pageSize, title: rest.title, series: rest.series };
}

/**
 * The scalars of a model in pages of `pageSize` points: series by series in
 * `getReportedScalars`' order, each in iteration order, single values left out. Holds about
 * a page of points at a time (plus the points of batches that overlap the current window).
 */
export async function* scalarPages(
  storeOf: () => Promise<Store>,
  modelId: string,
  options: ReturnType<typeof checkPageOptions>,
): AsyncGenerator<ScalarPage, void, undefined> {
  const { pageSize, title: onlyTitle, series: onlySeries } = options;
  const store = await storeOf();
  await store.flush();
  const refs = await scalarChunkRefs(store, modelId, { title: onlyTitle, series: onlySeries });
  const groups = seriesGroups(refs);
  const loader = new PayloadLoader(store, groups, pageSize);
  for (const group of groups) {
    const { title, series } = group;
    let x: number[] = [];
    let y: number[] = [];
    for await (const runs of seriesRuns(group, loader)) {
      for (const r of runs) {
        let i = 0;
        while (i < r.x.length) {
          const take = Math.min(pageSize - x.length, r.x.length - i);
          if (take === r.x.length && x.length === 0) {
            x = r.x;
            y = r.y;
          } else {
            for (let j = i; j < i + take; j++) {
              x.push(r.x[j]!);
              y.push(r.y[j]!);
            }
          }
          i += take;
          if (x.length === pageSize) {
            yield { title, series, x, y };
            x = [];
            y = [];
          }
        }
      }
    }
    if (x.length > 0) yield { title, series, x, y };
  }
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
