/**
 * A device's upload of one weights blob, resuming where the server stopped. On a server with
 * the `blob-parts` capability the blob goes in numbered parts of the advertised size, several
 * in flight at once (each lane reads its part from the file into its own buffer while the
 * others are on the wire), and a resumed upload sends only the parts the server lacks. On an
 * older server it goes as offset requests, one after the other, of the size the server prefers.
 *
 * Every request has a known length (`Transport.putBytes`, which sends the buffer as it is): a
 * streamed (chunked) body from Deno's `fetch`, which leaves Nagle's algorithm on, stalls on
 * delayed ACKs as soon as the server reads slower than the network, and never recovers
 * (measured: 4 MB/s for 1 GB), and `fetch` copies a `Uint8Array` body per request into memory
 * only the garbage collector frees. Parts also bound what a broken connection costs.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { SyncError } from "../errors.ts";
import {
  blobPath,
  parsePartRanges,
  type SyncLimits,
  UPLOAD_LENGTH,
  UPLOAD_OFFSET,
  UPLOAD_PART_NUMBER,
  UPLOAD_PART_SIZE,
  UPLOAD_PARTS,
} from "./protocol.ts";
import type { Transport } from "./transport.ts";

/** Bytes per offset request to a server that states no preference (the last may be shorter). */
export const UPLOAD_PART = 2 * 1024 * 1024;
/** The largest request a device sends, whatever a server asks (bounds the device's memory). */
const MAX_REQUEST = 64 * 1024 * 1024;
/** The most parts in flight, whatever a server allows. */
const MAX_IN_FLIGHT = 8;

/** What {@link uploadBlob} needs. */
export interface BlobUploadDeps {
  /** Requests to the server. */
  transport: Transport;
  /** The store holding the blob. */
  store: Store;
  /** The server's limits (with its blob part size and parts in flight). */
  limits: SyncLimits;
  /** False: offset requests one after the other even to a server with `blob-parts`. */
  parts?: boolean;
  /** Counts bytes the server kept. */
  onSent?: (bytes: number) => void;
  /** Progress in bytes of the blob. */
  onProgress?: (done: number, total: number) => void;
}

const quarantinedRefusal = (e: unknown) =>
  (e as { serverCode?: string }).serverCode === "BLOB_QUARANTINED";

