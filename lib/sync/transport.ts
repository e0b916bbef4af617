/**
 * The sync worker's HTTP side: requests with retries (exponential backoff with jitter) whose
 * errors name the URL and the cause, the server's advertised limits, and the check of a pull
 * answer's shape.
 *
 * @module
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { decodeData } from "../events.ts";
import { SyncError } from "../errors.ts";
import {
  BLOB_PARTS,
  type HealthResponse,
  MAX_EVENTS_BODY,
  MAX_EVENTS_PER_PUSH,
  MAX_PULL_BYTES,
  protocolMismatch,
  type PullResponse,
  type SyncLimits,
} from "./protocol.ts";

/** Waits `ms`, or less when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * An error and its causes as one line ("fetch failed: connect ECONNREFUSED"), so a message
 * says why, not only that something failed.
 */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur !== undefined && cur !== null && i < 5; i++) {
    const msg = cur instanceof Error ? cur.message || cur.name : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ") || "unknown error";
}

/** What a {@link Transport} needs. */
export interface TransportOptions {
  /** The server's base URL without a trailing slash. */
  server: string;
  /** Bearer token. */
  token: string | undefined;
  /** Attempts per request. */
  retries: number;
  /** First retry delay in ms. */
  retryBase: number;
  /** Aborts the waits between attempts. */
  signal: () => AbortSignal | undefined;
}

/** Requests to one server. */
export class Transport {
  readonly #o: TransportOptions;
  #limits: SyncLimits | undefined;

  /** A transport to `o.server`. */
  constructor(o: TransportOptions) {
    this.#o = o;
  }

  /** The server's base URL. */
  get server(): string {
    return this.#o.server;
  }

