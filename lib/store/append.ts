/**
 * The body of an append transaction, in as few statements as the client allows: one read for
 * everything the append needs before it folds (the clock's `max_at`, the model check, and the
 * rows each fold asked for), then the writes (the event rows, the changed projection rows,
 * `max_at`).
 *
 * Why one read: `@libsql/client` prepares a fresh native statement for every `execute()` and
 * builds each row as an object with named and indexed columns, so a statement costs far more
 * than the work SQLite does for a primary-key read. The preloads are read as scalar subqueries
 * of one `SELECT`, each table's rows packed into one JSON text (`json_group_array`) that
 * `JSON.parse` turns back into the values the rows hold. Only tables without a REAL column go
 * that way: SQLite's JSON prints a double with 15 significant digits, which does not round-trip
 * (those tables, and PostgreSQL, read rows as before, one statement per preload).
 *
 * @module
 */
import type { InStatement, InValue } from "../deps.ts";
import type { Dialect } from "./db.ts";
import type { StoredEvent } from "../events.ts";
import { type PendingPreload, type Projection, upsertRows } from "../projections/project.ts";
import { encodeEventData, EVENT_COLUMNS, eventChecksum } from "./log.ts";
import { preload } from "./rebuild.ts";
import type { Executor } from "./writer.ts";

/**
 * Projection tables with a REAL column: read row by row, never through JSON (which would round
 * their doubles). `tests/unit/append_sql_test.ts` checks this list against the schema.
 */
export const REAL_TABLES: ReadonlySet<string> = new Set(["scalar_series"]);

/** Keys per subquery (as `preload` reads them). */
const KEYS_PER_READ = 500;
/** Bound parameters per statement, under SQLite's default limit of 32766. */
const MAX_PARAMS = 30_000;

/** What the append's one read also answers, besides the preloads. */
export interface HeadAsk {
  /**
   * Read the log's newest time for the clock: the `max_at` row and the time of the last event
   * (see {@link maxAtStatement}). Not on PostgreSQL, which keeps no such row.
   */
  clock: boolean;
  /** Whether this model exists and is not removed. */
  live?: string;
  /** Whether this model is in this device's scope (no server said it left). */
  inScope?: string;
}

/** The answers to a {@link HeadAsk}. */
export interface Head {
  /** The `max_at` row, if any. */
  maxAt: string | undefined;
  /** The time of the last event in the log (by seq), if any. */
  tailAt: string | undefined;
  /** Whether the model asked about is live (true when none was asked). */
  live: boolean;
  /** Whether the model asked about is in scope (true when none was asked). */
  inScope: boolean;
}

/** One JSON subquery: its SQL, its arguments, and where its rows go. */
interface Part {
  sql: string;
  args: InValue[];
  /** The preload it reads (undefined: a head column). */
  preload?: PendingPreload;
  /** The columns of its rows, in `json_array` order. */
  columns?: readonly string[];
}

/** Subquery texts already built, by table, key columns and key count. */
const partSql = new Map<string, string>();

/** The subquery reading `n` keys of a preload of `table` as one JSON text. */
function partText(p: PendingPreload, columns: readonly string[], n: number): string {
  const memo = `${p.table}\u0000${p.columns.join(",")}\u0000${n}`;
  let sql = partSql.get(memo);
  if (sql !== undefined) return sql;
  const select = `SELECT json_group_array(json_array(${columns.join(",")})) FROM ${p.table}`;
  let where: string;
  if (p.columns.length === 1) {
    where = `${p.columns[0]} IN (${Array(n).fill("?").join(",")})`;
  } else if (n === 1) {
    where = p.columns.map((c) => `${c} = ?`).join(" AND ");
  } else {
    const tuple = `(${p.columns.map(() => "?").join(",")})`;
    where = `(${p.columns.join(", ")}) IN (VALUES ${Array(n).fill(tuple).join(",")})`;
  }
  sql = `(${select} WHERE ${where})`;
  // Key counts vary (a batch of n models); only the few shapes of small reads are kept.
  if (n <= 8 && partSql.size < 1024) partSql.set(memo, sql);
  return sql;
}

/** The subqueries reading a preload's rows as JSON arrays (one per 500 keys). */
function jsonParts(p: PendingPreload, columns: readonly string[]): Part[] {
  const out: Part[] = [];
  for (let i = 0; i < p.keys.length; i += KEYS_PER_READ) {
    const keys = p.keys.slice(i, i + KEYS_PER_READ);
    const sql = partText(p, columns, keys.length);
    out.push({ sql, args: keys.flat(), preload: p, columns });
  }
  return out;
}

/** The head columns asked for. */
function headParts(ask: HeadAsk): Part[] {
  const out: Part[] = [];
  if (ask.clock) {
    out.push({ sql: "(SELECT value FROM meta WHERE key = 'max_at')", args: [] });
    out.push({ sql: "(SELECT at FROM events ORDER BY seq DESC LIMIT 1)", args: [] });
  }
  if (ask.live !== undefined) {
    out.push({
      sql: "EXISTS (SELECT 1 FROM models WHERE id = ? AND created = 1 AND removed = 0)",
      args: [ask.live],
    });
  }
  if (ask.inScope !== undefined) {
    out.push({
      sql: "NOT EXISTS (SELECT 1 FROM sync_gone WHERE model_id = ?)",
      args: [ask.inScope],
    });
  }
  return out;
}

/**
 * Turns row arrays (or their JSON text: a SQLite that drops the JSON subtype of a subquery's
 * value returns the text) into row objects.
 */
function rowsOfJson(value: unknown, columns: readonly string[]): Record<string, unknown>[] {
  const arrays = (typeof value === "string" ? JSON.parse(value) : value ?? []) as unknown[][];
  return arrays.map((a) => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) r[columns[i]!] = a[i];
    return r;
  });
}

