/**
 * The store: one libSQL database holding the append-only event log and the projections, and a
 * blob folder for weights. `Store` opens it, appends local events and ingests a peer's, folds
 * them into the projections in the same transaction, replays the log (`rebuild`) and closes.
 *
 * Its rooms: `migrate.ts` (schema versions), `writer.ts` (the one writer: a queue in this
 * process, `BEGIN IMMEDIATE` across processes), `report_queue.ts` (batched reports), `raw.ts`
 * (raw reads on the read connection), `held_models.ts` (the rows of models just edited, so the
 * next edit of one need not read them), `log.ts` (event rows), `ingest.ts` (a peer's events:
 * checks and the bulk write), `default.ts` (the default store), `doctor.ts` (checks),
 * `quarantine.ts` (sync's held events), `scope_gone.ts` (models out of a server's scope).
 * `Store` is the one class behind every room.
 *
 * Reports are queued and written in batches: when {@link StoreOptions.reportBatchPoints}
 * points are pending, every {@link StoreOptions.reportFlushMs} milliseconds, on `flush()`,
 * on `close()`, and when the program's event loop runs dry (Deno's `beforeunload`). A process
 * killed by a signal or ended with `Deno.exit()` loses at most the reports of the last
 * `reportFlushMs` (default 1 s) that were not flushed; every awaited durable operation is
 * committed before its promise resolves.
 *
 * Over 600 lines: the one `Store` class with its option checks; the PostgreSQL branches (open,
 * stream locks, no `max_at` row) are a few lines each, beside the paths they change.
 *
 * @module
 */
import { type DbClient, type Dialect, dialectOf, isPostgresUrl } from "./db.ts";
import { lockStreams, PostgresClient } from "./pg.ts";
import { DEFAULT_MAX_SKEW_MS, Hlc, newOrigin } from "../clock.ts";
import type { EventPayloads, NewEvent, StoredEvent } from "../events.ts";
import { InvalidArgumentError, ModelNotFoundError, ModelogError } from "../errors.ts";
import { PROJECTION_TABLES } from "../projections/schema.ts";
import { type HeldModel, Projection } from "../projections/project.ts";
import { BlobStore } from "../weights/blobs.ts";
import { sweepStaleTemp } from "../weights/blob_sweep.ts";
import { migrate } from "./migrate.ts";
import {
  corrupt,
  type Executor,
  fileUrl,
  isNotADatabase,
  openConnections,
  Writer,
} from "./writer.ts";
import { ReportQueue } from "./report_queue.ts";
import { readAll, readOne, readValues, registerReader, type SqlArg } from "./raw.ts";
import { defaultHome } from "./home.ts";
import { checkLocation, makeDir, refuseEmptyFile } from "./location.ts";
import { stamp, toEvent } from "./log.ts";
import { type Head, readForAppend, writeStatements } from "./append.ts";
import { checkLocal } from "./integrity.ts";
import { HeldModels } from "./held_models.ts";
import { ingestEvents, type RefusedEvent } from "./ingest.ts";
import { rebuildProjections } from "./rebuild.ts";
import { applyQuarantine, type QuarantineChange } from "./quarantine.ts";
import { applyScopeGone } from "./scope_gone.ts";
import { join, resolve } from "node:path";
import { userInfo } from "node:os";

export type { SqlArg } from "./raw.ts";
export type { RefusedEvent } from "./ingest.ts";

