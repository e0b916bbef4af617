/**
 * The modelog server: stores pushed events in the same log format with the same projection
 * code as the client, serves them back in server order, stores weights blobs (resumable,
 * hash-checked), answers model queries, and serves the web UI.
 *
 * @module
 */
import { openStore, type Store } from "../store/store.ts";
import { decodeData, encodeData, type StoredEvent, validateEvent } from "../events.ts";
import { InvalidArgumentError, ModelogError, type ModelogErrorCode } from "../errors.ts";
import {
  hasRole,
  mayTouch,
  parseTokens,
  type Principal,
  type Role,
  TokenAuth,
  type TokenEntry,
} from "./auth.ts";
import {
  MAX_EVENTS_BODY,
  MAX_EVENTS_PER_PUSH,
  MAX_PULL_LIMIT,
  type PullResponse,
  type PushResponse,
  UPLOAD_LENGTH,
  UPLOAD_OFFSET,
} from "../sync/protocol.ts";
import { Model } from "../models/model.ts";
import { parseModelQuery } from "../query_text.ts";
import { splitStream } from "../projections/project.ts";
import { eventsAfter, headSeq, projectOf, projectsOfBlob } from "../projections/read.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import { hlcWall } from "../clock.ts";
import { dirname, join, resolve } from "node:path";

/** A page handler mounted at `/` (the web UI). Returns undefined for paths it does not serve. */
export type PageHandler = (req: Request, url: URL, store: Store) => Promise<Response | undefined>;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 only makes sense with tokens). */
  hostname?: string;
  /** The database: a file path, a `file:` URL, or a `libsql://` / `http(s)://` sqld/Turso URL. */
  db?: string;
  /** Auth token for a remote `db`. */
  dbAuthToken?: string;
  /** Folder for blobs (default: beside the database, `blobs/`). */
  blobs?: string;
  /** A tokens file path, or the token entries themselves. Without tokens: 127.0.0.1 only. */
  tokens?: string | TokenEntry[];
  /** Largest accepted `POST /v1/events` body in bytes. */
  maxEventsBody?: number;
  /** Most events per push. */
  maxEventsPerPush?: number;
  /** Where request lines go (default: console.log). Tokens are never logged. */
  log?: (line: string) => void;
  /** The web UI (mounted at `/`). */
  pages?: PageHandler;
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

/** `GET /v1/models` page size when `limit` is not given. */
const DEFAULT_MODELS_PAGE = 500;
/** Largest `GET /v1/models` page. */
const MAX_MODELS_PAGE = 10_000;

class HttpError extends ModelogError {
  constructor(readonly status: number, code: ModelogErrorCode, message: string) {
    super(code, message);
  }
}

const STATUS: Partial<Record<ModelogErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_EVENT: 400,
  HASH_MISMATCH: 400,
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  WEIGHTS_NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  STORE_LOCKED: 503,
  MODEL_PUBLISHED: 409,
};

/** The `sync_state` key of the server database's identity. */
const SERVER_ID_KEY = "server:id";

