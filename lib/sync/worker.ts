/**
 * The sync worker: pushes this store's events (weights blobs first, resumable) to a modelog
 * server and pulls everyone else's, merging them through the same projection code. Cursors
 * live in the store, so a restarted worker continues where it stopped; the server inserts by
 * event id, so a replay after a crash is harmless. A pull's `gone` list marks the models that
 * left a project-limited token's scope, and the model reads skip them (`store/scope_gone.ts`).
 *
 * Over 600 lines through its runnable examples (about 130 lines, run by `deno test --doc`) and
 * the quarantine's API docs; the code is one class (transport in `transport.ts`, the push round
 * with its quarantine in `push.ts`).
 *
 * @module
 */
import { getDefaultStore } from "../store/default.ts";
import type { Store } from "../store/store.ts";
import { InvalidArgumentError, SyncError } from "../errors.ts";
import { cursorSeq, START_CURSOR } from "./cursor.ts";
import {
  countLocalEventsAfter,
  eventsAfter,
  eventsById,
  eventSizesAfter,
  localWeightsUpdatesAfter,
  quarantineEntries,
  type QuarantineEntry,
  scopeGoneModels,
} from "../projections/read.ts";
import { blobPath, MAX_EVENTS_PER_PUSH, type PullResponse } from "./protocol.ts";
import { uploadBlob } from "./blob_upload.ts";
import { splitStream } from "../projections/fold.ts";
import { describeError, parsePull, sleep, Transport } from "./transport.ts";
import { PushRound, ServerReset } from "./push.ts";
import { setFallbackBlobFetcher, type WeightsSource } from "../weights/local_copy.ts";

export type { QuarantineEntry } from "../projections/read.ts";

/** The sync-state key of the server a store last synced with (its base URL). */
export const LAST_SERVER_KEY = "server";

/** Options of {@link SyncWorker}. */
export interface SyncWorkerOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** Bearer token (omit for a server without tokens). */
  token?: string;
  /** The store to sync (default: the default store). */
  store?: Store;
  /** Pause between rounds of the background loop, in ms (default 5000). */
  intervalMs?: number;
  /** Events per push / pull request (default 1000, at most 5000). */
  batchSize?: number;
  /** Attempts for a request that fails transiently (network, 5xx, 429) (default 6). */
  maxRetries?: number;
  /** First retry delay in ms (doubles each time, with jitter; default 200). */
  retryBaseMs?: number;
  /**
   * False: blobs go as offset requests one after the other even to a server that takes
   * numbered parts in flight (`blob-parts`); default true.
   */
  blobParts?: boolean;
  /** Progress of long work (for progress bars). */
  onProgress?: (p: SyncProgress) => void;
}

/** A progress report. */
export interface SyncProgress {
  /** What is being done (`blob`: uploading weights, `download`: fetching them). */
  phase: "push" | "pull" | "blob" | "download";
  /** Units done (events, or bytes for blobs). */
  done: number;
  /** Units in all, when known. */
  total?: number;
}

/** What {@link SyncWorker.status} reports. */
export interface SyncStatus {
  /** Local events not yet pushed. */
  pendingEvents: number;
  /** Bytes of weights referenced by unpushed events. */
  pendingBytes: number;
  /** The last time a push/pull round succeeded (kept in the store between runs). */
  lastSuccess: Date | undefined;
  /** The last error's message, if the last round failed (kept in the store between runs). */
  lastError: string | undefined;
  /** Events held back from this server (see {@link SyncWorker.quarantined}). */
  held: number;
  /** Whether the background loop runs. */
  running: boolean;
  /** Local sequence pushed so far. */
  pushCursor: number;
  /** Server sequence pulled so far. */
  pullCursor: number;
  /** Blob bytes sent by this worker since it was created. */
  bytesSent: number;
}

export { UPLOAD_PART } from "./blob_upload.ts";

