/**
 * Ingest of events from elsewhere (a sync peer, a pushing device, an import): each event is
 * validated once, refused when stamped beyond the clock-skew limit, checked against its
 * checksum and against the copies already held (`integrity.ts`), and the new ones are folded
 * and written in one transaction.
 *
 * The write is shaped for big batches: on libSQL, the new log rows (and the projection rows of
 * the tables whose columns allow it) go in as one statement per table, the rows as one JSON
 * text unpacked by `json_each`, so the statement text is the same whatever the batch size and
 * SQLite parses no multi-thousand-placeholder statement. On PostgreSQL the rows go as
 * multi-row `VALUES`, as the append path writes them.
 *
 * @module
 */
import type { InStatement, InValue } from "../deps.ts";
import type { Dialect } from "./db.ts";
import { lockStreams } from "./pg.ts";
import type { Hlc } from "../clock.ts";
import { InvalidEventError, type StoredEvent, validateEvent } from "../events.ts";
import type { ModelogError } from "../errors.ts";
import { Projection, upsertRows } from "../projections/project.ts";
import type { Executor, Writer } from "./writer.ts";
import { encodeEventData, EVENT_COLUMNS } from "./log.ts";
import { conflictsWithLog, screenIncoming } from "./integrity.ts";
import { maxAtStatement } from "./append.ts";
import { preload } from "./rebuild.ts";

/** An event `ingest` refused, and why. */
export interface RefusedEvent {
  /** The event as given. */
  event: StoredEvent;
  /** Why (code `INVALID_EVENT`, naming `event.at`). */
  error: ModelogError;
}

/** Options of an ingest. */
export interface IngestOptions {
  /** Whether the events are marked pulled (default true). */
  remote?: boolean;
  /** Receives the refused events; without it a bad event fails the whole batch. */
  onRefused?: (refused: RefusedEvent[]) => void;
  /**
   * The events were parsed from JSON text holding no `{"$nf": …}` marker (so no payload holds
   * NaN or an infinity): their `data` column is plain `JSON.stringify`, the same text
   * `encodeData` makes, without its per-value replacer.
   */
  plainData?: boolean;
}

/** What an ingest works on: the store's writer, dialect and clock. */
export interface IngestTarget {
  /** The store's one writer. */
  writer: Writer;
  /** The database's dialect. */
  dialect: Dialect;
  /** The store's clock (the skew rule, and observing what was ingested). */
  clock: Hlc;
}

/**
 * Ingests `events`: validates each, refuses those beyond the skew limit (to `onRefused`, or
 * a warning), skips ids already stored, refuses changed checksums and conflicting copies
 * (`EVENT_CONFLICT`), and applies the rest in one transaction. Returns the events that were
 * new.
 */
export async function ingestEvents(
  t: IngestTarget,
  events: unknown[],
  options: IngestOptions = {},
): Promise<StoredEvent[]> {
  const refused: RefusedEvent[] = [];
  const inTime: StoredEvent[] = [];
  for (const raw of events) {
    const e = validateEvent(raw);
    if (!t.clock.tooFarAhead(e.at)) inTime.push(e);
    else {
      refused.push({
        event: e,
        error: new InvalidEventError(
          "event.at",
          e.at,
          `is more than ${t.clock.maxSkewMs} ms ahead of this machine's clock: check the clock of device ${e.origin}`,
        ),
      });
    }
  }
  if (refused.length > 0) {
    if (options.onRefused) options.onRefused(refused);
    else {
      console.warn(
        `modelog: refused ${refused.length} event(s) stamped too far in the future, first: ${
          refused[0]!.error.message
        }`,
      );
    }
  }
  // Integrity: a checksum that does not match its event, or an id already held with other
  // content, is refused (never silently kept or dropped).
  const encode = options.plainData ? plainText : encodeEventData;
  const { bad, texts, sums, unique } = screenIncoming(inTime, encode);
  const fresh = await t.writer.tx(async (x) => {
    if (t.dialect === "postgres") await lockStreams(x, unique);
    const existing = await heldChecksums(x, t.dialect, unique);
    bad.push(...conflictsWithLog(unique, sums, existing));
    // Without a handler, nothing of a batch with a bad event is written: the caller hears.
    if (bad.length > 0 && !options.onRefused) throw bad[0]!.error;
    let out = unique, outTexts = texts, outSums = sums;
    if (existing.size > 0) {
      out = [], outTexts = [], outSums = [];
      for (let i = 0; i < unique.length; i++) {
        if (existing.has(unique[i]!.id)) continue;
        out.push(unique[i]!);
        outTexts.push(texts[i]!);
        outSums.push(sums[i]!);
      }
    }
    // HLC texts sort as their clocks do: observing the newest is observing them all.
    let newest = "";
    for (const e of out) if (e.at > newest) newest = e.at;
    if (newest) t.clock.observe(newest);
    await writeIngested(x, t.dialect, out, options.remote ?? true, outTexts, outSums);
    return out;
  });
  if (bad.length > 0) options.onRefused?.(bad);
  return fresh;
}

/** `data` text of an event parsed from JSON without non-finite markers. */
function plainText(e: StoredEvent): string {
  return JSON.stringify(e.data);
}