  /** The request headers, with the bearer token when there is one. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#o.token ? { authorization: `Bearer ${this.#o.token}`, ...extra } : extra;
  }

  /**
   * Sends a request to `path` (on the server), retrying transient failures (network, 5xx,
   * 429). A refusal (400, 401, 403, 413) throws `SYNC_REJECTED` at once with the server's code and
   * message; running out of attempts throws `SYNC_FAILED` naming the URL and the last cause.
   */
  async request(path: string, init: RequestInit, what: string): Promise<Response> {
    return await this.#attempts(
      path,
      what,
      (url) => fetch(url, { ...init, headers: this.headers(init.headers as never) }),
    );
  }

  /**
   * `PUT`s `body` to `path` with its `Content-Length`, retrying like {@link request}. Through
   * `node:http`, which writes the caller's bytes to the socket as they are: `fetch` copies a
   * `Uint8Array` body into a new buffer per request that only the garbage collector frees
   * (measured: a 1 GB upload in 8 MiB parts, 4 in flight, peaked at 270 MB RSS against 50 MB
   * this way), and a stream body goes chunked.
   */
  async putBytes(
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    what: string,
  ): Promise<Response> {
    return await this.#attempts(path, what, (url) =>
      new Promise<Response>((resolve, reject) => {
        const send = url.startsWith("https:") ? httpsRequest : httpRequest;
        const req = send(url, {
          method: "PUT",
          agent: false,
          headers: this.headers({ ...headers, "content-length": String(body.length) }),
        }, (res) => {
          const chunks: Uint8Array<ArrayBuffer>[] = [];
          res.on("data", (c: Uint8Array<ArrayBuffer>) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
            }
            const status = res.statusCode ?? 0;
            const empty = status === 204 || status === 304 || status < 200;
            resolve(new Response(empty ? null : new Blob(chunks), { status, headers: h }));
          });
        });
        req.on("error", reject);
        req.end(body);
      }));
  }

  async #attempts(
    path: string,
    what: string,
    once: (url: string) => Promise<Response>,
  ): Promise<Response> {
    const url = this.#o.server + path;
    let last: unknown;
    for (let attempt = 0; attempt < this.#o.retries; attempt++) {
      if (attempt > 0) {
        const d = Math.min(30_000, this.#o.retryBase * 2 ** (attempt - 1));
        await sleep(d * (0.5 + Math.random()), this.#o.signal());
      }
      let res: Response;
      try {
        res = await once(url);
      } catch (e) {
        last = e;
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        last = new Error(`HTTP ${res.status} ${await res.text().catch(() => "")}`.trim());
        continue;
      }
      if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 413) {
        const body = await res.text().catch(() => "");
        let msg = body;
        let code: string | undefined;
        try {
          const j = JSON.parse(body);
          code = j.error?.code;
          msg = `${j.error?.code}: ${j.error?.message}`;
        } catch { /* plain text */ }
        const err = new SyncError(
          "SYNC_REJECTED",
          `${what} refused by ${url} (HTTP ${res.status}): ${msg}`,
          res.status,
        );
        Object.assign(err, { serverCode: code, serverMessage: msg });
        throw err;
      }
      return res;
    }
    throw new SyncError(
      "SYNC_FAILED",
      `${what} at ${url} failed after ${this.#o.retries} attempts: ${describeError(last)}`,
      undefined,
      { cause: last },
    );
  }

  /**
   * The server's limits from `/v1/health`, asked once per transport (a server that does not
   * advertise them gets the protocol's defaults). Refuses a server that speaks another sync
   * protocol, saying which side to upgrade.
   */
  async limits(): Promise<SyncLimits> {
    if (this.#limits) return this.#limits;
    const res = await this.request("/v1/health", {}, "checking the server");
    let h: HealthResponse | undefined;
    try {
      h = JSON.parse(await res.text());
    } catch { /* an odd server: the protocol check below names it */ }
    const why = protocolMismatch(h);
    if (why) throw new SyncError("SYNC_FAILED", `cannot sync with ${this.#o.server}: ${why}`);
    const l = h?.limits;
    const pos = (v: unknown, d: number) =>
      Number.isSafeInteger(v) && (v as number) > 0 ? v as number : d;
    this.#limits = {
      eventsBody: pos(l?.eventsBody, MAX_EVENTS_BODY),
      eventsPerPush: pos(l?.eventsPerPush, MAX_EVENTS_PER_PUSH),
      pullBytes: pos(l?.pullBytes, MAX_PULL_BYTES),
    };
    // Blob uploads: the request size the server prefers, and parts in flight only from a
    // server that has the capability (an older one takes offset requests alone).
    const part = pos(l?.blobPart, 0);
    if (part > 0) this.#limits.blobPart = part;
    if (Array.isArray(h?.capabilities) && h.capabilities.includes(BLOB_PARTS) && part > 0) {
      this.#limits.blobPartsInFlight = pos(l?.blobPartsInFlight, 1);
    }
    return this.#limits;
  }
}

/** The server's code and message of a refusal thrown by {@link Transport.request}. */
export function refusalOf(e: unknown): { status: number; message: string } | undefined {
  if (!(e instanceof SyncError) || e.code !== "SYNC_REJECTED" || e.status === undefined) return;
  const m = (e as SyncError & { serverMessage?: string }).serverMessage ?? e.message;
  return { status: e.status, message: m };
}

/**
 * Whether a refusal is about what was sent (bad event, too big, a project the token may not
 * write, a blob that fails its hash), not about the caller: a bad token, a role too low or a
 * read-only server refuses everything, so it fails the round instead of holding events back.
 */
export function refusesContent(r: { status: number; message: string }): boolean {
  if (r.status === 400 || r.status === 413) return true;
  return r.status === 403 && /project|events\[\d+\]/i.test(r.message);
}

/** Checks a pull answer's shape, so a broken server fails the round instead of looping. */
export function parsePull(text: string, cursor: string, url: string): PullResponse {
  const bad = (why: string, cause?: unknown): never => {
    throw new SyncError(
      "SYNC_FAILED",
      `pulling events from ${url}: bad answer from the server: ${why}`,
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
  const gone: unknown = body.gone;
  if (
    gone !== undefined &&
    (!Array.isArray(gone) || gone.some((g) => typeof g !== "string" || g === ""))
  ) {
    return bad(`gone ${JSON.stringify(gone)} is not a list of model ids`);
  }
  return body;
}
