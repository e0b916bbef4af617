/**
 * Scalars in iteration order, a window at a time: the sweep behind `getReportedScalars` and
 * `iterateReportedScalars` (`read_back.ts`).
 *
 * A series is stored as `metric.scalars` batches (one `metric_chunks` row each: its event, its
 * size and its smallest and largest iteration). Batches of one device follow each other, but
 * batches of two devices, or a re-run that reports iterations again, overlap. The reader sweeps
 * the batches by smallest iteration: once the batches up to some point are loaded, every point
 * below the next unloaded batch's smallest iteration is final (no unloaded batch holds it), so
 * it is resolved (the last report by HLC wins) and handed on in iteration order, and only the
 * loaded points at or above that frontier stay in memory. One device's batches never overlap,
 * so they go through without a map or a sort: the parsed arrays are handed on as they are.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { eventDataById, type ScalarChunkRef } from "../projections/read.ts";
import { decodeData, decodeNumber, type EncodedNumber } from "../events.ts";

/** The iteration ClearML uses for single values. */
export const SINGLE_VALUE_ITERATION: number = -(2 ** 31);

/** The payload of a `metric.scalars` event, as far as a reader needs it. */
interface ScalarsData {
  iters: number[];
  values: (number | EncodedNumber)[];
}

/** A loaded batch: its points from `pos` on are not handed on yet. */
interface LoadedChunk {
  it: number[];
  val: number[];
  /** Its place in HLC order within the series (a later report wins). */
  rank: number;
  /** Iterations strictly increase. */
  sorted: boolean;
  pos: number;
}

/** Final points of a series, in iteration order (a run of a page, or the whole of it). */
export interface Run {
  x: number[];
  y: number[];
}

/** A batch's ref with its place in HLC order. */
export interface RankedRef {
  ref: ScalarChunkRef;
  rank: number;
}

/** The payload of a batch as arrays: values decoded in place, single values dropped. */
function loadChunk(text: string, rank: number, hasSingle: boolean): LoadedChunk {
  const d = decodeData<ScalarsData>(text);
  let it = d.iters;
  let val = d.values as number[];
  const n = it.length;
  for (let i = 0; i < n; i++) {
    const v = val[i]!;
    if (typeof v !== "number") val[i] = decodeNumber(v);
  }
  if (hasSingle) {
    const keep = it.map((x) => x !== SINGLE_VALUE_ITERATION);
    it = it.filter((_, i) => keep[i]);
    val = val.filter((_, i) => keep[i]);
  }
  return { it, val, rank, sorted: increasing(it), pos: 0 };
}

function increasing(it: readonly number[]): boolean {
  for (let i = 1; i < it.length; i++) if (it[i]! <= it[i - 1]!) return false;
  return true;
}

/**
 * Hands on the points of `pending` below `frontier`, in iteration order, and leaves the rest.
 * Sorted batches that do not overlap are cut at the frontier as they are; otherwise the points
 * go through a map in HLC order (the last report of an iteration wins) and are sorted.
 */
function takeBelow(pending: LoadedChunk[], frontier: number): { runs: Run[]; rest: LoadedChunk[] } {
  const ends = new Array<number>(pending.length);
  let prev = -Infinity;
  let plain = true;
  for (let c = 0; c < pending.length && plain; c++) {
    const { it, pos, sorted } = pending[c]!;
    let j = pos;
    while (j < it.length && it[j]! < frontier) j++;
    ends[c] = j;
    if (!sorted) plain = false;
    else if (j > pos) {
      if (it[pos]! <= prev) plain = false;
      prev = it[j - 1]!;
    }
  }
  const runs: Run[] = [];
  const rest: LoadedChunk[] = [];
  if (plain) {
    for (let c = 0; c < pending.length; c++) {
      const ch = pending[c]!;
      const j = ends[c]!;
      if (j > ch.pos) {
        const whole = ch.pos === 0 && j === ch.it.length;
        runs.push(
          whole
            ? { x: ch.it, y: ch.val }
            : { x: ch.it.slice(ch.pos, j), y: ch.val.slice(ch.pos, j) },
        );
        ch.pos = j;
      }
      if (ch.pos < ch.it.length) rest.push(ch);
    }
    return { runs, rest };
  }
  const last = new Map<number, number>();
  for (const ch of [...pending].sort((a, b) => a.rank - b.rank)) {
    const keepIt: number[] = [];
    const keepVal: number[] = [];
    for (let j = ch.pos; j < ch.it.length; j++) {
      const x = ch.it[j]!;
      if (x < frontier) last.set(x, ch.val[j]!);
      else {
        keepIt.push(x);
        keepVal.push(ch.val[j]!);
      }
    }
    if (keepIt.length > 0) {
      rest.push({ it: keepIt, val: keepVal, rank: ch.rank, sorted: increasing(keepIt), pos: 0 });
    }
  }
  rest.sort((a, b) => a.it[0]! - b.it[0]!);
  if (last.size > 0) {
    const x = [...last.keys()].sort((a, b) => a - b);
    const y = new Array<number>(x.length);
    for (let i = 0; i < x.length; i++) y[i] = last.get(x[i]!)!;
    runs.push({ x, y });
  }
  return { runs, rest };
}

