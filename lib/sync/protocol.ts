/**
 * The sync wire protocol shared by the modelog server and the sync worker: paths, limits,
 * headers and the JSON bodies. Event data travels encoded with `encodeData` so NaN and
 * infinities survive JSON.
 *
 * @module
 */
import type { StoredEvent } from "../events.ts";

/**
 * The sync protocol this code speaks, reported by `GET /v1/health` as `protocol`. Version 2:
 * the pull cursor (`next`, `after`) is an opaque string (see `cursor.ts`). A worker refuses a
 * server reporting another version (or none: protocol 1) with a clear error.
 */
export const PROTOCOL_VERSION = 2;

/** Largest request body the server accepts for `POST /v1/events`, in bytes. */
export const MAX_EVENTS_BODY = 32 * 1024 * 1024;
/** Most events in one push. */
export const MAX_EVENTS_PER_PUSH = 5000;
/** Most events in one pull page. */
export const MAX_PULL_LIMIT = 5000;
/** Most bytes of events in one pull page (a page holds at least one event, however big). */
export const MAX_PULL_BYTES = 8 * 1024 * 1024;
/** Header carrying the byte offset of a resumable blob upload. */
export const UPLOAD_OFFSET = "Upload-Offset";
/** Header carrying the full size of a blob being uploaded. */
export const UPLOAD_LENGTH = "Upload-Length";
/**
 * The capability (in `/v1/health`'s `capabilities`) of a server that takes blob uploads in
 * numbered parts, several in flight and in any order: `PUT` with {@link UPLOAD_PART_NUMBER} (from 1)
 * and {@link UPLOAD_PART_SIZE}; part `n` holds the bytes from `(n - 1) * size`. The request that
 * lands the last missing part verifies the SHA-256 and answers 201. A server without it takes
 * only offset uploads ({@link UPLOAD_OFFSET}), one request after the other.
 */
export const BLOB_PARTS = "blob-parts";
/** Header carrying the number (from 1) of a part of a parts upload ({@link BLOB_PARTS}). */
export const UPLOAD_PART_NUMBER = "Upload-Part";
/** Header carrying the size of every part but the last of a parts upload. */
export const UPLOAD_PART_SIZE = "Upload-Part-Size";
/** Header of a `HEAD` answer listing the parts received so far, as ranges: `1-4,6`. */
export const UPLOAD_PARTS = "Upload-Parts";

/** Body of `POST /v1/events`. */
export interface PushRequest {
  events: StoredEvent[];
}

/** Answer to `POST /v1/events`. */
export interface PushResponse {
  /** Events that were new to the server. */
  accepted: number;
  /** Events the server already had (a replay is harmless). */
  duplicates: number;
  /** The server's sequence number after this push. */
  seq: number;
  /** The server database's identity: a new one means the database was replaced. */
  server?: string;
}

/** Answer to `GET /v1/events?after=N&limit=M`. */
export interface PullResponse {
  events: (StoredEvent & { seq: number })[];
  /** Cursor for the next pull: an opaque string, sent back as `after` (see `cursor.ts`). */
  next: string;
  /** Whether more events follow. */
  more: boolean;
  /** The server database's identity: a new one means the database was replaced. */
  server?: string;
  /** The server's newest sequence number: below a device's cursor, the log went back. */
  head?: number;
  /**
   * Models that left a project-limited token's scope in this page (an admin moved them
   * elsewhere): a device should stop showing them. Absent for unlimited tokens.
   */
  gone?: string[];
}

/**
 * Why a worker cannot sync with a server whose `GET /v1/health` answered `health`, or
 * undefined when it speaks {@link PROTOCOL_VERSION}.
 */
export function protocolMismatch(health: unknown): string | undefined {
  const v = (health as { protocol?: unknown } | null)?.protocol;
  if (v === PROTOCOL_VERSION) return undefined;
  if (typeof v === "number" && v > PROTOCOL_VERSION) {
    return `the server speaks sync protocol ${v}, newer than this modelog's ` +
      `${PROTOCOL_VERSION}: upgrade modelog on this device`;
  }
  return `the server speaks an older sync protocol (${
    typeof v === "number" ? v : 1
  }) than this modelog's ${PROTOCOL_VERSION}: upgrade the modelog server`;
}

/** The limits a server advertises in `/v1/health`: a device keeps its pushes below them. */
export interface SyncLimits {
  /** Largest `POST /v1/events` body in bytes. */
  eventsBody: number;
  /** Most events in one push. */
  eventsPerPush: number;
  /** Most bytes of events in one pull page. */
  pullBytes: number;
  /** Bytes per blob upload request the server prefers (absent: the device's default). */
  blobPart?: number;
  /** Parts of one blob a device may send at once, on a server with {@link BLOB_PARTS}. */
  blobPartsInFlight?: number;
}

/** Answer to `GET /v1/health` (the fields the sync worker reads). */
export interface HealthResponse {
  ok: boolean;
  /** The store's schema version. */
  schemaVersion?: number;
  /** The server's newest sequence number. */
  seq?: number;
  /** The server database's identity. */
  server?: string;
  /** The wire protocol's version ({@link PROTOCOL_VERSION}). */
  protocol?: number;
  /** What one push or pull may hold (absent from older servers: the defaults apply). */
  limits?: SyncLimits;
  /** Optional features, such as {@link BLOB_PARTS} (absent from older servers: none). */
  capabilities?: string[];
}

/** Formats part numbers as ranges (`[1, 2, 3, 5]` -> `1-3,5`), for {@link UPLOAD_PARTS}. */
export function formatPartRanges(parts: readonly number[]): string {
  const sorted = [...new Set(parts)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** Parses {@link formatPartRanges}'s text; undefined for anything else. */
export function parsePartRanges(text: string | null): number[] | undefined {
  if (text === null) return undefined;
  if (text.trim() === "") return [];
  const out: number[] = [];
  for (const r of text.split(",")) {
    const m = /^\s*(\d{1,9})(?:-(\d{1,9}))?\s*$/.exec(r);
    if (!m) return undefined;
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    if (a < 1 || b < a || b - a > 1_000_000) return undefined;
    for (let n = a; n <= b; n++) out.push(n);
  }
  return out;
}

/** Error body of every refused request. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The path of a blob by hash. */
export function blobPath(hash: string): string {
  return `/v1/blobs/sha256/${hash}`;
}