/** Options of {@link openStore}. */
export interface StoreOptions {
  /** The database file. Default: `<home>/modelog.db`. */
  path?: string;
  /** The store's folder (database, blobs, cache). Default: `MODELOG_HOME` or `~/.modelog`. */
  home?: string;
  /**
   * A database URL instead of a file: `libsql://…`, `http(s)://…` (sqld or Turso) or `file:…`,
   * passed straight to `@libsql/client`; or `postgres://…` (a server database on PostgreSQL).
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
  /**
   * How far ahead of this machine's clock an event's time may be, in ms (default one day, as
   * the server's push check). Beyond it the clock does not adopt a time (see `clock.ts`) and
   * `ingest` refuses the event.
   */
  maxClockSkewMs?: number;
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

/** Tuning knobs of a store (the numeric and durability options). */
type StoreTuning = {
  synchronous: "normal" | "full";
  busyTimeoutMs: number;
  reportBatchPoints: number;
  reportHighWater: number;
  reportFlushMs: number;
  pointsPerEvent: number;
  maxClockSkewMs: number;
};

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
 * import assert from "node:assert/strict";
 * import { openStore } from "../../mod.ts";
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * assert.ok(store.path.endsWith("modelog.db"));
 * assert.equal(await store.schemaVersion() > 0, true);
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
  readonly #writer: Writer;
  readonly #r: DbClient;
  readonly #dialect: Dialect;
  readonly #remoteDb: boolean;
  readonly #clock: Hlc;
  #closed = false;
  readonly #reports: ReportQueue;
  /** The rows of models this store just edited (a local database only: `held_models.ts`). */
  readonly #held: HeldModels | undefined;

