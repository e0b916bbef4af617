/**
 * The report queue: scalar points and plots wait here and are written in batches, as
 * `metric.scalars` events of at most `pointsPerEvent` points and `metric.plot` events.
 *
 * A batch is written when `reportBatchPoints` points are pending, `reportFlushMs` after the
 * first point queued since the last write, on `flush()`, and when the program's event loop runs
 * dry (Deno's `beforeunload`). Past `reportHighWater` pending points a report returns a promise
 * to wait on (back-pressure).
 *
 * A batch that fails (another process holds the write lock past the busy timeout, the disk is
 * full) is put back at the head of the queue, whole, and retried by the next timer, batch or
 * `flush()`; nothing queued is dropped. Its points still count as pending, so while the store
 * cannot be written a report loop meets the high-water mark and waits on each retry: the queue
 * stays bounded by `reportHighWater` plus one batch. A `flush()` whose own attempt fails rejects
 * with that error and keeps the points for the next try; `close()` after such a failure
 * rejects too (those points are lost only then, and the caller is told).
 *
 * @module
 */
import { encodeNumber, type EventPayloads, type NewEvent } from "../events.ts";
import { nextTurn } from "./writer.ts";

/** The queue's knobs (see `StoreOptions`). */
export interface ReportQueueOptions {
  /** Pending points that trigger a background flush. */
  reportBatchPoints: number;
  /** Pending points at which a report returns a promise to wait on. */
  reportHighWater: number;
  /** Longest time a report waits, in ms. */
  reportFlushMs: number;
  /** Points per `metric.scalars` event. */
  pointsPerEvent: number;
}

/** What the queue needs from its store. */
export interface ReportSink {
  /** The store's clock: stamps each chunk and plot when it is reported. */
  now(): string;
  /** Appends a batch durably. */
  append(events: NewEvent[]): Promise<unknown>;
  /** Whether the store is closed (no timer is armed then). */
  closed(): boolean;
}

/** A run of queued points, stamped when its first point was reported. */
interface PendingChunk {
  at: string;
  iters: number[];
  values: EventPayloads["metric.scalars"]["values"];
}

/** A pending scalar series. */
interface PendingSeries {
  modelId: string;
  title: string;
  series: string;
  /** Points in chunks of at most `pointsPerEvent` (one event each): no big array to grow. */
  chunks: PendingChunk[];
  /** The chunk being filled (the last of `chunks`). */
  cur: PendingChunk;
}

/** What a plot counts for against the batch and high-water marks (about one per 64 bytes). */
function plotWeight(data: EventPayloads["metric.plot"]): number {
  return 1 + Math.floor(JSON.stringify(data.figure.data).length / 64);
}

/** Queued reports of one store, with their batching timer and exit hook. */
export class ReportQueue {
  /** Pending scalars: model id → title → series (nested maps: no key string per report). */
  #pending = new Map<string, Map<string, Map<string, PendingSeries>>>();
  /** The series the last point went to (in `#pending`), or null. */
  #last: PendingSeries | null = null;
  #plots: NewEvent[] = [];
  /** A batch whose write failed: written first by the next try (its points stay in `#count`). */
  #retained: NewEvent[] = [];
  #count = 0;
  /** The batch being written; resolves to its failure, if it failed. */
  #flushing: Promise<{ error: unknown } | undefined> | null = null;
  #error: unknown = null;
  #inflight = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #sink: ReportSink;
  readonly #opts: ReportQueueOptions;
  readonly #onUnload: EventListener;

