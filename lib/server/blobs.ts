/**
 * Weights blobs by hash: `HEAD` (size, or the resumable upload's offset and parts), `GET`
 * (whole, or one byte range), and `PUT`, resumable in one of two ways: `Upload-Offset` where
 * this request's bytes start (one request after the other), or `Upload-Part` / `Upload-Part-Size`
 * (numbered parts, several at once, in any order: capability `blob-parts`); `Upload-Length` is
 * the blob's size. Committed, hash-checked, when the last byte arrives.
 *
 * @module
 */
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { encodeData } from "../events.ts";
import { isSha256Hex } from "../weights/blobs.ts";
import {
  BLOB_PARTS,
  formatPartRanges,
  UPLOAD_LENGTH,
  UPLOAD_OFFSET,
  UPLOAD_PART_NUMBER,
  UPLOAD_PART_SIZE,
  UPLOAD_PARTS,
} from "../sync/protocol.ts";
import { type Context, Hono, type MiddlewareHandler } from "../deps.ts";
import { type AppEnv, dropBody, HttpError, json, type ServerContext } from "./http.ts";
import { hasRole, LOCAL_PRINCIPAL, type Principal, requireRole } from "./auth.ts";
import type { PartUploads, ServerBlobs } from "../weights/blob_backend.ts";
import { BlobStore } from "../weights/blobs.ts";
import { LocalPartUploads } from "../weights/part_uploads.ts";
import { UploadRaceError } from "../weights/s3_uploads.ts";
import { quarantined } from "../store/blob_quarantine.ts";
import { checkUploadRoom, holdsBlob, mayReadBlob, recordHolder, uploadLimits } from "./uploads.ts";

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

/** A stream cut after `max` bytes (the rest of the body is cancelled). */
function capped(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let left = max;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (left <= 0) {
        await reader.cancel().catch(() => {});
        return c.close();
      }
      const { done, value } = await reader.read();
      if (done) return c.close();
      const part = value.byteLength > left ? value.subarray(0, left) : value;
      left -= part.byteLength;
      c.enqueue(part);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** The hash of a blob path, as sent (undecoded), for the error message of a bad one. */
function rawHash(c: Context): string {
  return new URL(c.req.url).pathname.slice("/v1/blobs/sha256/".length);
}

/** Refuses a blob name that is not a SHA-256 digest, before anything else is checked. */
const checkHash: MiddlewareHandler<AppEnv> = async (c, next) => {
  const hash = rawHash(c);
  if (!isSha256Hex(hash)) {
    throw new HttpError(
      400,
      "INVALID_ARGUMENT",
      `Invalid blob name ${JSON.stringify(hash)}: must be 64 lowercase hex`,
    );
  }
  await next();
};

/** One range `a-b`, `a-` or a suffix `-n` of a blob of `size` bytes; undefined: not one range. */
function parseRange(header: string | undefined, size: number) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!m || !(m[1] || m[2])) return undefined;
  if (!m[1]) {
    return { start: Math.max(0, size - Number(m[2])), end: Number(m[2]) > 0 ? size : 0 };
  }
  return { start: Number(m[1]), end: m[2] ? Math.min(Number(m[2]) + 1, size) : size };
}

const partsOfCtx = new WeakMap<ServerContext, PartUploads | undefined>();

/** The parts uploads of a server's blob store (the local folder's, or its backend's own). */
function partUploads(ctx: ServerContext): PartUploads | undefined {
  if (partsOfCtx.has(ctx)) return partsOfCtx.get(ctx);
  const b: ServerBlobs = ctx.blobs ?? ctx.store.blobs;
  const p = b.parts ?? (b instanceof BlobStore ? new LocalPartUploads(b) : undefined);
  partsOfCtx.set(ctx, p);
  return p;
}

/**
 * What `/v1/health` tells devices of blob uploads: the `blob-parts` capability with its part
 * size and parts in flight when the store takes parts, else the request size it prefers.
 */
export function blobUploadInfo(
  ctx: ServerContext,
): { capabilities: string[]; limits: { blobPart?: number; blobPartsInFlight?: number } } {
  const parts = partUploads(ctx);
  if (parts) {
    return {
      capabilities: [BLOB_PARTS],
      limits: { blobPart: parts.partSize, blobPartsInFlight: parts.inFlight },
    };
  }
  const size = ctx.blobs?.requestSize;
  return { capabilities: [], limits: size ? { blobPart: size } : {} };
}

/** Plain decimal digits only: Number() would take "", "0x10" or "1e3". */
const int = (v: string | null) => v !== null && /^\d{1,15}$/.test(v) ? Number(v) : NaN;

