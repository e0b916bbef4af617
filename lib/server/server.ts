/**
 * The modelog server: stores pushed events in the same log format with the same projection
 * code as the client, serves them back in server order, stores weights blobs (resumable,
 * hash-checked), answers model queries, and serves the web UI. This file opens the store and
 * listens (`Deno.serve` over the hono app of `app.ts`); the routes live in their own files.
 *
 * @module
 */
import { openStore, type Store } from "../store/store.ts";
import { InvalidArgumentError } from "../errors.ts";
import { checkTokenChars, parseTokens, TokenAuth, type TokenEntry } from "./auth.ts";
import { MAX_EVENTS_BODY, MAX_EVENTS_PER_PUSH } from "../sync/protocol.ts";
import { buildApp } from "./app.ts";
import type { ServerContext } from "./http.ts";
import { uiPages } from "./ui.ts";
import { Sessions } from "./login.ts";
import { expireStalePartials, uploadLimits } from "./uploads.ts";
import { lockServerFiles, type ServerLock } from "./lock.ts";
import { ConnGuard, guardLimits } from "./conn_guard.ts";
import { errorJson } from "./http.ts";
import { dirname, join, resolve } from "node:path";
import { isS3Url, s3Blobs } from "./s3.ts";

export { modelRecord } from "./models_api.ts";
export { readAhead } from "./blobs.ts";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 only makes sense with tokens). */
  hostname?: string;
  /**
   * The database: a file path, a `file:` URL, a `libsql://` / `http(s)://` sqld/Turso URL, or
   * a `postgres://` URL (several server instances may share one PostgreSQL database).
   */
  db?: string;
  /** Auth token for a remote `db`. */
  dbAuthToken?: string;
  /**
   * Where blobs go: a folder (default: beside the database, `blobs/`) or `s3://bucket/prefix`
   * (any S3-compatible service; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
   */
  blobs?: string;
  /** The S3 service URL for `s3://` blobs (default AWS_ENDPOINT_URL, else AWS S3). */
  s3Endpoint?: string;
  /** The S3 region for `s3://` blobs (default AWS_REGION, else us-east-1). */
  s3Region?: string;
  /** A tokens file path, or the token entries themselves. Without tokens: 127.0.0.1 only. */
  tokens?: string | TokenEntry[];
  /** Largest accepted `POST /v1/events` body in bytes. */
  maxEventsBody?: number;
  /** Most events per push. */
  maxEventsPerPush?: number;
  /**
   * Push bodies parsed at once, in bytes (default half of `maxEventsBody`): more pushes wait,
   * so that the server's memory stays bounded however many devices push big plots at once.
   */
  pushBytesInFlight?: number;
  /** Where request lines go (default: console.log). Tokens are never logged. */
  log?: (line: string) => void;
  /** Serve the web UI at `/` (with `/login` when there are tokens). */
  ui?: boolean;
  /**
   * The web UI, as `uiPages` from `server/ui.ts`: the same as `ui: true` (kept for callers that
   * pass it; any other value is refused).
   */
  pages?: (req: Request, url: URL, store: Store) => Promise<Response | undefined>;
  /** Use this store instead of opening one (tests, the local UI). */
  store?: Store;
  /** Read-only: refuse every write (the local UI over a laptop's store). */
  readOnly?: boolean;
  /**
   * How far ahead of the server's clock a pushed event's time may be, in ms (default one day).
   * Every device that pulls an event moves its clock past it, so one event from a device whose
   * clock is years ahead would stamp every later edit everywhere with that year.
   */
  maxClockSkewMs?: number;
  /**
   * How long a query or page (`GET /v1/events`, `/v1/models`, UI pages) may take before it is
   * answered 503 `TIMEOUT`, in ms (default 60 s). Blob transfers have no limit.
   */
  requestTimeoutMs?: number;
  /** Largest blob accepted, in bytes (default 256 GiB). */
  maxBlobSize?: number;
  /** Most bytes of uploads in progress per token (default 512 GiB). */
  uploadQuotaPerToken?: number;
  /** Free bytes the blob folder keeps after an upload (default 1 GiB). */
  minFreeBytes?: number;
  /** Uploads in progress untouched this long are deleted, in ms (default one day). */
  partialTtlMs?: number;
  /** UI session lifetime, in ms (default 12 h). */
  sessionTtlMs?: number;
  /** Failed sign-ins per address per 15 minutes (default 10). */
  maxLoginAttempts?: number;
  /** Most requests answered at once per address (default 256). */
  maxPerAddress?: number;
  /** Most requests answered at once per token (default 128). */
  maxPerToken?: number;
  /**
   * How long a new connection may take to send its first request head, in ms (default 10 s);
   * then it is closed. Half-sent requests cannot hold connections for ever.
   */
  headerTimeoutMs?: number;
  /**
   * How long a connection may move no byte in either direction, in ms (default 60 s); then it
   * is closed. Uploads and downloads keep moving bytes, so they live.
   */
  idleTimeoutMs?: number;
  /**
   * Most connections open at once from one address (default 64). A further one is answered
   * 503 at once, unless one of that address's connections has not sent its head yet: the
   * oldest of those is closed to make room.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Most connections open at once in total (default: what the process's open-file limit
   * allows with room to spare, at most 4096; 256 when the limit cannot be read). Over it, as
   * for one address.
   */
  maxConnections?: number;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The bound port. */
  port: number;
  /** The store behind it. */
  store: Store;
  /** Stops listening and closes the store (if the server opened it). */
  close(): Promise<void>;
}

