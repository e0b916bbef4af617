/**
 * The writes behind the sync quarantine (table `sync_quarantine`): events a server refused, or
 * whose blob failed its hash, set aside with their reason, and the events of the same stream
 * waiting behind them. The sync worker reads the table through `projections/read.ts`.
 *
 * @module
 */
import type { Executor } from "./writer.ts";

/** One event set aside. */
export interface QuarantineRow {
  /** The event's id. */
  eventId: string;
  /** Its local sequence number. */
  seq: number;
  /** Its stream. */
  stream: string;
  /** Its type. */
  type: string;
  /** Why it is held. */
  reason: string;
  /** The event it waits behind ("" when it is held for its own reason). */
  heldBy: string;
}

/** A change to the quarantine of one server. */
export interface QuarantineChange {
  /** The server (base URL) the quarantine is kept for. */
  server: string;
  /** Events to hold (a row already there is replaced). */
  hold?: QuarantineRow[];
  /** Events to release (their rows are deleted: the next push sends them). */
  release?: string[];
  /** Events never to send to this server (kept, marked dropped). */
  drop?: string[];
}

/** Applies a quarantine change inside the writer's transaction. */
export async function applyQuarantine(x: Executor, c: QuarantineChange): Promise<void> {
  const since = new Date().toISOString();
  for (const r of c.hold ?? []) {
    await x.execute({
      sql: `INSERT INTO sync_quarantine(server, event_id, seq, stream, type, reason, held_by,
              status, since) VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?)
            ON CONFLICT(server, event_id) DO UPDATE SET reason = excluded.reason,
              held_by = excluded.held_by, status = 'held', since = excluded.since`,
      args: [c.server, r.eventId, r.seq, r.stream, r.type, r.reason, r.heldBy, since],
    });
  }
  for (const id of c.release ?? []) {
    await x.execute({
      sql: "DELETE FROM sync_quarantine WHERE server = ? AND event_id = ?",
      args: [c.server, id],
    });
  }
  for (const id of c.drop ?? []) {
    await x.execute({
      sql:
        "UPDATE sync_quarantine SET status = 'dropped', since = ? WHERE server = ? AND event_id = ?",
      args: [since, c.server, id],
    });
  }
}