/** Reads `[offset, offset + buf.length)` of `file` (or up to its end) into `buf`; returns n. */
async function readAt(file: Deno.FsFile, offset: number, buf: Uint8Array): Promise<number> {
  await file.seek(offset, Deno.SeekMode.Start);
  let n = 0;
  while (n < buf.length) {
    const r = await file.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return n;
}

/**
 * Uploads the blob `hash` of `d.store`, resuming; returns the bytes sent (0 when the server
 * has it). A blob an admin quarantined on the server is skipped (0).
 */
export async function uploadBlob(d: BlobUploadDeps, hash: string): Promise<number> {
  const st = await d.store.blobs.stat(hash);
  if (!st) return 0;
  const head = await d.transport.request(
    blobPath(hash),
    { method: "HEAD" },
    `checking blob ${hash}`,
  );
  await head.body?.cancel();
  if (head.status === 200) return 0;
  const path = d.store.blobs.pathOf(hash);
  try {
    if (d.limits.blobPartsInFlight !== undefined && st.size > 0 && d.parts !== false) {
      return await uploadParts(d, hash, path, st.size, head);
    }
    return await uploadOffsets(
      d,
      hash,
      path,
      st.size,
      Number(head.headers.get(UPLOAD_OFFSET) ?? "0"),
    );
  } catch (e) {
    // A blob an admin quarantined is refused on purpose: the events naming it still go.
    if (quarantinedRefusal(e)) return 0;
    throw e;
  }
}

/** How many times a parts upload asks for a blob whose parts are all on the server. */
const FINISH_CHECKS = 30;

/** Numbered parts, several in flight; resumes with the parts the server lacks. */
async function uploadParts(
  d: BlobUploadDeps,
  hash: string,
  path: string,
  size: number,
  head: Response,
): Promise<number> {
  const url = blobPath(hash);
  const what = `uploading blob ${hash}`;
  const advertised = Math.min(MAX_REQUEST, d.limits.blobPart ?? UPLOAD_PART);
  const inFlight = Math.max(1, Math.min(MAX_IN_FLIGHT, d.limits.blobPartsInFlight ?? 1));
  // A resumed upload keeps the part size it was begun with.
  const resumed = Number(head.headers.get(UPLOAD_PART_SIZE) ?? "NaN");
  const sameLength = Number(head.headers.get(UPLOAD_LENGTH) ?? "NaN") === size;
  const partSize = sameLength && Number.isSafeInteger(resumed) && resumed > 0 &&
      resumed <= MAX_REQUEST
    ? resumed
    : advertised;
  let have = new Set(sameLength ? parsePartRanges(head.headers.get(UPLOAD_PARTS)) ?? [] : []);
  const count = Math.ceil(size / partSize);
  const lenOf = (n: number) => Math.min(partSize, size - (n - 1) * partSize);
  let sent = 0;
  let done = false;
  let stalls = 0;
  /** Checks for a blob another upload is finishing (see below). */
  let finishing = 0;
  const progress = () => {
    let bytes = 0;
    for (const n of have) if (n <= count) bytes += lenOf(n);
    d.onProgress?.(bytes, size);
  };
  for (let round = 0; round < 100_000; round++) {
    const missing: number[] = [];
    for (let n = 1; n <= count; n++) if (!have.has(n)) missing.push(n);
    if (missing.length === 0 && round > 0) {
      // Every part is there but no blob yet: another upload of the same blob (a second device)
      // sent the last part and is joining and hashing them now. Ask again, a little later each
      // time, for up to about 25 s.
      if (++finishing > FINISH_CHECKS) {
        throw new SyncError("SYNC_FAILED", `${what}: the server has every part but no blob`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** finishing)));
      const again = await d.transport.request(url, { method: "HEAD" }, `checking blob ${hash}`);
      await again.body?.cancel();
      if (again.status === 200) {
        d.onProgress?.(size, size);
        return sent;
      }
      have = new Set(parsePartRanges(again.headers.get(UPLOAD_PARTS)) ?? []);
      continue;
    }
    const before = have.size;
    let next = 0;
    const lane = async () => {
      const file = await Deno.open(path, { read: true });
      try {
        const buf = new Uint8Array(Math.min(partSize, size));
        while (!done && next < missing.length) {
          const n = missing[next++]!;
          const len = await readAt(file, (n - 1) * partSize, buf.subarray(0, lenOf(n)));
          if (len !== lenOf(n)) {
            throw new SyncError("SYNC_FAILED", `${what}: the local blob is shorter than ${size}`);
          }
          const res = await d.transport.putBytes(
            url,
            {
              [UPLOAD_PART_NUMBER]: String(n),
              [UPLOAD_PART_SIZE]: String(partSize),
              [UPLOAD_LENGTH]: String(size),
              "content-type": "application/octet-stream",
            },
            buf.subarray(0, len),
            what,
          );
          await res.body?.cancel();
          if (res.status === 200 || res.status === 201) {
            if (res.status === 201) {
              sent += len;
              d.onSent?.(len);
            }
            done = true;
            return;
          }
          if (res.status !== 202) {
            throw new SyncError("SYNC_FAILED", `${what}: HTTP ${res.status}`, res.status);
          }
          const now = parsePartRanges(res.headers.get(UPLOAD_PARTS));
          if (now?.includes(n) && !have.has(n)) {
            sent += len;
            d.onSent?.(len);
          }
          if (now) { for (const k of now) have.add(k); }
          progress();
        }
      } finally {
        file.close();
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, missing.length) }, lane));
    if (done) {
      d.onProgress?.(size, size);
      return sent;
    }
    // Parts were lost (a broken connection) or the server dropped the upload: ask again.
    const again = await d.transport.request(url, { method: "HEAD" }, `checking blob ${hash}`);
    await again.body?.cancel();
    if (again.status === 200) return sent;
    have = new Set(parsePartRanges(again.headers.get(UPLOAD_PARTS)) ?? []);
    // A server that keeps answering without taking parts must not hold the worker forever.
    stalls = have.size > before ? 0 : stalls + 1;
    if (stalls > 20) break;
  }
  throw new SyncError("SYNC_FAILED", `${what} made no progress`);
}

/** Offset requests one after the other, from the server's offset. */
async function uploadOffsets(
  d: BlobUploadDeps,
  hash: string,
  path: string,
  size: number,
  offset: number,
): Promise<number> {
  const url = blobPath(hash);
  const what = `uploading blob ${hash}`;
  const part = Math.min(MAX_REQUEST, d.limits.blobPart ?? UPLOAD_PART);
  let sent = 0;
  let stalls = 0;
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(Math.min(part, Math.max(1, size)));
    for (let round = 0; round < 100_000; round++) {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
        throw new SyncError("SYNC_FAILED", `${what}: bad server offset ${offset}`);
      }
      // A resumed upload realigns to whole requests, so that each fills one part on S3.
      const end = Math.min(size, (Math.floor(offset / part) + 1) * part);
      const n = await readAt(file, offset, buf.subarray(0, end - offset));
      const res = await d.transport.putBytes(
        url,
        {
          [UPLOAD_OFFSET]: String(offset),
          [UPLOAD_LENGTH]: String(size),
          "content-type": "application/octet-stream",
        },
        buf.subarray(0, n),
        what,
      );
      await res.body?.cancel();
      if (res.status === 200 || res.status === 201) {
        sent += n;
        d.onSent?.(n);
        d.onProgress?.(size, size);
        return sent;
      }
      if (res.status !== 202 && res.status !== 409) {
        throw new SyncError("SYNC_FAILED", `${what}: HTTP ${res.status}`, res.status);
      }
      const next = Number(res.headers.get(UPLOAD_OFFSET) ?? "NaN");
      if (res.status === 202) {
        // What the server kept of this request (all of it, unless the connection broke).
        const kept = Math.max(0, Math.min(n, next - offset));
        sent += kept;
        d.onSent?.(kept);
      }
      // A server that keeps answering without taking bytes must not hold the worker forever.
      stalls = next > offset ? 0 : stalls + 1;
      if (stalls > 20) break;
      offset = next;
      d.onProgress?.(offset, size);
    }
  } finally {
    file.close();
  }
  throw new SyncError("SYNC_FAILED", `${what} made no progress`);
}
