/**
 * The sync wire protocol shared by the modelog server and the sync worker: paths, limits,
 * headers and the JSON bodies. Event data travels encoded with `encodeData` so NaN and
 * infinities survive JSON.
 *
 * @module
 */
import type { StoredEvent } from "../events.ts";

/** Largest request body the server accepts for `POST /v1/events`, in bytes. */
export const MAX_EVENTS_BODY = 32 * 1024 * 1024;
/** Most events in one push. */
export const MAX_EVENTS_PER_PUSH = 5000;
/** Most events in one pull page. */
export const MAX_PULL_LIMIT = 5000;
/** Header carrying the byte offset of a resumable blob upload. */
export const UPLOAD_OFFSET = "Upload-Offset";
/** Header carrying the full size of a blob being uploaded. */
export const UPLOAD_LENGTH = "Upload-Length";

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
  /** Cursor for the next pull (the last server sequence scanned). */
  next: number;
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

/** Error body of every refused request. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The path of a blob by hash. */
export function blobPath(hash: string): string {
  return `/v1/blobs/sha256/${hash}`;
}