/** The checksums the log holds for the ids of `events`, by id. */
async function heldChecksums(
  x: Executor,
  dialect: Dialect,
  events: readonly StoredEvent[],
): Promise<Map<string, string>> {
  const existing = new Map<string, string>();
  if (events.length === 0) return existing;
  if (dialect === "sqlite") {
    const rs = await x.execute({
      sql: "SELECT id, checksum FROM events WHERE id IN (SELECT value FROM json_each(?))",
      args: [JSON.stringify(events.map((e) => e.id))],
    });
    for (const r of rs.rows) existing.set(String(r[0]), String(r[1]));
    return existing;
  }
  for (let i = 0; i < events.length; i += 500) {
    const part = events.slice(i, i + 500);
    const rs = await x.execute({
      sql: `SELECT id, checksum FROM events WHERE id IN (${part.map(() => "?").join(",")})`,
      args: part.map((e) => e.id),
    });
    for (const r of rs.rows) existing.set(String(r[0]), String(r[1]));
  }
  return existing;
}

/**
 * The columns of INTEGER affinity of the tables written through `json_each` (pinned against
 * the schema by a unit test). A bound JS number reaches SQLite as a REAL and `json_each`
 * yields an INTEGER: the same stored value only where the column's affinity makes it one, so
 * a number anywhere else sends the rows the bound way.
 */
export const JSON_ROW_TABLES: Readonly<Record<string, readonly string[]>> = {
  events: ["v", "remote"],
  plots: ["iteration"],
  metric_chunks: ["n", "min_iter", "max_iter"],
};

/** Above this many characters of `data` text, a batch's log rows are bound, not sent as JSON. */
export const JSON_ROWS_MAX_BYTES = 1 << 20;

/**
 * One `INSERT … SELECT … FROM json_each(?)` for `tuples` (one array of values per row, in
 * `columns` order), or undefined when a string would be escaped as `\u…` in JSON (a control
 * character or a lone surrogate: SQLite's JSON reading could store it otherwise than binding).
 */
function jsonTuplesStatement(
  table: string,
  columns: readonly string[],
  tuples: readonly (readonly InValue[])[],
  verb: string,
  suffix: string,
): InStatement | undefined {
  const text = JSON.stringify(tuples);
  if (text.includes("\\u")) return undefined;
  const picks = columns.map((_, j) => `value->>${j}`).join(",");
  // `WHERE true` lets an upsert's ON CONFLICT follow the SELECT (SQLite's parsing rule).
  return {
    sql: `${verb} INTO ${table} (${columns.join(",")}) SELECT ${picks} FROM json_each(?) ` +
      `WHERE true ${suffix}`,
    args: [text],
  };
}

/**
 * The rows as tuples for {@link jsonTuplesStatement}, or undefined when a value could be
 * stored otherwise than when bound (a number or boolean outside an INTEGER column of
 * {@link JSON_ROW_TABLES}, a non-safe integer, anything else but text or null).
 */
export function jsonTuples(
  table: string,
  columns: readonly string[],
  rows: readonly object[],
): InValue[][] | undefined {
  const ints = JSON_ROW_TABLES[table];
  if (!ints) return undefined;
  const isInt = columns.map((c) => ints.includes(c));
  const tuples: InValue[][] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as Record<string, unknown>;
    const tuple: InValue[] = new Array(columns.length);
    for (let j = 0; j < columns.length; j++) {
      const v = r[columns[j]!];
      if (typeof v === "number" || typeof v === "boolean") {
        if (!isInt[j] || (typeof v === "number" && !Number.isSafeInteger(v))) return undefined;
      } else if (typeof v !== "string" && v !== null) return undefined;
      tuple[j] = v as InValue;
    }
    tuples[i] = tuple;
  }
  return tuples;
}

/**
 * Inside the transaction: folds the new events over the rows they touch, writes log +
 * projections. `texts` and `sums` are the events' `data` texts and checksums.
 */
async function writeIngested(
  x: Executor,
  dialect: Dialect,
  events: readonly StoredEvent[],
  remote: boolean,
  texts: readonly string[],
  sums: readonly string[],
): Promise<void> {
  if (events.length === 0) return;
  const p = new Projection();
  for (const pl of p.preloads(events)) p.load(pl, await preload(x, pl));
  for (const e of events) p.apply(e);
  const stmts: InStatement[] = [];
  const flag = remote ? 1 : 0;
  // Validated events: text everywhere but `v` (an integer) and the remote flag.
  const tuples: InValue[][] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    tuples[i] = [e.id, e.stream, e.type, e.at, e.origin, e.v, e.actor, texts[i]!, flag, sums[i]!];
  }
  // Large payloads (plots) are bound as they are: wrapping them in one JSON text would copy
  // each once more in JS and again in SQLite's JSON reader.
  let bytes = 0;
  for (const t of texts) bytes += t.length;
  const logRows = dialect === "sqlite" && bytes <= JSON_ROWS_MAX_BYTES
    ? jsonTuplesStatement("events", EVENT_COLUMNS, tuples, "INSERT", "")
    : undefined;
  if (logRows) stmts.push(logRows);
  else {
    const rows = tuples.map((t) => Object.fromEntries(EVENT_COLUMNS.map((c, j) => [c, t[j]])));
    upsertRows(stmts, "events", EVENT_COLUMNS, rows, "INSERT");
  }
  for (const o of p.outputs()) {
    const ts = dialect === "sqlite" ? jsonTuples(o.table, o.columns, o.rows) : undefined;
    const s = ts && jsonTuplesStatement(o.table, o.columns, ts, o.verb, o.suffix);
    if (s) stmts.push(s);
    else upsertRows(stmts, o.table, o.columns, o.rows, o.verb, o.suffix);
  }
  // The clock's `max_at` row must cover every event but the last (`append.ts`): written
  // before the rows, from the batch and the log's last event so far. Not on PostgreSQL.
  const maxAt = dialect === "postgres" ? undefined : maxAtStatement(events, undefined);
  if (maxAt) await x.execute(maxAt);
  for (const s of stmts) await x.execute(s);
}