  /**
   * Makes a queue and hooks it to `beforeunload` (until {@link dispose}).
   *
   * @param sink Where batches go.
   * @param options Batching knobs.
   */
  constructor(sink: ReportSink, options: ReportQueueOptions) {
    this.#sink = sink;
    this.#opts = options;
    this.#onUnload = (e) => {
      if (sink.closed() || (this.#count === 0 && !this.#flushing)) return;
      e.preventDefault?.();
      this.flush().catch((err) => console.error("modelog: flushing reports at exit failed:", err));
    };
    (globalThis as unknown as EventTarget).addEventListener("beforeunload", this.#onUnload);
  }

  /** Number of report points (and plots) waiting. */
  get pending(): number {
    return this.#count;
  }

  /** Whether a batch is being written. */
  get writing(): boolean {
    return this.#flushing !== null;
  }

  /** Queues one scalar point; see `Store.queueScalar`. */
  scalar(
    modelId: string,
    title: string,
    series: string,
    value: number,
    iteration: number,
  ): void | Promise<void> {
    // A report loop mostly names the series it named last: no map lookup then.
    let s = this.#last;
    if (s === null || s.title !== title || s.series !== series || s.modelId !== modelId) {
      s = this.#series(modelId, title, series);
    }
    let c = s.cur;
    if (c.iters.length >= this.#opts.pointsPerEvent) {
      c = s.cur = { at: this.#sink.now(), iters: [], values: [] };
      s.chunks.push(c);
    }
    c.iters.push(iteration);
    c.values.push(Number.isFinite(value) ? value : encodeNumber(value));
    if (++this.#count < this.#opts.reportBatchPoints) {
      if (this.#timer === null) this.#armTimer();
      return;
    }
    return this.#full(1);
  }

  /** The pending series of a point (made, with its first chunk stamped now, when new). */
  #series(modelId: string, title: string, series: string): PendingSeries {
    let m = this.#pending.get(modelId);
    if (!m) {
      m = new Map();
      this.#pending.set(modelId, m);
    }
    let t = m.get(title);
    if (!t) {
      t = new Map();
      m.set(title, t);
    }
    let s = t.get(series);
    if (!s) {
      const cur = { at: this.#sink.now(), iters: [], values: [] };
      s = { modelId, title, series, chunks: [cur], cur };
      t.set(series, s);
    }
    this.#last = s;
    return s;
  }

  /** Queues a plot; see `Store.queuePlot`. */
  plot(modelId: string, data: EventPayloads["metric.plot"]): void | Promise<void> {
    this.#plots.push({
      stream: `model:${modelId}`,
      type: "metric.plot",
      data,
      at: this.#sink.now(),
    });
    return this.#afterQueue(plotWeight(data));
  }

  #afterQueue(n: number): void | Promise<void> {
    this.#count += n;
    if (this.#count >= this.#opts.reportBatchPoints) return this.#full(n);
    this.#armTimer();
  }

  /** The batch mark is reached by a report of weight `n`: a batch starts (or is running). */
  #full(n: number): void | Promise<void> {
    const f = this.#flushing ?? this.#start();
    // Past the high-water mark the caller waits for the flush and then one event-loop turn:
    // libSQL frees a statement's native memory only after a macrotask, and a tight report
    // loop otherwise never yields one (flushes complete in microtasks), so its RSS grew
    // with every batch written (10M points: 550 MB peak instead of 260 MB).
    if (this.#count + n >= this.#opts.reportHighWater) return f.then(() => nextTurn());
  }

  /** Makes sure a timer will flush the queue within `reportFlushMs`. */
  #armTimer(): void {
    if (this.#timer !== null || this.#sink.closed()) return;
    const t = setTimeout(() => {
      this.#timer = null;
      this.#start().catch(() => {});
    }, this.#opts.reportFlushMs);
    Deno.unrefTimer(t as unknown as number);
    this.#timer = t;
  }

  #start(): Promise<{ error: unknown } | undefined> {
    if (this.#flushing) return this.#flushing;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const pending = this.#pending;
    const plots = this.#plots;
    // A batch that failed before goes first: its points were reported earlier.
    const events: NewEvent[] = this.#retained;
    const weight = this.#count;
    this.#retained = [];
    this.#pending = new Map();
    this.#last = null;
    this.#plots = [];
    this.#count = 0;
    for (const [modelId, m] of pending) {
      for (const s of [...m.values()].flatMap((t) => [...t.values()])) {
        for (const c of s.chunks) {
          events.push({
            stream: `model:${modelId}`,
            type: "metric.scalars",
            data: { title: s.title, series: s.series, iters: c.iters, values: c.values },
            at: c.at,
          });
        }
      }
    }
    events.push(...plots);
    if (events.length === 0) return Promise.resolve(undefined);
    this.#flushing = this.#sink.append(events).then(
      () => undefined,
      (error) => {
        // Put the whole batch back, ahead of what was queued meanwhile; it keeps counting
        // towards the high-water mark (back-pressure while the store cannot be written).
        this.#retained = events;
        this.#count += weight;
        return { error };
      },
    ).finally(() => {
      this.#flushing = null;
      // Reports queued meanwhile (or a failed batch) are retried within `reportFlushMs`.
      if (this.#count > 0) this.#armTimer();
    });
    return this.#flushing;
  }

  /**
   * Tracks a report that waits for its model's creation: {@link flush} waits for it, and a
   * failure nobody awaited is thrown by the next `flush()`.
   */
  track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    p.then(
      () => this.#inflight.delete(p),
      (e) => {
        this.#inflight.delete(p);
        this.#error ??= e;
      },
    );
  }

  /** Writes every queued report; rejects with the first error a background flush met. */
  async flush(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    for (;;) {
      // A write already running (a timer's or a batch's) is waited for; its failure is not
      // ours to report: its points are back in the queue and our own attempt retries them.
      if (this.#flushing) await this.#flushing;
      if (this.#count === 0) break;
      const failed = await this.#start();
      if (failed) throw failed.error;
    }
    if (this.#error) {
      const e = this.#error;
      this.#error = null;
      throw e;
    }
  }

  /** Stops the timer and unhooks `beforeunload` (the store is closing). */
  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    (globalThis as unknown as EventTarget).removeEventListener("beforeunload", this.#onUnload);
  }
}