/**
 * Reads the head and every preload into `p`, on SQLite in one statement (more only past the
 * parameter limit, or for a REAL table).
 *
 * @param x The transaction's executor.
 * @param dialect The database's dialect.
 * @param p The projection the rows are loaded into.
 * @param preloads What the folds asked for.
 * @param ask What else to read.
 */
export async function readForAppend(
  x: Executor,
  dialect: Dialect,
  p: Projection,
  preloads: readonly PendingPreload[],
  ask: HeadAsk,
): Promise<Head> {
  const head = headParts(ask);
  const slow: PendingPreload[] = [];
  const fast: Part[] = [];
  for (const pl of preloads) {
    const columns = p.columnsOf(pl.table);
    if (dialect !== "sqlite" || !columns || REAL_TABLES.has(pl.table)) slow.push(pl);
    else fast.push(...jsonParts(pl, columns));
  }
  // Statements of subqueries, the head's first, each under the parameter limit.
  const statements: Part[][] = [];
  let cur: Part[] = [...head];
  let params = head.reduce((n, h) => n + h.args.length, 0);
  for (const part of fast) {
    if (cur.length > 0 && params + part.args.length > MAX_PARAMS) {
      statements.push(cur);
      cur = [];
      params = 0;
    }
    cur.push(part);
    params += part.args.length;
  }
  if (cur.length > 0) statements.push(cur);
  const answers: unknown[] = [];
  const sqlite = dialect === "sqlite";
  for (const parts of statements) {
    // On SQLite one column holds every answer (a column costs the client more than its JSON).
    const list = parts.map((q) => q.sql).join(",\n");
    const stmt = {
      sql: sqlite ? `SELECT json_array(${list})` : `SELECT ${list}`,
      args: parts.flatMap((q) => q.args),
    };
    const rs = await (x.executeFirst ? x.executeFirst(stmt) : x.execute(stmt));
    const row = sqlite ? JSON.parse(String(rs.rows[0]![0])) as unknown[] : rs.rows[0]!;
    parts.forEach((q, i) => {
      if (q.preload) p.load(q.preload, rowsOfJson(row[i], q.columns!));
      else answers.push(row[i]);
    });
  }
  for (const pl of slow) p.load(pl, await preload(x, pl));
  let i = 0;
  const text = (v: unknown) => v === null || v === undefined ? undefined : String(v);
  const maxAt = ask.clock ? text(answers[i++]) : undefined;
  const tailAt = ask.clock ? text(answers[i++]) : undefined;
  const live = ask.live !== undefined ? Boolean(Number(answers[i++])) : true;
  const inScope = ask.inScope !== undefined ? Boolean(Number(answers[i++])) : true;
  return { maxAt, tailAt, live, inScope };
}

/**
 * The log's newest time, which the clock observes before it stamps (so a new local event sorts
 * after every event in the store, whichever process wrote it), is the larger of the `max_at`
 * row and the time of the last event by seq. So the row must cover every event but the last:
 * an append writes it only when that would not hold without it, that is when the new last
 * event is not the newest of the old last event and the appended ones (events stamped earlier,
 * as queued reports and ingested events are, or a clock that refused to adopt a far-future
 * time). Then it sets the row to the newest of all those. Otherwise (the common case: events
 * stamped now by the clock, each later than all it observed) the row is not written. Not on
 * PostgreSQL, which keeps no such row (a row every write of every instance updates would
 * serialize them).
 *
 * @param events The events being appended, in insertion order.
 * @param head The `max_at` row and last event time read in this transaction; undefined when
 *   not read (the statement then always runs; it reads the last event itself).
 * @returns The statement to run before the event rows are inserted, or undefined.
 */
export function maxAtStatement(
  events: readonly StoredEvent[],
  head: { maxAt: string | undefined; tailAt: string | undefined } | undefined,
): { sql: string; args: InValue[] } | undefined {
  if (events.length === 0) return undefined;
  let newest = "";
  for (const e of events) if (e.at > newest) newest = e.at;
  const last = events[events.length - 1]!.at;
  if (head && last === newest && last >= (head.tailAt ?? "")) return undefined;
  return {
    sql: `INSERT INTO meta(key, value)
            VALUES ('max_at', max(?, coalesce((SELECT at FROM events ORDER BY seq DESC LIMIT 1), '')))
            ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)`,
    args: [newest],
  };
}

/**
 * The statements that write folded events: `max_at` when needed ({@link maxAtStatement}), the
 * event rows, and the projection rows they changed.
 *
 * @param p The projection the events were folded into.
 * @param events The events (stamped).
 * @param remote Whether they came from a peer.
 * @param dialect The database's dialect.
 * @param head What the transaction read for the clock (undefined: not read).
 * @param texts The `data` text of events that arrived encoded (ingest keeps the sender's).
 */
export function writeStatements(
  p: Projection,
  events: readonly StoredEvent[],
  remote: boolean,
  dialect: Dialect,
  head: Head | undefined,
  texts?: Map<StoredEvent, string>,
): InStatement[] {
  const stmts: InStatement[] = [];
  if (dialect !== "postgres") {
    const max = maxAtStatement(events, head);
    if (max) stmts.push(max);
  }
  const rows = events.map((e) => {
    const data = texts?.get(e) ?? encodeEventData(e);
    return {
      id: e.id,
      stream: e.stream,
      type: e.type,
      at: e.at,
      origin: e.origin,
      v: e.v,
      actor: e.actor,
      data,
      remote: remote ? 1 : 0,
      checksum: eventChecksum(e, data),
    };
  });
  upsertRows(stmts, "events", EVENT_COLUMNS, rows, "INSERT");
  stmts.push(...p.statements());
  return stmts;
}
