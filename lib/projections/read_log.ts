/**
 * The read side's queries over the event log itself: pages of events for pushes and pulls (cut
 * by bytes before they are read), events by id or stream, audit trails, and the sync
 * quarantine. Part of the one read side: `read.ts` re-exports all of it.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import { PG_PULL_SQL } from "../store/pg_sql.ts";
import { toEvent } from "../store/log.ts";
import type { PullCursor } from "../sync/cursor.ts";
import { dialectOfStore, readAll, readOne, type SqlArg } from "../store/raw.ts";
import type { EventPayloads, StoredEvent } from "../events.ts";

// ---------------------------------------------------------------------------------------------
// The event log

/** The highest local sequence number of the log (0 when empty). */
export async function headSeq(store: Store): Promise<number> {
  return (await readOne<{ n: number }>(store, "SELECT coalesce(max(seq), 0) AS n FROM events"))
    ?.n ??
    0;
}

/** Up to `limit` events after `afterSeq`, in local order; `localOnly` skips pulled events. */
export async function eventsAfter(
  store: Store,
  afterSeq: number,
  limit: number,
  options: { localOnly?: boolean } = {},
): Promise<StoredEvent[]> {
  return await store.readEvents({
    afterSeq,
    limit,
    ...(options.localOnly ? { localOnly: true } : {}),
  });
}

/**
 * One page of the server's log after `cursor`, in serving order, and the cursor after it. On
 * libSQL (one writer) that is sequence order; on PostgreSQL, `(transaction id, seq)` order and
 * only the events of transactions older than every one still running (see `PG_PULL_SQL`), so
 * a page never skips an event that commits later. A page holds at most `limit` events and, past
 * its first event, `maxBytes` bytes of them.
 */
export async function pullPage(
  store: Store,
  cursor: PullCursor,
  limit: number,
  maxBytes: number,
): Promise<{ events: StoredEvent[]; next: PullCursor; more: boolean }> {
  if (dialectOfStore(store) !== "postgres") {
    // The page is cut by bytes before it is read: a log of big plots never makes a big answer.
    const sizes = await eventSizesAfter(store, cursor.seq, limit);
    let n = 0;
    for (let bytes = 0; n < sizes.length; n++) {
      bytes += sizes[n]!.bytes;
      if (n > 0 && bytes > maxBytes) break;
    }
    const events = n ? await store.readEvents({ afterSeq: cursor.seq, limit: n }) : [];
    const last = events[events.length - 1];
    return {
      events,
      next: last ? { seq: last.seq! } : cursor,
      more: events.length === limit || n < sizes.length,
    };
  }
  // One statement, one snapshot: the rows below the horizon, cut where their bytes add up.
  const rows = await readAll<Record<string, unknown> & { tx: string; seq: number; more: number }>(
    store,
    PG_PULL_SQL,
    [cursor.tx ?? "0", cursor.seq, limit, maxBytes],
  );
  const last = rows[rows.length - 1];
  const seen = rows.length ? Number(rows[0]!.more) : 0;
  return {
    events: rows.map(toEvent),
    next: last ? { tx: String(last.tx), seq: Number(last.seq) } : cursor,
    more: rows.length === limit || rows.length < seen,
  };
}

/** Events by id (missing ids are absent from the map). */
export async function eventsById(store: Store, ids: string[]): Promise<Map<string, StoredEvent>> {
  return await store.eventsById(ids);
}

/** A model's events, newest first, at most `limit`. */
export async function modelEvents(
  store: Store,
  modelId: string,
  limit: number,
): Promise<StoredEvent[]> {
  return await store.streamEvents(`model:${modelId}`, limit);
}

/** One audit-trail entry: an event with its payload as stored (JSON text). */
export interface AuditRow {
  /** Event id. */
  id: string;
  /** Event type. */
  type: string;
  /** Its HLC time. */
  at: string;
  /** Who wrote it. */
  actor: string;
  /** The device that wrote it. */
  origin: string;
  /** The payload, JSON text. */
  data: string;
}

/**
 * A model's audit trail, newest first: at most `limit` events other than reported metrics,
 * and how many metric events (scalar batches and plots) it has besides.
 */