/** One series' batches, in the order the sweep loads them (by smallest iteration). */
export interface SeriesGroup {
  /** The title. */
  title: string;
  /** The series. */
  series: string;
  /** Its batches holding more than single values, by smallest iteration, then HLC. */
  order: RankedRef[];
}

/**
 * A model's batches grouped by title and series, in the order `getReportedScalars` lists them
 * (the order of a plain object's keys: titles and series in the order they were first
 * reported); `refs` are in HLC order.
 */
export function seriesGroups(refs: readonly ScalarChunkRef[]): SeriesGroup[] {
  const titles: Record<string, Record<string, ScalarChunkRef[]>> = Object.create(null);
  for (const r of refs) {
    const t = titles[r.title] ??= Object.create(null) as Record<string, ScalarChunkRef[]>;
    (t[r.series] ??= []).push(r);
  }
  const out: SeriesGroup[] = [];
  for (const title in titles) {
    const t = titles[title]!;
    for (const series in t) out.push({ title, series, order: sweepOrder(t[series]!) });
  }
  return out;
}

/** A series' batches (in HLC order) ranked, single-value-only ones dropped, by smallest iteration. */
function sweepOrder(refs: readonly ScalarChunkRef[]): RankedRef[] {
  const order: RankedRef[] = [];
  for (let rank = 0; rank < refs.length; rank++) {
    const ref = refs[rank]!;
    if (ref.maxIter !== SINGLE_VALUE_ITERATION) order.push({ ref, rank });
  }
  let byMin = true;
  for (let i = 1; i < order.length && byMin; i++) {
    byMin = order[i]!.ref.minIter >= order[i - 1]!.ref.minIter;
  }
  if (!byMin) order.sort((a, b) => a.ref.minIter - b.ref.minIter || a.rank - b.rank);
  return order;
}

/**
 * Loads batch payloads in the order the sweep asks for them, series after series: one query
 * fetches the next batches up to `batchPoints` points (at most 500 events), into the next
 * series too, so many short series cost few queries. Holds at most one such window.
 */
export class PayloadLoader {
  readonly #store: Store;
  readonly #seq: ScalarChunkRef[];
  readonly #cache = new Map<string, string | undefined>();
  #at = 0;
  /** Points a query loads (about). */
  readonly batchPoints: number;

  constructor(store: Store, groups: readonly SeriesGroup[], batchPoints: number) {
    this.#store = store;
    this.#seq = groups.flatMap((g) => g.order.map((r) => r.ref));
    this.batchPoints = batchPoints;
  }

  /** The payload text of `ref` (undefined when its event is not stored); asked in order. */
  async text(ref: ScalarChunkRef): Promise<string | undefined> {
    if (!this.#cache.has(ref.eventId)) {
      while (this.#at < this.#seq.length && this.#seq[this.#at] !== ref) this.#at++;
      const ids: string[] = [];
      let points = 0;
      while (
        this.#at < this.#seq.length &&
        (ids.length === 0 || (points < this.batchPoints && ids.length < 500))
      ) {
        const r = this.#seq[this.#at++]!;
        ids.push(r.eventId);
        points += r.n;
      }
      if (ids.length === 0) ids.push(ref.eventId);
      const texts = await eventDataById(this.#store, ids);
      for (const id of ids) this.#cache.set(id, texts.get(id));
    }
    const text = this.#cache.get(ref.eventId);
    this.#cache.delete(ref.eventId);
    return text;
  }
}

/**
 * The final points of one series, in iteration order, as runs: loads about `batchPoints` points
 * of batches at a time and hands on what lies below the next batch's smallest iteration.
 */
export async function* seriesRuns(
  group: SeriesGroup,
  loader: PayloadLoader,
): AsyncGenerator<Run[]> {
  const { order } = group;
  let pending: LoadedChunk[] = [];
  let k = 0;
  while (k < order.length) {
    let points = 0;
    for (
      let first = true;
      k < order.length && (first || points < loader.batchPoints);
      first = false
    ) {
      const { ref, rank } = order[k++]!;
      points += ref.n;
      const text = await loader.text(ref);
      if (text !== undefined) {
        pending.push(loadChunk(text, rank, ref.minIter === SINGLE_VALUE_ITERATION));
      }
    }
    const frontier = k < order.length ? order[k]!.ref.minIter : Infinity;
    const { runs, rest } = takeBelow(pending, frontier);
    pending = rest;
    if (runs.length > 0) yield runs;
  }
}

/** Sets an own enumerable key (`__proto__` included, as a key and not the prototype). */
export function put<T>(o: Record<string, T>, key: string, value: T): T {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
}

export function concat(parts: number[][]): number[] {
  if (parts.length === 1) return parts[0]!;
  let out: number[] = [];
  // In slices, so no call passes more arguments than an engine allows.
  for (let i = 0; i < parts.length; i += 1000) out = out.concat(...parts.slice(i, i + 1000));
  return out;
}
