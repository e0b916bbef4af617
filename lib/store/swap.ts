/**
 * The live side of a local `rebuild()`: moves the projections folded in the scratch database
 * into the store while a concurrent writer waits at most one short transaction at a time.
 *
 * 1. Beside each projection table `t`, an empty `t__rebuilt` with `t`'s own schema (read from
 *    `sqlite_master`, so columns added by later migrations come along) and its indexes, under
 *    temporary names (an index name is unique in a database file).
 * 2. The scratch file is attached to the store's writer connection and copied over in key order,
 *    one chunk per write transaction, each followed by a pause ({@link CopyPacer}). While another
 *    writer is seen (a commit of another process, or a write of this process between two
 *    chunks), a chunk holds the lock about {@link CHUNK_MS} and the pause is as long as the chunk
 *    took (a writer of another process, whose busy handler polls, gets the lock in it);
 *    otherwise a chunk holds it about {@link QUIET_CHUNK_MS} and the pause is short, with a long
 *    one now and then for a writer that just started waiting.
 * 3. The events written since the scratch fold are folded into the `__rebuilt` tables in short
 *    transactions (the append path's fold, its statements pointed at the new tables).
 * 4. One last transaction folds the final few events and swaps: `t` becomes `t__stale`,
 *    `t__rebuilt` becomes `t`, and the indexes get their names back. SQLite has no statement
 *    to rename an index, so this edits `sqlite_master` the way SQLite documents for schema
 *    changes it has no statement for (`writable_schema`, then a schema-version bump so every
 *    connection reloads the schema). Only names and statement text change, no row or b-tree,
 *    and the text is set back to exactly what the store had before. The `__stale` tables are
 *    then dropped, one transaction each.
 *
 * Nothing here changes the live tables before the swap, which commits or rolls back as a
 * whole: a crash at any point leaves a consistent store, plus `__rebuilt` or `__stale` tables
 * that the next rebuild drops ({@link dropLeftovers}).
 *
 * @module
 */
import type { InStatement, ResultSet } from "../deps.ts";
import { PROJECTION_TABLES } from "../projections/schema.ts";
import type { PendingPreload } from "../projections/project.ts";
import { dataVersion, type Executor, type Writer } from "./writer.ts";

/** The suffix of the tables (and their indexes) a rebuild fills beside the live ones. */
export const REBUILT = "__rebuilt";
/** The suffix of the tables (and their indexes) a swap replaced, until they are dropped. */
const STALE = "__stale";

/** About how long one copy transaction holds the write lock while another writer is seen, in ms. */
export const CHUNK_MS = 40;
/**
 * About how long one copy transaction holds the write lock while no other writer is seen, in
 * ms. Larger chunks write each index page into the WAL fewer times: an index filled in random
 * order (`model_metadata`'s by key and value) is touched all over by every chunk, so its copy
 * took 1.1-1.2 s in 40 ms chunks and 0.6-0.8 s in 200 ms ones (1M events' rebuild). A writer
 * arriving meanwhile waits about {@link PROBE_EVERY_MS} at most, as with small chunks.
 */
export const QUIET_CHUNK_MS = 200;
/** The shortest pause between two copy transactions, in ms. */
const MIN_GAP_MS = 10;
/** The pause between two copy transactions while no other process is seen writing, in ms. */
const QUIET_GAP_MS = 2;
/**
 * While no other process is seen writing, a long pause comes after this much lock time, in ms,
 * so a writer that just started waiting gets the lock within about this long.
 */
const PROBE_EVERY_MS = 400;
/**
 * The long pause: longer than the longest sleep of SQLite's busy handler (100 ms), so a
 * waiting writer polls inside it whatever its phase.
 */
const PROBE_GAP_MS = 110;
/** Another writer seen keeps the copy in the generous pacing for this long, in ms. */
const CONTENDED_FOR_MS = 2000;