export async function modelAuditTrail(
  store: Store,
  modelId: string,
  limit: number,
): Promise<{ rows: AuditRow[]; scalarEvents: number; plotEvents: number }> {
  const stream = `model:${modelId}`;
  const rows = await readAll<AuditRow>(
    store,
    `SELECT id, type, at, actor, origin, data FROM events
     WHERE stream = ? AND type NOT IN ('metric.scalars', 'metric.plot')
     ORDER BY at DESC LIMIT ?`,
    [stream, limit],
  );
  const counts = await readAll<{ type: string; n: number }>(
    store,
    `SELECT type, count(*) AS n FROM events
     WHERE stream = ? AND type IN ('metric.scalars', 'metric.plot') GROUP BY type`,
    [stream],
  );
  const n = (t: string) => Number(counts.find((c) => c.type === t)?.n ?? 0);
  return { rows, scalarEvents: n("metric.scalars"), plotEvents: n("metric.plot") };
}

/** How many local (not pulled) events come after `afterSeq`: what a push still has to send. */
export async function countLocalEventsAfter(store: Store, afterSeq: number): Promise<number> {
  return (await readOne<{ n: number }>(
    store,
    "SELECT count(*) AS n FROM events WHERE seq > ? AND remote = 0",
    [afterSeq],
  ))?.n ?? 0;
}

/** The payloads of the local `model.weights_updated` events after `afterSeq`, in local order. */
export async function localWeightsUpdatesAfter(
  store: Store,
  afterSeq: number,
): Promise<EventPayloads["model.weights_updated"][]> {
  const rows = await readAll<{ data: string }>(
    store,
    `SELECT data FROM events WHERE seq > ? AND remote = 0 AND type = 'model.weights_updated'
     ORDER BY seq`,
    [afterSeq],
  );
  return rows.map((r) => JSON.parse(r.data) as EventPayloads["model.weights_updated"]);
}

// ---------------------------------------------------------------- sync: sizes and quarantine

/**
 * The sequence number and stored size in bytes (payload plus the envelope's fields) of at most
 * `limit` events after `afterSeq`, in order: lets a page be cut by bytes before it is read.
 */
export async function eventSizesAfter(
  store: Store,
  afterSeq: number,
  limit: number,
  options: { localOnly?: boolean } = {},
): Promise<{ seq: number; bytes: number }[]> {
  return await readAll<{ seq: number; bytes: number }>(
    store,
    `SELECT seq, length(CAST(data AS BLOB)) + length(stream) + length(type) + length(at)
            + length(origin) + length(actor) + 120 AS bytes
     FROM events WHERE seq > ?${options.localOnly ? " AND remote = 0" : ""}
     ORDER BY seq LIMIT ?`,
    [afterSeq, limit],
  );
}

/** An event the sync worker holds back from a server. */
export interface QuarantineEntry {
  /** The event's id. */
  id: string;
  /** Its local sequence number. */
  seq: number;
  /** Its stream (`model:<id>` or `task:<id>`). */
  stream: string;
  /** Its type. */
  type: string;
  /** Why it is held (for a waiting event: what it waits behind). */
  reason: string;
  /** The held event it waits behind, when it waits for another (same stream, earlier). */
  heldBy: string | undefined;
  /** `held` (sent again on retry) or `dropped` (never sent to this server). */
  status: "held" | "dropped";
  /** When it was set aside (or dropped). */
  since: Date;
}

/** The events held back from `server` (the dropped ones too with `includeDropped`), by seq. */
export async function quarantineEntries(
  store: Store,
  server: string,
  options: { includeDropped?: boolean; ids?: string[] } = {},
): Promise<QuarantineEntry[]> {
  const args: SqlArg[] = [server];
  let where = "server = ?";
  if (!options.includeDropped) where += " AND status = 'held'";
  if (options.ids) {
    where += ` AND event_id IN (${options.ids.map(() => "?").join(",") || "''"})`;
    args.push(...options.ids);
  }
  const rows = await readAll<Record<string, string | number>>(
    store,
    `SELECT event_id, seq, stream, type, reason, held_by, status, since FROM sync_quarantine
     WHERE ${where} ORDER BY seq`,
    args,
  );
  return rows.map((r) => ({
    id: String(r.event_id),
    seq: Number(r.seq),
    stream: String(r.stream),
    type: String(r.type),
    reason: String(r.reason),
    heldBy: r.held_by ? String(r.held_by) : undefined,
    status: r.status === "dropped" ? "dropped" : "held",
    since: new Date(String(r.since)),
  }));
}
