/**
 * The sync worker: pushes this store's events (weights blobs first, resumable) to a modelog
 * server and pulls everyone else's, merging them through the same projection code. Cursors
 * live in the store, so a restarted worker continues where it stopped; the server inserts by
 * event id, so a replay after a crash is harmless.
 *
 * Over 600 lines only through its runnable examples (about 130 lines, run by `deno test --doc`);
 * the code is one class.
 *
 * @module
 */
import { getDefaultStore } from "../store/default.ts";
import type { Store } from "../store/store.ts";
import { decodeData, encodeData, type EventPayloads } from "../events.ts";
import { InvalidArgumentError, SyncError } from "../errors.ts";
import { cursorSeq, START_CURSOR } from "./cursor.ts";
import {
  countLocalEventsAfter,
  eventsAfter,
  localWeightsUpdatesAfter,
} from "../projections/read.ts";
import {
  blobPath,
  MAX_EVENTS_PER_PUSH,
  protocolMismatch,
  type PullResponse,
  type PushResponse,
  UPLOAD_LENGTH,
  UPLOAD_OFFSET,
} from "./protocol.ts";

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
  /** Progress of long work (for progress bars). */
  onProgress?: (p: SyncProgress) => void;
}

/** A progress report. */
export interface SyncProgress {
  /** What is being done. */
  phase: "push" | "pull" | "blob";
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
  /** The last time a push/pull round succeeded. */
  lastSuccess: Date | undefined;
  /** The last error's message, if the last round failed. */
  lastError: string | undefined;
  /** Whether the background loop runs. */
  running: boolean;
  /** Local sequence pushed so far. */
  pushCursor: number;
  /** Server sequence pulled so far. */
  pullCursor: number;
  /** Blob bytes sent by this worker since it was created. */
  bytesSent: number;
}

