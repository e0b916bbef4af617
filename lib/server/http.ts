/**
 * What every route module of the server shares: the hono environment (the request's
 * principal), the server's context (store, tokens, identity), the JSON answers and the mapping
 * of errors to the JSON error body `{"error": {"code", "message"}}` with its status.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { encodeData } from "../events.ts";
import { ModelogError, type ModelogErrorCode } from "../errors.ts";
import { bodyLimit, type Context, HTTPException, type MiddlewareHandler } from "../deps.ts";
import type { Principal, TokenAuth } from "./auth.ts";
import { headSeq } from "../projections/read.ts";
import type { UploadLimits } from "./uploads.ts";
import type { ServerBlobs } from "../weights/blob_backend.ts";

/** The hono environment of every route: the principal the auth middleware found. */
export type AppEnv = { Variables: { principal: Principal } };

/** What the route modules need of the running server. */
export interface ServerContext {
  /** The store behind the server. */
  store: Store;
  /** The tokens; undefined: a loopback-only server where every caller is the local admin. */
  auth: TokenAuth | undefined;
  /** Whether every write is refused. */
  readOnly: boolean;
  /** The database's identity (absent on a read-only server over a store that has none). */
  serverId: string | undefined;
  /** Largest `POST /v1/events` body in bytes. */
  maxEventsBody: number;
  /** Most events per push. */
  maxEventsPerPush: number;
  /**
   * Push bodies held in memory at once, in bytes (default half of `maxEventsBody`; a push
   * bigger than this runs alone). Pushes beyond it wait, their bytes unread.
   */
  pushBytesInFlight?: number;
  /** How far ahead of the server's clock a pushed event may be, in ms. */
  maxClockSkewMs: number;
  /** How long a bounded (non-streaming) request may take, in ms. */
  requestTimeoutMs: number;
  /** Limits on uploads in progress (defaults of `uploadLimits()` when absent). */
  uploads?: UploadLimits;
  /** Where the blob routes keep blobs (S3); absent: the store's folder, `store.blobs`. */
  blobs?: ServerBlobs;
}

/** An error with the HTTP status to answer it with. */
export class HttpError extends ModelogError {
  /**
   * @param status the HTTP status
   * @param code the error body's code
   * @param message the error body's message
   */
  constructor(readonly status: number, code: ModelogErrorCode, message: string) {
    super(code, message);
  }
}

/** The status of each library error code (500 for the others). */
const STATUS: Partial<Record<ModelogErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_EVENT: 400,
  HASH_MISMATCH: 400,
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  WEIGHTS_NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  BLOB_QUARANTINED: 403,
  PAYLOAD_TOO_LARGE: 413,
  STORE_LOCKED: 503,
  MODEL_PUBLISHED: 409,
  EVENT_CONFLICT: 409,
};

/** A JSON answer (event data encoded so NaN and infinities survive). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(encodeData(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The JSON error body of a code and message. */
export function errorJson(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/**
 * The answer to a failed request: an {@link HttpError} with its status, a library error with
 * the status of its code, hono's own exceptions (their prepared response) and anything else
 * as 500 `INTERNAL`.
 */
export function errorResponse(e: unknown): Response {
  if (e instanceof HttpError) return errorJson(e.status, e.code, e.message);
  if (e instanceof ModelogError) return errorJson(STATUS[e.code] ?? 500, e.code, e.message);
  if (e instanceof HTTPException) return e.getResponse();
  return errorJson(500, "INTERNAL", String((e as Error)?.message ?? e));
}

/** Cancels a request body nobody will read (errors ignored: it may be read already). */
export async function dropBody(c: Context): Promise<void> {
  await c.req.raw.body?.cancel().catch(() => {});
}

/** hono's body limit answering 413 `PAYLOAD_TOO_LARGE` in the JSON error format. */
export function limitBody(limit: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: limit,
    onError: async (c) => {
      const len = c.req.header("content-length");
      await dropBody(c);
      throw new HttpError(
        413,
        "PAYLOAD_TOO_LARGE",
        len !== undefined && !c.req.header("transfer-encoding")
          ? `Body of ${Number(len)} bytes exceeds the limit of ${limit}`
          : `Body exceeds the limit of ${limit} bytes`,
      );
    },
  });
}

/** The server's newest sequence number. */
export function head(ctx: ServerContext): Promise<number> {
  return headSeq(ctx.store);
}