/**
 * The `/v1/blobs/sha256/:hash` routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/s.db`, log: () => {} });
 * const bytes = new TextEncoder().encode("weights");
 * const hash = Array.from(
 *   new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
 *   (b) => b.toString(16).padStart(2, "0"),
 * ).join("");
 * const url = `${server.url}/v1/blobs/sha256/${hash}`;
 * const put = await fetch(url, {
 *   method: "PUT",
 *   headers: { "Upload-Offset": "0", "Upload-Length": String(bytes.length) },
 *   body: bytes,
 * });
 * assert.equal(put.status, 201);
 * assert.equal((await put.json()).complete, true);
 * const part = await fetch(url, { headers: { range: "bytes=1-3" } });
 * assert.equal(part.status, 206);
 * assert.equal(await part.text(), "eig");
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function blobRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const s = ctx.store;
  const b: ServerBlobs = ctx.blobs ?? s.blobs;
  const uploads = ctx.uploads ?? uploadLimits();
  const parts = partUploads(ctx);
  const locks = new Map<string, Promise<unknown>>();
  const withBlobLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (locks.get(key) === tail) locks.delete(key);
    }
  };
  const path = "/v1/blobs/sha256/:hash";
  // The loopback caller keeps the shared partial layout; every token uploads into its own.
  const ownerOf = (who: Principal) => (who === LOCAL_PRINCIPAL ? undefined : who.id);

  // GET also answers HEAD (hono dispatches HEAD to GET routes and drops the body).
  app.get(path, checkHash, requireRole(ctx, "read"), async (c) => {
    const hash = rawHash(c);
    const isHead = c.req.method === "HEAD";
    const who = c.get("principal");
    const owner = ownerOf(who);
    // Bytes go only to a token that may read a model naming the blob. A HEAD tells a writer
    // whether to upload: a project-limited writer learns "present" only for a blob it proved
    // it holds (uploaded it), else it uploads the bytes (and so proves it holds them).
    // A quarantined blob answers like a missing one, to every token (admins list it).
    const st = await quarantined(s, hash) ? null : await b.stat(hash);
    let visible = st !== null && await mayReadBlob(s, who, hash);
    if (st && !visible && isHead && hasRole(who, "write")) visible = await holdsBlob(s, who, hash);
    if (!st || !visible) {
      const partial = await b.partialSize(hash, owner);
      const inParts = await parts?.progress(hash, owner);
      await dropBody(c);
      return new Response(
        isHead ? null : encodeData({ error: { code: "NOT_FOUND", message: "No such blob" } }),
        {
          status: 404,
          headers: {
            [UPLOAD_OFFSET]: String(partial),
            "content-type": "application/json",
            ...(inParts
              ? {
                [UPLOAD_PARTS]: formatPartRanges(inParts.received),
                [UPLOAD_PART_SIZE]: String(inParts.partSize),
                [UPLOAD_LENGTH]: String(inParts.length),
              }
              : {}),
          },
        },
      );
    }
    if (isHead) {
      return new Response(null, {
        status: 200,
        headers: { "content-length": String(st.size), "accept-ranges": "bytes" },
      });
    }
    // Several ranges are ignored and the whole blob served, as RFC 9110 allows.
    const range = parseRange(c.req.header("range"), st.size);
    if (range) {
      const { start, end } = range;
      if (start >= end) {
        await dropBody(c);
        return new Response(null, {
          status: 416,
          headers: { "content-range": `bytes */${st.size}` },
        });
      }
      return new Response(await b.open(hash, start, end), {
        status: 206,
        headers: {
          "content-range": `bytes ${start}-${end - 1}/${st.size}`,
          "content-length": String(end - start),
          "content-type": "application/octet-stream",
        },
      });
    }
    return new Response(await b.open(hash), {
      headers: {
        "content-length": String(st.size),
        "content-type": "application/octet-stream",
        "accept-ranges": "bytes",
      },
    });
  });

  /**
   * What every upload request checks first: a quarantined blob is refused (403), and a blob
   * the caller may already read (or holds) answers complete; either way the body is dropped.
   * Undefined: the upload goes on.
   */
  const settledUpload = async (c: Context<AppEnv>, hash: string) => {
    const who = c.get("principal");
    if (await quarantined(s, hash)) {
      await dropBody(c);
      throw new HttpError(
        403,
        "BLOB_QUARANTINED",
        `Blob ${hash} is quarantined by an admin: its bytes are not accepted until released`,
      );
    }
    const st = await b.stat(hash);
    if (st && (await mayReadBlob(s, who, hash) || await holdsBlob(s, who, hash))) {
      await dropBody(c);
      return json({ hash, complete: true, offset: st.size });
    }
    return undefined;
  };

  /** `PUT` of one numbered part (`Upload-Part`): not serialized with the blob's other parts. */
  const putPart = async (c: Context<AppEnv>, parts: PartUploads): Promise<Response> => {
    const hash = rawHash(c);
    const req = c.req.raw;
    const who = c.get("principal");
    const owner = ownerOf(who);
    const refuse = async (e: Error): Promise<never> => {
      await dropBody(c);
      throw e;
    };
    const settled = await settledUpload(c, hash);
    if (settled) return settled;
    const header = (name: string) => req.headers.get(name);
    const n = int(header(UPLOAD_PART_NUMBER));
    const size = int(header(UPLOAD_PART_SIZE));
    const total = int(header(UPLOAD_LENGTH));
    if (!Number.isSafeInteger(n) || n < 1) {
      await refuse(
        new InvalidArgumentError(UPLOAD_PART_NUMBER, header(UPLOAD_PART_NUMBER), "must be >= 1"),
      );
    }
    if (!Number.isSafeInteger(size) || size < 1) {
      await refuse(
        new InvalidArgumentError(UPLOAD_PART_SIZE, header(UPLOAD_PART_SIZE), "must be >= 1"),
      );
    }
    if (!Number.isSafeInteger(total) || (n - 1) * size >= Math.max(1, total)) {
      await refuse(
        new InvalidArgumentError(
          UPLOAD_LENGTH,
          header(UPLOAD_LENGTH),
          `must give the blob's full size (past the start ${(n - 1) * size} of part ${n})`,
        ),
      );
    }
    const before = await parts.progress(hash, owner);
    const held = before ? before.received.length * before.partSize : 0;
    try {
      await checkUploadRoom(b.dir, owner, hash, Math.min(held, total), total, uploads);
    } catch (e) {
      await refuse(e as Error);
    }
    const body = req.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    const want = Math.min(size, total - (n - 1) * size);
    const prog = await parts.putPart(hash, owner, total, size, n, capped(readAhead(body), want));
    if (!prog.complete) {
      return json(
        { hash, complete: false, parts: prog.received.length },
        202,
        { [UPLOAD_PARTS]: formatPartRanges(prog.received) },
      );
    }
    const done = await parts.commit(hash, owner);
    if (owner !== undefined) await recordHolder(s, who, hash);
    return json({ hash, complete: true, offset: done.size }, 201);
  };

  app.put(path, checkHash, requireRole(ctx, "write"), (c) => {
    const hash = rawHash(c);
    const req = c.req.raw;
    const who = c.get("principal");
    const owner = ownerOf(who);
    if (req.headers.has(UPLOAD_PART_NUMBER)) {
      if (parts) return putPart(c, parts);
      return dropBody(c).then(() => {
        throw new HttpError(
          400,
          "INVALID_ARGUMENT",
          `This server takes no ${UPLOAD_PART_NUMBER} uploads (no ${BLOB_PARTS} capability): ` +
            `send ${UPLOAD_OFFSET}`,
        );
      });
    }
    return withBlobLock(`${owner ?? ""}/${hash}`, async () => {
      const settled = await settledUpload(c, hash);
      if (settled) return settled;
      const offset = int(req.headers.get(UPLOAD_OFFSET) ?? "0");
      const total = int(req.headers.get(UPLOAD_LENGTH));
      if (!Number.isSafeInteger(offset)) {
        await dropBody(c);
        throw new InvalidArgumentError(
          UPLOAD_OFFSET,
          req.headers.get(UPLOAD_OFFSET),
          "must be a non-negative integer",
        );
      }
      if (!Number.isSafeInteger(total) || total < offset) {
        await dropBody(c);
        throw new InvalidArgumentError(
          UPLOAD_LENGTH,
          req.headers.get(UPLOAD_LENGTH),
          `must give the blob's full size (at least the offset ${offset})`,
        );
      }
      const current = await b.partialSize(hash, owner);
      const conflict = (stored: number) =>
        json(
          {
            error: {
              code: "INVALID_ARGUMENT",
              message: `Upload offset ${offset} does not match the stored ${stored}`,
            },
          },
          409,
          { [UPLOAD_OFFSET]: String(stored) },
        );
      if (offset !== current) {
        await dropBody(c);
        return conflict(current);
      }
      try {
        await checkUploadRoom(b.dir, owner, hash, current, total, uploads);
      } catch (e) {
        await dropBody(c);
        throw e;
      }
      const partial = (size: number) =>
        json({ hash, complete: false, offset: size }, 202, { [UPLOAD_OFFSET]: String(size) });
      // An empty body still creates the partial file (a 0-byte blob is a valid blob).
      const body = req.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      let size: number;
      try {
        // Never more than the declared length: a part past it is cut where the blob ends.
        size = await b.appendPartial(
          hash,
          offset,
          capped(readAhead(body), total - offset),
          owner,
          total,
        );
      } catch (e) {
        // A broken connection keeps what arrived: the client resumes from the new offset.
        if (e instanceof UploadRaceError) return conflict(await b.partialSize(hash, owner));
        if (e instanceof ModelogError) throw e;
        return partial(await b.partialSize(hash, owner));
      }
      if (size < total) return partial(size);
      await b.commitPartial(hash, owner);
      if (owner !== undefined) await recordHolder(s, who, hash);
      return json({ hash, complete: true, offset: size }, 201);
    });
  });

  app.all(path, checkHash, (c) => {
    throw new HttpError(405, "INVALID_ARGUMENT", `Method ${c.req.method} not allowed on blobs`);
  });
  app.all("/v1/blobs/*", async (c, next) => {
    const p = new URL(c.req.url).pathname;
    if (!p.startsWith("/v1/blobs/")) return await next(); // `/v1/blobs` itself: no route
    throw new HttpError(400, "INVALID_ARGUMENT", `Invalid blob path ${JSON.stringify(p)}`);
  });
  return app;
}