/** Bytes per upload request (the last part of a blob may be shorter). */
export const UPLOAD_PART = 2 * 1024 * 1024;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Checks a pull answer's shape, so a broken server fails the round instead of looping. */
function parsePull(text: string, cursor: string): PullResponse {
  const bad = (why: string, cause?: unknown): never => {
    throw new SyncError(
      "SYNC_FAILED",
      `pulling events: bad answer from the server: ${why}`,
      undefined,
      cause ? { cause } : undefined,
    );
  };
  let body: PullResponse;
  try {
    body = decodeData<PullResponse>(text);
  } catch (e) {
    return bad("not JSON", e);
  }
  if (body === null || typeof body !== "object" || !Array.isArray(body.events)) {
    return bad("no events array");
  }
  if (typeof body.next !== "string" || body.next === "" || body.next.length > 64) {
    return bad(`next ${JSON.stringify(body.next)} is not a cursor`);
  }
  if (typeof body.more !== "boolean") return bad("more is not a boolean");
  if (body.more && body.next === cursor) return bad(`more events promised but next ${body.next}`);
  return body;
}

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
  readonly #retryBase: number;
  readonly #onProgress: ((p: SyncProgress) => void) | undefined;
  #lastSuccess: Date | undefined;
  #lastError: string | undefined;
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
    this.#server = options.server.replace(/\/+$/, "");
    this.#token = options.token;
    this.#store = options.store;
    this.#interval = options.intervalMs ?? 5000;
    this.#batch = batch;
    this.#retries = options.maxRetries ?? 6;
    this.#retryBase = options.retryBaseMs ?? 200;
    this.#onProgress = options.onProgress;
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

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}`, ...extra } : extra;
  }

  /** Sends a request, retrying transient failures with exponential backoff and jitter. */
  #protocolOk = false;

  /** Refuses, once per worker, a server that speaks another sync protocol (its health says). */
  async #checkProtocol(): Promise<void> {
    if (this.#protocolOk) return;
    const res = await this.#request(
      () => fetch(`${this.#server}/v1/health`, { headers: this.#headers() }),
      "checking the server",
    );
    const health = res.ok ? await res.json().catch(() => null) : await res.body?.cancel();
    const why = protocolMismatch(health);
    if (why) throw new SyncError("SYNC_FAILED", `cannot sync with ${this.#server}: ${why}`);
    this.#protocolOk = true;
  }

  async #request(make: () => Promise<Response>, what: string): Promise<Response> {
    let last: unknown;
    for (let attempt = 0; attempt < this.#retries; attempt++) {
      if (attempt > 0) {
        const d = Math.min(30_000, this.#retryBase * 2 ** (attempt - 1));
        await sleep(d * (0.5 + Math.random()), this.#stop?.signal);
      }
      let res: Response;
      try {
        res = await make();
      } catch (e) {
        last = e;
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        last = new Error(`${what}: HTTP ${res.status} ${await res.text().catch(() => "")}`);
        continue;
      }
      if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 413) {
        const body = await res.text().catch(() => "");
        let msg = body;
        try {
          const j = JSON.parse(body);
          msg = `${j.error?.code}: ${j.error?.message}`;
        } catch { /* plain text */ }
        throw new SyncError(
          "SYNC_REJECTED",
          `${what} refused by the server (HTTP ${res.status}): ${msg}`,
          res.status,
        );
      }
      return res;
    }
    throw new SyncError(
      "SYNC_FAILED",
      `${what} failed after ${this.#retries} attempts: ${(last as Error)?.message ?? last}`,
      undefined,
      { cause: last },
    );
  }

  /**
   * Uploads one blob, resuming from the server's offset. Returns the bytes sent.
   *
   * The bytes go in parts of {@link UPLOAD_PART} bytes, each a `PUT` with a known length: a
   * streamed (chunked) body from Deno's `fetch`, which leaves Nagle's algorithm on, stalls on
   * delayed ACKs as soon as the server reads slower than the network (a disk flush), and never
   * recovers (measured: 4 MB/s for 1 GB). Parts also bound what a broken connection costs.
   */
  async uploadBlob(hash: string): Promise<number> {
    const store = await this.#getStore();
    const st = await store.blobs.stat(hash);
    if (!st) return 0;
    const url = this.#server + blobPath(hash);
    const head = await this.#request(
      () => fetch(url, { method: "HEAD", headers: this.#headers() }),
      `checking blob ${hash}`,
    );
    await head.body?.cancel();
    if (head.status === 200) return 0;
    let offset = Number(head.headers.get(UPLOAD_OFFSET) ?? "0");
    let sent = 0;
    let stalls = 0;
    const file = await Deno.open(store.blobs.pathOf(hash), { read: true });
    try {
      const buf = new Uint8Array(Math.min(UPLOAD_PART, Math.max(1, st.size)));
      for (let round = 0; round < 100_000; round++) {
        if (!Number.isSafeInteger(offset) || offset < 0 || offset > st.size) {
          throw new SyncError("SYNC_FAILED", `uploading blob ${hash}: bad server offset ${offset}`);
        }
        await file.seek(offset, Deno.SeekMode.Start);
        let n = 0;
        while (n < buf.length && offset + n < st.size) {
          const r = await file.read(buf.subarray(n, Math.min(buf.length, st.size - offset)));
          if (r === null) break;
          n += r;
        }
        const part = buf.subarray(0, n);
        const res = await this.#request(
          () =>
            fetch(url, {
              method: "PUT",
              headers: this.#headers({
                [UPLOAD_OFFSET]: String(offset),
                [UPLOAD_LENGTH]: String(st.size),
                "content-type": "application/octet-stream",
              }),
              body: part,
            }),
          `uploading blob ${hash}`,
        );
        await res.body?.cancel();
        if (res.status === 200 || res.status === 201) {
          sent += n;
          this.#bytesSent += n;
          this.#onProgress?.({ phase: "blob", done: st.size, total: st.size });
          return sent;
        }
        if (res.status !== 202 && res.status !== 409) {
          throw new SyncError(
            "SYNC_FAILED",
            `uploading blob ${hash}: HTTP ${res.status}`,
            res.status,
          );
        }
        const next = Number(res.headers.get(UPLOAD_OFFSET) ?? "NaN");
        if (res.status === 202) {
          // What the server kept of this part (all of it, unless the connection broke).
          const kept = Math.max(0, Math.min(n, next - offset));
          sent += kept;
          this.#bytesSent += kept;
        }
        // A server that keeps answering without taking bytes must not hold the worker forever.
        stalls = next > offset ? 0 : stalls + 1;
        if (stalls > 20) break;
        offset = next;
        this.#onProgress?.({ phase: "blob", done: offset, total: st.size });
      }
    } finally {
      file.close();
    }
    throw new SyncError("SYNC_FAILED", `uploading blob ${hash} made no progress`);
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
    const store = await this.#getStore();
    await store.flush();
    let cursor = Number(await store.getState(this.#pushKey) ?? "0");
    const total = await countLocalEventsAfter(store, cursor);
    let events = 0, blobs = 0, bytes = 0;
    for (;;) {
      const page = await eventsAfter(store, cursor, this.#batch, { localOnly: true });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.type !== "model.weights_updated") continue;
        const h = (e.data as EventPayloads["model.weights_updated"]).hash;
        if (h && (await store.blobs.has(h))) {
          bytes += await this.uploadBlob(h);
          blobs++;
        }
      }
      const wire = page.map(({ seq: _seq, ...e }) => e);
      const res = await this.#request(
        () =>
          fetch(`${this.#server}/v1/events`, {
            method: "POST",
            headers: this.#headers({ "content-type": "application/json" }),
            body: encodeData({ events: wire }),
          }),
        `pushing ${page.length} events`,
      );
      if (!res.ok) {
        throw new SyncError(
          "SYNC_FAILED",
          `pushing events: HTTP ${res.status} ${await res.text()}`,
          res.status,
        );
      }
      let ack: PushResponse;
      try {
        ack = JSON.parse(await res.text());
      } catch (e) {
        throw new SyncError("SYNC_FAILED", `pushing events: the answer is not JSON`, res.status, {
          cause: e,
        });
      }
      if (await this.#serverChanged(store, ack?.server, undefined, 0)) {
        cursor = 0;
        continue;
      }
      cursor = page[page.length - 1]!.seq!;
      await store.setState(this.#pushKey, String(cursor));
      events += page.length;
      this.#onProgress?.({ phase: "push", done: events, total });
    }
    return { events, blobs, bytes };
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
    const store = await this.#getStore();
    await this.#checkProtocol();
    let cursor = await store.getState(this.#pullKey) ?? START_CURSOR;
    let events = 0, fresh = 0;
    for (;;) {
      const after = encodeURIComponent(cursor);
      const res = await this.#request(
        () =>
          fetch(`${this.#server}/v1/events?after=${after}&limit=${this.#batch}`, {
            headers: this.#headers(),
          }),
        "pulling events",
      );
      if (!res.ok) {
        throw new SyncError(
          "SYNC_FAILED",
          `pulling events: HTTP ${res.status} ${await res.text()}`,
          res.status,
        );
      }
      const body = parsePull(await res.text(), cursor);
      if (await this.#serverChanged(store, body.server, body.head, cursorSeq(cursor))) {
        cursor = START_CURSOR;
        continue;
      }
      if (body.events.length) {
        const added = await store.ingest(body.events.map(({ seq: _s, ...e }) => e), {
          remote: true,
        });
        fresh += added.length;
      }
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
   * Pushes, then pulls (one round, as the background loop runs it).
   *
   * @returns the events pushed and pulled
   */
  async sync(): Promise<{ pushed: number; pulled: number }> {
    try {
      const resets = this.#resets;
      const p = await this.push();
      const q = await this.pull();
      // The pull found a new server database: what was pushed to the old one goes again now.
      if (this.#resets !== resets) p.events += (await this.push()).events;
      this.#lastSuccess = new Date();
      this.#lastError = undefined;
      return { pushed: p.events, pulled: q.fresh };
    } catch (e) {
      this.#lastError = (e as Error).message;
      throw e;
    }
  }

  /** Downloads a blob from the server by hash into the store, verifying the hash. */
  async fetchBlob(hash: string): Promise<void> {
    const store = await this.#getStore();
    if (await store.blobs.has(hash)) return;
    const res = await this.#request(
      () => fetch(this.#server + blobPath(hash), { headers: this.#headers() }),
      `downloading blob ${hash}`,
    );
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new SyncError(
        "SYNC_FAILED",
        `downloading blob ${hash}: HTTP ${res.status}`,
        res.status,
      );
    }
    await store.blobs.putStream(res.body, hash);
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
    return {
      pendingEvents: n,
      pendingBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
      lastSuccess: this.#lastSuccess,
      lastError: this.#lastError,
      running: this.#loop !== undefined,
      pushCursor,
      pullCursor,
      bytesSent: this.#bytesSent,
    };
  }
}
