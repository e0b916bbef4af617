/**
 * The store: one libSQL database holding the append-only event log and the projections, and a
 * blob folder for weights. All writes go through one writer per store (a queue in this process,
 * `BEGIN IMMEDIATE` across processes); projections are updated in the append's transaction.
 *
 * Reports are queued and written in batches: when {@link StoreOptions.reportBatchPoints}
 * points are pending, every {@link StoreOptions.reportFlushMs} milliseconds, on `flush()`,
 * on `close()`, and when the program's event loop runs dry (Deno's `beforeunload`). A process
 * killed by a signal or ended with `Deno.exit()` loses at most the reports of the last
 * `reportFlushMs` (default 1 s) that were not flushed; every awaited durable operation is
 * committed before its promise resolves.
 *
 * @module
 */
import {
  type Client,
  createClient,
  type InStatement,
  type InValue,
  type ResultSet,
  type Row,
} from "../deps.ts";
import { Hlc, newOrigin, uuidv7 } from "../clock.ts";
import {
  decodeData,
  encodeData,
  encodeNumber,
  EVENT_VERSION,
  type EventPayloads,
  type EventType,
  type NewEvent,
  type StoredEvent,
  validateEvent,
} from "../events.ts";
import {
  InvalidArgumentError,
  ModelNotFoundError,
  ModelogError,
  StoreLockedError,
} from "../errors.ts";
import { MIGRATIONS, PROJECTION_TABLES, SCHEMA_VERSION } from "../projections/schema.ts";
import {
  type MetadataRow,
  type ModelRow,
  Projection,
  type SeriesRow,
  splitStream,
  type TagRow,
  type TaskModelRow,
  type TaskRow,
  upsertRows,
} from "../projections/project.ts";
import { BlobStore } from "../weights/blobs.ts";
import { join, resolve } from "node:path";
import { homedir, userInfo } from "node:os";

/** Options of {@link openStore}. */
export interface StoreOptions {
  /** The database file. Default: `<home>/modelog.db`. */
  path?: string;
  /** The store's folder (database, blobs, cache). Default: `MODELOG_HOME` or `~/.modelog`. */
  home?: string;
  /**
   * A libSQL URL for the database instead of a file: `libsql://…`, `http(s)://…` (sqld or
   * Turso) or `file:…`. Passed straight to `@libsql/client`.
   */
  url?: string;
  /** Auth token for a remote libSQL `url`. */
  authToken?: string;
  /** Where weights blobs live. Default: `<home>/blobs`. */
  blobsDir?: string;
  /** `normal` (default: WAL keeps the database consistent; an OS crash may lose the last commits) or `full`. */
  synchronous?: "normal" | "full";
  /** How long a write waits for another process's write lock, in ms (default 10000). */
  busyTimeoutMs?: number;
  /** Pending report points that trigger a background flush (default 20000). */
  reportBatchPoints?: number;
  /**
   * Pending report points at which `reportScalar` returns a promise to wait on (default
   * 100000). A tight report loop holds up to this many points plus one batch being written, so
   * it bounds the loop's memory (10,000,000 points: about 250 MB peak RSS at the default).
   */
  reportHighWater?: number;
  /** Longest time a report waits in the queue, in ms (default 1000). */
  reportFlushMs?: number;
  /** Points per `metric.scalars` event (default 5000). */
  pointsPerEvent?: number;
}

/** Where the default store lives: `MODELOG_HOME`, else `~/.modelog`. */
export function defaultHome(): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("MODELOG_HOME");
  } catch {
    env = undefined;
  }
  return resolve(env && env.length > 0 ? env : join(homedir(), ".modelog"));
}

