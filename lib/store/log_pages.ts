/**
 * The event log read in pages for `rebuild()`: each page one JSON text made by SQLite (read on
 * the store's own read connection), turned into events wherever the fold runs (the scratch
 * fold's worker thread, `scratch_worker.ts`).
 *
 * @module
 */
import type { DbClient } from "./db.ts";
import { decodeData, EVENT_VERSION, isEventType, type StoredEvent } from "../events.ts";
import { ModelogError } from "../errors.ts";

/**
 * A page of the log as one JSON text (an array of `[seq, id, stream, type, at, data]`, `data`
 * inlined as JSON), with its number of events and its last seq: one value to hand over and one
 * `JSON.parse`, instead of a row object per event and a parse of each event's data. The text is
 * joined from the columns as they are (`data` is stored as JSON text), not built with SQLite's
 * JSON functions, which parse every event's data once more (a rebuild of 1M events went from
 * 78-90k to 104-105k events/s); a `data` that is not JSON fails the page's parse and is named
 * by {@link notJson}.
 *
 * It is read on the store's own read connection: a second SQLite library opening the live file
 * in this process (`node:sqlite`) would share the process's POSIX locks with libSQL without
 * knowing, take itself for the only connection, and reset the WAL index or delete the WAL under
 * libSQL's feet.
 */
export const PAGE_JSON_SQL =
  `SELECT '[' || coalesce(group_concat('[' || seq || ',' || json_quote(id) || ','
                         || json_quote(stream) || ',' || json_quote(type) || ',' || json_quote(at)
                         || ',' || data || ']', ','), '') || ']' AS page,
          count(*) AS n, coalesce(max(seq), 0) AS last
                       FROM (SELECT seq, id, stream, type, at, data FROM events
                             WHERE seq > ? ORDER BY seq LIMIT ?)`;

/** The marker `encodeData` writes for a number JSON has no text for (NaN, ±Infinity). */
const NF_MARK = `"$nf"`;

/** A page of the log as {@link PAGE_JSON_SQL} reads it. */
export interface PageText {
  /** The page's JSON text. */
  text: string;
  /** Its number of events. */
  n: number;
  /** Its last seq (`after` when the page is empty). */
  last: number;
}

/** Reads up to `limit` events after seq `after` as one JSON text. */
export async function readPageText(
  reader: DbClient,
  after: number,
  limit: number,
): Promise<PageText> {
  const rs = await reader.execute({ sql: PAGE_JSON_SQL, args: [after, limit] });
  const row = rs.rows[0];
  const n = Number(row?.n ?? 0);
  return { text: String(row?.page ?? "[]"), n, last: n > 0 ? Number(row!.last) : after };
}

/** The error of a page whose text does not parse: some event's `data` is not JSON. */
export class PageNotJsonError extends Error {
  override readonly name = "PageNotJsonError";
}

/**
 * The events of a page text (only what the fold reads), in seq order.
 *
 * @throws {PageNotJsonError} When the text does not parse.
 * @throws {ModelogError} `INVALID_EVENT` for an event of an unknown type.
 */
export function eventsOfPage(text: string): StoredEvent[] {
  let rows: unknown[][];
  try {
    rows = JSON.parse(text) as unknown[][];
  } catch (cause) {
    throw new PageNotJsonError(String(cause), { cause });
  }
  // The aggregate reads its subquery in order; checked, since the fold pages on the last seq.
  for (let i = 1; i < rows.length; i++) {
    if (Number(rows[i]![0]) <= Number(rows[i - 1]![0])) {
      rows.sort((a, b) => Number(a[0]) - Number(b[0]));
      break;
    }
  }
  // A page with a number marker somewhere: its payloads decoded as the log's codec does.
  const marked = text.includes(NF_MARK);
  const events: StoredEvent[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const type = r[3];
    if (!isEventType(type)) {
      throw new ModelogError(
        "INVALID_EVENT",
        `Event ${r[1]} has unknown type ${JSON.stringify(type)}`,
      );
    }
    events[i] = {
      id: String(r[1]),
      stream: String(r[2]),
      type,
      at: String(r[4]),
      origin: "",
      v: EVENT_VERSION,
      actor: "",
      data: marked ? decodeData(JSON.stringify(r[5])) : r[5],
    } as StoredEvent;
  }
  return events;
}

/** The `STORE_CORRUPT` error for a log page with an event whose `data` is not JSON. */
export async function notJson(
  reader: DbClient,
  after: number,
  limit: number,
  cause: unknown,
): Promise<ModelogError> {
  const bad = await reader.execute({
    sql: `SELECT seq, id FROM (SELECT seq, id, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?)
          WHERE NOT json_valid(data) LIMIT 1`,
    args: [after, limit],
  });
  const row = bad.rows[0];
  const which = row ? `event ${row.id} (seq ${row.seq})` : `an event after seq ${after}`;
  return new ModelogError(
    "STORE_CORRUPT",
    `The log is damaged: the data of ${which} is not JSON; nothing was rebuilt (restore the store from a backup)`,
    { cause },
  );
}