  private constructor(
    home: string,
    path: string,
    origin: string,
    w: DbClient,
    r: DbClient,
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
    const assertOpen = () => this.#assertOpen();
    this.#writer = new Writer(w, {
      path,
      remote,
      busyTimeoutMs: opts.busyTimeoutMs,
      synchronous: opts.synchronous,
    }, assertOpen);
    this.#r = r;
    this.#dialect = dialectOf(w);
    this.#held = this.#writer.native ? new HeldModels(this.#writer) : undefined;
    registerReader(this, { client: r, assertOpen, dialect: this.#dialect });
    // One clock per process on this store: the suffix keeps two processes' stamps distinct.
    this.#clock = new Hlc(`${origin}-${newOrigin().slice(0, 6)}`, Date.now, opts.maxClockSkewMs);
    this.#reports = new ReportQueue({
      now: () => this.#clock.now(),
      append: (events) => this.append(events),
      closed: () => this.#closed,
    }, opts);
  }

  /** Opens (creating and migrating if needed) a store. Prefer {@link openStore}. */
  static async open(options: StoreOptions = {}): Promise<Store> {
    checkLocation(options);
    const home = resolve(options.home ?? (options.path ? join(options.path, "..") : defaultHome()));
    const path = resolve(options.path ?? join(home, "modelog.db"));
    await makeDir(home, "home");
    await makeDir(join(path, ".."), "path");
    if (options.url === undefined) await refuseEmptyFile(path);
    const opts = {
      synchronous: options.synchronous ?? "normal",
      busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
      reportBatchPoints: options.reportBatchPoints ?? 20_000,
      reportHighWater: options.reportHighWater ?? 100_000,
      reportFlushMs: options.reportFlushMs ?? 1_000,
      pointsPerEvent: options.pointsPerEvent ?? 5_000,
      maxClockSkewMs: options.maxClockSkewMs ?? DEFAULT_MAX_SKEW_MS,
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
    const url = options.url ?? fileUrl(path);
    if (isPostgresUrl(url)) {
      const where = url.replace(/\/\/[^@/]*@/, "//"); // no password in messages
      const pg = new PostgresClient(url);
      const origin = await migrate(pg, where, true).catch((e) =>
        pg.close().then(() => Promise.reject(e))
      );
      const blobsDir = resolve(options.blobsDir ?? join(home, "blobs"));
      return new Store(home, where, origin, pg, pg, opts, true, blobsDir);
    }
    const cfg = options.authToken ? { url, authToken: options.authToken } : { url };
    const where = remote ? url : path;
    let opened;
    try {
      opened = await openConnections(
        cfg,
        { path, remote, busyTimeoutMs: opts.busyTimeoutMs, synchronous: opts.synchronous },
        (w) => migrate(w, where, remote),
      );
    } catch (e) {
      if (e instanceof ModelogError) throw e;
      if (isNotADatabase(e)) throw corrupt(where, e);
      const code = String((e as { code?: string })?.code ?? "");
      if (options.url !== undefined && /^URL_/.test(code)) {
        throw new InvalidArgumentError("url", options.url, String((e as Error).message ?? e));
      }
      throw e;
    }
    const { w, r, value: origin } = opened;
    const blobsDir = resolve(options.blobsDir ?? join(home, "blobs"));
    // Temp files a killed writer left (only old ones: a live writer elsewhere is not hurt).
    await sweepStaleTemp(blobsDir).catch(() => {});
    return new Store(home, where, origin, w, r, opts, remote, blobsDir);
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new ModelogError("STORE_CLOSED", `Store ${JSON.stringify(this.path)} is closed`);
    }
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
    return this.#writer.tx(async (x) => {
      if (this.#dialect === "postgres") await lockStreams(x, events);
      // One read for the clock, the check and the rows the folds need, inside the
      // transaction: a remove committed just before cannot slip between.
      const p = new Projection();
      const head = await readForAppend(x, this.#dialect, p, p.preloads(events), {
        clock: this.#dialect !== "postgres",
        ...(options.requireModel !== undefined ? { live: options.requireModel } : {}),
      });
      if (!head.live) throw new ModelNotFoundError(options.requireModel!);
      this.#observe(head);
      const stored = this.#stampLocal(events);
      await this.#write(x, p, stored, false, head);
      return stored;
    });
  }

  /**
   * @internal The model API's write (`BaseModel`): in one transaction, reads model `id` as
   * stored now (row, tags, metadata), asks `plan` for the events to append given it (none:
   * nothing is written), appends and folds them, and returns the model as the fold left it:
   * what a reload right after the commit would read (undefined when it would find no model).
   * Unless `create`, `MODEL_NOT_FOUND` when the model does not exist or is removed. `plan`
   * gets undefined when the model is not visible (absent, removed, or out of this device's
   * scope); it runs inside the transaction and must not await. Events known beforehand (a
   * creation) may be given instead of `plan`: their rows are then read in the same statement.
   */
  editModel(
    id: string,
    plan: ((current: HeldModel | undefined) => NewEvent[] | undefined) | NewEvent[],
    options: { create?: boolean } = {},
  ): Promise<{ events: StoredEvent[]; model: HeldModel | undefined }> {
    const stream = `model:${id}`;
    return this.#writer.tx(async (x) => {
      const pg = this.#dialect === "postgres";
      const known = Array.isArray(plan) ? plan : undefined;
      if (pg) await lockStreams(x, [{ stream }, ...(known ?? [])]);
      const p = new Projection();
      const have = p.modelPreloads(id);
      // The model's own rows are read whatever the events: read only what else folds need.
      const loaded = new Set(have.map((pl) => pl.table));
      const others = (events: readonly NewEvent[]) =>
        p.preloads(events).flatMap((pl) => {
          if (!loaded.has(pl.table) || pl.columns.length !== 1) return [pl];
          const keys = pl.keys.filter((k) => k[0] !== id);
          return keys.length ? [{ ...pl, keys }] : [];
        });
      const kept = await this.#held?.lookup(x, id);
      let head: Head;
      if (kept) {
        for (const pl of have) p.load(pl, kept.tables.get(pl.table) ?? []);
        const more = known ? others(known) : [];
        head = kept.head;
        if (more.length > 0) await readForAppend(x, this.#dialect, p, more, { clock: false });
      } else {
        head = await readForAppend(
          x,
          this.#dialect,
          p,
          known ? [...have, ...others(known)] : have,
          { clock: !pg, inScope: id },
        );
      }
      const visible = (m: HeldModel | undefined) =>
        m && m.row.created === 1 && m.row.removed === 0 && head.inScope ? m : undefined;
      const held = p.model(id);
      if (!options.create && !(held && held.row.created === 1 && held.row.removed === 0)) {
        throw new ModelNotFoundError(id);
      }
      const current = visible(held);
      const events = known ?? (plan as (c: HeldModel | undefined) => NewEvent[] | undefined)(
        current,
      ) ?? [];
      if (events.length === 0) {
        this.#held?.keep(id, p, head, []);
        return { events: [], model: current };
      }
      if (!known) {
        if (pg) await lockStreams(x, events.filter((e) => e.stream !== stream));
        const more = others(events);
        if (more.length > 0) await readForAppend(x, this.#dialect, p, more, { clock: false });
      }
      this.#observe(head);
      const stored = this.#stampLocal(events);
      await this.#write(x, p, stored, false, head);
      this.#held?.keep(id, p, head, stored);
      return { events: stored, model: visible(p.model(id)) };
    });
  }

  /** Moves the clock past the log's newest time (see `maxAtStatement`). */
  #observe(head: Head): void {
    if (head.maxAt !== undefined) this.#clock.observe(head.maxAt);
    if (head.tailAt !== undefined) this.#clock.observe(head.tailAt);
  }

  /** Stamps local events with ids and the clock; refuses what a peer would refuse. */
  #stampLocal(events: NewEvent[]): StoredEvent[] {
    const stored = events.map((e) => stamp(e, e.at ?? this.#clock.now(), this.origin, this.actor));
    // What a peer would refuse must not enter the log: it could never sync. Scalar batches
    // are skipped: the report queue checks every point as it is queued (the hot path).
    checkLocal(stored);
    return stored;
  }

  /**
   * Ingests events from elsewhere (a sync peer): validates each, skips ids already stored, and
   * applies the rest in one transaction. Returns the events that were new.
   *
   * An event stamped beyond the clock-skew limit (`maxClockSkewMs` ahead of this machine's
   * clock: the rule the server's push check applies) is refused and the rest of the batch goes
   * on; the refused ones are handed to `onRefused` (without it, a warning names them). With
   * `plainData`, the events were parsed from JSON holding no non-finite marker (see
   * `ingest.ts`).
   */
  ingest(
    events: unknown[],
    options: {
      remote?: boolean;
      onRefused?: (refused: RefusedEvent[]) => void;
      plainData?: boolean;
    } = {},
  ): Promise<StoredEvent[]> {
    return ingestEvents(
      { writer: this.#writer, dialect: this.#dialect, clock: this.#clock },
      events,
      options,
    );
  }

  /**
   * Inside a transaction: folds the events over the rows `p` holds, writes log + projections.
   * `head` is what the transaction read for the clock (undefined: not read).
   */
  async #write(
    x: Executor,
    p: Projection,
    events: StoredEvent[],
    remote: boolean,
    head: Head | undefined,
    texts?: Map<StoredEvent, string>,
  ): Promise<void> {
    if (events.length === 0) return;
    for (const e of events) p.apply(e);
    const stmts = writeStatements(p, events, remote, this.#dialect, head, texts);
    for (const s of stmts) await x.execute(s);
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
    return this.#reports.scalar(modelId, title, series, value, iteration);
  }

  /** Queues a plot event (a `metric.plot`). Same back-pressure contract as `queueScalar`. */
  queuePlot(modelId: string, data: EventPayloads["metric.plot"]): void | Promise<void> {
    this.#assertOpen();
    // Checked now, not when its batch is written: one bad plot must not hold up the batch.
    const e = { stream: `model:${modelId}`, type: "metric.plot" as const, data };
    checkLocal([stamp(e, this.#clock.now(), this.origin, this.actor)]);
    return this.#reports.plot(modelId, data);
  }

  /**
   * @internal Tracks a report that waits for its model's creation: `flush()` waits for it, and
   * a failure nobody awaited is thrown by the next `flush()`.
   */
  trackReport(p: Promise<unknown>): void {
    this.#reports.track(p);
  }

  /** Writes every queued report; rejects with the first error a background flush met. */
  flush(): Promise<void> {
    return this.#reports.flush();
  }

  /** Number of report points (and plots) waiting in the queue. */
  get pendingReports(): number {
    return this.#reports.pending;
  }

  // ---------------------------------------------------------------- reads

  /** Reads events in local order after `afterSeq`. */
  async readEvents(
    options: { afterSeq?: number; limit?: number; stream?: string; localOnly?: boolean } = {},
  ): Promise<StoredEvent[]> {
    const where = ["seq > ?"];
    const args: SqlArg[] = [options.afterSeq ?? 0];
    if (options.stream) {
      where.push("stream = ?");
      args.push(options.stream);
    }
    if (options.localOnly) where.push("remote = 0");
    args.push(options.limit ?? 1000);
    const rows = await readAll<Record<string, unknown>>(
      this,
      `SELECT seq, id, stream, type, at, origin, v, actor, data, checksum FROM events
       WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
      args,
    );
    return rows.map(toEvent);
  }

  /** The events of one stream, newest first. */
  async streamEvents(stream: string, limit = 1000): Promise<StoredEvent[]> {
    const rows = await readAll<Record<string, unknown>>(
      this,
      `SELECT seq, id, stream, type, at, origin, v, actor, data, checksum FROM events
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
      const rows = await readAll<Record<string, unknown>>(
        this,
        `SELECT seq, id, stream, type, at, origin, v, actor, data, checksum FROM events
         WHERE id IN (${part.map(() => "?").join(",")})`,
        part,
      );
      for (const r of rows) out.set(String(r.id), toEvent(r));
    }
    return out;
  }

  /** Reads or writes a small key/value in the store (sync cursors and the like). */
  async getState(key: string): Promise<string | undefined> {
    const r = await readOne<{ value: string }>(
      this,
      "SELECT value FROM sync_state WHERE key = ?",
      [key],
    );
    return r?.value;
  }

  /** Sets a key/value durably. */
  async setState(key: string, value: string): Promise<void> {
    await this.#writer.run({
      sql:
        "INSERT INTO sync_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      args: [key, value],
    });
  }

  /**
   * Runs one write statement on a table outside the event log (the server's upload states,
   * `upload_states.ts`); returns how many rows it changed.
   */
  async writeRow(sql: string, args: (string | number | null)[]): Promise<number> {
    this.#assertOpen();
    return (await this.#writer.run({ sql, args })).rowsAffected;
  }

  /** Holds back, releases or drops events in the sync quarantine, in one transaction. */
  async changeQuarantine(change: QuarantineChange): Promise<void> {
    await this.#writer.tx((x) => applyQuarantine(x, change));
  }

  /**
   * Marks models as gone from a server's scope (`gone`), or back in it (`back`), in one
   * transaction (see `scope_gone.ts`).
   */
  async changeScopeGone(
    change: { server: string; gone?: string[]; back?: string[] },
  ): Promise<void> {
    await this.#writer.tx((x) => applyScopeGone(x, change));
  }

  // ---------------------------------------------------------------- rebuild and dump

  /**
   * Replays the whole log into fresh projections with the same fold the append path uses; the
   * result equals the incremental state. A local store is rebuilt beside the live one in pages
   * (bounded memory) and swapped in under one short write transaction (see `rebuild.ts`).
   */
  async rebuild(options: { onProgress?: (done: number) => void } = {}): Promise<RebuildResult> {
    await this.flush();
    this.#assertOpen();
    const t0 = performance.now();
    const n = await rebuildProjections(
      { path: this.path, remote: this.#remoteDb, writer: this.#writer, reader: this.#r },
      options.onProgress,
    );
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
      out[t.name] = await readValues(this, `SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`);
    }
    return out;
  }

  /** The schema version of the database. */
  async schemaVersion(): Promise<number> {
    const r = await readOne<{ value: string }>(
      this,
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
        await this.#writer.exclusive(() => Promise.resolve());
      } while (this.#reports.pending > 0 || this.#reports.writing);
    } catch (e) {
      failure = { error: e };
      await this.#writer.exclusive(() => Promise.resolve());
    }
    if (this.#closed) return; // a concurrent close() finished first
    this.#closed = true;
    this.#reports.dispose();
    await this.#writer.close();
    if (!this.#remoteDb) await this.#r.close();
    if (failure) throw failure.error;
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