/** One projection table as the live database defines it. */
export interface TableShape {
  /** The table's name. */
  readonly name: string;
  /** Its `CREATE TABLE` statement, as `sqlite_master` keeps it. */
  readonly sql: string;
  /** Its columns, in order. */
  readonly columns: readonly string[];
  /** The columns a copy walks in order: `rowid`, or the primary key of a `WITHOUT ROWID` table. */
  readonly key: readonly string[];
  /** Its indexes made by a statement (not the automatic ones of a primary key). */
  readonly indexes: readonly { name: string; sql: string }[];
}

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Reads the shapes of the projection tables from the live database. */
export async function liveShapes(x: Executor): Promise<TableShape[]> {
  const out: TableShape[] = [];
  for (const t of PROJECTION_TABLES) {
    const m = await x.execute({
      sql: "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL",
      args: [t.name],
    });
    const table = m.rows.find((r) => r.type === "table");
    if (!table) throw new Error(`projection table ${t.name} is missing`);
    const sql = String(table.sql);
    const info = await x.execute({
      sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid",
      args: [t.name],
    });
    const columns = info.rows.map((r) => String(r.name));
    const withoutRowid = /\bWITHOUT\s+ROWID\s*$/i.test(sql);
    const key = withoutRowid
      ? info.rows.filter((r) => Number(r.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk))
        .map((r) => String(r.name))
      : ["rowid"];
    const indexes = m.rows.filter((r) => r.type === "index").map((r) => ({
      name: String(r.name),
      sql: String(r.sql),
    }));
    out.push({ name: t.name, sql, columns, key, indexes });
  }
  return out;
}

/** `CREATE TABLE t …` as `CREATE TABLE t__rebuilt …`. */
function createRebuilt(t: TableShape): string {
  const re = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?("?)(\w+)\1/i;
  if (!re.test(t.sql)) throw new Error(`unexpected schema of ${t.name}: ${t.sql}`);
  return t.sql.replace(re, `CREATE TABLE ${q(t.name + REBUILT)}`);
}

/** `CREATE INDEX i ON t …` as `CREATE INDEX i<suffix> ON t<suffix> …`. */
function indexSql(t: TableShape, ix: { name: string; sql: string }, suffix: string): string {
  const re =
    /^CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?("?)(\w+)\2\s+ON\s+("?)(\w+)\4/i;
  const m = re.exec(ix.sql);
  if (!m || m[5] !== t.name) throw new Error(`unexpected index of ${t.name}: ${ix.sql}`);
  return ix.sql.replace(
    re,
    `CREATE ${m[1] ?? ""}INDEX ${q(ix.name + suffix)} ON ${q(t.name + suffix)}`,
  );
}

/**
 * Drops the `__rebuilt` and `__stale` tables a crashed rebuild left (each in its own
 * transaction); returns their names.
 */
export async function dropLeftovers(writer: Writer): Promise<string[]> {
  const rs = await writer.run("SELECT name FROM sqlite_master WHERE type = 'table'");
  const names = rs.rows.map((r) => String(r.name)).filter((n) =>
    n.endsWith(REBUILT) || n.endsWith(STALE)
  );
  for (const n of names) await pausedTx(writer, (x) => x.execute(`DROP TABLE IF EXISTS ${q(n)}`));
  return names;
}

/**
 * Creates the empty `__rebuilt` tables with their indexes (under temporary names). The indexes
 * come first, and the copy keeps them up to date chunk by chunk: building one over a full table
 * is a single statement, and it would hold the write lock for as long as it takes (seconds at a
 * million rows).
 */
export async function createRebuiltTables(writer: Writer, shapes: TableShape[]): Promise<void> {
  await writer.tx(async (x) => {
    for (const t of shapes) {
      await x.execute(`DROP TABLE IF EXISTS ${q(t.name + REBUILT)}`);
      await x.execute(createRebuilt(t));
      for (const ix of t.indexes) await x.execute(indexSql(t, ix, REBUILT));
    }
  });
}

/**
 * Runs `fn` in a write transaction, then pauses as long as it held the lock (at least
 * {@link MIN_GAP_MS}): a writer in another process waits in SQLite's busy handler, which
 * polls every few ms at first, and it takes the lock in that pause. Returns `fn`'s result and
 * how long the lock was held (from `fn`'s start to the commit, not counting a wait for it).
 */
export async function pausedTx<T>(
  writer: Writer,
  fn: (x: Executor) => Promise<T>,
): Promise<[T, number]> {
  let t0 = 0;
  const out = await writer.tx((x) => {
    t0 = performance.now();
    return fn(x);
  });
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, Math.max(MIN_GAP_MS, ms)));
  return [out, ms];
}