function currentActor(): string {
  try {
    const u = Deno.env.get("MODELOG_USER") ?? Deno.env.get("USER");
    if (u) return u;
  } catch { /* no env permission */ }
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

const EVENT_COLUMNS = ["id", "stream", "type", "at", "origin", "v", "actor", "data", "remote"];

/** A pending scalar series in the report queue. */
/** A run of queued points, stamped when its first point was reported. */
interface PendingChunk {
  at: string;
  iters: number[];
  values: EventPayloads["metric.scalars"]["values"];
}

interface PendingSeries {
  title: string;
  series: string;
  /** Points in chunks of at most `pointsPerEvent` (one event each): no big array to grow. */
  chunks: PendingChunk[];
  /** The chunk being filled (the last of `chunks`). */
  cur: PendingChunk;
}

/** A value bound to a SQL parameter. */
export type SqlArg = null | string | number | bigint | boolean | Uint8Array | ArrayBuffer | Date;

/** Tuning knobs of a store (the numeric and durability options). */
type StoreTuning = {
  synchronous: "normal" | "full";
  busyTimeoutMs: number;
  reportBatchPoints: number;
  reportHighWater: number;
  reportFlushMs: number;
  pointsPerEvent: number;
};

/** Turns a libSQL row into a plain object with the given columns. */
function plain<T>(row: Row, columns: string[]): T {
  const o: Record<string, unknown> = {};
  for (const c of columns) o[c] = row[c];
  return o as T;
}

function rowsOf<T>(rs: { rows: Row[]; columns: string[] }): T[] {
  return rs.rows.map((r) => plain<T>(r, rs.columns));
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return code.startsWith("SQLITE_BUSY") || /database is locked/i.test(String(e));
}

/** Result of {@link Store.rebuild}. */
export interface RebuildResult {
  /** Events replayed. */
  events: number;
  /** Wall time in ms. */
  ms: number;
}

/**
 * An open modelog store. Get one with {@link openStore}.
 *
 * @example
 * ```ts
 * import { openStore } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * console.log(store.path.endsWith("modelog.db"));
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export class Store {
  /** The store's folder. */
  readonly home: string;
  /** The database file. */
  readonly path: string;
  /** This device's id (kept in the database). */
  readonly origin: string;
  /** The user name written into events. */
  readonly actor: string;
  /** Content-addressed weights. */
  readonly blobs: BlobStore;
  /** Folder for downloaded copies of remote weights. */
  readonly cacheDir: string;
  /**
   * Fetches a blob this store does not have (set by a `SyncWorker`: it downloads from the
   * modelog server by hash and verifies it). Used by `getLocalCopy()`.
   */
  blobFetcher: ((hash: string) => Promise<void>) | undefined;
  #w: Client;
  /** What writes run on: the writer connection, or a remote transaction. */
  #x: { execute(stmt: InStatement): Promise<ResultSet> };
  readonly #remoteDb: boolean;
  readonly #r: Client;
  readonly #clock: Hlc;
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #opts: StoreTuning;
  /** Pending scalars: model id → title → series (nested maps: no key string per report). */
  #pending = new Map<string, Map<string, Map<string, PendingSeries>>>();
  #pendingPlots: NewEvent[] = [];
  #pendingCount = 0;
  #flushing: Promise<void> | null = null;
  #flushError: unknown = null;
  #inflight = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #onUnload: EventListener;

  private constructor(
    home: string,
    path: string,
    origin: string,
    w: Client,
    r: Client,
    opts: StoreTuning,
    remote: boolean,
    blobsDir: string,
  ) {
    this.home = home;
    this.path = path;
    this.origin = origin;
    this.actor = currentActor();
    this.blobs = new BlobStore(blobsDir);
    this.#remoteDb = remote;
    this.cacheDir = join(home, "cache");
    this.#w = w;
    this.#x = w;
    this.#r = r;
    // One clock per process on this store: the suffix keeps two processes' stamps distinct.
    this.#clock = new Hlc(`${origin}-${newOrigin().slice(0, 6)}`);
    this.#opts = opts;
    this.#onUnload = (e) => {
      if (this.#closed || (this.#pendingCount === 0 && !this.#flushing)) return;
      e.preventDefault?.();
      this.flush().catch((err) => console.error("modelog: flushing reports at exit failed:", err));
    };
    (globalThis as unknown as EventTarget).addEventListener("beforeunload", this.#onUnload);
  }

  /** Opens (creating and migrating if needed) a store. Prefer {@link openStore}. */
  static async open(options: StoreOptions = {}): Promise<Store> {
    const home = resolve(options.home ?? (options.path ? join(options.path, "..") : defaultHome()));
    const path = resolve(options.path ?? join(home, "modelog.db"));
    await Deno.mkdir(home, { recursive: true });
    await Deno.mkdir(join(path, ".."), { recursive: true });
    const opts = {
      synchronous: options.synchronous ?? "normal",
      busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
      reportBatchPoints: options.reportBatchPoints ?? 20_000,
      reportHighWater: options.reportHighWater ?? 100_000,
      reportFlushMs: options.reportFlushMs ?? 1_000,
      pointsPerEvent: options.pointsPerEvent ?? 5_000,
    };
    for (const k of Object.keys(opts) as (keyof typeof opts)[]) {
      const v = opts[k];
      if (k !== "synchronous" && !(Number.isSafeInteger(v) && (v as number) > 0)) {
        throw new InvalidArgumentError(k, v, "must be a positive integer");
      }
    }
    if (opts.synchronous !== "normal" && opts.synchronous !== "full") {
      throw new InvalidArgumentError("synchronous", opts.synchronous, 'must be "normal" or "full"');
    }
    const remote = options.url !== undefined && !options.url.startsWith("file:");
    const url = options.url ?? "file:" + path;
    const cfg = options.authToken ? { url, authToken: options.authToken } : { url };
    const t0 = Date.now();
    for (let attempt = 0;; attempt++) {
      // Fresh connections on every attempt: after SQLITE_BUSY the native driver can leave a
      // statement unfinished on a connection, which breaks its later commits.
      const w = createClient(cfg);
      const r = remote ? w : createClient(cfg);
      try {
        if (!remote) {
          for (const c of [w, r]) {
            await c.execute(`PRAGMA busy_timeout = ${opts.busyTimeoutMs}`);
          }
          await w.execute("PRAGMA journal_mode = WAL");
          for (const c of [w, r]) {
            await c.execute(`PRAGMA synchronous = ${opts.synchronous.toUpperCase()}`);
          }
        }
        const origin = await migrate(w, remote ? url : path, remote);
        const blobsDir = resolve(options.blobsDir ?? join(home, "blobs"));
        return new Store(home, remote ? url : path, origin, w, r, opts, remote, blobsDir);
      } catch (e) {
        w.close();
        if (r !== w) r.close();
        if (!isBusy(e)) throw e;
        if (Date.now() - t0 > opts.busyTimeoutMs) {
          throw new StoreLockedError(path, { cause: e });
        }
        await new Promise((res) =>
          setTimeout(res, 10 + Math.random() * 40 * Math.min(attempt + 1, 5))
        );
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new ModelogError("STORE_CLOSED", `Store ${JSON.stringify(this.path)} is closed`);
    }
  }

  /** Runs `fn` as the only writer of this store in this process. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Runs `fn` inside `BEGIN IMMEDIATE` … `COMMIT` on the writer connection. */
  #tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.#assertOpen();
      if (this.#remoteDb) {
        const tx = await this.#w.transaction("write");
        this.#x = tx;
        try {
          const out = await fn();
          await tx.commit();
          return out;
        } catch (e) {
          await tx.rollback().catch(() => {});
          throw e;
        } finally {
          tx.close();
          this.#x = this.#w;
        }
      }
      try {
        await this.#w.execute("BEGIN IMMEDIATE");
      } catch (e) {
        if (isBusy(e)) {
          await this.#resetWriter();
          throw new StoreLockedError(this.path, { cause: e });
        }
        throw e;
      }
      try {
        const out = await fn();
        await this.#w.execute("COMMIT");
        return out;
      } catch (e) {
        try {
          await this.#w.execute("ROLLBACK");
        } catch { /* already rolled back */ }
        if (isBusy(e)) {
          await this.#resetWriter();
          throw new StoreLockedError(this.path, { cause: e });
        }
        throw e;
      }
    });
  }

  /**
   * Replaces the writer connection. After SQLITE_BUSY the native driver can leave a statement
   * unfinished on the connection, which makes every later COMMIT fail; a fresh connection
   * (with the same pragmas) is the reliable way back.
   */
  async #resetWriter(): Promise<void> {
    try {
      this.#w.close();
    } catch { /* already closed */ }
    const w = createClient({ url: "file:" + this.path });
    await w.execute(`PRAGMA busy_timeout = ${this.#opts.busyTimeoutMs}`);
    await w.execute(`PRAGMA synchronous = ${this.#opts.synchronous.toUpperCase()}`);
    this.#w = w;
    this.#x = w;
  }

  /**
   * Appends local events durably: resolves after the transaction (events and projections)
   * has committed. Returns the stored events, stamped with ids and clock. With `requireModel`,
   * nothing is written (`MODEL_NOT_FOUND`) unless that model exists and is not removed.
   */
  append(
    events: NewEvent[],
    options: { requireModel?: string } = {},
  ): Promise<StoredEvent[]> {
    return this.#tx(async () => {
      // Checked inside the transaction: a remove committed just before cannot slip between.
      if (options.requireModel !== undefined) {
        const live = await this.#x.execute({
          sql: "SELECT 1 FROM models WHERE id = ? AND created = 1 AND removed = 0",
          args: [options.requireModel],
        });
        if (live.rows.length === 0) throw new ModelNotFoundError(options.requireModel);
      }
      return await this.#commitLocal(events);
    });
  }

  async #commitLocal(events: NewEvent[]): Promise<StoredEvent[]> {
    const maxAt = await this.#x.execute("SELECT value FROM meta WHERE key = 'max_at'");
    if (maxAt.rows[0]) this.#clock.observe(String(maxAt.rows[0].value));
    const stored: StoredEvent[] = events.map((e) => ({
      id: uuidv7(),
      stream: e.stream,
      type: e.type,
      at: e.at ?? this.#clock.now(),
      origin: this.origin,
      v: EVENT_VERSION,
      actor: this.actor,
      data: e.data,
    }));
    // What a peer would refuse must not enter the log: it could never sync. Scalar batches
    // are skipped: the report queue checks every point as it is queued (the hot path).
    for (const e of stored) if (e.type !== "metric.scalars") validateEvent(e);
    await this.#write(stored, false);
    return stored;
  }

  /**
   * Ingests events from elsewhere (a sync peer): validates each, skips ids already stored, and
   * applies the rest in one transaction. Returns the events that were new.
   */
  async ingest(events: unknown[], options: { remote?: boolean } = {}): Promise<StoredEvent[]> {
    const valid = events.map((e) => validateEvent(e));
    const seen = new Set<string>();
    const unique = valid.filter((e) => !seen.has(e.id) && seen.add(e.id));
    return await this.#tx(async () => {
      const existing = new Set<string>();
      for (let i = 0; i < unique.length; i += 500) {
        const part = unique.slice(i, i + 500);
        const rs = await this.#x.execute({
          sql: `SELECT id FROM events WHERE id IN (${part.map(() => "?").join(",")})`,
          args: part.map((e) => e.id),
        });
        for (const r of rs.rows) existing.add(String(r.id));
      }
      const fresh = unique.filter((e) => !existing.has(e.id));
      for (const e of fresh) this.#clock.observe(e.at);
      await this.#write(fresh, options.remote ?? true);
      return fresh;
    });
  }

  /** Inside a transaction: loads the touched rows, folds the events, writes log + projections. */
  async #write(events: StoredEvent[], remote: boolean): Promise<void> {
    if (events.length === 0) return;
    const p = new Projection();
    await this.#loadFor(p, events);
    for (const e of events) p.apply(e);
    const stmts: InStatement[] = [];
    const rows = events.map((e) => ({
      id: e.id,
      stream: e.stream,
      type: e.type,
      at: e.at,
      origin: e.origin,
      v: e.v,
      actor: e.actor,
      data: encodeEventData(e),
      remote: remote ? 1 : 0,
    }));
    upsertRows(stmts, "events", EVENT_COLUMNS, rows, "INSERT");
    stmts.push(...p.statements());
    let maxAt = "";
    for (const e of events) if (e.at > maxAt) maxAt = e.at;
    stmts.push({
      sql: `INSERT INTO meta(key, value) VALUES ('max_at', ?)
            ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)`,
      args: [maxAt],
    });
    for (const s of stmts) await this.#x.execute(s);
  }

  async #loadFor(p: Projection, events: StoredEvent[]): Promise<void> {
    const modelIds = new Set<string>();
    const taskIds = new Set<string>();
    const tagModels = new Set<string>();
    const metaModels = new Set<string>();
    const linkKeys = new Map<string, [string, string, string]>();
    const linkRows = async (): Promise<TaskModelRow[]> => {
      const out: TaskModelRow[] = [];
      for (const k of linkKeys.values()) {
        const rs = await this.#x.execute({
          sql: "SELECT * FROM task_models WHERE task_id = ? AND role = ? AND name = ?",
          args: k,
        });
        out.push(...rowsOf<TaskModelRow>(rs));
      }
      return out;
    };
    const seriesModels = new Set<string>();
    const seriesKeys = new Set<string>();
    for (const e of events) {
      const [kind, id] = splitStream(e.stream);
      if (kind === "task") {
        taskIds.add(id);
        if (e.type === "task.model_connected") {
          const d = e.data as EventPayloads["task.model_connected"];
          linkKeys.set(`${id}\u0000${d.role}\u0000${d.name}`, [id, d.role, d.name]);
        }
        continue;
      }
      modelIds.add(id);
      if (e.type === "model.tags_changed" || e.type === "model.created") tagModels.add(id);
      else if (e.type === "model.metadata_changed") metaModels.add(id);
      else if (e.type === "metric.scalars") {
        const d = e.data as EventPayloads["metric.scalars"];
        seriesModels.add(id);
        seriesKeys.add(`${id}\u0000${d.title}\u0000${d.series}`);
      }
    }
    const w = this.#x;
    const inList = async <T>(table: string, col: string, ids: Set<string>): Promise<T[]> => {
      const out: T[] = [];
      const all = [...ids];
      for (let i = 0; i < all.length; i += 500) {
        const part = all.slice(i, i + 500);
        const rs = await w.execute({
          sql: `SELECT * FROM ${table} WHERE ${col} IN (${part.map(() => "?").join(",")})`,
          args: part,
        });
        out.push(...rowsOf<T>(rs));
      }
      return out;
    };
    p.load({
      models: await inList<ModelRow>("models", "id", modelIds),
      tags: await inList<TagRow>("model_tags", "model_id", tagModels),
      metadata: await inList<MetadataRow>("model_metadata", "model_id", metaModels),
      tasks: await inList<TaskRow>("tasks", "id", taskIds),
      // Only the links this batch writes (a task may hold many): one primary-key read each.
      taskModels: await linkRows(),
      // A model has few series: load them by model (the primary key's prefix) and keep those
      // this batch touches.
      series: (await inList<SeriesRow>("scalar_series", "model_id", seriesModels)).filter((r) =>
        seriesKeys.has(`${r.model_id}\u0000${r.title}\u0000${r.series}`)
      ),
    });
  }

  // ---------------------------------------------------------------- reports queue

  /**
   * Queues one scalar point. Returns nothing while the queue has room; past the high-water
   * mark it returns a promise that resolves when the queue has drained (await it for
   * back-pressure).
   */
  queueScalar(
    modelId: string,
    title: string,
    series: string,
    value: number,
    iteration: number,
  ): void | Promise<void> {
    this.#assertOpen();
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
      const cur = { at: this.#clock.now(), iters: [], values: [] };
      s = { title, series, chunks: [cur], cur };
      t.set(series, s);
    } else if (s.cur.iters.length >= this.#opts.pointsPerEvent) {
      s.cur = { at: this.#clock.now(), iters: [], values: [] };
      s.chunks.push(s.cur);
    }
    s.cur.iters.push(iteration);
    s.cur.values.push(Number.isFinite(value) ? value : encodeNumber(value));
    return this.#afterQueue(1);
  }

  /** Queues a plot event (a `metric.plot`). Same back-pressure contract as `queueScalar`. */
  queuePlot(modelId: string, data: EventPayloads["metric.plot"]): void | Promise<void> {
    this.#assertOpen();
    this.#pendingPlots.push({
      stream: `model:${modelId}`,
      type: "metric.plot",
      data,
      at: this.#clock.now(),
    });
    return this.#afterQueue(1 + Math.floor(JSON.stringify(data.figure.data).length / 64));
  }

  #afterQueue(n: number): void | Promise<void> {
    this.#pendingCount += n;
    if (this.#pendingCount >= this.#opts.reportBatchPoints) {
      const f = this.#startFlush();
      // Past the high-water mark the caller waits for the flush and then one event-loop turn:
      // libSQL frees a statement's native memory only after a macrotask, and a tight report
      // loop otherwise never yields one (flushes complete in microtasks), so its RSS grew
      // with every batch written (10M points: 550 MB peak instead of 260 MB).
      if (this.#pendingCount + n >= this.#opts.reportHighWater) return f.then(nextTurn);
      return;
    }
    this.#armTimer();
  }

  /** Makes sure a timer will flush the queue within `reportFlushMs`. */
  #armTimer(): void {
    if (this.#timer !== null || this.#closed) return;
    const t = setTimeout(() => {
      this.#timer = null;
      this.#startFlush().catch(() => {});
    }, this.#opts.reportFlushMs);
    Deno.unrefTimer(t as unknown as number);
    this.#timer = t;
  }

  #startFlush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const pending = this.#pending;
    const plots = this.#pendingPlots;
    this.#pending = new Map();
    this.#pendingPlots = [];
    this.#pendingCount = 0;
    const events: NewEvent[] = [];
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
    if (events.length === 0) return Promise.resolve();
    this.#flushing = this.append(events).then(
      () => {},
      (e) => {
        this.#flushError = e;
      },
    ).finally(() => {
      this.#flushing = null;
      // Reports queued meanwhile found this flush running (a timer that fired then did
      // nothing): bound their wait again.
      if (this.#pendingCount > 0) this.#armTimer();
    });
    return this.#flushing;
  }

  /**
   * @internal Tracks a report that waits for its model's creation: `flush()` waits for it, and
   * a failure nobody awaited is thrown by the next `flush()`.
   */
  trackReport(p: Promise<unknown>): void {
    this.#inflight.add(p);
    p.then(
      () => this.#inflight.delete(p),
      (e) => {
        this.#inflight.delete(p);
        this.#flushError ??= e;
      },
    );
  }

  /** Writes every queued report; rejects with the first error a background flush met. */
  async flush(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    while (this.#flushing || this.#pendingCount > 0) {
      if (this.#flushing) await this.#flushing;
      if (this.#pendingCount > 0) await this.#startFlush();
    }
    if (this.#flushError) {
      const e = this.#flushError;
      this.#flushError = null;
      throw e;
    }
  }

  /** Number of report points (and plots) waiting in the queue. */
  get pendingReports(): number {
    return this.#pendingCount;
  }

  // ---------------------------------------------------------------- reads

  /** Runs a read query on the reader connection. */
  async all<T>(sql: string, args: SqlArg[] = []): Promise<T[]> {
    this.#assertOpen();
    return rowsOf<T>(await this.#r.execute({ sql, args }));
  }

  /** The first row of a read query, or undefined. */
  async one<T>(sql: string, args: SqlArg[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, args))[0];
  }

  /** Reads events in local order after `afterSeq`. */
  async readEvents(
    options: { afterSeq?: number; limit?: number; stream?: string; localOnly?: boolean } = {},
  ): Promise<StoredEvent[]> {
    const where = ["seq > ?"];
    const args: InValue[] = [options.afterSeq ?? 0];
    if (options.stream) {
      where.push("stream = ?");
      args.push(options.stream);
    }
    if (options.localOnly) where.push("remote = 0");
    args.push(options.limit ?? 1000);
    const rows = await this.all<Record<string, unknown>>(
      `SELECT seq, id, stream, type, at, origin, v, actor, data FROM events
       WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
      args,
    );
    return rows.map(toEvent);
  }

  /** The events of one stream, newest first. */
  async streamEvents(stream: string, limit = 1000): Promise<StoredEvent[]> {
    const rows = await this.all<Record<string, unknown>>(
      `SELECT seq, id, stream, type, at, origin, v, actor, data FROM events
       WHERE stream = ? ORDER BY at DESC LIMIT ?`,
      [stream, limit],
    );
    return rows.map(toEvent);
  }

  /** Events by id (for figures and scalar chunks). */
  async eventsById(ids: string[]): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = await this.all<Record<string, unknown>>(
        `SELECT seq, id, stream, type, at, origin, v, actor, data FROM events
         WHERE id IN (${part.map(() => "?").join(",")})`,
        part,
      );
      for (const r of rows) out.set(String(r.id), toEvent(r));
    }
    return out;
  }

  /** Reads or writes a small key/value in the store (sync cursors and the like). */
  async getState(key: string): Promise<string | undefined> {
    const r = await this.one<{ value: string }>("SELECT value FROM sync_state WHERE key = ?", [
      key,
    ]);
    return r?.value;
  }

  /** Sets a key/value durably. */
  setState(key: string, value: string): Promise<void> {
    return this.#exclusive(async () => {
      this.#assertOpen();
      await this.#w.execute({
        sql:
          "INSERT INTO sync_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        args: [key, value],
      });
    });
  }

  // ---------------------------------------------------------------- rebuild and dump

  /**
   * Replays the whole log into fresh projection tables, in one transaction, with the same fold
   * the append path uses. The result equals the incremental state.
   */
  async rebuild(options: { onProgress?: (done: number) => void } = {}): Promise<RebuildResult> {
    await this.flush();
    const t0 = performance.now();
    const n = await this.#tx(async () => {
      // Secondary indexes are dropped and made again after the bulk write: building an index
      // once over the final rows is cheaper than keeping it up to date row by row.
      const indexes = projectionIndexes();
      for (const ix of indexes) await this.#x.execute(`DROP INDEX IF EXISTS ${ix.name}`);
      for (const t of PROJECTION_TABLES) await this.#x.execute(`DELETE FROM ${t.name}`);
      const p = new Projection();
      let after = 0;
      let count = 0;
      const page = 20_000;
      for (;;) {
        // Only what the fold reads: fewer columns make row decoding in the client cheaper.
        const rs = await this.#x.execute({
          sql: `SELECT seq, id, stream, type, at, data FROM events
                WHERE seq > ? ORDER BY seq LIMIT ?`,
          args: [after, page],
        });
        const rows = rs.rows;
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i]!;
          p.apply({
            id: r[1] as string,
            stream: r[2] as string,
            type: r[3] as EventType,
            at: r[4] as string,
            origin: "",
            v: EVENT_VERSION,
            actor: "",
            data: decodeData(r[5] as string),
          } as StoredEvent);
        }
        after = Number(rows[rows.length - 1]![0]);
        count += rows.length;
        // Chunk rows are insert-only: write them as we go to keep memory flat.
        const chunkStmts: InStatement[] = [];
        upsertRows(
          chunkStmts,
          "metric_chunks",
          ["event_id", "model_id", "title", "series", "n", "min_iter", "max_iter", "at"],
          p.chunks,
        );
        for (const s of chunkStmts) await this.#x.execute(s);
        p.chunks = [];
        options.onProgress?.(count);
        await new Promise((r) => setTimeout(r, 0));
      }
      for (const s of p.statements(true)) await this.#x.execute(s);
      for (const ix of indexes) await this.#x.execute(ix.sql);
      return count;
    });
    return { events: n, ms: performance.now() - t0 };
  }

  /**
   * A canonical dump of every projection table (rows sorted by primary key), for comparing
   * two stores or a store before and after `rebuild()`.
   */
  async dump(options: { tables?: string[] } = {}): Promise<Record<string, unknown[][]>> {
    this.#assertOpen();
    const out: Record<string, unknown[][]> = {};
    for (const t of PROJECTION_TABLES) {
      if (options.tables && !options.tables.includes(t.name)) continue;
      const rs = await this.#r.execute(`SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`);
      out[t.name] = rs.rows.map((r) => rs.columns.map((c) => r[c]));
    }
    return out;
  }

  /** The schema version of the database. */
  async schemaVersion(): Promise<number> {
    const r = await this.one<{ value: string }>(
      "SELECT value FROM meta WHERE key = 'schema_version'",
    );
    return Number(r?.value ?? 0);
  }

  /** Whether the store has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Flushes queued reports and closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: { error: unknown } | undefined;
    try {
      // Until nothing is left: reports may be queued while a flush or a write is awaited. The
      // store is marked closed right after the last check, with no await in between.
      do {
        await this.flush();
        await this.#exclusive(() => Promise.resolve());
      } while (this.#pendingCount > 0 || this.#flushing);
    } catch (e) {
      failure = { error: e };
      await this.#exclusive(() => Promise.resolve());
    }
    if (this.#closed) return; // a concurrent close() finished first
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    (globalThis as unknown as EventTarget).removeEventListener("beforeunload", this.#onUnload);
    this.#w.close();
    if (this.#r !== this.#w) this.#r.close();
    if (failure) throw failure.error;
  }
}

/**
 * `encodeData` for one event, with a fast path for scalar chunks: the report queue already
 * stores their non-finite values as the strings "NaN"/"Infinity"/"-Infinity", so when every
 * number is finite a plain `JSON.stringify` gives the same text as `encodeData` without calling
 * a replacer per point (which allocates a key string and a boxed number for each of them).
 */
function encodeEventData(e: StoredEvent): string {
  if (e.type === "metric.scalars") {
    const d = e.data as EventPayloads["metric.scalars"];
    let plain = true;
    for (const v of d.values) {
      if (typeof v === "number" && !Number.isFinite(v)) {
        plain = false;
        break;
      }
    }
    for (const i of d.iters) {
      if (!Number.isFinite(i)) {
        plain = false;
        break;
      }
    }
    if (plain) return JSON.stringify(d);
  }
  return encodeData(e.data);
}

/** Resolves after one macrotask (an event-loop turn). */
function nextTurn(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** The secondary indexes of the projection tables, from the schema's statements. */
function projectionIndexes(): { name: string; sql: string }[] {
  const tables = new Set(PROJECTION_TABLES.map((t) => t.name));
  const out: { name: string; sql: string }[] = [];
  for (const m of MIGRATIONS) {
    for (const sql of m) {
      const x = /^CREATE INDEX IF NOT EXISTS (\w+) ON (\w+)/.exec(sql);
      if (x && tables.has(x[2]!)) out.push({ name: x[1]!, sql });
    }
  }
  return out;
}

function toEvent(r: Record<string, unknown>): StoredEvent {
  return {
    seq: Number(r.seq),
    id: String(r.id),
    stream: String(r.stream),
    type: String(r.type) as EventType,
    at: String(r.at),
    origin: String(r.origin),
    v: Number(r.v),
    actor: String(r.actor),
    data: decodeData(String(r.data)),
  };
}

async function migrate(c: Client, path: string, remote: boolean): Promise<string> {
  const tx = remote ? await c.transaction("write") : undefined;
  const w = tx ?? c;
  if (!tx) await c.execute("BEGIN IMMEDIATE");
  try {
    await w.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const v = await w.execute("SELECT value FROM meta WHERE key = 'schema_version'");
    const current = v.rows[0] ? Number(v.rows[0].value) : 0;
    if (current > SCHEMA_VERSION) {
      throw new ModelogError(
        "SCHEMA_TOO_NEW",
        `Store ${
          JSON.stringify(path)
        } has schema version ${current}; this modelog understands up to ${SCHEMA_VERSION}: upgrade modelog`,
      );
    }
    for (let i = current; i < SCHEMA_VERSION; i++) {
      for (const sql of MIGRATIONS[i]!) await w.execute(sql);
    }
    await w.execute({
      sql:
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      args: [String(SCHEMA_VERSION)],
    });
    const o = await w.execute("SELECT value FROM meta WHERE key = 'origin'");
    let origin = o.rows[0] ? String(o.rows[0].value) : "";
    if (!origin) {
      origin = newOrigin();
      await w.execute({ sql: "INSERT INTO meta(key, value) VALUES ('origin', ?)", args: [origin] });
    }
    if (tx) await tx.commit();
    else await c.execute("COMMIT");
    return origin;
  } catch (e) {
    try {
      if (tx) await tx.rollback();
      else await c.execute("ROLLBACK");
    } catch { /* nothing to roll back */ }
    throw e;
  } finally {
    tx?.close();
  }
}

/**
 * Opens a store. With no options it opens the default store under `MODELOG_HOME`
 * (default `~/.modelog`); several stores may be open in one process.
 *
 * @example
 * ```ts
 * import { openStore } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export function openStore(options: StoreOptions = {}): Promise<Store> {
  return Store.open(options);
}

let configuredHome: string | undefined;
let defaultStorePromise: Promise<Store> | undefined;

/**
 * Sets where the default store lives (instead of `MODELOG_HOME`). Closes the default store if
 * it was open elsewhere.
 */
export async function configure(options: { home?: string } = {}): Promise<void> {
  const home = options.home ? resolve(options.home) : undefined;
  if (defaultStorePromise && home !== configuredHome) {
    const s = await defaultStorePromise.catch(() => undefined);
    defaultStorePromise = undefined;
    await s?.close();
  }
  configuredHome = home;
}

/** The process's default store, opened on first use. */
export function getDefaultStore(): Promise<Store> {
  if (defaultStorePromise) {
    return defaultStorePromise.then((s) => {
      if (!s.closed) return s;
      defaultStorePromise = undefined;
      return getDefaultStore();
    });
  }
  defaultStorePromise = Store.open({ home: configuredHome ?? defaultHome() });
  defaultStorePromise.catch(() => {
    defaultStorePromise = undefined;
  });
  return defaultStorePromise;
}
