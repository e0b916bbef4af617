/**
 * The event log's rows: stamping a new event, encoding its payload for the `data` column, and
 * turning a row read back into a typed event.
 *
 * @module
 */
import { uuidv7 } from "../clock.ts";
import {
  decodeData,
  encodeData,
  EVENT_VERSION,
  type EventPayloads,
  type EventType,
  isEventType,
  type NewEvent,
  type StoredEvent,
} from "../events.ts";
import { ModelogError } from "../errors.ts";
import { createHash } from "node:crypto";

/** The columns of an event row, as the append path writes them. */
export const EVENT_COLUMNS = [
  "id",
  "stream",
  "type",
  "at",
  "origin",
  "v",
  "actor",
  "data",
  "remote",
  "checksum",
];

/**
 * The checksum of an event: SHA-256 (hex) of its canonical encoding, the JSON array
 * `[id, stream, type, at, origin, v]`, a newline, and the `data` column's text. The actor is
 * left out: it is attribution, which a server rewrites to its token's name on push. Computed
 * when an event is appended or ingested and kept beside it; `doctor` and ingest check it.
 *
 * @param e The event (its identity and clock fields).
 * @param data The event's `data` as stored (`encodeEventData`).
 */
export function eventChecksum(
  e: { id: string; stream: string; type: string; at: string; origin: string; v: number },
  data: string,
): string {
  const head = JSON.stringify([e.id, e.stream, e.type, e.at, e.origin, e.v]);
  // Two updates: joining first would copy a large `data` once more.
  return createHash("sha256").update(head).update("\n").update(data).digest("hex");
}

/**
 * `encodeData` for one event, with a fast path for scalar chunks: the report queue already
 * stores their non-finite values as the strings "NaN"/"Infinity"/"-Infinity", so when every
 * number is finite a plain `JSON.stringify` gives the same text as `encodeData` without calling
 * a replacer per point (which allocates a key string and a boxed number for each of them).
 */
export function encodeEventData(e: StoredEvent): string {
  if (e.type === "metric.scalars") {
    const d = e.data;
    let plain = true;
    for (const v of d.values) {
      if (typeof v === "number" && !Number.isFinite(v)) {
        plain = false;
        break;
      }
    }
    for (const i of d.iters) {
      if (!Number.isFinite(i)) {
        plain = false;
        break;
      }
    }
    if (plain) return JSON.stringify(d);
  }
  return encodeData(e.data);
}

/** Stamps a new event with its id, clock, origin and actor. */
export function stamp<K extends EventType>(
  e: NewEvent<K>,
  at: string,
  origin: string,
  actor: string,
): StoredEvent<K> {
  return {
    id: uuidv7(),
    stream: e.stream,
    type: e.type,
    at,
    origin,
    v: EVENT_VERSION,
    actor,
    data: e.data,
  };
}

/** Makes an event of a given type from its parts (`data` already decoded). */
function eventOf<K extends EventType>(
  id: string,
  stream: string,
  type: K,
  at: string,
  origin: string,
  v: number,
  actor: string,
  data: EventPayloads[K],
): StoredEvent<K> {
  return { id, stream, type, at, origin, v, actor, data };
}

/**
 * An event read back from this store's log. Its payload was validated when it was written, so
 * only the type is checked here (a log written by a newer modelog may hold unknown types).
 */
export function logEvent(
  id: string,
  stream: string,
  type: string,
  at: string,
  origin: string,
  v: number,
  actor: string,
  data: string,
): StoredEvent {
  if (!isEventType(type)) {
    throw new ModelogError("INVALID_EVENT", `Event ${id} has unknown type ${JSON.stringify(type)}`);
  }
  return eventOf(
    id,
    stream,
    type,
    at,
    origin,
    v,
    actor,
    decodeData<EventPayloads[typeof type]>(data),
  );
}

export function toEvent(r: Record<string, unknown>): StoredEvent {
  const e = logEvent(
    String(r.id),
    String(r.stream),
    String(r.type),
    String(r.at),
    String(r.origin),
    Number(r.v),
    String(r.actor),
    String(r.data),
  );
  // Keys in the order the wire format lists them: seq first, the checksum (when kept) last.
  const out: StoredEvent = { seq: Number(r.seq), ...e };
  if (typeof r.checksum === "string" && r.checksum !== "") out.checksum = r.checksum;
  return out;
}

/**
 * Turns rows of `seq, id, stream, type, at, data` (in that order, as arrays) into the events a
 * fold reads, and the last row's seq (`after` when there are none).
 */
export function foldEventsOfRows(
  rows: ArrayLike<ArrayLike<unknown>>,
  after: number,
): { events: StoredEvent[]; last: number } {
  const events: StoredEvent[] = [];
  let last = after;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    events.push(
      logEvent(
        String(r[1]),
        String(r[2]),
        String(r[3]),
        String(r[4]),
        "",
        EVENT_VERSION,
        "",
        String(r[5]),
      ),
    );
    last = Number(r[0]);
  }
  return { events, last };
}