/**
 * The sizes of the copy's write transactions and the pauses between them. A writer of this
 * process needs no pause (the store's queue runs it between two transactions), only short
 * transactions; it is seen by the writer's turn numbers (a transaction of someone else ran
 * between two of the copy's). A writer in another process waits in SQLite's busy handler, and
 * is seen by its commits (`PRAGMA data_version` changes). While a writer of another process was
 * seen lately, each transaction holds the lock about {@link CHUNK_MS} and is followed by a pause
 * as long as it held it; while one of this process was, the transactions are as short with
 * short pauses. Otherwise they hold it about {@link QUIET_CHUNK_MS}, each followed by a short
 * pause, with a long one ({@link PROBE_GAP_MS}) every {@link PROBE_EVERY_MS} of lock time,
 * which lets a writer that just arrived in (and so switches to the short transactions). A
 * pause spent while nobody waits is time the copy is not running: the quiet pacing keeps those
 * under a fifth.
 */
export class CopyPacer {
  #version: unknown;
  #seenAt = -Infinity;
  #localSeenAt = -Infinity;
  #lastTurn = -1;
  #lockSinceProbe = 0;

  /**
   * Notes the database's version now, so that a commit of another process from now until the
   * first copy transaction counts as seen (one that kept writing during the scratch fold).
   */
  async prime(writer: Writer): Promise<void> {
    this.#version = await dataVersion({ execute: (st) => writer.run(st) });
  }

