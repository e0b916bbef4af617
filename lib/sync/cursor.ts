/**
 * The pull cursor of sync protocol 2: an opaque string the server hands out as `next` and
 * takes back as `after`. A device stores it and sends it back as it is; only the server reads
 * it. A libSQL server's cursor is its log's sequence number (`"42"`, as protocol 1's numbers
 * were); a PostgreSQL server's is the transaction id and sequence of the last event served
 * (`"9120.42"`: events are served in transaction order, see `PG_PULL_SQL`).
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

/** A decoded cursor: the last sequence served, and on PostgreSQL its transaction id. */
export interface PullCursor {
  /** The last event sequence number served (0: from the start). */
  seq: number;
  /** The transaction id (decimal `xid8`) of that event, on PostgreSQL. */
  tx?: string;
}

/** The cursor a pull from the start sends. */
export const START_CURSOR = "0";

/** Encodes a cursor for `next`. */
export function encodeCursor(c: PullCursor): string {
  return c.tx === undefined ? String(c.seq) : `${c.tx}.${c.seq}`;
}

/**
 * Decodes `after` (absent: from the start).
 *
 * @throws {InvalidArgumentError} naming `after` when it is not a cursor this server made
 */
export function decodeCursor(text: string | null | undefined): PullCursor {
  if (text === null || text === undefined || text === "") return { seq: 0 };
  const m = /^(?:(\d{1,20})\.)?(\d{1,15})$/.exec(text);
  const seq = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(seq)) {
    throw new InvalidArgumentError(
      "after",
      text,
      "must be a cursor the server returned as next (or a non-negative integer)",
    );
  }
  return m[1] === undefined ? { seq } : { seq, tx: m[1] };
}

/**
 * The sequence number a cursor has reached, for the worker's check that the server's log did
 * not go back (its `head` below the cursor's sequence); 0 for a cursor it cannot read.
 */
export function cursorSeq(text: string): number {
  try {
    return decodeCursor(text).seq;
  } catch {
    return 0;
  }
}