/** The `sync_state` key of the server database's identity. */
const SERVER_ID_KEY = "server:id";

function parseDb(db: string | undefined, fallbackHome: string): { url?: string; path?: string } {
  if (!db) return { path: join(fallbackHome, "server", "modelog.db") };
  if (/^(libsql|https?|wss?|postgres(ql)?):\/\//i.test(db)) return { url: db };
  if (db.startsWith("file:")) return { path: resolve(db.slice(5).replace(/^\/\/(?=\/)/, "")) };
  return { path: resolve(db) };
}

async function openServerStore(
  options: ServerOptions,
): Promise<{ store: Store; lock: ServerLock }> {
  const db = parseDb(options.db, Deno.env.get("MODELOG_HOME") ?? join(Deno.cwd(), ".modelog"));
  const s3 = isS3Url(options.blobs);
  // With S3 blobs and a database URL nothing is kept locally: a scratch folder is the home.
  const home = db.path
    ? dirname(db.path)
    : s3
    ? await Deno.makeTempDir({ prefix: "modelog-server-" })
    : resolve(options.blobs ?? ".");
  const blobsDir = options.blobs && !s3 ? resolve(options.blobs) : join(home, "blobs");
  await Deno.mkdir(dirname(blobsDir), { recursive: true });
  if (db.path) await Deno.mkdir(dirname(db.path), { recursive: true });
  // One process per database file and blob folder (see lock.ts). Several instances may share
  // a PostgreSQL database (their blobs then go to a shared store, not one folder each).
  const lock = await lockServerFiles([
    ...(db.path ? [`${db.path}.server.lock`] : []),
    ...(s3 ? [] : [`${blobsDir}.server.lock`]),
  ]);
  try {
    const store = await openStore({
      home,
      ...(db.path ? { path: db.path } : {}),
      ...(db.url ? { url: db.url } : {}),
      ...(options.dbAuthToken ? { authToken: options.dbAuthToken } : {}),
      blobsDir,
    });
    return { store, lock };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/**
 * Starts a modelog server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
 * const health = await fetch(`${server.url}/v1/health`).then((r) => r.json());
 * assert.equal(health.ok, true);
 * assert.equal(health.seq, 0);
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((l: string) => console.log(l));
  if (options.pages !== undefined && options.pages !== uiPages) {
    throw new InvalidArgumentError(
      "pages",
      typeof options.pages,
      "must be uiPages from lib/server/ui.ts (or pass ui: true)",
    );
  }
  let entries: TokenEntry[] | undefined;
  if (typeof options.tokens === "string") {
    entries = parseTokens(await Deno.readTextFile(options.tokens), options.tokens);
  } else if (options.tokens) entries = options.tokens;
  if (entries) {
    checkTokenChars(entries, typeof options.tokens === "string" ? options.tokens : undefined);
  }
  const auth = entries ? new TokenAuth(entries) : undefined;
  let hostname = options.hostname ?? "127.0.0.1";
  if (!auth && hostname !== "127.0.0.1" && hostname !== "localhost" && hostname !== "::1") {
    log(`modelog server: no tokens given, so listening on 127.0.0.1 only (not ${hostname})`);
    hostname = "127.0.0.1";
  }
  const limits = await guardLimits({
    ...(options.headerTimeoutMs !== undefined ? { headerTimeoutMs: options.headerTimeoutMs } : {}),
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.maxConnectionsPerAddress !== undefined
      ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress }
      : {}),
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
  });
  const ownStore = !options.store;
  const opened = options.store ? undefined : await openServerStore(options);
  const store = options.store ?? opened!.store;
  // The database's identity, kept in it: devices that see it change push and pull again.
  let serverId = await store.getState(SERVER_ID_KEY);
  if (!serverId && !options.readOnly) {
    serverId = crypto.randomUUID();
    await store.setState(SERVER_ID_KEY, serverId);
  }
  const ctx: ServerContext = {
    store,
    ...(isS3Url(options.blobs) ? { blobs: s3Blobs(store, options) } : {}),
    auth,
    readOnly: options.readOnly ?? false,
    serverId,
    maxEventsBody: options.maxEventsBody ?? MAX_EVENTS_BODY,
    maxEventsPerPush: options.maxEventsPerPush ?? MAX_EVENTS_PER_PUSH,
    ...(options.pushBytesInFlight !== undefined
      ? { pushBytesInFlight: options.pushBytesInFlight }
      : {}),
    maxClockSkewMs: options.maxClockSkewMs ?? 24 * 3600 * 1000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    uploads: uploadLimits({
      ...(options.maxBlobSize !== undefined ? { maxBlobSize: options.maxBlobSize } : {}),
      ...(options.uploadQuotaPerToken !== undefined
        ? { quotaPerToken: options.uploadQuotaPerToken }
        : {}),
      ...(options.minFreeBytes !== undefined ? { minFreeBytes: options.minFreeBytes } : {}),
      ...(options.partialTtlMs !== undefined ? { partialTtlMs: options.partialTtlMs } : {}),
    }),
  };
  const sessions = new Sessions({
    ...(options.sessionTtlMs !== undefined ? { ttlMs: options.sessionTtlMs } : {}),
    ...(options.maxLoginAttempts !== undefined ? { maxAttempts: options.maxLoginAttempts } : {}),
  });
  const app = buildApp(ctx, {
    ui: options.ui ?? options.pages !== undefined,
    log,
    sessions,
    ...(options.maxPerAddress !== undefined ? { maxPerAddress: options.maxPerAddress } : {}),
    ...(options.maxPerToken !== undefined ? { maxPerToken: options.maxPerToken } : {}),
  });
  // Stale uploads in progress expire: now, then every hour.
  const ttl = ctx.uploads!.partialTtlMs;
  let sweeping: Promise<unknown> = Promise.resolve();
  const expire = () => {
    if (options.readOnly) return;
    sweeping = expireStalePartials(store.blobs.dir, ttl).catch(() => {});
  };
  expire();
  const sweeper = setInterval(expire, Math.min(ttl, 3600_000));

  // The real listener is private (127.0.0.1, a free port); the public one is the guard's
  // (conn_guard.ts), which drops slow and idle connections and says who each client is.
  const ac = new AbortController();
  let resolvePort: (p: number) => void;
  const portP = new Promise<number>((r) => (resolvePort = r));
  let guard: ConnGuard | undefined;
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: ac.signal,
    onListen: ({ port }) => resolvePort(port),
  }, (req, info) => {
    const peer = guard?.peerOf(info.remoteAddr);
    if (!peer) {
      return errorJson(403, "FORBIDDEN", "Connect through the server's public port");
    }
    return app.fetch(req, { ...info, remoteAddr: peer });
  });
  const inner = await portP;
  try {
    guard = ConnGuard.listen(
      { hostname, port: options.port ?? 8080 },
      { hostname: "127.0.0.1", port: inner },
      limits,
    );
  } catch (e) {
    clearInterval(sweeper);
    ac.abort();
    await server.finished;
    await sweeping;
    if (ownStore) await store.close();
    await opened?.lock.release();
    throw e;
  }
  const port = guard.addr.port;
  const shown = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  return {
    url: `http://${shown}:${port}`,
    port,
    store,
    async close() {
      clearInterval(sweeper);
      guard!.stopListening();
      guard!.closePending();
      ac.abort();
      await server.finished;
      await guard!.close();
      await sweeping;
      if (ownStore) await store.close();
      await opened?.lock.release();
    },
  };
}