  /**
   * Runs `fn` in a write transaction, then pauses; returns its result and the lock time. `fn`
   * gets the transaction and about how long it should hold the lock, in ms (from what was seen
   * at its start).
   */
  async tx<T>(
    writer: Writer,
    fn: (x: Executor, chunkMs: number) => Promise<T>,
  ): Promise<[T, number]> {
    let t0 = 0;
    const out = await writer.tx(async (x) => {
      t0 = performance.now();
      const v = await dataVersion(x);
      if (this.#version !== undefined && v !== this.#version) this.#seenAt = t0;
      this.#version = v;
      if (this.#lastTurn >= 0 && writer.turn > this.#lastTurn + 1) this.#localSeenAt = t0;
      this.#lastTurn = writer.turn;
      return await fn(x, this.#contended(t0) ? CHUNK_MS : QUIET_CHUNK_MS);
    });
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, this.#gap(ms)));
    return [out, ms];
  }

  #contended(now: number): boolean {
    return now - Math.max(this.#seenAt, this.#localSeenAt) < CONTENDED_FOR_MS;
  }

  #gap(ms: number): number {
    const now = performance.now();
    if (now - this.#seenAt < CONTENDED_FOR_MS) return Math.max(MIN_GAP_MS, ms);
    if (now - this.#localSeenAt < CONTENDED_FOR_MS) return QUIET_GAP_MS;
    this.#lockSinceProbe += ms;
    if (this.#lockSinceProbe < PROBE_EVERY_MS) return QUIET_GAP_MS;
    this.#lockSinceProbe = 0;
    return PROBE_GAP_MS;
  }
}

/**
 * Copies table `t` of the database attached as `schema` into `main.t__rebuilt`, in key order,
 * one chunk per write transaction (paced by `pacer`). The target only ever receives these rows,
 * so the last key copied is the target's greatest.
 */
export async function copyTable(
  writer: Writer,
  schema: string,
  t: TableShape,
  pacer = new CopyPacer(),
): Promise<number> {
  const target = `main.${q(t.name + REBUILT)}`;
  const cols = (t.key[0] === "rowid" ? ["rowid", ...t.columns] : t.columns).map(q).join(", ");
  const keyCols = t.key.map((k) => (k === "rowid" ? "rowid" : q(k)));
  const keyList = keyCols.join(", ");
  const desc = keyCols.map((k) => `${k} DESC`).join(", ");
  const lhs = keyCols.length === 1 ? keyCols[0]! : `(${keyList})`;
  const rhs = keyCols.length === 1 ? "?" : `(${keyCols.map(() => "?").join(", ")})`;
  let last: unknown[] | undefined;
  // Rows per ms of lock time, as the last chunk went (a first chunk of about 2,000 rows).
  let rate: number | undefined;
  let rows = 0;
  for (;;) {
    let size = 0;
    const [n, ms] = await pacer.tx(writer, async (x, chunkMs) => {
      size = rate === undefined
        ? 2000
        : Math.max(500, Math.min(200_000, Math.round(rate * chunkMs)));
      const where = last ? `WHERE ${lhs} > ${rhs}` : "";
      const rs = await x.execute({
        sql: `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${schema}.${q(t.name)}
              ${where} ORDER BY ${keyList} LIMIT ?`,
        args: [...(last ?? []) as never[], size],
      });
      if (rs.rowsAffected > 0) {
        const k = await x.execute(`SELECT ${keyList} FROM ${target} ORDER BY ${desc} LIMIT 1`);
        const row = k.rows[0]!;
        last = keyCols.map((_, i) => row[i]);
      }
      return rs.rowsAffected;
    });
    rows += n;
    if (n < size) return rows;
    rate = n / Math.max(1, ms);
  }
}

/**
 * An executor that points the append path's fold at the `__rebuilt` tables: its statements
 * (`INSERT [OR REPLACE] INTO t (…)`, `UPDATE t SET …` of a row's changed columns) write
 * `t__rebuilt AS t`, so an upsert clause naming `t` still reads.
 */
export function intoRebuilt(x: Executor): Executor {
  const insert = /^(INSERT(?:\s+OR\s+\w+)?\s+INTO\s+)(\w+)(\s*\()/i;
  const update = /^(UPDATE\s+)(\w+)(\s+SET\s)/i;
  const tables = new Set(PROJECTION_TABLES.map((t) => t.name));
  return {
    execute(st: InStatement): Promise<ResultSet> {
      const sql = typeof st === "string" ? st : st.sql;
      const m = insert.exec(sql) ?? update.exec(sql);
      const re = m && m[1]!.toUpperCase().startsWith("UPDATE") ? update : insert;
      if (!m || !tables.has(m[2]!)) {
        return Promise.reject(new Error(`a rebuild fold wrote an unexpected statement: ${sql}`));
      }
      const to = sql.replace(re, `$1${q(m[2]! + REBUILT)} AS ${m[2]}$3`);
      return x.execute(typeof st === "string" ? to : { ...st, sql: to });
    },
  };
}

/** A preload read from the `__rebuilt` table. */
export function preloadRebuilt(p: PendingPreload): PendingPreload {
  return { ...p, table: p.table + REBUILT };
}

/**
 * Inside the final write transaction: the live tables become `t__stale` (dropped afterwards by
 * {@link dropStale}, a transaction each: a drop walks every page of its table), the `__rebuilt`
 * twins take their names, and the indexes are renamed to match with their statements' text
 * set back to what it was. O(number of tables): no row is read or written.
 */
export async function swapIn(x: Executor, shapes: TableShape[]): Promise<void> {
  for (const t of shapes) {
    await x.execute(`ALTER TABLE ${q(t.name)} RENAME TO ${q(t.name + STALE)}`);
    await x.execute(`ALTER TABLE ${q(t.name + REBUILT)} RENAME TO ${q(t.name)}`);
  }
  const v = await x.execute("PRAGMA schema_version");
  const version = Number(v.rows[0]![0]);
  await x.execute("PRAGMA writable_schema = ON");
  try {
    const rename = async (from: string, to: string, sql: string) => {
      const rs = await x.execute({
        sql: "UPDATE sqlite_master SET name = ?, sql = ? WHERE type = 'index' AND name = ?",
        args: [to, sql, from],
      });
      if (rs.rowsAffected !== 1) throw new Error(`index ${from} is missing`);
    };
    for (const t of shapes) {
      // The old indexes first: an index name is unique in the file.
      for (const ix of t.indexes) {
        await rename(ix.name, ix.name + STALE, indexSql(t, ix, STALE));
      }
      for (const ix of t.indexes) await rename(ix.name + REBUILT, ix.name, ix.sql);
      await x.execute({
        sql: "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        args: [t.sql, t.name],
      });
    }
    await x.execute(`PRAGMA schema_version = ${version + 1}`);
  } finally {
    // RESET: off again, and this connection reloads the schema it now reads.
    await x.execute("PRAGMA writable_schema = RESET");
  }
}

/** Drops the tables a swap replaced, one write transaction each. */
export async function dropStale(writer: Writer, shapes: TableShape[]): Promise<void> {
  for (const t of shapes) {
    await pausedTx(writer, (x) => x.execute(`DROP TABLE IF EXISTS ${q(t.name + STALE)}`));
  }
}