/**
 * Syncs a store with a modelog server.
 *
 * @example A model made on one machine shows up on another
 * ```ts
 * import assert from "node:assert/strict";
 * import { Model, openStore, OutputModel, startServer, SyncWorker, Task } from "../../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
 * const laptop = await openStore({ home: `${dir}/laptop` });
 * const desktop = await openStore({ home: `${dir}/desktop` });
 * try {
 *   const task = await Task.init({ projectName: "demo", taskName: "train", store: laptop });
 *   const model = new OutputModel({ task, name: "net", tags: ["best"] });
 *   const file = `${dir}/net.bin`;
 *   await Deno.writeFile(file, new Uint8Array([1, 2, 3]));
 *   await model.updateWeights({ weightsFilename: file });
 *   await task.close();
 *
 *   const fromLaptop = new SyncWorker({ server: server.url, store: laptop });
 *   const sent = await fromLaptop.sync();
 *   assert.ok(sent.pushed > 0);
 *   assert.equal((await fromLaptop.status()).pendingEvents, 0);
 *
 *   const toDesktop = new SyncWorker({ server: server.url, store: desktop });
 *   const got = await toDesktop.sync();
 *   assert.equal(got.pulled, sent.pushed);
 *   const there = await Model.get(model.id, { store: desktop });
 *   assert.deepEqual([there.name, there.tags], ["net", ["best"]]);
 * } finally {
 *   await laptop.close();
 *   await desktop.close();
 *   await server.close();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class SyncWorker {
  readonly #server: string;
  readonly #token: string | undefined;
  #store: Store | undefined;
  readonly #interval: number;
  readonly #batch: number;
  readonly #retries: number;
  readonly #t: Transport;
  readonly #onProgress: ((p: SyncProgress) => void) | undefined;
  readonly #blobParts: boolean;
  #loop: Promise<void> | undefined;
  #stop: AbortController | undefined;
  #bytesSent = 0;
  #resets = 0;

  /** Creates a worker; nothing is sent until `push`, `pull`, `sync` or `start`. */
  constructor(options: SyncWorkerOptions) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("options", options, "must be an object");
    }
    let u: URL;
    try {
      u = new URL(options.server);
    } catch {
      throw new InvalidArgumentError("server", options.server, "must be an http(s) URL");
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      throw new InvalidArgumentError("server", options.server, "must be an http(s) URL");
    }
    if (options.token !== undefined && (typeof options.token !== "string" || !options.token)) {
      throw new InvalidArgumentError("token", "<hidden>", "must be a non-empty string");
    }
    const batch = options.batchSize ?? 1000;
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_EVENTS_PER_PUSH) {
      throw new InvalidArgumentError(
        "batchSize",
        batch,
        `must be an integer from 1 to ${MAX_EVENTS_PER_PUSH}`,
      );
    }
    const count = (name: string, v: unknown, min: number) => {
      if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < min)) {
        throw new InvalidArgumentError(name, v, `must be an integer of at least ${min}`);
      }
    };
    count("intervalMs", options.intervalMs, 0);
    count("maxRetries", options.maxRetries, 1);
    count("retryBaseMs", options.retryBaseMs, 0);
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
      throw new InvalidArgumentError("onProgress", options.onProgress, "must be a function");
    }
    this.#server = options.server.replace(/\/+$/, "");
    this.#token = options.token;
    this.#store = options.store;
    this.#interval = options.intervalMs ?? 5000;
    this.#batch = batch;
    this.#retries = options.maxRetries ?? 6;
    this.#t = new Transport({
      server: this.#server,
      token: this.#token,
      retries: this.#retries,
      retryBase: options.retryBaseMs ?? 200,
      signal: () => this.#stop?.signal,
    });
    this.#onProgress = options.onProgress;
    if (options.blobParts !== undefined && typeof options.blobParts !== "boolean") {
      throw new InvalidArgumentError("blobParts", options.blobParts, "must be a boolean");
    }
    this.#blobParts = options.blobParts ?? true;
    if (this.#store) this.#attach(this.#store);
  }

  #attach(store: Store): void {
    store.blobFetcher ??= (hash) => this.fetchBlob(hash);
  }

  async #getStore(): Promise<Store> {
    if (!this.#store) {
      this.#store = await getDefaultStore();
      this.#attach(this.#store);
    }
    return this.#store;
  }

  get #pushKey(): string {
    return `push:${this.#server}`;
  }
  get #pullKey(): string {
    return `pull:${this.#server}`;
  }
  get #serverKey(): string {
    return `serverid:${this.#server}`;
  }
  get #successKey(): string {
    return `last_success:${this.#server}`;
  }
  get #errorKey(): string {
    return `last_error:${this.#server}`;
  }

  /**
   * Runs one push, pull or round and keeps its outcome in the store (so `sync status` of a
   * later run still knows it); a success also remembers this server as the store's.
   */
  async #outcome<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const store = await this.#getStore();
    let out: T;
    try {
      out = await fn(store);
    } catch (e) {
      if (!store.closed) {
        await store.setState(this.#errorKey, describeError(e)).catch(() => {});
      }
      throw e;
    }
    await store.setState(this.#successKey, new Date().toISOString());
    await store.setState(this.#errorKey, "");
    await store.setState(LAST_SERVER_KEY, this.#server);
    return out;
  }

  /**
   * Notes the server database's identity from an answer. When it changed (the database was
   * replaced) or the server's log is behind the pull cursor (restored from a backup), both
   * cursors go back to 0: the device pushes everything again and pulls everything (the server
   * and the store skip events they have, by id). Returns whether the cursors were reset.
   */
  async #serverChanged(store: Store, id: unknown, head: unknown, pullCursor: number) {
    const known = await store.getState(this.#serverKey);
    const replaced = typeof id === "string" && known !== undefined && id !== known;
    const behind = typeof head === "number" && head < pullCursor;
    if (replaced || behind) {
      this.#resets++;
      await store.setState(this.#pushKey, "0");
      await store.setState(this.#pullKey, "0");
    }
    if (typeof id === "string" && id !== known) await store.setState(this.#serverKey, id);
    return replaced || behind;
  }

  /**
   * Uploads one blob, resuming where the server stopped (see `blob_upload.ts`: parts in flight
   * on a server with `blob-parts`, else offset requests). Returns the bytes sent.
   */
  async uploadBlob(hash: string): Promise<number> {
    return await uploadBlob({
      transport: this.#t,
      store: await this.#getStore(),
      limits: await this.#t.limits(),
      parts: this.#blobParts,
      onSent: (n) => (this.#bytesSent += n),
      onProgress: (done, total) => this.#onProgress?.({ phase: "blob", done, total }),
    }, hash);
  }

  /**
   * Pushes every local event after the push cursor (blobs first).
   *
   * @returns the events sent, and the blobs and blob bytes uploaded
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore, OutputModel, startServer, SyncWorker, Task } from "../../mod.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
   * const store = await openStore({ home: `${dir}/laptop` });
   * try {
   *   const task = await Task.init({ projectName: "demo", taskName: "train", store });
   *   const file = `${dir}/net.bin`;
   *   await Deno.writeFile(file, new Uint8Array(1000));
   *   await new OutputModel({ task, name: "net" }).updateWeights({ weightsFilename: file });
   *   await task.close();
   *
   *   const worker = new SyncWorker({ server: server.url, store });
   *   const first = await worker.push();
   *   assert.ok(first.events > 0);
   *   assert.deepEqual([first.blobs, first.bytes], [1, 1000]);
   *   assert.deepEqual(await worker.push(), { events: 0, blobs: 0, bytes: 0 }); // nothing new
   * } finally {
   *   await store.close();
   *   await server.close();
   *   await Deno.remove(dir, { recursive: true });
   * }
   * ```
   */
  async push(): Promise<{ events: number; blobs: number; bytes: number }> {
    const r = await this.#outcome((store) => this.#push(store));
    return { events: r.events, blobs: r.blobs, bytes: r.bytes };
  }

  /** A push round; the cursor passes held events (the quarantine keeps them). */
  async #push(store: Store) {
    await store.flush();
    const limits = await this.#t.limits();
    let cursor = Number(await store.getState(this.#pushKey) ?? "0");
    const total = await countLocalEventsAfter(store, cursor);
    let round = await this.#round(store);
    for (;;) {
      // Cut by bytes before reading: a page of big plots is read a few at a time.
      const sizes = await eventSizesAfter(store, cursor, this.#batch, { localOnly: true });
      if (sizes.length === 0) break;
      let n = 0;
      for (let bytes = 0; n < sizes.length; n++) {
        bytes += sizes[n]!.bytes;
        if (n > 0 && bytes > limits.eventsBody) break;
      }
      const page = await eventsAfter(store, cursor, n, { localOnly: true });
      if (page.length === 0) break;
      try {
        await round.page(page);
      } catch (e) {
        if (!(e instanceof ServerReset)) throw e;
        const tally = round.tally;
        round = await this.#round(store);
        Object.assign(round.tally, tally);
        cursor = 0;
        continue;
      }
      cursor = page[page.length - 1]!.seq!;
      await store.setState(this.#pushKey, String(cursor));
      this.#onProgress?.({ phase: "push", done: round.tally.events + round.tally.held, total });
    }
    return round.tally;
  }

  async #round(store: Store, except?: ReadonlySet<string>): Promise<PushRound> {
    const round = new PushRound({
      store,
      transport: this.#t,
      key: this.#server,
      batch: this.#batch,
      limits: await this.#t.limits(),
      uploadBlob: (h) => this.uploadBlob(h),
      onAck: (ack) => this.#serverChanged(store, ack?.server, undefined, 0),
    });
    await round.load(except);
    return round;
  }

  /**
   * The events held back from this server, oldest first: each with why (the server's refusal,
   * a blob that failed its hash, an event over the size limit) or, for a later event of the
   * same stream, the held event it waits behind. Everything else syncs on.
   *
   * @param options `includeDropped`: list the dropped ones too
   * @returns the held events
   */
  async quarantined(options: { includeDropped?: boolean } = {}): Promise<QuarantineEntry[]> {
    return await quarantineEntries(await this.#getStore(), this.#server, options);
  }

  async #group(id: string): Promise<{ entry: QuarantineEntry; group: QuarantineEntry[] }> {
    if (typeof id !== "string" || !id) {
      throw new InvalidArgumentError("id", id, "must be the id of a held event");
    }
    const all = await this.quarantined({ includeDropped: true });
    const entry = all.find((q) => q.id === id);
    if (!entry) {
      throw new InvalidArgumentError("id", id, `is not held back from ${this.#server}`);
    }
    const root = entry.heldBy ?? entry.id;
    const group = all.filter((q) => q.status === "held" && (q.id === root || q.heldBy === root));
    return { entry, group };
  }

  async #resend(store: Store, ids: string[]) {
    const round = await this.#round(store, new Set(ids));
    const found = await eventsById(store, ids);
    const events = [...found.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    await round.page(events, ids);
    return { events: round.tally.events, held: round.tally.held };
  }

  /**
   * Sends a held event again, with the events of its stream waiting behind it (after the
   * cause is fixed: a token's rights, a blob put back). What the server still refuses is held
   * again, with the new reason.
   *
   * @param id a held event's id (a waiting event retries the event it waits behind)
   * @returns the events the server took, and how many are held again
   */
  async retry(id: string): Promise<{ events: number; held: number }> {
    const { group } = await this.#group(id);
    return await this.#outcome((store) => this.#resend(store, group.map((q) => q.id)));
  }

  /**
   * Gives up sending a held event to this server: it stays in the local log, marked dropped,
   * and the events that waited behind it are sent now (a refused one is held in its turn).
   *
   * @param id a held event's id
   * @returns the waiting events the server took, and how many are held again
   */
  async drop(id: string): Promise<{ events: number; held: number }> {
    const { entry, group } = await this.#group(id);
    const store = await this.#getStore();
    await store.changeQuarantine({ server: this.#server, drop: [entry.id] });
    if (entry.heldBy !== undefined || entry.status === "dropped") return { events: 0, held: 0 };
    const waiting = group.filter((q) => q.id !== entry.id).map((q) => q.id);
    if (!waiting.length) return { events: 0, held: 0 };
    return await this.#outcome((s) => this.#resend(s, waiting));
  }

  /**
   * Pulls every event after the pull cursor and merges it into the store.
   *
   * @returns the events received, and how many of them the store did not have yet
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore, startServer, SyncWorker, Task } from "../../mod.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
   * const a = await openStore({ home: `${dir}/a` });
   * const b = await openStore({ home: `${dir}/b` });
   * try {
   *   await (await Task.init({ projectName: "demo", taskName: "train", store: a })).close();
   *   const pushed = await new SyncWorker({ server: server.url, store: a }).push();
   *   const worker = new SyncWorker({ server: server.url, store: b });
   *   assert.deepEqual(await worker.pull(), { events: pushed.events, fresh: pushed.events });
   *   assert.deepEqual(await worker.pull(), { events: 0, fresh: 0 }); // the cursor moved on
   * } finally {
   *   await a.close();
   *   await b.close();
   *   await server.close();
   *   await Deno.remove(dir, { recursive: true });
   * }
   * ```
   */
  async pull(): Promise<{ events: number; fresh: number }> {
    return await this.#outcome((store) => this.#pull(store));
  }

  async #pull(store: Store): Promise<{ events: number; fresh: number }> {
    await this.#t.limits(); // refuses a server of another sync protocol
    let cursor = await store.getState(this.#pullKey) ?? START_CURSOR;
    let events = 0, fresh = 0;
    for (;;) {
      // The server cuts pages by bytes too (a page holds at least one event).
      const res = await this.#t.request(
        `/v1/events?after=${encodeURIComponent(cursor)}&limit=${this.#batch}`,
        {},
        "pulling events",
      );
      if (!res.ok) {
        throw new SyncError(
          "SYNC_FAILED",
          `pulling events from ${this.#server}/v1/events: HTTP ${res.status} ${await res.text()}`,
          res.status,
        );
      }
      const text = await res.text();
      const body = parsePull(text, cursor, `${this.#server}/v1/events`);
      if (await this.#serverChanged(store, body.server, body.head, cursorSeq(cursor))) {
        cursor = START_CURSOR;
        continue;
      }
      if (body.events.length) {
        // No non-finite marker in the page: each payload's text is plain JSON.stringify.
        const added = await store.ingest(body.events.map(({ seq: _s, ...e }) => e), {
          remote: true,
          plainData: !text.includes('"$nf"'),
        });
        fresh += added.length;
      }
      await this.#scope(store, body);
      events += body.events.length;
      if (body.next !== cursor) {
        cursor = body.next;
        await store.setState(this.#pullKey, cursor);
      }
      this.#onProgress?.({ phase: "pull", done: events });
      if (!body.more) break;
    }
    return { events, fresh };
  }

  /**
   * Keeps the device's view within a project-limited token's scope: a model the page says is
   * `gone` (an admin moved it to a project the token may not read) gets a mark and the model
   * reads leave it out; a marked model with an event in the page, not said gone, is back in
   * the scope (the server sends its events again when it re-enters) and its mark goes. Its
   * events stay in the log either way. Runs before the cursor moves: a page pulled again
   * after a crash marks the same.
   */
  async #scope(store: Store, body: PullResponse): Promise<void> {
    const gone = new Set(body.gone ?? []);
    const seen = new Set<string>();
    for (const e of body.events) {
      const [kind, id] = splitStream(e.stream);
      if (kind === "model" && !gone.has(id)) seen.add(id);
    }
    if (gone.size === 0 && seen.size === 0) return;
    const marked = new Set(await scopeGoneModels(store, this.#server));
    const back = [...seen].filter((id) => marked.has(id));
    const left = [...gone].filter((id) => !marked.has(id));
    if (back.length || left.length) {
      await store.changeScopeGone({ server: this.#server, gone: left, back });
    }
  }

  /**
   * Pushes, then pulls (one round, as the background loop runs it).
   *
   * @returns the events pushed and pulled
   */
  async sync(): Promise<{ pushed: number; pulled: number }> {
    return await this.#outcome(async (store) => {
      const resets = this.#resets;
      const p = await this.#push(store);
      const q = await this.#pull(store);
      // The pull found a new server database: what was pushed to the old one goes again now.
      if (this.#resets !== resets) p.events += (await this.#push(store)).events;
      return { pushed: p.events, pulled: q.fresh };
    });
  }

  /**
   * Downloads a blob from the server by hash into the store, verifying the hash; progress
   * goes to `onProgress` (phase `download`, in bytes).
   */
  async fetchBlob(hash: string): Promise<void> {
    const store = await this.#getStore();
    if (await store.blobs.has(hash)) return;
    const res = await this.#t.request(blobPath(hash), {}, `downloading blob ${hash}`);
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new SyncError(
        "SYNC_FAILED",
        `downloading blob ${hash} from ${this.#server}: HTTP ${res.status}`,
        res.status,
      );
    }
    const len = Number(res.headers.get("content-length") ?? NaN);
    const total = Number.isSafeInteger(len) ? len : undefined;
    let done = 0;
    const progress = this.#onProgress;
    const body = progress
      ? res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            done += chunk.length;
            progress({ phase: "download", done, ...(total !== undefined ? { total } : {}) });
            c.enqueue(chunk);
          },
        }),
      )
      : res.body;
    await store.blobs.putStream(body, hash);
  }

  /**
   * Starts the background loop (push + pull every `intervalMs`); {@link SyncWorker.stop} ends it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore, startServer, SyncWorker, Task } from "../../mod.ts";
   *
   * const dir = await Deno.makeTempDir();
   * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
   * const store = await openStore({ home: `${dir}/laptop` });
   * try {
   *   await (await Task.init({ projectName: "demo", taskName: "train", store })).close();
   *   const worker = new SyncWorker({ server: server.url, store, intervalMs: 10 });
   *   worker.start();
   *   assert.equal((await worker.status()).running, true);
   *   while ((await worker.status()).pendingEvents > 0) {
   *     await new Promise((r) => setTimeout(r, 10));
   *   }
   *   await worker.stop();
   *   const s = await worker.status();
   *   assert.equal(s.running, false);
   *   assert.ok(s.lastSuccess instanceof Date);
   * } finally {
   *   await store.close();
   *   await server.close();
   *   await Deno.remove(dir, { recursive: true });
   * }
   * ```
   */
  start(): void {
    if (this.#loop && !this.#stop?.signal.aborted) return;
    // A loop still stopping is waited for: never two rounds at once.
    const previous = this.#loop;
    this.#stop = new AbortController();
    const signal = this.#stop.signal;
    const loop: Promise<void> = (async () => {
      await previous;
      let failures = 0;
      while (!signal.aborted) {
        try {
          await this.sync();
          failures = 0;
        } catch (e) {
          if (e instanceof SyncError && e.code === "SYNC_REJECTED") break;
          failures++;
        }
        if (signal.aborted) break;
        const backoff = failures
          ? Math.min(60_000, this.#interval * 2 ** Math.min(failures, 6))
          : this.#interval;
        await sleep(backoff * (failures ? 0.5 + Math.random() : 1), signal);
      }
    })().finally(() => {
      // A loop that ended by itself (a permanent rejection) is no longer running.
      if (this.#loop === loop) this.#loop = undefined;
    });
    this.#loop = loop;
  }

  /** Stops the background loop and waits for the current round to end. */
  async stop(): Promise<void> {
    const loop = this.#loop;
    this.#stop?.abort();
    await loop;
    if (this.#loop === loop) this.#loop = undefined;
  }

  /**
   * Pending work and the last outcome.
   *
   * @returns the cursors, what is left to push and how the last round went
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore, SyncWorker, Task } from "../../mod.ts";
   *
   * const home = await Deno.makeTempDir();
   * const store = await openStore({ home });
   * try {
   *   await (await Task.init({ projectName: "demo", taskName: "train", store })).close();
   *   // No request is made: status reads only the store.
   *   const s = await new SyncWorker({ server: "http://127.0.0.1:9", store }).status();
   *   assert.ok(s.pendingEvents > 0);
   *   assert.deepEqual([s.pushCursor, s.pullCursor, s.running], [0, 0, false]);
   *   assert.equal(s.lastSuccess, undefined);
   * } finally {
   *   await store.close();
   *   await Deno.remove(home, { recursive: true });
   * }
   * ```
   */
  async status(): Promise<SyncStatus> {
    const store = await this.#getStore();
    const pushCursor = Number(await store.getState(this.#pushKey) ?? "0");
    const pullCursor = cursorSeq(await store.getState(this.#pullKey) ?? START_CURSOR);
    const n = await countLocalEventsAfter(store, pushCursor);
    const sizes = new Map<string, number>();
    for (const d of await localWeightsUpdatesAfter(store, pushCursor)) {
      if (d.hash) sizes.set(d.hash, d.size ?? 0);
    }
    const success = await store.getState(this.#successKey);
    const error = await store.getState(this.#errorKey);
    return {
      pendingEvents: n,
      pendingBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
      lastSuccess: success ? new Date(success) : undefined,
      lastError: error || undefined,
      held: (await quarantineEntries(store, this.#server)).length,
      running: this.#loop !== undefined,
      pushCursor,
      pullCursor,
      bytesSent: this.#bytesSent,
    };
  }
}

/**
 * A store with no blob fetcher of its own (no worker touched it in this process) fetches a
 * missing blob from `MODELOG_SERVER`, else from the server it last synced with (with the
 * token in `MODELOG_TOKEN`).
 */
setFallbackBlobFetcher(async (source: WeightsSource) => {
  const store = source as Partial<Store>;
  if (typeof store.getState !== "function") return undefined;
  const env = (name: string) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // no env permission
    }
  };
  const server = env("MODELOG_SERVER") ?? await store.getState.call(source, LAST_SERVER_KEY);
  if (!server) return undefined;
  const token = env("MODELOG_TOKEN");
  const w = new SyncWorker({ server, store: source as Store, ...(token ? { token } : {}) });
  return (hash) => w.fetchBlob(hash);
});
