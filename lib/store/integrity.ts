/**
 * The integrity checks of ingest: an event whose `checksum` does not match its content is
 * refused (`INVALID_EVENT` naming `event.checksum`), and an event id that arrives with content
 * other than the copy already held (in the log or earlier in the batch) is a conflict
 * (`EVENT_CONFLICT`), never silently kept. Same id, same content: a harmless duplicate. And the
 * check of local events before they are appended (`checkLocal`).
 *
 * @module
 */
import { InvalidEventError, type StoredEvent, validateEvent } from "../events.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { encodeEventData, eventChecksum } from "./log.ts";

/** An event refused by a check, and why. */
export interface Refusal {
  /** The event as given. */
  event: StoredEvent;
  /** Why. */
  error: ModelogError;
}

/** The error for an event whose checksum does not match its content. */
function checksumMismatch(e: StoredEvent, actual: string): InvalidEventError {
  return new InvalidEventError(
    "event.checksum",
    e.checksum,
    `does not match event ${e.id}, whose content hashes to ${actual}: it was changed on the way`,
  );
}

/** The error for an event id already held with other content. */
function conflict(id: string, where: string): ModelogError {
  return new ModelogError(
    "EVENT_CONFLICT",
    `Event ${id} arrived with content that differs from the copy in ${where}: an event id ` +
      "names one event for good, so this one was refused",
  );
}

/**
 * Checks a batch on its own: each event's checksum (when it carries one) and duplicates
 * within the batch.
 *
 * @param events Validated events.
 * @param encode Their `data` column's text (default `encodeEventData`).
 * @returns The refused ones, and for the rest (first copy of each id, in order): their `data`
 *   texts and their checksums, at the same indexes.
 */
export function screenIncoming(
  events: readonly StoredEvent[],
  encode: (e: StoredEvent) => string = encodeEventData,
): {
  bad: Refusal[];
  unique: StoredEvent[];
  texts: string[];
  sums: string[];
} {
  const bad: Refusal[] = [];
  const byId = new Map<string, string>();
  const unique: StoredEvent[] = [];
  const texts: string[] = [];
  const sums: string[] = [];
  for (const e of events) {
    const text = encode(e);
    const sum = eventChecksum(e, text);
    if (e.checksum !== undefined && e.checksum !== sum) {
      bad.push({ event: e, error: checksumMismatch(e, sum) });
      continue;
    }
    const twin = byId.get(e.id);
    if (twin !== undefined) {
      if (twin !== sum) bad.push({ event: e, error: conflict(e.id, "this batch") });
      continue;
    }
    byId.set(e.id, sum);
    unique.push(e);
    texts.push(text);
    sums.push(sum);
  }
  return { bad, unique, texts, sums };
}

/**
 * The events whose id the log already holds with another checksum.
 *
 * @param events The batch's events.
 * @param sums Their checksums, at the same indexes.
 * @param held The checksums the log holds, by id (for the ids it has).
 */
export function conflictsWithLog(
  events: readonly StoredEvent[],
  sums: readonly string[],
  held: ReadonlyMap<string, string>,
): Refusal[] {
  const out: Refusal[] = [];
  if (held.size === 0) return out;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const h = held.get(e.id);
    if (h !== undefined && h !== sums[i]) {
      out.push({ event: e, error: conflict(e.id, "the log") });
    }
  }
  return out;
}

/**
 * Validates local events as a peer would (scalar batches are skipped: the report queue checks
 * every point as it is queued, the hot path). A bad value came from the caller, so the error
 * is an `InvalidArgumentError` naming the argument (`name`, `tags`, `set`, …).
 */
export function checkLocal(events: StoredEvent[]): void {
  try {
    for (const e of events) if (e.type !== "metric.scalars") validateEvent(e);
  } catch (e) {
    if (e instanceof InvalidEventError) {
      const field = e.field.replace(/^(data|event)\.(fields\.)?/, "");
      throw new InvalidArgumentError(field, e.value, e.reason);
    }
    throw e;
  }
}