/** Host names a server without tokens answers to. */
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(encodeData(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function errorResponse(e: unknown): Response {
  if (e instanceof HttpError) {
    return json({ error: { code: e.code, message: e.message } }, e.status);
  }
  if (e instanceof ModelogError) {
    return json({ error: { code: e.code, message: e.message } }, STATUS[e.code] ?? 500);
  }
  return json({ error: { code: "INTERNAL", message: String((e as Error)?.message ?? e) } }, 500);
}

/** Deepest JSON nesting a push may hold (event payloads need a few levels; a bomb needs many). */
const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without parsing it: JSON
 * nested thousands deep parses, but encoding it again overflows the stack, so it would fail
 * later, on every reader.
 */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Reads a request body up to `limit` bytes (413 beyond). */
async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const len = Number(req.headers.get("content-length") ?? "0");
  if (len > limit) {
    await req.body?.cancel();
    throw new HttpError(
      413,
      "PAYLOAD_TOO_LARGE",
      `Body of ${len} bytes exceeds the limit of ${limit}`,
    );
  }
  if (!req.body) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `Body exceeds the limit of ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Reads a request body ahead of its consumer (the disk), buffering up to `limit` bytes and
 * handing on what is buffered in merged chunks of at most 4 MiB. Keeping the socket drained
 * matters: Deno's `fetch` leaves Nagle's algorithm on, so once a slow reader lets the client's
 * send window fill, every chunk waits for a delayed ACK and a streamed upload falls to ~8 MB/s.
 */
export function readAhead(
  body: ReadableStream<Uint8Array>,
  limit = 16 * 1024 * 1024,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown;
  let wakeReader: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const wake = (which: "reader" | "pump") => {
    const f = which === "reader" ? wakeReader : wakePump;
    if (which === "reader") wakeReader = undefined;
    else wakePump = undefined;
    f?.();
  };
  (async () => {
    try {
      for (;;) {
        while (queued >= limit) await new Promise<void>((r) => (wakePump = r));
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        queue.push(value);
        queued += value.byteLength;
        wake("reader");
      }
    } catch (e) {
      failure = e ?? new Error("request body failed");
    } finally {
      ended = true;
      wake("reader");
    }
  })();
  const MERGE = 4 * 1024 * 1024;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wakeReader = r));
      if (queue.length > 0) {
        let n = 0, k = 0;
        while (k < queue.length && (k === 0 || n + queue[k]!.byteLength <= MERGE)) {
          n += queue[k]!.byteLength;
          k++;
        }
        const parts = queue.splice(0, k);
        queued -= n;
        wake("pump");
        if (parts.length === 1) c.enqueue(parts[0]!);
        else {
          const out = new Uint8Array(n);
          let o = 0;
          for (const p of parts) {
            out.set(p, o);
            o += p.byteLength;
          }
          c.enqueue(out);
        }
        return;
      }
      if (failure !== undefined) c.error(failure);
      else c.close();
    },
    async cancel(reason) {
      queue.length = 0;
      queued = 0;
      wake("pump");
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

function parseDb(db: string | undefined, fallbackHome: string): { url?: string; path?: string } {
  if (!db) return { path: join(fallbackHome, "server", "modelog.db") };
  if (/^(libsql|https?|wss?):\/\//i.test(db)) return { url: db };
  if (db.startsWith("file:")) return { path: resolve(db.slice(5).replace(/^\/\/(?=\/)/, "")) };
  return { path: resolve(db) };
}

/** `GET /login` shows a token form; `POST /login` checks the token and sets an HttpOnly cookie. */
async function loginPage(req: Request, auth: TokenAuth): Promise<Response> {
  const form = (msg: string) =>
    new Response(
      `<!doctype html><meta charset="utf-8"><title>modelog: sign in</title>
<body style="font-family:sans-serif;max-width:28em;margin:4em auto">
<h1>modelog</h1><p>${msg}</p>
<form method="post" action="/login"><input type="password" name="token" placeholder="token"
 autofocus style="width:100%;padding:.5em"><p><button>Sign in</button></p></form></body>`,
      {
        status: msg.startsWith("Unknown") ? 401 : 200,
        headers: { "content-type": "text/html; charset=utf-8" },
      },
    );
  if (req.method !== "POST") return form("Enter an access token.");
  const body = new URLSearchParams(new TextDecoder().decode(await readBody(req, 4096)));
  const token = body.get("token") ?? "";
  if (!auth.authenticate(`Bearer ${token}`)) return form("Unknown token: try again.");
  // Served over TLS (by a proxy in front, or directly), the cookie never goes over plain HTTP.
  const tls = new URL(req.url).protocol === "https:" ||
    /^https$/i.test(req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() ?? "");
  return new Response(null, {
    status: 303,
    headers: {
      location: "/",
      "set-cookie": `modelog_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${
        tls ? "; Secure" : ""
      }`,
    },
  });
}

/** A model's full record for the API: fields, metadata and reports. */
export async function modelRecord(store: Store, id: string): Promise<Record<string, unknown>> {
  const m = await Model.get(id, { store });
  return {
    model: m.toJSON(),
    metadata: m.getAllMetadata(),
    scalarSummary: await m.getScalarSummary(),
    singleValues: await m.getReportedSingleValues(),
    plots: await m.getReportedPlots(),
  };
}

/**
 * Starts a modelog server.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
 * const health = await fetch(`${server.url}/v1/health`).then((r) => r.json());
 * console.log(health.ok); // true
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((l: string) => console.log(l));
  let entries: TokenEntry[] | undefined;
  if (typeof options.tokens === "string") {
    entries = parseTokens(await Deno.readTextFile(options.tokens), options.tokens);
  } else if (options.tokens) entries = options.tokens;
  const auth = entries ? new TokenAuth(entries) : undefined;
  let hostname = options.hostname ?? "127.0.0.1";
  if (!auth && hostname !== "127.0.0.1" && hostname !== "localhost" && hostname !== "::1") {
    log(`modelog server: no tokens given, so listening on 127.0.0.1 only (not ${hostname})`);
    hostname = "127.0.0.1";
  }
  let store = options.store;
  const ownStore = !store;
  if (!store) {
    const db = parseDb(options.db, Deno.env.get("MODELOG_HOME") ?? join(Deno.cwd(), ".modelog"));
    const home = db.path ? dirname(db.path) : resolve(options.blobs ?? ".");
    store = await openStore({
      home,
      ...(db.path ? { path: db.path } : {}),
      ...(db.url ? { url: db.url } : {}),
      ...(options.dbAuthToken ? { authToken: options.dbAuthToken } : {}),
      blobsDir: options.blobs ? resolve(options.blobs) : join(home, "blobs"),
    });
  }
  const s = store;
  const maxBody = options.maxEventsBody ?? MAX_EVENTS_BODY;
  const maxEvents = options.maxEventsPerPush ?? MAX_EVENTS_PER_PUSH;
  const maxSkew = options.maxClockSkewMs ?? 24 * 3600 * 1000;
  const blobLocks = new Map<string, Promise<unknown>>();
  // The database's identity, kept in it: devices that see it change push and pull again.
  let serverId = await s.getState(SERVER_ID_KEY);
  if (!serverId && !options.readOnly) {
    serverId = crypto.randomUUID();
    await s.setState(SERVER_ID_KEY, serverId);
  }
  const head = () => headSeq(s);

  const principalOf = (req: Request, need: Role): Principal => {
    if (options.readOnly && need !== "read") {
      throw new HttpError(403, "FORBIDDEN", "This server is read-only");
    }
    if (!auth) return { role: "admin", projects: undefined, name: "local" };
    const p = auth.authenticate(req.headers.get("authorization"));
    if (!p) throw new HttpError(401, "UNAUTHORIZED", "Missing or unknown bearer token");
    if (!hasRole(p, need)) {
      throw new HttpError(403, "FORBIDDEN", `This token's role ${p.role} cannot ${need}`);
    }
    return p;
  };

  /** The projects a batch of events touches (for per-project tokens). */
  const touchedProjects = async (events: StoredEvent[]): Promise<Set<string | undefined>> => {
    const out = new Set<string | undefined>();
    const inBatch = new Map<string, string>();
    for (const e of events) {
      const d = e.data as Record<string, unknown>;
      if (e.type === "model.created" || e.type === "task.created") {
        if (typeof d.project === "string") inBatch.set(e.stream, d.project);
      }
    }
    const known = new Map<string, string | undefined>();
    for (const e of events) {
      if (!known.has(e.stream)) {
        const [kind, id] = splitStream(e.stream);
        const project = await projectOf(s, kind, id, { createdOnly: true });
        known.set(e.stream, project ?? inBatch.get(e.stream));
      }
      out.add(known.get(e.stream));
      const d = e.data as Record<string, unknown>;
      if (e.type === "model.created" || e.type === "task.created") out.add(d.project as string);
      if (e.type === "model.updated") {
        const p = (d.fields as Record<string, unknown>)?.project;
        if (typeof p === "string") out.add(p);
      }
    }
    return out;
  };

  const handleEventsPost = async (req: Request): Promise<Response> => {
    const who = principalOf(req, "write");
    // A browser posts text/plain or a form anywhere without a preflight; JSON it must ask for.
    const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      await req.body?.cancel();
      throw new HttpError(
        415,
        "INVALID_ARGUMENT",
        `Content-Type must be application/json, not ${JSON.stringify(type)}`,
      );
    }
    const body = await readBody(req, maxBody);
    let parsed: unknown;
    try {
      const text = new TextDecoder().decode(body);
      const depth = jsonDepth(text);
      if (depth > MAX_JSON_DEPTH) {
        throw new Error(`it nests ${depth} levels deep, more than ${MAX_JSON_DEPTH}`);
      }
      parsed = decodeData(text);
    } catch (e) {
      throw new HttpError(400, "INVALID_ARGUMENT", `Body is not JSON: ${(e as Error).message}`);
    }
    const list = (parsed as { events?: unknown })?.events;
    if (!Array.isArray(list)) {
      throw new HttpError(400, "INVALID_ARGUMENT", 'Body must be {"events": [...]}');
    }
    if (list.length > maxEvents) {
      throw new HttpError(
        413,
        "PAYLOAD_TOO_LARGE",
        `A push holds at most ${maxEvents} events, got ${list.length}`,
      );
    }
    const events = list.map((e, i) => {
      try {
        const ev = validateEvent(e);
        if (hlcWall(ev.at) > Date.now() + maxSkew) {
          throw new Error(
            `event.at ${JSON.stringify(ev.at)} is more than ${maxSkew} ms ahead of the server's ` +
              "clock: check this device's clock",
          );
        }
        const hash = (ev.data as { hash?: unknown }).hash;
        if (ev.type === "model.weights_updated" && hash && !isSha256Hex(hash as string)) {
          throw new Error(`data.hash ${JSON.stringify(hash)} is not a sha256 digest`);
        }
        return ev;
      } catch (err) {
        throw new HttpError(400, "INVALID_EVENT", `events[${i}]: ${(err as Error).message}`);
      }
    });
    if (who.projects) {
      for (const p of await touchedProjects(events)) {
        if (!mayTouch(who, p)) {
          throw new HttpError(
            403,
            "FORBIDDEN",
            `This token may not write to project ${JSON.stringify(p ?? "(unknown)")}`,
          );
        }
      }
    }
    const fresh = await s.ingest(events, { remote: true });
    const out: PushResponse = {
      accepted: fresh.length,
      duplicates: events.length - fresh.length,
      seq: await head(),
      ...(serverId ? { server: serverId } : {}),
    };
    return json(out);
  };

  const handleEventsGet = async (req: Request, url: URL): Promise<Response> => {
    const who = principalOf(req, "read");
    const after = Number(url.searchParams.get("after") ?? "0");
    const limit = Number(url.searchParams.get("limit") ?? "1000");
    if (!Number.isInteger(after) || after < 0) {
      throw new InvalidArgumentError(
        "after",
        url.searchParams.get("after"),
        "must be a non-negative integer",
      );
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PULL_LIMIT) {
      throw new InvalidArgumentError(
        "limit",
        url.searchParams.get("limit"),
        `must be an integer from 1 to ${MAX_PULL_LIMIT}`,
      );
    }
    const page = await eventsAfter(s, after, limit);
    let events = page;
    if (who.projects) {
      const allowed: StoredEvent[] = [];
      const mayRead = new Map<string, boolean>();
      for (const e of page) {
        let ok = mayRead.get(e.stream);
        if (ok === undefined) {
          const [kind, id] = splitStream(e.stream);
          ok = mayTouch(who, await projectOf(s, kind, id));
          mayRead.set(e.stream, ok);
        }
        if (ok) allowed.push(e);
      }
      events = allowed;
    }
    const next = page.length ? page[page.length - 1]!.seq! : after;
    const out: PullResponse = {
      events: events as PullResponse["events"],
      next,
      more: page.length === limit,
      ...(serverId ? { server: serverId } : {}),
      head: await head(),
    };
    return json(out);
  };

  const withBlobLock = async <T>(hash: string, fn: () => Promise<T>): Promise<T> => {
    const prev = blobLocks.get(hash) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    blobLocks.set(hash, tail);
    try {
      return await run;
    } finally {
      if (blobLocks.get(hash) === tail) blobLocks.delete(hash);
    }
  };

  const handleBlob = async (req: Request, hash: string): Promise<Response> => {
    if (!isSha256Hex(hash)) {
      throw new HttpError(
        400,
        "INVALID_ARGUMENT",
        `Invalid blob name ${JSON.stringify(hash)}: must be 64 lowercase hex`,
      );
    }
    if (req.method === "HEAD" || req.method === "GET") {
      const who = principalOf(req, "read");
      // A HEAD tells a writer whether to upload (and from where); PUT tells it as much, so a
      // project-limited writer may ask about any blob. Reading bytes needs a model it may see.
      if (who.projects && !(req.method === "HEAD" && hasRole(who, "write"))) {
        const projects = await projectsOfBlob(s, hash);
        if (!projects.some((p) => mayTouch(who, p))) {
          throw new HttpError(403, "FORBIDDEN", "This token may not read that blob");
        }
      }
      const st = await s.blobs.stat(hash);
      if (!st) {
        const partial = await s.blobs.partialSize(hash);
        await req.body?.cancel();
        return new Response(
          req.method === "HEAD"
            ? null
            : encodeData({ error: { code: "NOT_FOUND", message: "No such blob" } }),
          {
            status: 404,
            headers: { [UPLOAD_OFFSET]: String(partial), "content-type": "application/json" },
          },
        );
      }
      if (req.method === "HEAD") {
        return new Response(null, {
          status: 200,
          headers: { "content-length": String(st.size), "accept-ranges": "bytes" },
        });
      }
      // One range `a-b`, `a-` or a suffix `-n`; anything else (several ranges) is ignored and
      // the whole blob served, as RFC 9110 allows.
      const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.get("range")?.trim() ?? "");
      if (m && (m[1] || m[2])) {
        let start: number, end: number;
        if (!m[1]) {
          start = Math.max(0, st.size - Number(m[2]));
          end = Number(m[2]) > 0 ? st.size : 0;
        } else {
          start = Number(m[1]);
          end = m[2] ? Math.min(Number(m[2]) + 1, st.size) : st.size;
        }
        if (start >= end) {
          await req.body?.cancel();
          return new Response(null, {
            status: 416,
            headers: { "content-range": `bytes */${st.size}` },
          });
        }
        const body = await s.blobs.open(hash, start, end);
        return new Response(body, {
          status: 206,
          headers: {
            "content-range": `bytes ${start}-${end - 1}/${st.size}`,
            "content-length": String(end - start),
            "content-type": "application/octet-stream",
          },
        });
      }
      return new Response(await s.blobs.open(hash), {
        headers: {
          "content-length": String(st.size),
          "content-type": "application/octet-stream",
          "accept-ranges": "bytes",
        },
      });
    }
    if (req.method === "PUT") {
      principalOf(req, "write");
      return await withBlobLock(hash, async () => {
        if (await s.blobs.has(hash)) {
          await req.body?.cancel();
          return json({ hash, complete: true, offset: (await s.blobs.stat(hash))!.size });
        }
        // Plain decimal digits only: Number() would take "", "0x10" or "1e3".
        const int = (v: string | null) => v !== null && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
        const offset = int(req.headers.get(UPLOAD_OFFSET) ?? "0");
        const total = int(req.headers.get(UPLOAD_LENGTH));
        if (!Number.isSafeInteger(offset)) {
          await req.body?.cancel();
          throw new InvalidArgumentError(
            UPLOAD_OFFSET,
            req.headers.get(UPLOAD_OFFSET),
            "must be a non-negative integer",
          );
        }
        if (!Number.isSafeInteger(total) || total < offset) {
          await req.body?.cancel();
          throw new InvalidArgumentError(
            UPLOAD_LENGTH,
            req.headers.get(UPLOAD_LENGTH),
            `must give the blob's full size (at least the offset ${offset})`,
          );
        }
        const current = await s.blobs.partialSize(hash);
        if (offset !== current) {
          await req.body?.cancel();
          return json(
            {
              error: {
                code: "INVALID_ARGUMENT",
                message: `Upload offset ${offset} does not match the stored ${current}`,
              },
            },
            409,
            {
              [UPLOAD_OFFSET]: String(current),
            },
          );
        }
        let size = current;
        // An empty body still creates the partial file (a 0-byte blob is a valid blob).
        const body = req.body ??
          new ReadableStream<Uint8Array>({ start: (c) => c.close() });
        {
          try {
            size = await s.blobs.appendPartial(hash, offset, readAhead(body));
          } catch (e) {
            // A broken connection keeps what arrived: the client resumes from the new offset.
            if (e instanceof ModelogError) throw e;
            size = await s.blobs.partialSize(hash);
            return json({ hash, complete: false, offset: size }, 202, {
              [UPLOAD_OFFSET]: String(size),
            });
          }
        }
        if (size < total) {
          return json({ hash, complete: false, offset: size }, 202, {
            [UPLOAD_OFFSET]: String(size),
          });
        }
        await s.blobs.commitPartial(hash);
        return json({ hash, complete: true, offset: size }, 201);
      });
    }
    throw new HttpError(405, "INVALID_ARGUMENT", `Method ${req.method} not allowed on blobs`);
  };

  const route = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (!auth && !LOOPBACK_NAMES.has(url.hostname)) {
      // Without tokens anyone who reaches the port is trusted: refuse a page whose own name
      // was re-pointed at 127.0.0.1 (DNS rebinding).
      await req.body?.cancel();
      throw new HttpError(
        403,
        "FORBIDDEN",
        `Host ${JSON.stringify(url.hostname)} is not a loopback name; a server without tokens ` +
          "answers only 127.0.0.1, localhost and [::1]",
      );
    }
    if (path === "/v1/health" && (req.method === "GET" || req.method === "HEAD")) {
      return json({
        ok: true,
        schemaVersion: await s.schemaVersion(),
        seq: await head(),
        ...(serverId ? { server: serverId } : {}),
      });
    }
    if (path === "/v1/events") {
      if (req.method === "POST") return await handleEventsPost(req);
      if (req.method === "GET") return await handleEventsGet(req, url);
      throw new HttpError(405, "INVALID_ARGUMENT", `Method ${req.method} not allowed`);
    }
    if (path.startsWith("/v1/blobs/")) {
      const m = /^\/v1\/blobs\/sha256\/([^/]+)$/.exec(path);
      if (!m) {
        throw new HttpError(400, "INVALID_ARGUMENT", `Invalid blob path ${JSON.stringify(path)}`);
      }
      return await handleBlob(req, m[1]!);
    }
    if (path === "/v1/models" && req.method === "GET") {
      const who = principalOf(req, "read");
      const q = parseModelQuery(url.searchParams);
      // Pages are bounded: 500 models unless `limit` asks for another size (at most 10,000).
      q.maxResults ??= DEFAULT_MODELS_PAGE;
      if (q.maxResults > MAX_MODELS_PAGE) {
        throw new InvalidArgumentError("limit", q.maxResults, `must be at most ${MAX_MODELS_PAGE}`);
      }
      if (who.projects?.size === 1 && !q.projectName) q.projectName = [...who.projects][0]!;
      const want = q.maxResults ?? 0;
      // A page holds only models the token may see, and its cursor names one of them: for a
      // project-limited token, pages of other projects' models are skipped here.
      const models: Model[] = [];
      let after = q.after;
      let more = false;
      for (;;) {
        const found = await Model.queryModels({ ...q, ...(after ? { after } : {}), store: s });
        for (const m of found) {
          if (mayTouch(who, m.project) && (!want || models.length < want)) models.push(m);
        }
        more = want > 0 && found.length === want;
        if (!more || models.length >= want || !who.projects) break;
        after = found[found.length - 1]!.cursor;
      }
      const last = models[models.length - 1];
      return json({
        models: models.map((m) => m.toJSON()),
        next: more && last ? `${last.cursor.lastUpdate},${last.cursor.id}` : null,
      });
    }
    const mm = /^\/v1\/models\/([0-9a-z_-]{1,64})$/.exec(path);
    if (mm && req.method === "GET") {
      const who = principalOf(req, "read");
      const rec = await modelRecord(s, mm[1]!);
      if (!mayTouch(who, (rec.model as { project: string }).project)) {
        throw new HttpError(403, "FORBIDDEN", "This token may not read that project");
      }
      return json(rec);
    }
    if (options.pages && !path.startsWith("/v1/")) {
      if (auth && path === "/login") return await loginPage(req, auth);
      if (auth && !path.startsWith("/static/")) {
        // Browsers cannot send a bearer header: pages also accept the token from the cookie
        // that /login sets. The pages show every project, so a project-limited token is refused.
        const cookie = /(?:^|;\s*)modelog_token=([^;]+)/.exec(req.headers.get("cookie") ?? "");
        let fromCookie: string | null = null;
        try {
          if (cookie) fromCookie = `Bearer ${decodeURIComponent(cookie[1]!)}`;
        } catch { /* a cookie that does not decode is no token */ }
        const p = auth.authenticate(req.headers.get("authorization") ?? fromCookie);
        if (!p) {
          return new Response(null, { status: 303, headers: { location: "/login" } });
        }
        if (p.projects) {
          throw new HttpError(403, "FORBIDDEN", "The web UI needs a token without a project limit");
        }
      }
      const r = await options.pages(req, url, s);
      if (r) return r;
    }
    throw new HttpError(404, "NOT_FOUND", `No route for ${req.method} ${path}`);
  };

  const ac = new AbortController();
  let resolvePort: (p: number) => void;
  const portP = new Promise<number>((r) => (resolvePort = r));
  const server = Deno.serve({
    port: options.port ?? 8080,
    hostname,
    signal: ac.signal,
    onListen: ({ port }) => resolvePort(port),
  }, async (req) => {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await route(req);
    } catch (e) {
      res = errorResponse(e);
    }
    const u = new URL(req.url);
    log(`${req.method} ${u.pathname} ${res.status} ${(performance.now() - t0).toFixed(1)}ms`);
    return res;
  });
  const port = await portP;
  const shown = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  return {
    url: `http://${shown}:${port}`,
    port,
    store: s,
    async close() {
      ac.abort();
      await server.finished;
      if (ownStore) await s.close();
    },
  };
}
